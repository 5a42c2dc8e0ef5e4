"""Who sees what, through the pages: content outside a person's audience does not exist for them."""
from __future__ import annotations

import pytest

from ideas.challenges import services
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge

# (pool_mode, cross_visibility) → which viewer pools see an employee's idea and an external's idea.
CASES = [
    ("blended", False, {"employee": {"employee", "external"}, "external": {"employee", "external"}}),
    ("separate", False, {"employee": {"employee"}, "external": {"external"}}),
    ("separate", True, {"employee": {"employee", "external"}, "external": {"employee", "external"}}),
    ("employees_only", False, {"employee": {"employee"}, "external": set()}),
    ("externals_only", False, {"employee": set(), "external": {"external"}}),
]


@pytest.mark.parametrize("mode,cross,expected", CASES, ids=[f"{m}{'+cross' if c else ''}" for m, c, _ in CASES])
def test_idea_pages_follow_the_audience(app, make_user, login, mode, cross, expected):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode=mode, cross_visibility=cross)
    ideas = {}
    for pool in ("employee", "external"):
        author = make_user(pool=pool)
        if services.permissions.in_audience(author, challenge):
            services.accept_challenge_terms(author, challenge)
            ideas[pool] = idea_in(challenge, author, title=f"Idea by an {pool}")
    db.session.commit()
    for viewer_pool in ("employee", "external"):
        viewer = make_user(pool=viewer_pool)
        client = app.test_client()
        login(viewer, target=client)
        sees_challenge = services.permissions.in_audience(viewer, challenge)
        assert client.get(f"/challenges/{challenge.id}").status_code == (200 if sees_challenge else 404)
        listing = client.get(f"/challenges/{challenge.id}").get_data(as_text=True) if sees_challenge else ""
        for author_pool, idea in ideas.items():
            visible = viewer_pool in expected[author_pool]
            status = client.get(f"/ideas/{idea.id}").status_code
            assert status == (200 if visible else 404), (viewer_pool, author_pool)
            assert (idea.title in listing) == visible
    anonymous = app.test_client()
    for author_pool, idea in ideas.items():
        assert anonymous.get(f"/ideas/{idea.id}").status_code == (200 if "external" in expected[author_pool] else 404)


def test_drafts_and_unpublished_challenges_are_private(app, make_user, login):
    manager = make_user(roles=("manager",))
    draft_challenge = open_challenge(manager, publish=False)
    challenge = open_challenge(manager)
    author = make_user()
    draft = services.submit_idea(challenge, author, title="Half-baked", summary="", draft=True)
    db.session.commit()
    stranger = app.test_client()
    login(make_user(), target=stranger)
    assert stranger.get(f"/challenges/{draft_challenge.id}").status_code == 404
    assert stranger.get(f"/ideas/{draft.id}").status_code == 404
    assert stranger.get(f"/ideas/{draft.id}/history").status_code == 404
    mine = app.test_client()
    login(author, target=mine)
    assert mine.get(f"/ideas/{draft.id}").status_code == 200
    assert mine.get(f"/challenges/{draft_challenge.id}").status_code == 404


def test_phase_rules_hold_through_the_pages(app, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="review")
    author = make_user()
    client = app.test_client()
    login(author, target=client)
    response = post_form(f"/challenges/{challenge.id}/ideas/new", {"title": "Late", "summary": "Too late",
                                                                   "action": "publish"}, target=client)
    assert response.status_code == 409
    assert "cannot submit ideas while the challenge is in its review phase" in response.get_data(as_text=True)
    assert 'value="Late"' in response.get_data(as_text=True)


@pytest.mark.parametrize("mode", ["externals_only", "separate"])
def test_reviewers_and_owners_read_ideas_from_every_pool(app, make_user, login, mode):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode=mode)
    author = make_user(pool="external")
    services.accept_challenge_terms(author, challenge)
    idea = idea_in(challenge, author)
    for roles in (("reviewer",), ("owner",)):
        client = app.test_client()
        login(make_user(roles=roles), target=client)
        assert client.get(f"/challenges/{challenge.id}").status_code == 200
        assert client.get(f"/ideas/{idea.id}").status_code == 200
    plain = app.test_client()
    login(make_user(), target=plain)
    assert plain.get(f"/ideas/{idea.id}").status_code == 404


def test_challenge_lists_use_the_same_rule_as_the_challenge_page(app, make_user):
    """visible_challenges and the API page in SQL with challenge_visibility: whoever asks,
    the list holds exactly the challenges whose page they may open."""
    from flask_login import AnonymousUserMixin
    from sqlalchemy import select

    from ideas.challenges import permissions
    from ideas.challenges.models import Challenge

    manager = make_user(roles=("manager",))
    moderator = make_user(pool="external")
    made = []
    for mode in ("blended", "separate", "employees_only", "externals_only"):
        for publish in (True, False):
            made.append(open_challenge(manager, pool_mode=mode, publish=publish,
                                       moderators=[moderator.id] if mode == "employees_only" else []))
    viewers = {
        "visitor": AnonymousUserMixin(),
        "employee": make_user(),
        "external": make_user(pool="external"),
        "internal reviewer": make_user(roles=("reviewer",)),
        "external reviewer": make_user(pool="external", roles=("reviewer",)),
        "admin": make_user(roles=("admin",)),
        "manager": manager,
        "moderator": moderator,
    }
    for name, viewer in viewers.items():
        expected = {c.id for c in made if permissions.can_see_challenge(viewer, c)}
        listed = set(db.session.scalars(select(Challenge.id).where(permissions.challenge_visibility(viewer))))
        assert listed == expected, name
        assert {c.id for c in services.visible_challenges(viewer)} == expected, name
    assert {c.id for c in made if permissions.can_see_challenge(viewers["external"], c)} == {
        c.id for c in made if c.published_at is not None and c.pool_mode != "employees_only"}
    assert {c.id for c in services.visible_challenges(moderator)} >= {
        c.id for c in made if c.pool_mode == "employees_only"}


def test_the_idea_count_counts_only_the_ideas_the_viewer_may_read_even_from_the_cache(cached, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode="separate", cross_visibility=False)
    employee = make_user(pool="employee")
    services.accept_challenge_terms(employee, challenge)
    idea_in(challenge, employee, title="An employee's idea")
    db.session.commit()
    # Both read the page through the same cache: what the employee's visit kept is not the external's.
    for viewer, count in ((make_user(pool="employee"), "· 1 idea</p>"), (make_user(pool="external"), "· 0 ideas</p>"),
                          (manager, "· 1 idea</p>")):
        client = cached.test_client()
        login(viewer, target=client)
        page = " ".join(client.get(f"/challenges/{challenge.id}").get_data(as_text=True).split())
        assert count in page.replace(" </p>", "</p>"), viewer.pool
