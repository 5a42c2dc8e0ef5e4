"""Scores and rankings per pool and blended, from weighted vote aggregates.

Pure: the app keeps one `PoolAggregate` per idea and pool (updated when a vote is
cast, changed or withdrawn) and hands them here; reading a ranking then costs the
number of ideas, not the number of votes.

- A pool's score is the Wilson lower bound on the weighted share of support, so a
  few votes do not beat many. Views are not a denominator: an idea read by many
  and supported by a few honest people must not lose to a ring that reads nothing.
- Pools on one scale: before blending, a pool's scores are divided by its best
  score and multiplied by its confidence H / (H + z²), H being the weighted support
  the pool has given (`pool_scale`). Blended = Σ pool weight × min(1, scaled
  score), so no pool adds more than its weight, however many voters it has, and
  a pool that has heard a handful of votes adds in proportion to that.
- Where the pools judge an idea very differently, the idea is flagged: that
  disagreement is information, not noise to average away.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from ideas.voting.weighting import WEIGHTED, WeightingPolicy

POOLS: tuple[str, ...] = ("employee", "external")
BLENDED = "blended"


def wilson_lower_bound(support_weight: float, oppose_weight: float = 0.0, z: float = WEIGHTED.z) -> float:
    """Lower bound of the Wilson interval on the support share, in [0, 1].

    n = support + oppose (weighted), p̂ = support / n:
    ``LB = (p̂ + z²/2n − z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)``; 0 when n = 0.
    With support only it is n / (n + z²): rising with n, bounded by 1.
    """
    if support_weight < 0 or oppose_weight < 0:
        raise ValueError("weights cannot be negative")
    n = support_weight + oppose_weight
    if n <= 0:
        return 0.0
    # The same formula multiplied through by n, which stays exact for tiny weights
    # where z²/4n² would overflow: (s + z²/2 − z·√(s·o/n + z²/4)) / (n + z²).
    z2 = z * z
    spread = z * math.sqrt(support_weight * oppose_weight / n + z2 / 4)
    bound = (support_weight + z2 / 2 - spread) / (n + z2)
    return min(1.0, max(0.0, bound))


@dataclass(frozen=True)
class PoolAggregate:
    """What one pool has said about one idea: weighted support, opposition, and votes."""

    support_weight: float = 0.0
    oppose_weight: float = 0.0
    raw_count: int = 0

    def add(self, weight: float, value: int = 1) -> PoolAggregate:
        """The aggregate with one more vote (value 1 support, -1 opposition)."""
        if value > 0:
            return PoolAggregate(self.support_weight + weight, self.oppose_weight, self.raw_count + 1)
        return PoolAggregate(self.support_weight, self.oppose_weight + weight, self.raw_count + 1)

    def remove(self, weight: float, value: int = 1) -> PoolAggregate:
        """The aggregate without a vote (withdrawn, or changed: remove then add).

        Clamped at 0 against floating-point crumbs from many adds and removes.
        """
        if value > 0:
            return PoolAggregate(max(0.0, self.support_weight - weight), self.oppose_weight,
                                 max(0, self.raw_count - 1))
        return PoolAggregate(self.support_weight, max(0.0, self.oppose_weight - weight),
                             max(0, self.raw_count - 1))


def aggregate(entries: Iterable[tuple[str, int, float]]) -> dict[str, PoolAggregate]:
    """Per-pool aggregates from (pool, value, weight) entries of one idea.

    The set-based counterpart of `PoolAggregate.add`, for recomputing after a policy
    change. Sums are exact (math.fsum) so the result does not depend on order.
    """
    support: dict[str, list[float]] = defaultdict(list)
    oppose: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for pool, value, weight in entries:
        (support if value > 0 else oppose)[pool].append(weight)
        counts[pool] += 1
    return {
        pool: PoolAggregate(math.fsum(support[pool]), math.fsum(oppose[pool]), counts[pool])
        for pool in counts
    }


def pool_score(agg: PoolAggregate, policy: WeightingPolicy = WEIGHTED) -> float:
    """The pool's score for an idea: Wilson lower bound over weighted support.

    Opposition counts only where the policy allows it.
    """
    oppose = agg.oppose_weight if policy.allows_opposition else 0.0
    return wilson_lower_bound(agg.support_weight, oppose, policy.z)


def check_pool_weights(pool_weights: Mapping[str, float]) -> None:
    """ValueError unless every weight is ≥ 0 and they sum to at most 1."""
    for pool, weight in pool_weights.items():
        if weight < 0 or math.isnan(weight):
            raise ValueError(f"pool weight of {pool!r} cannot be negative")
    if math.fsum(pool_weights.values()) > 1.0 + 1e-9:
        raise ValueError("pool weights sum to more than 1")


def pool_confidence(heard_weight: float, policy: WeightingPolicy = WEIGHTED) -> float:
    """How sure a pool's ranking is, in [0, 1): H / (H + z²), H the weighted support it gave.

    The Wilson bound of the pool's whole support: one click (0.1) gives 0.06,
    five engaged votes 0.75, twenty 0.92, a hundred 0.98.
    """
    if heard_weight <= 0:
        return 0.0
    return heard_weight / (heard_weight + policy.z * policy.z)


def pool_scale(best_score: float, heard_weight: float, policy: WeightingPolicy = WEIGHTED) -> float:
    """The factor that puts a pool's scores on the common scale: confidence / best score.

    The pool's best idea then scores its confidence, whatever the pool's size:
    a pool of fifty and a pool of five thousand weigh their favourites alike once
    both have heard enough, and one click is never a full share. 0 for a pool that
    has supported nothing.
    """
    if best_score <= 0 or heard_weight <= 0:
        return 0.0
    exact = pool_confidence(heard_weight, policy) / best_score
    # On a grid of 0.1 % steps: a vote moves the scale (and every blended score of
    # the challenge with it) only when it crosses a step, so the app re-blends
    # rarely, and the live, imported and rebuilt scores are the same numbers.
    return SCALE_STEP ** round(math.log(exact) / math.log(SCALE_STEP))


SCALE_STEP = 1.001


def pool_scales(ideas: Mapping[Hashable, Mapping[str, PoolAggregate]],
                policy: WeightingPolicy = WEIGHTED) -> dict[str, float]:
    """`pool_scale` of every pool from all the ideas' aggregates (the set-based form)."""
    best: dict[str, float] = defaultdict(float)
    heard: dict[str, list[float]] = defaultdict(list)
    for pools in ideas.values():
        for pool, agg in pools.items():
            best[pool] = max(best[pool], pool_score(agg, policy))
            heard[pool].append(agg.support_weight)
    return {pool: pool_scale(best[pool], math.fsum(heard[pool]), policy) for pool in best}


