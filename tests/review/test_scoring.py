"""Review scores: weighted means, per-reviewer normalisation, disagreement (no app)."""
from __future__ import annotations

import math

import pytest

from ideas.review import scoring

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

IMPACT, FEASIBILITY = 1, 2
WEIGHTS = {IMPACT: 3, FEASIBILITY: 1}


def test_weighted_mean_follows_the_criteria_weights() -> None:
    assert scoring.weighted_mean({IMPACT: 5, FEASIBILITY: 1}, WEIGHTS) == pytest.approx(4.0)
    assert scoring.weighted_mean({}, WEIGHTS) is None


def test_each_reviewer_counts_once_and_disagreement_is_their_spread() -> None:
    ratings = {10: {IMPACT: 5, FEASIBILITY: 5}, 11: {IMPACT: 1, FEASIBILITY: 1}}
    result = scoring.idea_scores(ratings, WEIGHTS, {})
    assert result.score == pytest.approx(3.0)
    assert result.disagreement == pytest.approx(2.0)
    assert result.disagree
    assert result.by_criterion == {IMPACT: 3.0, FEASIBILITY: 3.0}
    assert result.criterion_spread[IMPACT] == pytest.approx(2.0)


def test_reviewers_who_agree_are_not_flagged() -> None:
    result = scoring.idea_scores({1: {IMPACT: 4, FEASIBILITY: 3}, 2: {IMPACT: 4, FEASIBILITY: 4}}, WEIGHTS, {})
    assert result.disagreement < scoring.DISAGREEMENT_FLAG and not result.disagree


def test_one_reviewer_cannot_disagree_with_themselves() -> None:
    result = scoring.idea_scores({1: {IMPACT: 5, FEASIBILITY: 1}}, WEIGHTS, {})
    assert result.disagreement == 0 and not result.disagree


def test_normalising_removes_a_generous_reviewers_habit() -> None:
    # Both reviewers think this idea is better than their usual by the same margin.
    generous = scoring.habit([4.0, 4.5, 5.0])
    harsh = scoring.habit([1.0, 1.5, 2.0])
    result = scoring.idea_scores({1: {IMPACT: 5, FEASIBILITY: 5}, 2: {IMPACT: 2, FEASIBILITY: 2}}, WEIGHTS,
                                 {1: generous, 2: harsh})
    first, second = result.reviewers
    assert first.score - second.score == pytest.approx(3.0)  # raw scores far apart
    assert first.normalised == pytest.approx(second.normalised)  # the same judgement
    assert first.normalised == pytest.approx(0.5 / math.sqrt(1 / 6))


def test_with_too_few_ideas_a_reviewer_is_only_centred() -> None:
    known = scoring.habit([3.0, 5.0])
    assert known.normalise(5.0) == pytest.approx(1.0)  # centred on 4, not divided by the spread
    assert scoring.habit([4.0]).normalise(4.0) == 0.0


def test_a_reviewer_without_a_habit_is_centred_on_this_idea() -> None:
    result = scoring.idea_scores({1: {IMPACT: 5, FEASIBILITY: 5}}, WEIGHTS, {})
    assert result.reviewers[0].normalised == 0.0
