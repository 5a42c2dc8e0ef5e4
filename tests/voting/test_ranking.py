"""Scores per pool and blended, and the policy seen end to end: signals → weights → ranking."""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ideas.voting.collusion import VoteFact, collusion_factors
from ideas.voting.ranking import (
    PoolAggregate,
    aggregate,
    blended_score,
    pool_confidence,
    pool_scale,
    pool_scales,
    pool_score,
    pools_disagree,
    positions,
    rank,
    wilson_lower_bound,
)
from ideas.voting.weighting import DAY, SIMPLE, WEIGHTED, VoteSignals, WeightingPolicy, effort, standing, weight_for

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

FAST = settings(max_examples=40, deadline=None)
T0 = 1_800_000_000.0
Z2 = WEIGHTED.z**2


# --- Wilson lower bound --------------------------------------------------------------


def test_no_votes_score_zero():
    assert wilson_lower_bound(0, 0) == 0.0


def test_support_only_is_n_over_n_plus_z_squared():
    for n in (0.3, 1, 8, 20, 1000):
        assert wilson_lower_bound(n, 0) == pytest.approx(n / (n + Z2))


def test_the_bound_matches_the_formula_with_opposition():
    s, o, z = 8.0, 2.0, 1.28
    n, p = s + o, s / (s + o)
    expected = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    assert wilson_lower_bound(s, o, z) == pytest.approx(expected)
    assert wilson_lower_bound(s, o, z) == pytest.approx(0.6019, abs=1e-4)


@FAST
@given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0.01, 100))
def test_the_bound_lies_in_zero_one_and_rises_with_support(support, oppose, more):
    bound = wilson_lower_bound(support, oppose)
    assert 0.0 <= bound <= 1.0
    assert wilson_lower_bound(support + more, oppose) >= bound - 1e-12


def test_a_few_votes_do_not_beat_many():
    assert wilson_lower_bound(3, 0) < wilson_lower_bound(30, 3)


def test_opposition_counts_only_where_the_policy_allows_it():
    agg = PoolAggregate(support_weight=10, oppose_weight=10, raw_count=20)
    assert pool_score(agg, WEIGHTED) == pytest.approx(10 / (10 + Z2))
    allows = replace(WEIGHTED, allows_opposition=True)
    assert pool_score(agg, allows) < 0.5


# --- aggregates ----------------------------------------------------------------------


def test_aggregates_add_and_remove_votes():
    agg = PoolAggregate().add(0.5).add(0.25, value=-1).add(1.0)
    assert agg == PoolAggregate(1.5, 0.25, 3)
    assert agg.remove(1.0).remove(0.25, value=-1) == PoolAggregate(0.5, 0.0, 1)


@FAST
@given(st.lists(st.tuples(st.sampled_from(["employee", "external"]), st.sampled_from([1, -1]),
                          st.floats(0, 1)), max_size=40), st.randoms())
def test_set_based_aggregates_do_not_depend_on_order(entries, rnd):
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert aggregate(shuffled) == aggregate(entries)


# --- blended -------------------------------------------------------------------------


def test_blended_is_the_weighted_sum_of_pool_scores():
    assert blended_score({"employee": 0.8, "external": 0.4}, {"employee": 0.6, "external": 0.4}) == pytest.approx(0.64)
    assert blended_score({"external": 0.9}, {"employee": 0.5, "external": 0.5}) == pytest.approx(0.45)


def test_two_hundred_external_votes_without_employee_support_cannot_pass_the_external_weight():
    weights = {"employee": 0.5, "external": 0.5}
    loud = {"external": aggregate([("external", 1, 1.0)] * 200)["external"]}
    scores = {pool: pool_score(agg) for pool, agg in loud.items()}
    assert blended_score(scores, weights) <= weights["external"]
    # An idea with modest support in both pools beats it.
    both = {"employee": pool_score(PoolAggregate(12, 0, 12)), "external": pool_score(PoolAggregate(12, 0, 12))}
    assert blended_score(both, weights) > blended_score(scores, weights)


@FAST
@given(st.floats(0, 1e6), st.floats(0, 1))
def test_no_pool_contributes_more_than_its_weight(external_support, external_weight):
    weights = {"employee": 1 - external_weight, "external": external_weight}
    scores = {"external": pool_score(PoolAggregate(external_support, 0, 1))}
    assert blended_score(scores, weights) <= external_weight + 1e-12