def blended_score(pool_scores: Mapping[str, float], pool_weights: Mapping[str, float],
                  scales: Mapping[str, float] | None = None) -> float:
    """Σ pool weight × min(1, pool score × pool scale); a pool without a score adds 0.
    With a single weighted pool, no scale: that pool's weight × its score.

    `scales` are the pools' `pool_scale` factors; without them the scores are
    blended as they are. Weights must sum to at most 1 (published shares), so the
    blended score lies in [0, 1] and a pool contributes at most its weight.
    """
    check_pool_weights(pool_weights)
    # One pool (the other's weight 0) has nothing to be put on a common scale with: its
    # blended score is its own score, the one its ranking shows.
    if scales is None or sum(1 for weight in pool_weights.values() if weight > 0) <= 1:
        return math.fsum(weight * pool_scores.get(pool, 0.0) for pool, weight in pool_weights.items())
    return math.fsum(weight * min(1.0, pool_scores.get(pool, 0.0) * scales.get(pool, 0.0))
                     for pool, weight in pool_weights.items())


def positions(scores: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Each idea's position in [0, 1]: the share of the other ideas it scores above.

    Ties count half. A lone idea sits at 0.5. O(n log n).
    """
    n = len(scores)
    if n == 1:
        return {idea: 0.5 for idea in scores}
    ordered = sorted(scores.items(), key=lambda item: item[1])
    result: dict[Hashable, float] = {}
    i = 0
    while i < n:
        j = i
        while j + 1 < n and ordered[j + 1][1] == ordered[i][1]:
            j += 1
        below, ties = i, j - i  # ties: the others with the same score
        for idea, _ in ordered[i : j + 1]:
            result[idea] = (below + 0.5 * ties) / (n - 1)
        i = j + 1
    return result


def pools_disagree(
    scores_by_pool: Mapping[str, float],
    policy: WeightingPolicy = WEIGHTED,
    raw_counts_by_pool: Mapping[str, int] | None = None,
) -> bool:
    """Whether two pools judge the idea sharply differently.

    `scores_by_pool` must be on a scale shared by the pools; `rank` passes the
    idea's position in each pool, because raw Wilson bounds also reflect how many
    voters a pool has, and a small pool is not a dissenting one. Sharp means a gap of
    at least `policy.disagreement_gap`, between pools that each have at least
    `policy.disagreement_min_votes` votes on the idea (when counts are given).
    """
    heard = [
        score for pool, score in scores_by_pool.items()
        if raw_counts_by_pool is None or raw_counts_by_pool.get(pool, 0) >= policy.disagreement_min_votes
    ]
    return len(heard) >= 2 and max(heard) - min(heard) >= policy.disagreement_gap


@dataclass(frozen=True)
class RankedIdea:
    """One line of a ranking."""

    idea_id: Hashable
    score: float
    pool_scores: Mapping[str, float] = field(default_factory=dict)
    raw_counts: Mapping[str, int] = field(default_factory=dict)
    pools_disagree: bool = False

    @property
    def raw_count(self) -> int:
        return sum(self.raw_counts.values())


def rank(
    ideas: Mapping[Hashable, Mapping[str, PoolAggregate]],
    pool: str = BLENDED,
    policy: WeightingPolicy = WEIGHTED,
    pool_weights: Mapping[str, float] | None = None,
) -> list[RankedIdea]:
    """Ideas in rank order for one pool or blended, from their per-pool aggregates.

    Best first; equal scores in idea-id order, so the order is stable and ids must
    be mutually orderable. `pool_weights` is required for "blended". O(n log n) in
    the number of ideas.
    """
    scores = {idea: {p: pool_score(agg, policy) for p, agg in pools.items()} for idea, pools in ideas.items()}
    counts = {idea: {p: agg.raw_count for p, agg in pools.items()} for idea, pools in ideas.items()}
    return rank_scores(scores, counts, pool, policy, pool_weights, pool_scales(ideas, policy))


def rank_scores(
    scores: Mapping[Hashable, Mapping[str, float]],
    raw_counts: Mapping[Hashable, Mapping[str, int]],
    pool: str = BLENDED,
    policy: WeightingPolicy = WEIGHTED,
    pool_weights: Mapping[str, float] | None = None,
    scales: Mapping[str, float] | None = None,
) -> list[RankedIdea]:
    """`rank` for scores already computed per pool, such as Bradley–Terry scores.

    `scales`: the pools' `pool_scale` factors for the blend (None: scores as they are).
    """
    if pool == BLENDED:
        if pool_weights is None:
            raise ValueError("a blended ranking needs pool weights")
        check_pool_weights(pool_weights)
    pools = sorted({p for per in scores.values() for p in per} | set(pool_weights or ()))
    placed = {p: positions({idea: per.get(p, 0.0) for idea, per in scores.items()}) for p in pools}
    lines: list[RankedIdea] = []
    for idea, per in scores.items():
        counts = dict(raw_counts.get(idea, {}))
        score = blended_score(per, pool_weights, scales) if pool == BLENDED else per.get(pool, 0.0)
        flag = pools_disagree({p: placed[p][idea] for p in pools}, policy, counts)
        lines.append(RankedIdea(idea, score, dict(per), counts, flag))
    lines.sort(key=lambda line: (-line.score, line.idea_id))
    return lines
