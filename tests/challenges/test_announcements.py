"""Challenges announce what happened (ideas/events.py); voting, notifications and search
act on it in the same transaction, so a rolled-back change reaches none of them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock, events
from ideas.challenges import services
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.notifications import services as notifications
from ideas.notifications.models import Notification
from ideas.search.models import IndexJob
from ideas.voting.models import IdeaScore

DAY = timedelta(days=1)


@pytest.fixture
def challenge(make_user):
    manager = make_user(roles=("manager",), name="Mara Manager")
    now = clock.now()
    challenge = services.create_challenge(
        manager, title="Cut check-in time in half", brief="How could we cut check-in time in half?",
        pool_mode="blended", opens_at=now - DAY, voting_at=now + 10 * DAY, review_at=now + 20 * DAY,
        closes_at=now + 30 * DAY,
    )
    services.publish(challenge, manager)
    db.session.commit()
    return challenge


@pytest.fixture
def listen(app):
    """listen(name, handler): subscribed for this test only (the app outlives it)."""
    added = []

    def add(name, handler):
        events.subscribe(app, name, handler)
        added.append((name, handler))

    yield add
    for name, handler in added:
        events.unsubscribe(app, name, handler)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_submitted_idea_is_announced_as_changed_then_published_by_its_author(listen, challenge, make_user):
    author = make_user(pool="employee", name="Emil Employee")
    heard = []
    listen(events.ANY, lambda name, p: heard.append((name, p.get("idea"), p.get("actor"))))

    idea = services.submit_idea(challenge, author, title="Self-service bag drop", summary="Tags printed at home.")

    assert heard == [("idea.changed", idea, None), ("idea.published", idea, author)]


def test_a_draft_is_announced_as_changed_only(listen, challenge, make_user):
    author = make_user(pool="employee")
    heard = []
    listen(events.ANY, lambda name, p: heard.append(name))

    services.submit_idea(challenge, author, title="Kiosks by the door", summary="Shorter walk.", draft=True)

    assert heard == ["idea.changed"]


def test_publishing_scores_tells_and_queues_in_the_same_transaction(challenge, make_user):
    author = make_user(pool="employee", name="Emil Employee")
    follower = make_user(pool="employee", name="Fay Follower")
    notifications.follow(follower, "challenge", challenge.id)
    db.session.commit()
    before = (_count(IdeaScore), _count(Notification), _count(IndexJob))

    idea = services.submit_idea(challenge, author, title="Self-service bag drop", summary="Tags printed at home.")

    assert db.session.get(IdeaScore, idea.id) is not None  # in the rankings from the start
    told = db.session.scalars(select(Notification).where(Notification.user_id == follower.id)).all()
    assert [n.kind for n in told] == ["new_idea"] and "Self-service bag drop" in told[0].text
    assert db.session.scalar(select(func.count()).select_from(IndexJob).where(IndexJob.idea_id == idea.id)) == 1

    db.session.rollback()
    assert (_count(IdeaScore), _count(Notification), _count(IndexJob)) == before


def test_a_listener_that_fails_makes_the_submission_fail(listen, challenge, make_user):
    author = make_user(pool="employee")

    def broken(name, payload):
        raise RuntimeError("listener down")

    listen("idea.published", broken)
    with pytest.raises(RuntimeError):
        services.submit_idea(challenge, author, title="Self-service bag drop", summary="Tags printed at home.")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Idea).where(Idea.challenge_id == challenge.id)) == 0