@pytest.mark.parametrize("weights", [{"employee": 0.7, "external": 0.7}, {"employee": -0.1, "external": 0.5}])
def test_pool_weights_must_be_shares(weights):
    with pytest.raises(ValueError):
        blended_score({"employee": 1.0}, weights)


# --- disagreement --------------------------------------------------------------------


def test_positions_are_shares_of_ideas_scored_below_with_ties_counted_half():
    assert positions({"a": 0.9, "b": 0.5, "c": 0.5, "d": 0.1}) == {"a": 1.0, "b": 0.5, "c": 0.5, "d": 0.0}
    assert positions({"a": 0.3}) == {"a": 0.5}


def test_pools_disagree_when_positions_are_far_apart_and_both_pools_have_spoken():
    assert pools_disagree({"employee": 0.95, "external": 0.1}, WEIGHTED, {"employee": 12, "external": 9})
    assert not pools_disagree({"employee": 0.95, "external": 0.6}, WEIGHTED, {"employee": 12, "external": 9})
    assert not pools_disagree({"employee": 0.95, "external": 0.1}, WEIGHTED, {"employee": 12, "external": 2})


def test_the_ranking_flags_an_idea_employees_love_and_externals_do_not():
    ideas = {
        f"i{k}": {"employee": PoolAggregate(2 + k, 0, 6 + k), "external": PoolAggregate(12 - k, 0, 12)}
        for k in range(10)
    }
    ranked = {line.idea_id: line for line in rank(ideas, "blended", WEIGHTED, {"employee": 0.5, "external": 0.5})}
    assert ranked["i9"].pools_disagree and ranked["i0"].pools_disagree
    assert not ranked["i5"].pools_disagree


# --- rank ----------------------------------------------------------------------------


def test_rank_orders_by_score_and_breaks_ties_by_idea_id():
    same = PoolAggregate(5, 0, 5)
    ideas = {"c": {"external": same}, "a": {"external": same}, "b": {"external": PoolAggregate(9, 0, 9)},
             "d": {}}
    assert [line.idea_id for line in rank(ideas, "external")] == ["b", "a", "c", "d"]
    line = rank(ideas, "external")[0]
    assert line.raw_count == 9 and line.score == pytest.approx(9 / (9 + Z2))


def test_a_blended_ranking_needs_pool_weights():
    with pytest.raises(ValueError, match="pool weights"):
        rank({"a": {}}, "blended")


def test_a_pool_ranking_reads_only_that_pool():
    ideas = {"a": {"employee": PoolAggregate(9, 0, 9)}, "b": {"external": PoolAggregate(20, 0, 20)}}
    assert [line.idea_id for line in rank(ideas, "employee")] == ["a", "b"]
    assert [line.idea_id for line in rank(ideas, "external")] == ["b", "a"]


# --- the policy end to end -----------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    vote_id: int
    voter: str
    idea: str
    at: float
    signals: VoteSignals
    pool: str = "external"
    authors: frozenset = frozenset()
    network: str | None = None


def weigh_and_rank(casts, policy: WeightingPolicy = WEIGHTED, pool="external", pool_weights=None,
                   collusion_rules=True):
    """What the app does: facts → collusion factors → weights → aggregates → ranking."""
    facts = [VoteFact(vote_id=c.vote_id, voter_id=c.voter, idea_id=c.idea, author_ids=c.authors, at=c.at,
                      standing=standing(c.signals, policy), effort=effort(c.signals, policy), network=c.network,
                      value=c.signals.value) for c in casts]
    factors = collusion_factors(facts, policy) if collusion_rules else {}
    entries = defaultdict(list)
    for c in casts:
        entries[c.idea].append((c.pool, c.signals.value, weight_for(c.signals, policy, factors.get(c.vote_id, 1.0)).value))
    return rank({idea: aggregate(e) for idea, e in entries.items()}, pool, policy, pool_weights)


def order(ranking):
    return [line.idea_id for line in ranking]


ESTABLISHED = dict(identity="external_verified", account_age_seconds=200 * DAY, contributions_90d=3)
REASONED = VoteSignals(kind="reason", viewed_before=True, seconds_since_view=75.0, idea_word_count=300,
                       reason_word_count=35, **ESTABLISHED)
FRESH_CLICK = VoteSignals(kind="support", idea_word_count=300, identity="external_verified",
                          account_age_seconds=20 * 60, contributions_90d=0)


