"""Search never returns what the searcher may not see: audience, pools, moderation."""
from __future__ import annotations

import pytest

from ideas import clock, search
from ideas.extensions import db

# The same expectations on every search backend the database can serve.
pytestmark = pytest.mark.usefixtures("search_backend")


@pytest.fixture
def pools_ideas(make_challenge, submit, employee, external):
    """make(pool_mode, cross_visibility) -> challenge with one idea from each pool."""

    def make(pool_mode: str, cross_visibility: bool = False):
        challenge = make_challenge(pool_mode=pool_mode, cross_visibility=cross_visibility)
        if pool_mode != "externals_only":
            submit(challenge, employee, "Employee zeppelin idea")
        if pool_mode != "employees_only":
            submit(challenge, external, "External zeppelin idea")
        return challenge

    return make


def test_employees_only_challenge_is_invisible_to_externals_and_visitors(
    pools_ideas, employee, external, manager, found
):
    from flask_login import AnonymousUserMixin

    pools_ideas("employees_only")
    assert found(employee, "zeppelin") == ["Employee zeppelin idea"]
    assert found(manager, "zeppelin") == ["Employee zeppelin idea"]
    assert found(external, "zeppelin") == []
    assert found(AnonymousUserMixin(), "zeppelin") == []
    assert found(external, "") == []


def test_externals_only_challenge_is_invisible_to_employees(pools_ideas, employee, external, found):
    pools_ideas("externals_only")
    assert found(external, "zeppelin") == ["External zeppelin idea"]
    assert found(employee, "zeppelin") == []


@pytest.mark.parametrize(
    ("pool_mode", "cross", "employee_sees", "external_sees"),
    [
        ("separate", False, {"Employee zeppelin idea"}, {"External zeppelin idea"}),
        ("separate", True, {"Employee zeppelin idea", "External zeppelin idea"},
         {"Employee zeppelin idea", "External zeppelin idea"}),
        ("blended", False, {"Employee zeppelin idea", "External zeppelin idea"},
         {"Employee zeppelin idea", "External zeppelin idea"}),
    ],
)
def test_pools_see_what_the_challenge_allows(pools_ideas, employee, external, manager, found,
                                             pool_mode, cross, employee_sees, external_sees):
    pools_ideas(pool_mode, cross)
    for words in ("zeppelin", ""):  # through the index, and browsing newest first
        assert set(found(employee, words)) == employee_sees
        assert set(found(external, words)) == external_sees
        assert set(found(manager, words)) == {"Employee zeppelin idea", "External zeppelin idea"}
        assert set(found(external, words, sort="rank")) == external_sees
    # The pool filter cannot widen what a pool sees.
    if not cross and pool_mode == "separate":
        assert found(employee, "zeppelin", pool="external") == []


def test_hidden_idea_is_found_by_staff_only(make_challenge, submit, employee, external, manager, make_user, found):
    challenge = make_challenge()
    idea = submit(challenge, employee, "Gondola to the gates")
    idea.hidden_at = clock.now()
    search.enqueue(idea.id)
    db.session.commit()

    assert found(external, "gondola") == []
    assert found(external, "") == []
    assert found(make_user(pool="employee"), "gondola") == []
    assert found(manager, "gondola") == ["Gondola to the gates"]
    assert found(manager, "") == ["Gondola to the gates"]
    admin = make_user(roles=("admin",))
    assert found(admin, "gondola") == ["Gondola to the gates"]


def test_the_index_lagging_behind_never_shows_a_hidden_idea(make_challenge, submit, employee, external, found):
    """Defence in depth: moderation hid the idea and its job is not drained yet."""
    challenge = make_challenge()
    idea = submit(challenge, employee, "Hovercraft shuttles")
    assert found(external, "hovercraft") == ["Hovercraft shuttles"]
    idea.hidden_at = clock.now()  # no enqueue: as if the job were still on its way
    db.session.commit()

    assert found(external, "hovercraft") == []


def test_unpublished_challenge_ideas_stay_out_of_reach(make_challenge, submit, manager, employee, found):
    challenge = make_challenge()
    submit(challenge, employee, "Balloon boarding")
    challenge.published_at = None  # e.g. taken back by the managers
    db.session.commit()
    assert found(employee, "balloon") == []
    assert found(manager, "balloon") == ["Balloon boarding"]


def test_search_page_hides_other_audiences(client, login, pools_ideas, external):
    pools_ideas("employees_only")
    login(external)
    page = client.get("/search?q=zeppelin").get_data(as_text=True)
    assert "zeppelin idea" not in page
    assert "No idea found" in page


def test_search_page_for_visitors(client, pools_ideas):
    pools_ideas("blended")
    page = client.get("/search?q=zeppelin")
    assert page.status_code == 200
    assert "External zeppelin idea" in page.get_data(as_text=True)


def test_pool_rules_hold_whichever_side_the_filter_is_built_from(make_challenge, submit, employee, external,
                                                                   make_user, found):
    """Three employee ideas and one external: for one pool the filter lists what is allowed,
    for the other what is left out; both must give the same answer as the rules."""
    challenge = make_challenge(pool_mode="separate", cross_visibility=False)
    for n in range(3):
        submit(challenge, make_user(pool="employee"), f"Employee tram {n}")
    submit(challenge, external, "External tram")
    other = make_challenge("Open to all")
    submit(other, employee, "Blended tram")

    assert set(found(employee, "tram")) == {"Employee tram 0", "Employee tram 1", "Employee tram 2", "Blended tram"}
    assert set(found(external, "tram")) == {"External tram", "Blended tram"}
    assert set(found(external, "tram", pool="employee")) == {"Blended tram"}
    assert set(found(external, "tram", challenge_id=challenge.id)) == {"External tram"}
    assert found(external, "tram", challenge_id=challenge.id, pool="employee") == []
