"""Review scores: the weighted mean, scores normalised per reviewer, and disagreement.

Pure: the service gathers the ratings and passes them in.

* A reviewer's score for an idea is the mean of their ratings weighted by the
  criteria's weights; the idea's review score is the mean of its reviewers' scores
  (each reviewer counts once, however many criteria there are).
* Some reviewers rate everything 4, others everything 2.  Normalising centres each
  reviewer on their own average over the challenge, and divides by their spread
  when they have scored enough ideas to have one (a z-score); with one idea scored,
  the centred value is 0: nothing is known yet about that reviewer's habits.
* Disagreement is the (population) standard deviation of the reviewers' scores;
  from 1 point on a 1–5 scale it is flagged, since reviewers then sit at least a
  full step apart on average.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

DISAGREEMENT_FLAG = 1.0
MIN_IDEAS_FOR_SPREAD = 3  # below this a reviewer's spread is noise: centre only


def weighted_mean(ratings: Mapping[int, int], weights: Mapping[int, int]) -> float | None:
    """Ratings by criterion id, weighted by the criterion's weight (unknown criteria ignored)."""
    total = sum(weights.get(c, 0) for c in ratings)
    if not total:
        return None
    return sum(r * weights.get(c, 0) for c, r in ratings.items()) / total


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def spread(values: Sequence[float]) -> float:
    """Population standard deviation (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    centre = sum(values) / len(values)
    return math.sqrt(sum((v - centre) ** 2 for v in values) / len(values))


@dataclass(frozen=True)
class ReviewerHabit:
    """A reviewer's average and spread over every idea they scored in the challenge."""

    average: float
    spread: float
    ideas: int

    def normalise(self, score: float) -> float:
        centred = score - self.average
        if self.ideas >= MIN_IDEAS_FOR_SPREAD and self.spread > 0:
            return centred / self.spread
        return centred


def habit(scores: Sequence[float]) -> ReviewerHabit:
    return ReviewerHabit(average=sum(scores) / len(scores), spread=spread(scores), ideas=len(scores))


@dataclass
class ReviewerScore:
    reviewer_id: int
    score: float  # weighted mean of this reviewer's ratings of the idea
    normalised: float
    ratings: dict[int, int] = field(default_factory=dict)


@dataclass
class IdeaScores:
    reviewers: list[ReviewerScore]
    score: float | None  # the idea's review score
    normalised: float | None  # mean of the reviewers' normalised scores
    disagreement: float  # standard deviation across reviewers
    by_criterion: dict[int, float]  # mean rating per criterion
    criterion_spread: dict[int, float]

    @property
    def disagree(self) -> bool:
        return len(self.reviewers) >= 2 and self.disagreement >= DISAGREEMENT_FLAG


def idea_scores(
    ratings: Mapping[int, Mapping[int, int]],
    weights: Mapping[int, int],
    habits: Mapping[int, ReviewerHabit],
) -> IdeaScores:
    """`ratings`: reviewer id → criterion id → rating, for one idea; `habits` by reviewer."""
    reviewers = []
    for reviewer_id, theirs in sorted(ratings.items()):
        score = weighted_mean(theirs, weights)
        if score is None:
            continue
        known = habits.get(reviewer_id) or habit([score])
        reviewers.append(ReviewerScore(reviewer_id, score, known.normalise(score), dict(theirs)))
    values = [r.score for r in reviewers]
    criteria = sorted({c for theirs in ratings.values() for c in theirs})
    by_criterion = {c: mean(t[c] for t in ratings.values() if c in t) for c in criteria}
    criterion_spread = {c: spread([t[c] for t in ratings.values() if c in t]) for c in criteria}
    return IdeaScores(
        reviewers=reviewers,
        score=mean(values),
        normalised=mean(r.normalised for r in reviewers),
        disagreement=spread(values),
        by_criterion=by_criterion,  # type: ignore[arg-type]
        criterion_spread=criterion_spread,
    )