def test_twenty_fresh_one_clicks_in_a_minute_rank_below_eight_reasoned_votes():
    casts = [Cast(k, f"new{k}", "pushed", T0 + 3 * k, FRESH_CLICK) for k in range(20)]
    casts += [Cast(100 + k, f"member{k}", "thought-through", T0 + k * 7 * 3600, REASONED) for k in range(8)]
    ranking = weigh_and_rank(casts)
    assert order(ranking) == ["thought-through", "pushed"]
    assert ranking[1].raw_count == 20 > ranking[0].raw_count  # raw counts would have it the other way
    assert order(weigh_and_rank(casts, SIMPLE)) == ["pushed", "thought-through"]


def test_a_reciprocal_ring_of_five_ranks_below_four_honest_reasoned_voters():
    # The ring's members stand higher than the honest voters (verified employees),
    # read, reason and spread their votes: only reciprocity gives them away.
    ring_signals = replace(REASONED, identity="employee_verified")
    members = [f"r{k}" for k in range(5)]
    casts, n = [], 0
    for i, member in enumerate(members):
        for j, other in enumerate(members):
            if member != other:
                casts.append(Cast(n, member, f"{other}-idea", T0 + (i * 5 + j) * DAY / 2, ring_signals,
                                  authors=frozenset({other})))
                n += 1
    # Four honest voters who posted less: without the rule each ring idea (four
    # careful votes from established members) would beat theirs.
    casts += [Cast(1000 + k, f"honest{k}", "honest-idea", T0 + k * DAY, replace(REASONED, contributions_90d=1),
                   authors=frozenset({"author"})) for k in range(4)]
    ranking = weigh_and_rank(casts)
    assert order(ranking)[0] == "honest-idea"
    # Without the reciprocal rule the ring's ideas would come first.
    assert order(weigh_and_rank(casts, collusion_rules=False))[-1] == "honest-idea"


def test_two_hundred_external_votes_cannot_lift_a_blended_score_past_the_external_weight():
    casts = [Cast(k, f"ext{k}", "loud", T0 + k * 3600, REASONED) for k in range(200)]
    casts += [Cast(1000 + k, f"emp{k}", "liked-by-both", T0 + k * 3600, replace(REASONED, identity="employee_verified"),
                   pool=pool) for k, pool in enumerate(["employee"] * 10 + ["external"] * 10)]
    weights = {"employee": 0.6, "external": 0.4}
    ranking = {line.idea_id: line for line in weigh_and_rank(casts, pool="blended", pool_weights=weights)}
    assert ranking["loud"].score <= 0.4
    assert ranking["liked-by-both"].score > ranking["loud"].score


def test_the_ranking_does_not_depend_on_the_order_of_the_vote_list():
    rnd = random.Random(7)
    casts = [Cast(k, f"v{k % 13}", f"i{k % 5}", T0 + rnd.randrange(0, 50) * 60, REASONED if k % 3 else FRESH_CLICK)
             for k in range(60)]
    casts = list({(c.voter, c.idea): c for c in casts}.values())
    shuffled = list(casts)
    rnd.shuffle(shuffled)
    assert weigh_and_rank(shuffled) == weigh_and_rank(casts)


SIGNALS = st.sampled_from([
    REASONED,
    FRESH_CLICK,
    replace(REASONED, identity="employee_verified", reason_word_count=0),
    replace(FRESH_CLICK, account_age_seconds=30 * DAY, identity="unverified"),
    replace(REASONED, criteria_rated=True, reason_is_near_copy=True),
])


@FAST
@given(st.data())
def test_the_ranking_does_not_depend_on_the_order_votes_arrive_outside_burst_windows(data):
    """Votes spaced further apart than every window may arrive in any order.

    A burst at the opening stays where it is; the other votes trade arrival slots,
    each a day apart, and the ranking stays the same.
    """
    voters = [f"v{k}" for k in range(data.draw(st.integers(2, 10)))]
    ideas = [f"i{k}" for k in range(data.draw(st.integers(2, 5)))]
    authors = {idea: frozenset(data.draw(st.lists(st.sampled_from(voters), max_size=1))) for idea in ideas}
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(voters), st.sampled_from(ideas)), min_size=1,
                               max_size=25, unique=True))
    signals = [data.draw(SIGNALS) for _ in pairs]
    burst = [Cast(10_000 + k, f"new{k}", ideas[0], T0 + 2 * k, FRESH_CLICK) for k in range(data.draw(st.integers(0, 8)))]
    slots = [T0 + (k + 1) * DAY for k in range(len(pairs))]
    arrival = data.draw(st.permutations(slots))

    def casts(times):
        return burst + [Cast(k, voter, idea, times[k], signals[k], authors=authors[idea])
                        for k, (voter, idea) in enumerate(pairs)]

    first, second = weigh_and_rank(casts(slots)), weigh_and_rank(casts(arrival))
    assert order(first) == order(second)
    assert [line.score for line in first] == [line.score for line in second]


