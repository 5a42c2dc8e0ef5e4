"""Decisions: accept, decline or park a reviewed idea, and revisit a parked one."""
from __future__ import annotations

from datetime import datetime

from ideas import clock
from ideas.accounts.models import User
from ideas.review import workflow
from ideas.review.common import ReviewError, S, _clean, _lock
from ideas.review.models import IdeaReview, ReviewTransition
from ideas.review.transitions import check, transition
from ideas.review.workflow import ReviewState


def decide(review: IdeaReview, manager: User, decision: str, reason: str, note: str = "", *,
           now: datetime | None = None) -> ReviewTransition:
    """Accept, decline or park, with a reason the author reads and an optional internal note."""
    review = _lock(review)
    try:
        target = ReviewState(decision)
    except ValueError:
        target = None
    if target not in workflow.DECISIONS:
        raise ReviewError("Choose accept, decline or park.", field="decision")
    now = now or clock.now()
    cleaned_reason = _clean(reason, "the reason", "reason")
    cleaned_note = _clean(note, "the internal note", "note")
    return transition(
        review, target, manager, cleaned_reason, note=cleaned_note, now=now,
        changes={"decision": str(target), "decision_reason": cleaned_reason, "decided_at": now,
                 **({"internal_note": cleaned_note} if cleaned_note else {})},
        payload={"decision": str(target), "reason": cleaned_reason},
    )


def revisit(review: IdeaReview, manager: User, *, now: datetime | None = None) -> ReviewTransition:
    """A parked idea goes back into review; its earlier decision stays in the log."""
    review = _lock(review)
    check(review, S.IN_REVIEW, manager)
    if review.state != S.PARKED:
        raise ReviewError("Only a parked idea is revisited; a shortlisted one starts its review.", status=409)
    return transition(review, S.IN_REVIEW, manager, now=now,
                      changes={"decision": None, "decision_reason": "", "decided_at": None})
