"""What the review use cases share: their limits, their refusals, and small helpers."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from ideas import events
from ideas.challenges.models import Challenge, ChallengeRole, Idea, Phase
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.review.models import IdeaReview
from ideas.review.workflow import ReviewState
from ideas.web import path_for

S = ReviewState

DEFAULT_WIP_LIMIT = 5
MAX_TEXT = 5000  # reasons, notes, comments, progress updates
SHORTLIST_PHASES = (Phase.REVIEW, Phase.CLOSED)
REVIEWING_STATES = (S.SHORTLISTED, S.IN_REVIEW)
LOAD_SLACK = 3  # an expert this many reviews busier than the least busy reviewer waits


class ReviewError(ChallengeError):
    """A review action refused; the message is fit to show the person who tried."""


class ScorecardError(ReviewError):
    """A scorecard with missing or out-of-range ratings; `errors` maps each form field to its message."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, field=None, status=422)
        self.errors = errors


class WipLimitError(ReviewError):
    """The owner is at their work-in-progress limit: the manager must confirm."""

    def __init__(self, message: str, load: int, limit: int):
        super().__init__(message, field="confirm", status=409)
        self.load = load
        self.limit = limit


# --- small helpers -----------------------------------------------------------------

def _path(endpoint: str, _anchor: str | None = None, **values) -> str:
    """A path on this site, in a request or from the scheduler (which has none)."""
    return path_for(endpoint, _anchor, **values)


def _clean(text: str | None, what: str, field: str, *, required: bool = False) -> str:
    value = (text or "").strip()
    if required and not value:
        raise ReviewError(f"Write {what}.", field=field)
    if len(value) > MAX_TEXT:
        raise ReviewError(f"Keep {what} under {MAX_TEXT:,} characters.", field=field)
    return value


def _lock(review: IdeaReview) -> IdeaReview:
    """Re-read the review under a row lock (PostgreSQL), so two people acting at once
    are applied one after the other against the state each of them saw last. Only the
    review's row: its idea, already read in this transaction, is not read again."""
    db.session.flush()
    locked = db.session.scalar(
        select(IdeaReview).where(IdeaReview.id == review.id).with_for_update()
        .options(lazyload(IdeaReview.idea)).execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFoundError()
    return locked


def _notify(user_ids: Iterable[int], kind: str, text: str, url: str, *, idea: Idea | None = None,
            actor_id: int | None = None, with_followers: bool = False) -> int:
    """Tell people a review step in the review's own words (`people.told`, which
    notifications hears); how many were told. `with_followers` adds the idea's followers."""
    # Staff notices (reviewers, owners, managers) name no idea: the person is asked to
    # act on it whether or not the challenge's audience includes them.
    return sum(events.collect("people.told", {
        "user_ids": list(user_ids), "kind": kind, "text": text, "url": url, "idea": idea, "challenge": None,
        "actor_id": actor_id, "with_followers": with_followers}))


def manager_ids(challenge: Challenge) -> set[int]:
    return challenge.staff_ids(ChallengeRole.MANAGER)