# --- pools on one scale --------------------------------------------------------------

ENGAGED = VoteSignals(kind="ratings", viewed_before=True, seconds_since_view=75.0, idea_word_count=300,
                      reason_word_count=20, criteria_rated=True, account_age_seconds=200 * DAY, contributions_90d=3)


@pytest.mark.parametrize("more, fewer", [("external", "employee"), ("employee", "external")])
def test_twelve_engaged_votes_of_one_pool_beat_eleven_of_the_other_in_a_half_and_half_blend(more, fewer):
    identity = {"employee": "employee_verified", "external": "external_verified"}
    casts = [Cast(k, f"{more}{k}", "twelve", T0 + k * 3600, replace(ENGAGED, identity=identity[more]), pool=more)
             for k in range(12)]
    casts += [Cast(100 + k, f"{fewer}{k}", "eleven", T0 + k * 3600, replace(ENGAGED, identity=identity[fewer]),
                   pool=fewer) for k in range(11)]
    ranking = weigh_and_rank(casts, pool="blended", pool_weights={"employee": 0.5, "external": 0.5})
    assert order(ranking) == ["twelve", "eleven"]
    # One verified person's engaged vote counts the same in either pool: the pool weight is the only difference.
    assert weight_for(replace(ENGAGED, identity="external_verified")).value == weight_for(
        replace(ENGAGED, identity="employee_verified")).value == 1.0


def test_each_pools_best_idea_weighs_the_same_whatever_the_pools_sizes():
    # Many employees, fewer externals; each pool's favourite is supported by its own pool.
    ideas = {
        "staff-favourite": {"employee": PoolAggregate(200, 0, 200)},
        "customer-favourite": {"external": PoolAggregate(12, 0, 12)},
        "middling": {"employee": PoolAggregate(90, 0, 90), "external": PoolAggregate(8, 0, 8)},
    }
    weights = {"employee": 0.5, "external": 0.5}
    scores = {line.idea_id: line.score for line in rank(ideas, "blended", WEIGHTED, weights)}
    # Each favourite scores its pool's weight times its pool's confidence (290 and 20 weighted votes heard).
    assert scores["staff-favourite"] == pytest.approx(0.5 * pool_confidence(290), rel=1e-3)
    assert scores["customer-favourite"] == pytest.approx(0.5 * pool_confidence(20), rel=1e-3)
    # Without the common scale the larger pool's favourite would lead by more.
    raw = {idea: blended_score({p: pool_score(a) for p, a in pools.items()}, weights)
           for idea, pools in ideas.items()}
    gap = scores["staff-favourite"] - scores["customer-favourite"]
    assert 0 < gap < 0.04 < raw["staff-favourite"] - raw["customer-favourite"]
    # Once the smaller pool has heard a hundred votes, the favourites are within 1 %.
    assert 0.5 * pool_confidence(290) - 0.5 * pool_confidence(100) < 0.01


def test_a_pool_that_heard_one_click_contributes_in_proportion_never_a_full_share():
    assert pool_confidence(0.1) < 0.06
    assert pool_scale(pool_score(PoolAggregate(0.1, 0, 1)), 0.1) * pool_score(PoolAggregate(0.1, 0, 1)) < 0.06
    ideas = {"one-click": {"external": PoolAggregate(0.1, 0, 1)},
             "liked": {"employee": PoolAggregate(6, 0, 6)}}
    scales = pool_scales(ideas)
    assert blended_score({"external": pool_score(ideas["one-click"]["external"])},
                         {"employee": 0.5, "external": 0.5}, scales) < 0.03
    assert pool_confidence(100) > 0.95


@FAST
@given(st.floats(0, 1e6), st.floats(0, 1), st.floats(0, 1e6))
def test_a_scaled_pool_still_contributes_at_most_its_weight(support, external_weight, heard):
    weights = {"employee": 1 - external_weight, "external": external_weight}
    score = pool_score(PoolAggregate(support, 0, 1))
    scales = {"external": pool_scale(score, heard)}
    assert blended_score({"external": score}, weights, scales) <= external_weight + 1e-12
