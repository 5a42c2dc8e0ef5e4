"""Handoff deadlines, for the scheduler: reminders and escalations, each sent once."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from ideas import clock, events
from ideas.database import insert_for_dialect
from ideas.extensions import db
from ideas.review import timing
from ideas.review.common import S, _notify, _path, manager_ids
from ideas.review.models import Handoff, IdeaReview, ReviewEscalation
from ideas.review.transitions import base_payload


def _record_escalation(handoff: Handoff, level: str, now: datetime) -> ReviewEscalation | None:
    """Write the escalation row first; only the process whose row the database keeps
    sends the notices, so the same miss is never announced twice.

    INSERT … ON CONFLICT DO NOTHING rather than a savepoint: a second tick running at
    the same moment waits on the unique index (PostgreSQL) and then inserts nothing,
    and the row stays in the job's one transaction with the notices it announces."""
    review = handoff.review
    insert = insert_for_dialect()
    row_id = db.session.scalar(
        insert(ReviewEscalation)
        .values(review_id=review.id, handoff_id=handoff.id, challenge_id=review.challenge_id, level=level,
                at=now, due_at=clock.as_utc(handoff.ack_due_at), notified=0)
        .on_conflict_do_nothing(index_elements=["handoff_id", "level"])
        .returning(ReviewEscalation.id)
    )
    if row_id is None:
        return None
    row = db.session.get(ReviewEscalation, row_id)
    idea, owner = review.idea, handoff.owner
    if level == timing.REMINDER:
        sent = _notify([handoff.owner_id], "handoff_reminder",
                       f"Reminder: please acknowledge or decline “{idea.title}”. It was due "
                       f"{clock.as_utc(handoff.ack_due_at):%A %d %b %Y, %H:%M UTC}.",
                       _path("review.detail", review_id=review.id))
    else:
        people = manager_ids(review.challenge)
        if review.challenge.escalation_contact_id:
            people.add(review.challenge.escalation_contact_id)
        sent = _notify(people, "handoff_escalation",
                       f"“{idea.title}” was handed to {owner.name if owner else 'an owner'} on "
                       f"{clock.as_utc(handoff.handed_at):%d %b %Y} and is still not acknowledged "
                       f"(due {clock.as_utc(handoff.ack_due_at):%d %b %Y}).",
                       _path("review.dashboard", challenge_id=review.challenge_id, _anchor="escalations"))
    row.notified = sent
    db.session.flush()
    events.emit("review.escalated", {**base_payload(review, None, now), "level": level,
                                     "owner_id": handoff.owner_id, "handoff_number": handoff.number,
                                     "ack_due_at": clock.as_utc(handoff.ack_due_at).isoformat()})
    return row


def due_handoffs(now: datetime) -> list[Handoff]:
    """Pending handoffs (still the idea's current one) whose deadline has passed."""
    return list(db.session.scalars(
        select(Handoff).join(IdeaReview, IdeaReview.id == Handoff.review_id)
        .where(IdeaReview.state == S.HANDED_OFF, Handoff.number == IdeaReview.handoff_count,
               Handoff.acknowledged_at.is_(None), Handoff.declined_at.is_(None), Handoff.ack_due_at <= now)
        .order_by(Handoff.ack_due_at, Handoff.id)
    ))


def escalate(handoffs: Iterable[Handoff], now: datetime) -> int:
    sent = 0
    for handoff in handoffs:
        done = set(db.session.scalars(select(ReviewEscalation.level).where(ReviewEscalation.handoff_id == handoff.id)))
        for level in timing.levels_due(clock.as_utc(handoff.ack_due_at), now, done):
            if _record_escalation(handoff, level, now) is not None:
                sent += 1
    return sent


def run_deadlines(now: datetime | None = None) -> int:
    """The `review deadlines` job: remind owners at their deadline, tell the managers and
    the escalation contact a working day later.  Idempotent; returns the escalations sent."""
    now = now or clock.now()
    return escalate(due_handoffs(now), now)
