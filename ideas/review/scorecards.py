"""Scorecards: reviewers' ratings per criterion, and the review's score from them."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ideas import clock, events
from ideas.accounts.models import User
from ideas.extensions import db
from ideas.review import scoring
from ideas.review.access import assignment_of
from ideas.review.common import (
    MAX_TEXT,
    REVIEWING_STATES,
    ReviewError,
    S,
    ScorecardError,
    _lock,
    _notify,
    _path,
    manager_ids,
)
from ideas.review.models import IdeaReview, ReviewerAssignment, ScorecardEntry
from ideas.review.reviewers import conflicts
from ideas.review.transitions import base_payload


@dataclass
class Rating:
    rating: int | None
    comment: str = ""


def submit_scorecard(review: IdeaReview, reviewer: User, ratings: Mapping[int, Rating], *,
                     now: datetime | None = None) -> ReviewerAssignment:
    """Rate every criterion of the challenge from 1 to 5, each with a comment.  Sending it
    again replaces it, until the manager decides."""
    review = _lock(review)
    assignment = assignment_of(review, reviewer)
    if assignment is None or assignment.conflict_declared_at is not None:
        raise ReviewError("You are not a reviewer of this idea.", status=403)
    blocked = conflicts(review.idea, [reviewer.id]).get(reviewer.id)
    if blocked:
        raise ReviewError(f"You cannot review this idea: you {' and '.join(blocked)}.", status=403)
    if review.state != S.IN_REVIEW:
        raise ReviewError("Scorecards are sent while the idea is in review; it is "
                          f"{str(review.state).replace('_', ' ')}.", status=409)
    criteria = review.challenge.criteria
    if not criteria:
        raise ReviewError("This challenge has no criteria to score: ask its managers to add them.", status=409)
    known = {c.id: c for c in criteria}
    unknown = [key for key in ratings if key not in known]
    if unknown:
        raise ReviewError("Rate this challenge's criteria only.", status=422)
    errors: dict[str, str] = {}
    clean: dict[int, tuple[int, str]] = {}
    for criterion in criteria:
        given = ratings.get(criterion.id)
        value = given.rating if given else None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            errors[f"rating_{criterion.id}"] = (
                f"Rate “{criterion.name}” from 1 to 5." if value is None else
                f"“{criterion.name}”: {value!r} is not a rating from 1 to 5.")
        comment = (given.comment if given else "").strip()
        if not comment:
            errors[f"comment_{criterion.id}"] = f"Say why you rate “{criterion.name}” so."
        elif len(comment) > MAX_TEXT:
            errors[f"comment_{criterion.id}"] = f"Keep the comment under {MAX_TEXT:,} characters."
        if not errors:
            clean[criterion.id] = (value, comment)  # type: ignore[assignment]
    if errors:
        missing = [known[int(k.split("_")[1])].name for k in errors if k.startswith("rating_")]
        message = ("Rate every criterion from 1 to 5, with a comment"
                   + (f": {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not rated." if missing else "."))
        raise ScorecardError(message, errors)
    now = now or clock.now()
    entries = {e.criterion_id: e for e in assignment.entries}
    for criterion_id, (value, comment) in clean.items():
        entry = entries.get(criterion_id)
        if entry is None:
            assignment.entries.append(ScorecardEntry(criterion_id=criterion_id, rating=value, comment=comment,
                                                     updated_at=now))
        else:
            entry.rating, entry.comment, entry.updated_at = value, comment, now
    assignment.submitted_at = now
    db.session.flush()
    active = review.active_assignments()
    complete = bool(active) and all(a.submitted_at for a in active)
    if complete:
        _notify(manager_ids(review.challenge), "review_complete",
                f"Every scorecard is in for “{review.idea.title}”: it is ready for a decision.",
                _path("review.detail", review_id=review.id), actor_id=reviewer.id)
    events.emit("review.scorecard_submitted", {**base_payload(review, reviewer.id, now),
                                               "reviewer_id": reviewer.id, "complete": complete})
    return assignment


@dataclass
class ScoreSheet:
    """What the decision page shows: each reviewer's scores, the idea's, and disagreement."""

    scores: scoring.IdeaScores
    reviewers: dict[int, User]
    comments: dict[int, dict[int, str]]  # reviewer → criterion → comment
    pending: list[ReviewerAssignment]  # assigned, no scorecard yet, and the review still wants one
    # Assigned, never sent, and the review is past scoring (decided): no longer needed, and
    # so neither waited for nor overdue, as the reviewers' loads count them (reviewer_loads).
    not_needed: list[ReviewerAssignment] = field(default_factory=list)

    @property
    def assigned(self) -> int:
        return len(self.reviewers)


def _ratings_in(challenge_id: int, reviewer_ids: Iterable[int]) -> dict[int, dict[int, dict[int, int]]]:
    """reviewer → review → criterion → rating, over every sent scorecard in the challenge."""
    rows = db.session.execute(
        select(ReviewerAssignment.reviewer_id, ReviewerAssignment.review_id, ScorecardEntry.criterion_id,
               ScorecardEntry.rating)
        .join(ScorecardEntry, ScorecardEntry.assignment_id == ReviewerAssignment.id)
        .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
        .where(IdeaReview.challenge_id == challenge_id, ReviewerAssignment.reviewer_id.in_(list(reviewer_ids)),
               ReviewerAssignment.conflict_declared_at.is_(None), ReviewerAssignment.submitted_at.is_not(None))
    )
    found: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for reviewer_id, review_id, criterion_id, rating in rows:
        found[reviewer_id][review_id][criterion_id] = rating
    return found


def score_sheet(review: IdeaReview, everything: Mapping | None = None) -> ScoreSheet:
    """`everything`: the challenge's ratings by reviewer (`_ratings_in`), when a list of
    reviews has read them once for all of its rows."""
    weights = {c.id: c.weight for c in review.challenge.criteria}
    active = review.active_assignments()
    sent = [a for a in active if a.submitted_at is not None]
    if everything is None:
        everything = _ratings_in(review.challenge_id, [a.reviewer_id for a in sent])
    else:
        everything = {a.reviewer_id: everything[a.reviewer_id] for a in sent if a.reviewer_id in everything}
    habits = {}
    for reviewer_id, by_review in everything.items():
        means = [m for m in (scoring.weighted_mean(r, weights) for r in by_review.values()) if m is not None]
        if means:
            habits[reviewer_id] = scoring.habit(means)
    ratings = {a.reviewer_id: {e.criterion_id: e.rating for e in a.entries} for a in sent}
    unsent = [a for a in active if a.submitted_at is None]
    scoring_open = review.state in REVIEWING_STATES
    return ScoreSheet(
        scores=scoring.idea_scores(ratings, weights, habits),
        reviewers={a.reviewer_id: a.reviewer for a in active},
        comments={a.reviewer_id: {e.criterion_id: e.comment for e in a.entries} for a in sent},
        pending=[a for a in unsent if scoring_open],
        not_needed=[a for a in unsent if not scoring_open],
    )


def review_score(review: IdeaReview) -> float | None:
    """The idea's review score alone (what owners and lists may show)."""
    return score_sheet(review).scores.score


def review_scores(reviews: list[IdeaReview]) -> dict[int, float | None]:
    """The review scores of a list of reviews in a few queries, whatever its length."""
    reviews = [r for r in reviews if r.state != S.SHORTLISTED]
    if not reviews:
        return {}
    _with_assignments(reviews)
    by_challenge: dict[int, set[int]] = defaultdict(set)
    for review in reviews:
        by_challenge[review.challenge_id] |= {a.reviewer_id for a in review.active_assignments()
                                             if a.submitted_at is not None}
    ratings = {challenge_id: _ratings_in(challenge_id, ids) if ids else {}
               for challenge_id, ids in by_challenge.items()}
    return {r.id: score_sheet(r, ratings[r.challenge_id]).scores.score for r in reviews}


def _with_assignments(reviews: list[IdeaReview]) -> None:
    """Load the reviews' assignments with their reviewers and scorecard entries at once."""
    ids = [r.id for r in reviews]
    if ids:
        db.session.scalars(select(IdeaReview).where(IdeaReview.id.in_(ids)).options(
            selectinload(IdeaReview.assignments).selectinload(ReviewerAssignment.entries))).all()
