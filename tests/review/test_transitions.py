"""The full transition matrix, through the services: every allowed move works for its
role, logs, tells the author and emits; every other move is refused by every role,
and a refusal changes nothing at all (no state, no log, no notice, no event).

The expected table is the workflow's own test table (tests/review/test_workflow.py),
so the services and the pure state machine are held to the same matrix."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, inspect, select

from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas import events
from ideas.review import services
from ideas.review.models import IdeaReview, ReviewTransition
from ideas.review.services import ReviewError
from ideas.review.workflow import ALL_STATES, ReviewState
from tests.review.conftest import walk
from tests.review.test_workflow import EXPECTED

S = ReviewState
PAIRS = list(itertools.product(ALL_STATES, ALL_STATES))
ALLOWED = [p for p in PAIRS if (p[0].value, p[1].value) in EXPECTED]
REFUSED = [p for p in PAIRS if (p[0].value, p[1].value) not in EXPECTED]
NEEDS_REASON = [p for p in ALLOWED if EXPECTED[p[0].value, p[1].value][1]]


def _ids(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def move(world, review, to: ReviewState, actor, reason: str | None = "a good reason"):
    """The service a person would use to make this move."""
    if to == S.SHORTLISTED:
        return services.shortlist_ideas(world.challenge, actor, [review.idea_id], reason)
    if to == S.IN_REVIEW:
        return (services.revisit if review.state == S.PARKED else services.start_review)(review, actor)
    if to in (S.ACCEPTED, S.DECLINED, S.PARKED):
        return services.decide(review, actor, to, reason or "")
    if to == S.HANDED_OFF:
        return services.hand_off(review, actor, world.owners[1])
    if to == S.HANDOFF_DECLINED:
        return services.decline_handoff(review, actor, reason or "")
    if to == S.ACKNOWLEDGED:
        return services.acknowledge(review, actor)
    if to == S.IN_PROGRESS:
        return services.start_work(review, actor)
    return services.close(review, actor, to, reason or "")


def actor_for(world, role: str):
    return world.manager if role == "manager" else world.owner


def _counts(review_id: int):
    return (db.session.scalar(select(func.count(ReviewTransition.id)).where(ReviewTransition.review_id == review_id)),
            db.session.scalar(select(func.count(Notification.id))))


def _assert_refused_cleanly(world, review, src, to, actor, reason="a good reason"):
    review_id = inspect(review).identity[0]  # without reading the (expired) review again
    before = _counts(review_id)
    heard = []
    events.subscribe(_app(), events.ANY,
                     lambda name, payload: heard.append(name))
    with pytest.raises(ReviewError) as excinfo:
        move(world, review, to, actor, reason)
    # Refused before anything was written: nothing pending in the session either.
    assert not db.session.new, db.session.new
    assert not db.session.dirty, db.session.dirty
    assert heard == []
    db.session.rollback()
    # What the database holds: the same state, no transition logged, nobody told.
    assert db.session.scalar(select(IdeaReview.state).where(IdeaReview.id == review_id)) == src
    assert _counts(review_id) == before
    return excinfo.value


def _app():
    from flask import current_app

    return current_app._get_current_object()


def _reach(world, src: ReviewState):
    """A review in `src`; the owner's moves need the owner in place (world.owner)."""
    return walk(world, world.idea, src.value)


@pytest.mark.parametrize("pair", ALLOWED, ids=_ids)
def test_allowed_move_refuses_other_roles_and_blank_reasons_then_works_logs_tells_and_emits(
    pair, world, make_user
) -> None:
    src, dst = pair
    role, needs_reason = EXPECTED[src.value, dst.value]
    review = _reach(world, src)

    # The wrong people: the other role, a reviewer, the author, and someone holding
    # every role who is not on this idea.
    others = [world.manager if role == "owner" else world.owner, world.reviewers[0], world.author,
              make_user(roles=("manager", "owner", "reviewer"))]
    for actor in others:
        error = _assert_refused_cleanly(world, review, src, dst, actor)
        assert error.status == 403, (actor, error.message)
    if needs_reason:
        for blank in (None, "", "   \n"):
            error = _assert_refused_cleanly(world, review, src, dst, actor_for(world, role), blank)
            assert error.field == "reason" and "reason" in error.message

    heard = []
    events.subscribe(_app(), events.ANY, lambda name, payload: heard.append((name, payload)))
    move(world, review, dst, actor_for(world, role), "Told plainly")
    db.session.commit()

    review = db.session.get(IdeaReview, review.id, populate_existing=True)
    assert review.state == dst
    last = review.transitions[-1]
    assert (last.from_state, last.to_state) == (src, dst)
    assert last.actor_id == actor_for(world, role).id
    assert last.reason == ("Told plainly" if needs_reason else "")
    # The review's own announcements (the author is told through `people.told`, checked below).
    announced = [(name, payload) for name, payload in heard if name.startswith("review.")]
    names = [name for name, _ in announced]
    assert names[0] == "review.transition" and len(names) >= 2
    transition = announced[0][1]
    assert (transition["from"], transition["to"]) == (src.value, dst.value)
    # The reason travels only where the author may read it.
    internal = dst == S.HANDOFF_DECLINED
    assert transition["reason"] == (None if internal or not needs_reason else "Told plainly")
    told = db.session.scalars(select(Notification).where(Notification.user_id == world.author.id,
                                                         Notification.kind == "review")
                              .order_by(Notification.id.desc())).first()
    assert told is not None and told.idea_id == world.idea.id
    assert ("Told plainly" in told.text) is (needs_reason and not internal)


@pytest.mark.parametrize("src", ALL_STATES, ids=str)
def test_every_other_move_is_refused_for_every_role(src, world) -> None:
    review = _reach(world, src)
    targets = [dst for s, dst in REFUSED if s == src]
    assert targets
    for dst in targets:
        for actor in (world.manager, world.owner):
            error = _assert_refused_cleanly(world, review, src, dst, actor)
            assert error.status in (403, 409), (dst, error.message)


def test_the_database_refuses_a_state_the_workflow_does_not_know(world) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    review = walk(world, world.idea, "shortlisted")
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE idea_reviews SET state = 'decided' WHERE id = :id"), {"id": review.id})
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_an_owned_state_without_an_owner(world) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    review = walk(world, world.idea, "accepted")
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE idea_reviews SET state = 'handed_off' WHERE id = :id"), {"id": review.id})
    db.session.rollback()


def test_a_decision_needs_its_reason_in_the_database_too(world) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    review = walk(world, world.idea, "in_review")
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE idea_reviews SET decision = 'declined', decision_reason = '' WHERE id = :id"),
                           {"id": review.id})
    db.session.rollback()
