"""The one way a review's state changes: `transition()`, its log entry, the author told, the events."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ideas import clock, events
from ideas.accounts.models import User
from ideas.extensions import db
from ideas.review import workflow
from ideas.review.access import actor_roles
from ideas.review.common import ReviewError, S, _clean, _notify, _path
from ideas.review.models import IdeaReview, ReviewTransition
from ideas.review.workflow import ReviewState

_EVENT_FOR: dict[tuple[ReviewState | None, ReviewState], str] = {
    (None, S.SHORTLISTED): "review.shortlisted",
    (S.SHORTLISTED, S.IN_REVIEW): "review.started",
    (S.PARKED, S.IN_REVIEW): "review.revisited",
    (S.IN_REVIEW, S.ACCEPTED): "review.decided",
    (S.IN_REVIEW, S.DECLINED): "review.decided",
    (S.IN_REVIEW, S.PARKED): "review.decided",
    (S.HANDOFF_DECLINED, S.PARKED): "review.decided",
    (S.ACCEPTED, S.HANDED_OFF): "review.handed_off",
    (S.HANDOFF_DECLINED, S.HANDED_OFF): "review.handed_off",
    (S.HANDED_OFF, S.ACKNOWLEDGED): "review.acknowledged",
    (S.HANDED_OFF, S.HANDOFF_DECLINED): "review.handoff_declined",
    (S.ACKNOWLEDGED, S.IN_PROGRESS): "review.work_started",
    (S.ACKNOWLEDGED, S.DELIVERED): "review.closed",
    (S.ACKNOWLEDGED, S.DROPPED): "review.closed",
    (S.IN_PROGRESS, S.DELIVERED): "review.closed",
    (S.IN_PROGRESS, S.DROPPED): "review.closed",
}


def _refusal(error: workflow.WorkflowError) -> ReviewError:
    if isinstance(error, workflow.ReasonRequiredError):
        return ReviewError(str(error), field="reason", status=422)
    if isinstance(error, workflow.NotAllowedError):
        return ReviewError(str(error), status=403)
    return ReviewError(str(error), status=409)


def check(review: IdeaReview, to: ReviewState | str, actor, reason: str | None = None) -> workflow.Transition:
    """Would this move be allowed?  Raises ReviewError; writes nothing."""
    try:
        return workflow.apply(review.state, to, actor_roles=actor_roles(review, actor), reason=reason)
    except workflow.WorkflowError as error:
        raise _refusal(error) from error


def base_payload(review: IdeaReview, actor_id: int | None, at: datetime) -> dict:
    idea = review.idea
    return {
        "review_id": review.id,
        "idea_id": idea.id,
        "challenge_id": review.challenge_id,
        "idea_title": idea.title,
        "idea_url": _path("challenges.idea", idea_id=idea.id),
        "state": str(review.state),
        "author_label": workflow.author_label(review.state),
        "at": at.isoformat(),
        "actor_id": actor_id,
    }


def transition(review: IdeaReview, to: ReviewState | str, actor: User, reason: str | None = None, *,
               note: str = "", internal: bool = False, changes: Mapping[str, object] | None = None,
               payload: Mapping[str, object] | None = None, now: datetime | None = None) -> ReviewTransition:
    """Move the review to `to`: check, write the change and its log, tell the author, emit.

    `changes` are further attributes of the review set with the move (an owner, a
    decision), applied only once the move is known to be allowed.  `internal` keeps the
    reason on the staff side (the author still sees the step); `note` always stays there."""
    step = check(review, to, actor, reason)
    reason_text = _clean(step.reason, "the reason", "reason")
    note = _clean(note, "the internal note", "note")
    now = now or clock.now()
    for name, value in (changes or {}).items():
        setattr(review, name, value)
    review.state = step.to_state
    review.state_since = now
    return _record(review, step.from_state, step.to_state, actor, reason_text, internal=internal,
                   note=note, payload=payload, now=now, action=workflow.TRANSITIONS[
                       (step.from_state, step.to_state)].action)


def _record(review: IdeaReview, from_state: ReviewState | None, to_state: ReviewState, actor: User | None,
            reason: str, *, internal: bool, note: str, payload: Mapping[str, object] | None,
            now: datetime, action: str) -> ReviewTransition:
    entry = ReviewTransition(
        review=review, from_state=from_state, to_state=to_state, actor_id=actor.id if actor else None,
        at=now, reason=reason, internal=internal, note=note,
    )
    db.session.add(entry)
    db.session.flush()
    public_reason = reason if reason and not internal else None
    _tell_author(review, to_state, public_reason, actor)
    body = base_payload(review, actor.id if actor else None, now)
    events.emit("review.transition", {
        **body, "from": str(from_state) if from_state else None, "to": str(to_state), "action": action,
        "reason": public_reason,
    })
    events.emit(_EVENT_FOR[(from_state, to_state)], {**body, **(payload or {})})
    return entry


def _tell_author(review: IdeaReview, state: ReviewState, public_reason: str | None, actor: User | None) -> None:
    idea = review.idea
    text = f"Your idea “{idea.title}”: {workflow.author_label(state)}."
    if public_reason:
        text += f" {public_reason}"
    _notify(idea.author_ids(), "review", text, _path("challenges.idea", idea_id=idea.id, _anchor="review"),
            idea=idea, actor_id=actor.id if actor else None,
            with_followers=state in (S.DELIVERED, S.DROPPED))  # the end of the story is for followers too
