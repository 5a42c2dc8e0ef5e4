"""Handoffs as a list an R&D tool or a spreadsheet reads: who may list them, which ones
each person sees, their status, and the filters the API and the CSV export share.

A handoff is one handing of an accepted idea to an owner (`review.models.Handoff`): an
idea handed back and handed on has two.  Its status:

    pending       handed off, not yet answered ("overdue" once past its deadline)
    declined      the owner handed it back
    acknowledged  taken on, no work reported yet
    in_progress   the owner is working on it
    delivered / dropped   closed by the owner

Filters also take "overdue" (pending past the deadline) and "open" (pending,
acknowledged or in progress)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select

from ideas.accounts.models import Pool, Role
from ideas.challenges.models import ChallengeRole, ChallengeStaff
from ideas.extensions import db
from ideas.review.models import OWNED_STATES, Handoff, IdeaReview, ProgressUpdate
from ideas.review.workflow import ReviewState

S = ReviewState
STATUSES = ("pending", "declined", "acknowledged", "in_progress", "delivered", "dropped")
FILTERS = (*STATUSES, "overdue", "open")


def status_of(handoff: Handoff) -> str:
    if handoff.declined_at is not None:
        return "declined"
    if handoff.acknowledged_at is None:
        return "pending"
    state = str(handoff.review.state)
    return state if state in STATUSES else "acknowledged"


def managed_challenge_ids(user) -> Select:
    return select(ChallengeStaff.challenge_id).where(
        ChallengeStaff.user_id == user.id, ChallengeStaff.role == ChallengeRole.MANAGER)


def manages_any(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or db.session.scalar(managed_challenge_ids(user).limit(1)) is not None)


def can_list(user) -> bool:
    """Handoffs are R&D's pipeline: owners (their own), challenge managers (their
    challenges') and administrators (all).  Outsiders never, whatever their role."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    if user.pool == Pool.EXTERNAL:
        return False
    return user.has_role(Role.OWNER) or user.has_role(Role.MANAGER) or manages_any(user)


def can_export(user) -> bool:
    """The CSV export is the managers': administrators and people managing a challenge."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    return user.pool != Pool.EXTERNAL and manages_any(user)


@dataclass(frozen=True)
class HandoffFilter:
    status: str | None = None
    owner_id: int | None = None
    challenge_id: int | None = None


def query(viewer, filters: HandoffFilter, now: datetime, *, own: bool = True) -> Select:
    """The handoffs `viewer` may see, filtered.  `own=False` leaves out those seen only
    as their owner (the managers' export)."""
    q = select(Handoff).join(IdeaReview, IdeaReview.id == Handoff.review_id)
    if not viewer.is_admin:
        seen = [IdeaReview.challenge_id.in_(managed_challenge_ids(viewer))]
        if own:
            seen.append(Handoff.owner_id == viewer.id)
        q = q.where(or_(*seen))
    if filters.owner_id is not None:
        q = q.where(Handoff.owner_id == filters.owner_id)
    if filters.challenge_id is not None:
        q = q.where(IdeaReview.challenge_id == filters.challenge_id)
    if filters.status:
        q = q.where(_status_clause(filters.status, now))
    return q


def _status_clause(status: str, now: datetime):
    unanswered = and_(Handoff.acknowledged_at.is_(None), Handoff.declined_at.is_(None))
    taken = and_(Handoff.acknowledged_at.is_not(None), Handoff.declined_at.is_(None))
    if status == "pending":
        return unanswered
    if status == "overdue":
        return and_(unanswered, Handoff.ack_due_at < now)
    if status == "declined":
        return Handoff.declined_at.is_not(None)
    if status == "acknowledged":
        # Taken on, nothing reported yet (a closed idea is delivered or dropped instead).
        return and_(taken, IdeaReview.state == S.ACKNOWLEDGED)
    if status in ("in_progress", "delivered", "dropped"):
        return and_(taken, IdeaReview.state == status)
    if status == "open":
        return and_(Handoff.declined_at.is_(None), IdeaReview.state.in_(OWNED_STATES))
    raise ValueError(f"unknown handoff status {status!r}")


@dataclass(frozen=True)
class LastUpdate:
    id: int
    at: datetime
    body: str


def last_updates(review_ids: list[int]) -> dict[int, LastUpdate]:
    """The latest progress update of each review, in one query."""
    if not review_ids:
        return {}
    latest = (select(func.max(ProgressUpdate.id)).where(ProgressUpdate.review_id.in_(review_ids))
              .group_by(ProgressUpdate.review_id))
    rows = db.session.execute(select(ProgressUpdate.review_id, ProgressUpdate.id, ProgressUpdate.at,
                                     ProgressUpdate.body).where(ProgressUpdate.id.in_(latest)))
    return {review_id: LastUpdate(update_id, at, body) for review_id, update_id, at, body in rows}
