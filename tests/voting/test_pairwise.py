"""Pairwise voting: even exposure, answer weights, and the Bradley–Terry ranking."""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ideas.voting.pairwise import answer_weight, bradley_terry, choose_pair, pair_weight

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

FAST = settings(max_examples=30, deadline=None)


# --- exposure ------------------------------------------------------------------------


def test_pair_weight_is_one_over_appearances_plus_one_capped():
    assert pair_weight(0) == 0.05
    assert pair_weight(19) == 0.05
    assert pair_weight(39) == pytest.approx(0.025)
    assert pair_weight(99) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        pair_weight(-1)


@pytest.mark.parametrize("n", [10, 50, 200])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_ten_n_answers_every_idea_is_within_half_of_the_mean(n, seed):
    rng = random.Random(seed)
    appearances = {f"idea{k:03}": 0 for k in range(n)}
    for _ in range(10 * n):
        left, right = choose_pair(appearances, rng)
        appearances[left] += 1
        appearances[right] += 1
    mean = sum(appearances.values()) / n
    assert mean == 20
    assert all(0.5 * mean <= shown <= 1.5 * mean for shown in appearances.values())


def test_exposure_stays_even_when_ideas_arrive_late():
    rng = random.Random(4)
    appearances = {k: 0 for k in range(20)}
    for step in range(600):
        if step == 300:
            appearances.update({k: 0 for k in range(20, 30)})  # ten new ideas half-way
        left, right = choose_pair(appearances, rng)
        appearances[left] += 1
        appearances[right] += 1
    late = [appearances[k] for k in range(20, 30)]
    early = [appearances[k] for k in range(20)]
    assert min(late) >= 0.5 * (sum(late) / len(late))
    assert max(early) - min(early) <= 0.5 * (sum(early) / len(early))


def test_a_pair_never_holds_an_excluded_idea_and_avoids_pairs_already_shown():
    rng = random.Random(5)
    appearances = {"a": 0, "b": 0, "c": 0, "mine": 0}
    seen = {frozenset(("a", "b")), frozenset(("a", "c"))}
    for _ in range(50):
        pair = choose_pair(appearances, rng, exclude={"mine"}, avoid=seen)
        assert "mine" not in pair and len(set(pair)) == 2
        assert frozenset(pair) == frozenset(("b", "c"))


def test_sides_are_random():
    rng = random.Random(6)
    lefts = sum(choose_pair({"a": 0, "b": 0}, rng)[0] == "a" for _ in range(1000))
    assert 400 < lefts < 600


def test_a_pair_needs_two_ideas():
    with pytest.raises(ValueError):
        choose_pair({"a": 0, "mine": 0}, random.Random(0), exclude={"mine"})


# --- answer weight -------------------------------------------------------------------


def test_an_answer_after_reading_from_a_balanced_answerer_counts_fully():
    assert answer_weight(30.0, 20.0, 0.55, 40) == 1.0


def test_an_answer_faster_than_the_read_counts_in_proportion_with_a_floor():
    assert answer_weight(5.0, 20.0, 0.5, 10) == pytest.approx(0.25)
    assert answer_weight(0.5, 20.0, 0.5, 10) == pytest.approx(0.1)
    assert answer_weight(None, 20.0, 0.5, 10) == pytest.approx(0.1)


def test_one_sided_answerers_are_discounted_once_they_have_answered_enough():
    assert answer_weight(30.0, 20.0, 1.0, 20) == pytest.approx(0.1)
    assert answer_weight(30.0, 20.0, 0.0, 20) == pytest.approx(0.1)  # always right is as one-sided
    assert answer_weight(30.0, 20.0, 0.875, 16) == pytest.approx(0.55)
    assert answer_weight(30.0, 20.0, 1.0, 5) == 1.0


@FAST
@given(st.floats(0, 300), st.floats(1, 60), st.floats(0, 1), st.integers(0, 100))
def test_answer_weights_lie_in_zero_one(seconds, threshold, ratio, n):
    assert 0.0 < answer_weight(seconds, threshold, ratio, n) <= 1.0


# --- Bradley–Terry -------------------------------------------------------------------


def simulate(strengths, answers, rng):
    ids = list(strengths)
    found = []
    for _ in range(answers):
        a, b = rng.sample(ids, 2)
        p = strengths[a] / (strengths[a] + strengths[b])
        found.append((a, b, 1.0) if rng.random() < p else (b, a, 1.0))
    return found


def test_bradley_terry_recovers_a_known_ordering():
    rng = random.Random(8)
    strengths = {f"idea{k}": math.exp(0.5 * k) for k in range(10)}  # each 1.65× the one before
    scores = bradley_terry(strengths, simulate(strengths, 3000, rng))
    assert sorted(scores, key=scores.get) == list(strengths)


def test_bradley_terry_scores_are_chances_to_beat_another_idea():
    rng = random.Random(9)
    strengths = {k: float(k + 1) for k in range(6)}
    scores = bradley_terry(strengths, simulate(strengths, 20_000, rng))
    # Each pair splits one unit of chance, so the scores sum to N/2.
    assert sum(scores.values()) == pytest.approx(len(strengths) / 2)
    expected = {i: sum(strengths[i] / (strengths[i] + strengths[j]) for j in strengths if j != i) / 5
                for i in strengths}
    for idea in strengths:
        assert scores[idea] == pytest.approx(expected[idea], abs=0.02)


def test_the_prior_keeps_an_unbeaten_idea_finite_and_few_answers_modest():
    scores = bradley_terry(["a", "b", "c"], [("a", "b", 1.0)])
    assert 0.5 < scores["a"] < 0.75
    assert scores["b"] < scores["c"] == pytest.approx(0.5, abs=0.05)
    assert bradley_terry(["a", "b"], []) == {"a": 0.5, "b": 0.5}
    assert bradley_terry(["a"], []) == {"a": 0.5}


def test_answers_count_by_their_weight():
    heavy = bradley_terry(["a", "b"], [("a", "b", 1.0)] * 3 + [("b", "a", 0.1)] * 3)
    even = bradley_terry(["a", "b"], [("a", "b", 1.0)] * 3 + [("b", "a", 1.0)] * 3)
    assert heavy["a"] > 0.6 and even["a"] == pytest.approx(0.5)
    assert bradley_terry(["a", "b"], [("a", "b", 0.0)]) == {"a": 0.5, "b": 0.5}


@FAST
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from("abcde"), st.floats(0.01, 1))
                .filter(lambda t: t[0] != t[1]), max_size=40), st.randoms())
def test_the_fit_does_not_depend_on_the_order_of_answers(answers, rnd):
    shuffled = list(answers)
    rnd.shuffle(shuffled)
    first, second = bradley_terry("abcde", answers), bradley_terry("abcde", shuffled)
    for idea in "abcde":
        assert first[idea] == pytest.approx(second[idea], abs=1e-7)
        assert 0.0 <= first[idea] <= 1.0


@pytest.mark.parametrize("answer", [("a", "zz", 1.0), ("a", "a", 1.0)])
def test_answers_naming_unknown_ideas_or_one_idea_twice_are_refused(answer):
    with pytest.raises(ValueError):
        bradley_terry(["a", "b"], [answer])
