"""Managers write, publish and steer challenges; phases follow their dates."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.challenges import services
from ideas.challenges.models import Challenge, PhaseEvent
from ideas.errors import ChallengeError
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge


def form_data(**overrides):
    data = {
        "title": "Halve check-in time", "brief": "How could we **halve** it?", "goal": "Shorter queues",
        "pool_mode": "blended", "pool_weight_employee": "0.6", "pool_weight_external": "0.4",
        "voting_policy": "weighted", "budget_k": "5", "review_capacity": "10", "reviewers_per_idea": "3",
        "flag_threshold": "3", "opens_at": "2030-01-01T09:00", "voting_at": "2030-02-01T09:00",
        "review_at": "2030-03-01T09:00", "closes_at": "2030-04-01T09:00",
        "criteria": "impact | 2 | Effect on travellers\nfeasibility | 1",
        "tags": "airport, Kiosk", "hide_counts_until_voted": "y",
    }
    data.update(overrides)
    return data


def test_manager_creates_a_draft_only_managers_see(app, client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    login(manager)
    data = form_data()
    data["managers"] = manager.email
    response = post_form("/challenges/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    challenge = db.session.scalars(select(Challenge)).one()
    assert [c.name for c in challenge.criteria] == ["impact", "feasibility"]
    assert challenge.tags == ["airport", "kiosk"] and challenge.pool_weight_employee == 0.6
    assert client.get(f"/challenges/{challenge.id}").status_code == 200

    other = app.test_client()
    login(make_user(), target=other)
    assert other.get(f"/challenges/{challenge.id}").status_code == 404
    assert "Halve check-in time" not in other.get("/challenges").get_data(as_text=True)


def test_dates_out_of_order_keep_what_was_typed(client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    login(manager)
    response = post_form("/challenges/new", form_data(managers=manager.email, voting_at="2029-01-01T09:00",
                                                      goal="My typed goal"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="voting_at-error"' in page and "Must be after submission opens" in page
    assert "My typed goal" in page


def test_weights_must_add_up_and_criteria_weights_are_checked(client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    login(manager)
    bad = post_form("/challenges/new", form_data(managers=manager.email, pool_weight_external="0.9"))
    assert bad.status_code == 422
    assert ("The two pool weights must add up to 1; these add up to 1.5 (0.6 for employees, 0.9 for externals)."
            in bad.get_data(as_text=True))
    # Told with the other fields' messages at once, not after they are mended.
    both = post_form("/challenges/new", form_data(managers=manager.email, title="", pool_weight_external="0.9"))
    text = both.get_data(as_text=True)
    assert both.status_code == 422 and "Give the challenge a title." in text and "must add up to 1" in text
    bad = post_form("/challenges/new", form_data(managers=manager.email, criteria="impact | lots"))
    assert bad.status_code == 422 and "Line 1" in bad.get_data(as_text=True)


def test_participant_cannot_create(client, make_user, login):
    login(make_user())
    assert client.get("/challenges/new").status_code == 403


def test_publish_moves_to_the_phase_its_dates_say(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    assert challenge.phase == "submission"
    log = db.session.scalars(select(PhaseEvent)).all()
    assert [(e.from_phase, e.to_phase) for e in log] == [("draft", "submission")]


def test_tick_moves_phases_after_downtime_once(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    clock.set_now(clock.now() + timedelta(days=15))  # slept through voting into review
    assert services.tick() == 1
    db.session.commit()
    assert challenge.phase == "review"
    assert services.tick() == 0  # idempotent
    steps = [(e.from_phase, e.to_phase) for e in db.session.scalars(select(PhaseEvent).order_by(PhaseEvent.id))]
    assert steps == [("draft", "submission"), ("submission", "voting"), ("voting", "review")]


def test_tick_command_runs_the_scheduler(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    clock.set_now(clock.now() + timedelta(days=6))
    result = app.test_cli_runner().invoke(args=["ideas", "tick"])
    assert result.exit_code == 0 and "phases: 1" in result.output
    db.session.refresh(challenge)
    assert challenge.phase == "voting"


def test_requests_run_the_scheduler_lazily(app, lazy_tick, client, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    clock.set_now(clock.now() + timedelta(days=6))
    client.get("/")
    db.session.refresh(challenge)
    assert challenge.phase == "voting"


def test_manual_phase_change_needs_a_reason_and_an_allowed_step(app, client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    login(manager)
    page = f"/challenges/{challenge.id}"
    post_form(page, {"phase": "voting", "reason": ""}, action=f"{page}/phase")
    db.session.refresh(challenge)
    assert challenge.phase == "submission"
    with pytest.raises(ChallengeError):
        services.change_phase(challenge, manager, "closed", "skip ahead")
    db.session.rollback()
    post_form(page, {"phase": "voting", "reason": "Enough ideas"}, action=f"{page}/phase")
    db.session.refresh(challenge)
    assert challenge.phase == "voting"
    # The dates now agree, so the scheduler does not undo or repeat the move.
    assert services.tick() == 0
    event = db.session.scalars(select(PhaseEvent).order_by(PhaseEvent.id.desc())).first()
    assert event.reason == "Enough ideas" and event.actor_id == manager.id


def test_submission_refused_outside_its_phase(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="voting")
    with pytest.raises(ChallengeError) as refused:
        services.submit_idea(challenge, make_user(), title="Late", summary="Too late")
    assert refused.value.status == 409
    db.session.rollback()
    draft = services.submit_idea(challenge, make_user(), title="Later", summary="", draft=True)
    assert draft.status == "draft"


@pytest.mark.parametrize(("phase", "anonymous", "signed_in"), [
    ("draft", "Sign in to take part", "Write a draft"),
    ("submission", "Sign in to take part", "Submit an idea"),
    ("voting", "Sign in to take part", None),
    ("review", None, None),
    ("closed", None, None),
])
def test_the_challenge_page_offers_only_what_the_phase_allows(app, make_user, login, phase, anonymous, signed_in):
    challenge = open_challenge(make_user(roles=("manager",)), phase=phase)
    offers = ("Sign in to take part", "Write a draft", "Submit an idea")
    page = app.test_client().get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert [o for o in offers if o in page] == ([anonymous] if anonymous else [])
    client = app.test_client()
    login(make_user(), target=client)
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert [o for o in offers if o in page] == ([signed_in] if signed_in else [])


def test_external_accepts_challenge_terms_before_first_idea(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, terms="Ideas become the company's property.")
    external = make_user(pool="external")
    with pytest.raises(ChallengeError) as refused:
        services.submit_idea(challenge, external, title="Kiosks", summary="Self check-in")
    assert refused.value.field == "accept_terms"
    db.session.rollback()
    services.accept_challenge_terms(external, challenge)
    assert services.submit_idea(challenge, external, title="Kiosks", summary="Self check-in").status == "published"
    employee = make_user()
    assert services.submit_idea(challenge, employee, title="Apps", summary="Mobile check-in").status == "published"


def test_editing_keeps_history_with_a_diff(client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author, body="line one\nline two")
    services.edit_idea(idea, author, title=idea.title, summary=idea.summary, body="line one\nline 2", note="typo")
    db.session.commit()
    assert idea.revision == 2
    login(author)
    page = client.get(f"/ideas/{idea.id}/history?from=1&to=2").get_data(as_text=True)
    assert "line two" in page and "line 2" in page and "typo" in page


def test_withdrawal_by_author(app, make_user):
    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author)
    with pytest.raises(ChallengeError):
        services.withdraw_idea(idea, make_user(), "not mine")
    db.session.rollback()
    services.withdraw_idea(idea, author, "superseded")
    assert idea.status == "withdrawn"


def test_overlong_body_is_refused_before_parsing(client, make_user, login, post_form):
    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    login(author)
    response = post_form(f"/challenges/{challenge.id}/ideas/new",
                         {"title": "Big", "summary": "s", "body": "x" * 200_000, "action": "publish"})
    assert response.status_code == 422
    assert "200000" not in response.get_data(as_text=True)[:100]


def test_the_home_page_leads_with_challenges_one_can_take_part_in(client, make_user):
    manager = make_user(roles=("manager",))
    for title, phase in (("Voting one", "voting"), ("Closed one", "closed"), ("Submission one", "submission"),
                         ("Review one", "review")):
        open_challenge(manager, phase=phase, title=title)
    home = client.get("/").get_data(as_text=True)
    places = [home.index(title) for title in ("Submission one", "Voting one", "Review one", "Closed one")]
    assert places == sorted(places)
