"""Owners, their work-in-progress limits, handoffs, acknowledgement, progress and closing."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ideas import clock, events
from ideas.accounts.models import Role, User, UserRole
from ideas.extensions import db
from ideas.review import timing, workflow
from ideas.review.access import actor_roles
from ideas.review.common import (
    DEFAULT_WIP_LIMIT,
    ReviewError,
    S,
    WipLimitError,
    _clean,
    _lock,
    _notify,
    _path,
    manager_ids,
)
from ideas.review.models import (
    OWNED_STATES,
    Handoff,
    IdeaReview,
    OwnerSettings,
    ProgressUpdate,
    ReviewTransition,
)
from ideas.review.transitions import base_payload, check, transition
from ideas.review.workflow import ReviewState


def wip_limit_of(user_id: int) -> int:
    row = db.session.get(OwnerSettings, user_id)
    return row.wip_limit if row is not None else DEFAULT_WIP_LIMIT


def set_wip_limit(owner: User, actor: User, limit: int, *, now: datetime | None = None) -> OwnerSettings:
    if actor.id != owner.id and not actor.is_admin:
        raise ReviewError("Owners set their own work-in-progress limit.", status=403)
    if not owner.has_role(Role.OWNER):
        raise ReviewError(f"{owner.name} is not an R&D owner.", field="wip_limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ReviewError("The limit is a whole number from 1 to 100.", field="wip_limit")
    row = db.session.get(OwnerSettings, owner.id)
    if row is None:
        row = OwnerSettings(user_id=owner.id, wip_limit=limit)
        db.session.add(row)
    row.wip_limit = limit
    row.updated_at = now or clock.now()
    db.session.flush()
    return row


def owner_loads(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> dict[int, dict]:
    """Per owner: ideas held (handed off, acknowledged or in progress), awaiting
    acknowledgement, overdue, and their limit."""
    now = now or clock.now()
    query = select(IdeaReview.owner_id, IdeaReview.state, IdeaReview.ack_due_at).where(
        IdeaReview.state.in_(OWNED_STATES), IdeaReview.owner_id.is_not(None))
    if user_ids is not None:
        query = query.where(IdeaReview.owner_id.in_(list(user_ids)))
    loads: dict[int, dict] = defaultdict(lambda: {"wip": 0, "pending": 0, "overdue": 0})
    for owner_id, state, due in db.session.execute(query):
        loads[owner_id]["wip"] += 1
        if state == S.HANDED_OFF:
            loads[owner_id]["pending"] += 1
            if due is not None and clock.as_utc(due) < now:
                loads[owner_id]["overdue"] += 1
    limits = dict(db.session.execute(select(OwnerSettings.user_id, OwnerSettings.wip_limit)).all())
    ids = set(loads) if user_ids is None else set(user_ids)
    return {i: {**loads.get(i, {"wip": 0, "pending": 0, "overdue": 0}),
                "limit": limits.get(i, DEFAULT_WIP_LIMIT)} for i in ids}


def wip_of(user_id: int) -> int:
    return db.session.scalar(select(func.count(IdeaReview.id)).where(
        IdeaReview.owner_id == user_id, IdeaReview.state.in_(OWNED_STATES))) or 0


def owners() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.OWNER, User.active).order_by(User.name, User.id)
        .options(selectinload(User.expertise_rows))  # the suggestions match it
    ))


@dataclass
class OwnerSuggestion:
    owner: User
    matches: list[str]
    load: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.load >= self.limit


def suggested_owners(review: IdeaReview, limit: int = 10) -> list[OwnerSuggestion]:
    """Owners whose expertise fits the idea, the less busy first; those at their limit last."""
    tags = set(review.idea.tags) | set(review.challenge.tags)
    people = [p for p in owners() if p.id not in review.idea.author_ids()]
    loads = owner_loads([p.id for p in people])
    found = [OwnerSuggestion(p, sorted(tags & set(p.expertise)), loads[p.id]["wip"], loads[p.id]["limit"])
             for p in people]
    found.sort(key=lambda s: (s.over_limit, -len(s.matches), s.load / s.limit, s.owner.name, s.owner.id))
    return found[:limit]


def hand_off(review: IdeaReview, manager: User, owner: User | None, *, confirm: bool = False, note: str = "",
             working_days: int = timing.ACK_WORKING_DAYS, now: datetime | None = None) -> Handoff:
    """Hand an accepted idea to an R&D owner, who must acknowledge it within
    `working_days` working days.  An owner at their work-in-progress limit takes it only
    when the manager confirms."""
    review = _lock(review)
    check(review, S.HANDED_OFF, manager)
    if owner is None or not owner.active:
        raise ReviewError("Choose the R&D owner to hand the idea to.", field="owner")
    if not owner.has_role(Role.OWNER):
        raise ReviewError(f"{owner.name} is not an R&D owner: only people with the owner role take handoffs.",
                          field="owner")
    if owner.id in review.idea.author_ids():
        raise ReviewError(f"{owner.name} wrote this idea: hand it to someone else.", field="owner")
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= 30:
        raise ReviewError("Give the owner 1 to 30 working days to acknowledge.", field="working_days")
    note = _clean(note, "the note to the owner", "note")
    load, limit = wip_of(owner.id), wip_limit_of(owner.id)
    if load >= limit and not confirm:
        raise WipLimitError(
            f"{owner.name} already holds {load} idea{'' if load == 1 else 's'} (their limit is {limit}). "
            "Confirm to hand this one over anyway, or choose another owner.", load, limit)
    now = now or clock.now()
    due = timing.add_working_days(now, working_days)
    number = review.handoff_count + 1
    # Everything is checked: the handoff row goes in with the move, so whoever hears
    # `review.handed_off` finds it.
    handoff = Handoff(review=review, number=number, owner_id=owner.id, handed_by_id=manager.id, handed_at=now,
                      ack_due_at=due, over_wip_confirmed=load >= limit, note=note)
    db.session.add(handoff)
    transition(review, S.HANDED_OFF, manager, note=note, now=now,
               changes={"owner_id": owner.id, "ack_due_at": due, "handoff_count": number},
               payload={"owner_id": owner.id, "owner_name": owner.name, "handoff_number": number,
                        "ack_due_at": due.isoformat()})
    _notify([owner.id], "handoff",
            f"{manager.name} hands you “{review.idea.title}” ({review.challenge.title}). "
            f"Please acknowledge it by {due:%A %d %b %Y}.", _path("review.detail", review_id=review.id),
            actor_id=manager.id)
    return handoff


def _pending_handoff(review: IdeaReview) -> Handoff:
    handoff = review.current_handoff
    if handoff is None or not handoff.pending:
        raise ReviewError("This idea is not waiting for an acknowledgement.", status=409)
    return handoff


def acknowledge(review: IdeaReview, owner: User, *, now: datetime | None = None) -> ReviewTransition:
    review = _lock(review)
    check(review, S.ACKNOWLEDGED, owner)
    handoff = _pending_handoff(review)
    now = now or clock.now()
    handoff.acknowledged_at = now
    entry = transition(review, S.ACKNOWLEDGED, owner, now=now, changes={"ack_due_at": None},
                       payload={"owner_id": owner.id, "owner_name": owner.name, "handoff_number": handoff.number})
    _notify(manager_ids(review.challenge), "handoff_acknowledged",
            f"{owner.name} acknowledged “{review.idea.title}”.", _path("review.detail", review_id=review.id),
            actor_id=owner.id)
    return entry


def decline_handoff(review: IdeaReview, owner: User, reason: str, *,
                    now: datetime | None = None) -> ReviewTransition:
    """The owner turns the handoff down, with a reason for the managers (the author
    only learns that an owner is still being found)."""
    review = _lock(review)
    check(review, S.HANDOFF_DECLINED, owner, reason)
    handoff = _pending_handoff(review)
    cleaned = _clean(reason, "the reason", "reason", required=True)
    now = now or clock.now()
    handoff.declined_at = now
    handoff.decline_reason = cleaned
    entry = transition(review, S.HANDOFF_DECLINED, owner, cleaned, internal=True, now=now,
                       changes={"owner_id": None, "ack_due_at": None},
                       payload={"owner_id": owner.id, "handoff_number": handoff.number})
    _notify(manager_ids(review.challenge), "handoff_declined",
            f"{owner.name} declined “{review.idea.title}”: {entry.reason} Hand it to someone else, or park it.",
            _path("review.detail", review_id=review.id, _anchor="handoff"), actor_id=owner.id)
    return entry


def _require_owner(review: IdeaReview, user) -> None:
    if workflow.Role.OWNER not in actor_roles(review, user):
        raise ReviewError("Only the idea's R&D owner may do that.", status=403)


def start_work(review: IdeaReview, owner: User, *, now: datetime | None = None) -> ReviewTransition:
    review = _lock(review)
    return transition(review, S.IN_PROGRESS, owner, now=now)


def post_progress(review: IdeaReview, owner: User, body: str, *, now: datetime | None = None) -> ProgressUpdate:
    """The owner reports progress to the author and the idea's followers.  The first
    update on an acknowledged idea also marks the work as started."""
    review = _lock(review)
    _require_owner(review, owner)
    if review.state not in (S.ACKNOWLEDGED, S.IN_PROGRESS):
        raise ReviewError("Progress is reported once the idea is acknowledged, until it is closed.", status=409)
    text = _clean(body, "the update", "body", required=True)
    now = now or clock.now()
    if review.state == S.ACKNOWLEDGED:
        transition(review, S.IN_PROGRESS, owner, now=now)
    update = ProgressUpdate(review=review, author_id=owner.id, body=text, at=now)
    db.session.add(update)
    db.session.flush()
    idea = review.idea
    _notify(idea.author_ids(), "review_progress", f"Progress on “{idea.title}” from {owner.name}: {text[:300]}",
            _path("challenges.idea", idea_id=idea.id, _anchor=f"update-{update.id}"), idea=idea,
            actor_id=owner.id, with_followers=True)
    events.emit("review.progress_posted", {**base_payload(review, owner.id, now), "update_id": update.id,
                                           "owner_id": owner.id, "body": text})
    return update


def close(review: IdeaReview, owner: User, outcome: str, reason: str, *,
          now: datetime | None = None) -> ReviewTransition:
    """Delivered or dropped, with a reason the author and followers read."""
    review = _lock(review)
    if outcome not in (S.DELIVERED, S.DROPPED):
        raise ReviewError("Choose delivered or dropped.", field="outcome")
    now = now or clock.now()
    cleaned = _clean(reason, "the reason", "reason")
    return transition(review, ReviewState(outcome), owner, cleaned, now=now,
                      changes={"close_reason": cleaned, "closed_at": now},
                      payload={"outcome": outcome, "reason": cleaned})
