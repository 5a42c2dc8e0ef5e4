"""Reviewers: assigned by hand or by expertise with balanced load; conflicts of interest
blocked (author, co-author, voter, commenter) or declared; scorecards on every criterion."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.challenges import services as challenges
from ideas.challenges.comments import post_comment
from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas.review import services
from ideas.review.models import ReviewerAssignment, ScorecardEntry
from ideas.review.services import Rating, ReviewError, ScorecardError
from ideas.voting.services import Ballot, cast_vote
from tests.conftest import snapshot
from tests.review.conftest import full_scorecard, walk


@pytest.fixture
def in_review(world):
    return walk(world, world.idea, "in_review")


# --- conflicts of interest ----------------------------------------------------------------

def _make_conflict(kind, world, person):
    idea = world.idea
    if kind == "author":
        return world.author
    if kind == "co-author":
        challenges.invite_coauthor(idea, world.author, person.email)
        challenges.answer_coauthor_invite(idea, person, accept=True)
    elif kind == "invited co-author":
        challenges.invite_coauthor(idea, world.author, person.email)
    elif kind == "voter":
        clock.set_now(clock.now() + timedelta(minutes=1))  # each phase step has its own time
        challenges.change_phase(world.challenge, world.manager, "voting", "One more day")
        cast_vote(idea, person, Ballot(reason="I like it"))
        clock.set_now(clock.now() + timedelta(minutes=1))
        challenges.change_phase(world.challenge, world.manager, "review", "Done")
    elif kind == "commenter":
        post_comment(idea, person, "Have you thought about queues at peak?")
    db.session.commit()
    return person


CONFLICTS = {"author": "wrote it", "co-author": "co-wrote it", "invited co-author": "co-wrote it",
             "voter": "voted on it", "commenter": "commented on it"}


@pytest.mark.parametrize("kind", CONFLICTS)
def test_a_conflict_blocks_assignment_by_hand(kind, world, in_review, make_user, outbox):
    person = _make_conflict(kind, world, world.reviewers[0])
    if kind == "author":
        from ideas.accounts.services import set_roles

        set_roles(person, ["reviewer"])
        db.session.commit()
    with pytest.raises(ReviewError) as excinfo:
        services.assign_reviewers(in_review, world.manager, [person.id])
    assert CONFLICTS[kind] in excinfo.value.message and excinfo.value.field == "reviewers"
    db.session.rollback()
    assert not db.session.scalars(select(ReviewerAssignment)).all()


@pytest.mark.parametrize("kind", ["co-author", "voter", "commenter"])
def test_a_conflict_is_skipped_by_automatic_assignment(kind, world, in_review):
    blocked = _make_conflict(kind, world, world.reviewers[0])  # the best match by expertise
    rows = services.assign_reviewers(in_review, world.manager)
    assert len(rows) == 2
    assert blocked.id not in {r.reviewer_id for r in rows}


def test_a_conflict_arising_after_assignment_blocks_the_scorecard(world, in_review):
    reviewer = world.reviewers[0]
    services.assign_reviewers(in_review, world.manager, [reviewer.id])
    db.session.commit()
    post_comment(world.idea, reviewer, "Looks great, I'd support it")
    db.session.commit()
    with pytest.raises(ReviewError) as excinfo:
        services.submit_scorecard(in_review, reviewer, full_scorecard(world.challenge))
    assert "commented on it" in excinfo.value.message and excinfo.value.status == 403


def test_a_declared_conflict_takes_the_reviewer_off_and_tells_the_managers(world, in_review):
    reviewer = world.reviewers[0]
    services.assign_reviewers(in_review, world.manager, [reviewer.id])
    with pytest.raises(ReviewError):
        services.declare_conflict(in_review, reviewer, "   ")
    services.declare_conflict(in_review, reviewer, "I advise the kiosk vendor")
    db.session.commit()
    assert in_review.active_assignments() == []
    told = db.session.scalars(select(Notification.text).where(Notification.user_id == world.manager.id,
                                                              Notification.kind == "review_conflict")).all()
    assert len(told) == 1 and reviewer.name in told[0]
    with pytest.raises(ReviewError):
        services.submit_scorecard(in_review, reviewer, full_scorecard(world.challenge))
    with pytest.raises(ReviewError):  # and cannot be put back by hand
        services.assign_reviewers(in_review, world.manager, [reviewer.id])
    db.session.rollback()
    rows = services.assign_reviewers(in_review, world.manager)  # someone else fills the place
    assert reviewer.id not in {r.reviewer_id for r in rows} and len(rows) == 2


def test_only_assigned_reviewers_declare_conflicts(world, in_review):
    with pytest.raises(ReviewError) as excinfo:
        services.declare_conflict(in_review, world.reviewers[1], "Not mine")
    assert excinfo.value.status == 403


# --- assignment --------------------------------------------------------------------------

def test_automatic_assignment_prefers_expertise_then_the_lightest_load(world, in_review):
    rows = services.assign_reviewers(in_review, world.manager)  # the idea is tagged kiosks, hardware
    assert {r.reviewer_id for r in rows} == {world.reviewers[0].id, world.reviewers[2].id}
    assert all(r.automatic for r in rows)
    assert services.assign_reviewers(in_review, world.manager) == []  # already has its two


def _busy(world, reviewer, n, make_user):
    """Give `reviewer` n open reviews in another challenge."""
    from tests.challenges.factories import idea_in, open_challenge

    other = open_challenge(world.manager, phase="submission", review_capacity=10, title="Faster boarding")
    ideas = [idea_in(other, make_user(), title=f"Other idea {k}") for k in range(n)]
    challenges.change_phase(other, world.manager, "voting", "go")
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(other, world.manager, "review", "go")
    for review in services.shortlist_ideas(other, world.manager, [i.id for i in ideas]):
        services.start_review(review, world.manager)
        services.assign_reviewers(review, world.manager, [reviewer.id])
    db.session.commit()


@pytest.mark.parametrize(("busy", "chosen"), [(0, 2), (services.LOAD_SLACK - 1, 2), (services.LOAD_SLACK, 0)])
def test_expertise_first_unless_the_expert_is_far_busier(busy, chosen, world, in_review, make_user):
    # The idea is tagged kiosks and hardware: Ray knows both, Rita kiosks, Rob neither.
    ray = world.reviewers[2]
    if busy:
        _busy(world, ray, busy, make_user)
    assert services.reviewer_loads().get(ray.id, {"open": 0})["open"] == busy
    rows = services.assign_reviewers(in_review, world.manager, count=1)
    assert [r.reviewer_id for r in rows] == [world.reviewers[chosen].id]


def test_without_expertise_reviews_are_spread_evenly(world, make_user):
    manager = world.manager
    for person in world.reviewers:
        from ideas.accounts.services import update_profile

        update_profile(person, name=person.name, bio="", expertise="")
    db.session.commit()
    for idea in world.ideas:
        review = walk(world, idea, "in_review")
        services.assign_reviewers(review, manager, count=2)
    db.session.commit()
    loads = sorted(v["open"] for v in services.reviewer_loads().values())
    assert loads == [2, 2, 2]  # six places over three reviewers


def test_by_hand_only_reviewers_may_be_assigned(world, in_review):
    with pytest.raises(ReviewError) as excinfo:
        services.assign_reviewers(in_review, world.manager, [world.owner.id])
    assert "is not a reviewer" in excinfo.value.message


def test_reviewers_are_told_and_see_a_due_date_in_working_days(world, in_review):
    rows = services.assign_reviewers(in_review, world.manager, [world.reviewers[1].id])
    db.session.commit()
    assert rows[0].due_at == clock.now() + timedelta(days=14)  # 10 working days from a Wednesday
    told = db.session.scalars(select(Notification).where(Notification.user_id == world.reviewers[1].id)).all()
    assert len(told) == 1 and told[0].idea_id is None and "Please review" in told[0].text


def test_assignment_outside_review_is_refused(world):
    review = walk(world, world.idea, "accepted")
    with pytest.raises(ReviewError) as excinfo:
        services.assign_reviewers(review, world.manager)
    assert excinfo.value.status == 409


# --- scorecards ----------------------------------------------------------------------------

@pytest.fixture
def assigned(world, in_review):
    def build():
        services.assign_reviewers(in_review, world.manager, [world.reviewers[0].id, world.reviewers[2].id])
        db.session.commit()
        return in_review

    return snapshot("two reviewers assigned", build)  # built once per run (tests/conftest.py)


def _entries() -> int:
    return len(db.session.scalars(select(ScorecardEntry)).all())


@pytest.mark.parametrize("rating", [0, 6, -1, 3.5, "4", True, None])
def test_a_rating_outside_one_to_five_is_refused(rating, world, assigned):
    card = full_scorecard(world.challenge)
    impact = world.challenge.criteria[0]
    card[impact.id] = Rating(rating, "Because")
    with pytest.raises(ScorecardError) as excinfo:
        services.submit_scorecard(assigned, world.reviewers[0], card)
    assert f"rating_{impact.id}" in excinfo.value.errors
    db.session.rollback()
    assert _entries() == 0


def test_missing_criteria_are_refused_and_named(world, assigned):
    impact, feasibility = world.challenge.criteria
    with pytest.raises(ScorecardError) as excinfo:
        services.submit_scorecard(assigned, world.reviewers[0], {impact.id: Rating(4, "Big")})
    assert "feasibility is not rated" in excinfo.value.message
    assert set(excinfo.value.errors) == {f"rating_{feasibility.id}", f"comment_{feasibility.id}"}
    db.session.rollback()
    assert _entries() == 0


def test_every_rating_needs_a_comment(world, assigned):
    card = {c.id: Rating(4, "  ") for c in world.challenge.criteria}
    with pytest.raises(ScorecardError) as excinfo:
        services.submit_scorecard(assigned, world.reviewers[0], card)
    assert all(k.startswith("comment_") for k in excinfo.value.errors)


def test_unknown_criteria_are_refused(world, assigned):
    card = full_scorecard(world.challenge)
    card[99999] = Rating(3, "?")
    with pytest.raises(ReviewError):
        services.submit_scorecard(assigned, world.reviewers[0], card)


def test_only_the_assigned_reviewers_score_and_only_in_review(world, assigned):
    with pytest.raises(ReviewError) as excinfo:
        services.submit_scorecard(assigned, world.reviewers[1], full_scorecard(world.challenge))
    assert excinfo.value.status == 403
    services.submit_scorecard(assigned, world.reviewers[0], full_scorecard(world.challenge))
    services.decide(assigned, world.manager, "parked", "Next year")
    with pytest.raises(ReviewError) as excinfo:
        services.submit_scorecard(assigned, world.reviewers[2], full_scorecard(world.challenge))
    assert excinfo.value.status == 409


def test_the_database_refuses_a_rating_outside_one_to_five(world, assigned):
    from sqlalchemy.exc import IntegrityError

    assignment = assigned.assignments[0]
    db.session.add(ScorecardEntry(assignment_id=assignment.id, criterion_id=world.challenge.criteria[0].id,
                                  rating=7, comment="x"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_second_scorecard_replaces_the_first_one_row_per_criterion(world, assigned):
    services.submit_scorecard(assigned, world.reviewers[0], full_scorecard(world.challenge, 2, 2))
    services.submit_scorecard(assigned, world.reviewers[0], full_scorecard(world.challenge, 5, 4))
    db.session.commit()
    assert sorted(e.rating for e in db.session.scalars(select(ScorecardEntry))) == [4, 5]


def test_scores_weighted_mean_normalised_and_disagreement(world, assigned):
    rita, ray = world.reviewers[0], world.reviewers[2]
    services.submit_scorecard(assigned, rita, full_scorecard(world.challenge, 5, 1))  # (15 + 1) / 4 = 4
    services.submit_scorecard(assigned, ray, full_scorecard(world.challenge, 2, 2))  # 2
    db.session.commit()
    sheet = services.score_sheet(assigned)
    by = {r.reviewer_id: r for r in sheet.scores.reviewers}
    assert by[rita.id].score == pytest.approx(4.0) and by[ray.id].score == pytest.approx(2.0)
    assert sheet.scores.score == pytest.approx(3.0)
    assert sheet.scores.disagreement == pytest.approx(1.0) and sheet.scores.disagree
    # One idea each so far: each is centred on their own score.
    assert by[rita.id].normalised == 0 and by[ray.id].normalised == 0
    # Rita scores a second idea lower: this one now stands above her usual.
    other = walk(world, world.ideas[1], "in_review")
    services.assign_reviewers(other, world.manager, [rita.id])
    services.submit_scorecard(other, rita, full_scorecard(world.challenge, 2, 2))
    db.session.commit()
    again = {r.reviewer_id: r for r in services.score_sheet(assigned).scores.reviewers}
    assert again[rita.id].normalised == pytest.approx(1.0)


def test_the_managers_are_told_when_every_scorecard_is_in(world, assigned):
    services.submit_scorecard(assigned, world.reviewers[0], full_scorecard(world.challenge))
    assert not db.session.scalars(select(Notification).where(Notification.kind == "review_complete")).all()
    services.submit_scorecard(assigned, world.reviewers[2], full_scorecard(world.challenge))
    assert len(db.session.scalars(select(Notification).where(Notification.kind == "review_complete")).all()) == 1
