"""How much one vote counts: the weighting policy as named data plus pure functions.

A vote's weight is ``min(1, effort × standing × collusion)``, and 0 on one's own
or a co-authored idea. Every constant lives in one frozen :class:`WeightingPolicy`;
the functions here read facts the app has already gathered (:class:`VoteSignals`)
and never query anything, so a weight can be recomputed, explained and tested
without an app. ``docs/voting.md`` gives every formula with a worked example.

Changing a constant of a published policy changes past weights: publish it as a
new ``version`` so stored weights can say which rules produced them.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, NamedTuple

VoteKind = Literal["support", "reason", "ratings", "pairwise"]
Identity = Literal["employee_verified", "external_verified", "unverified"]

VOTE_KINDS: frozenset[str] = frozenset({"support", "reason", "ratings", "pairwise"})
IDENTITIES: frozenset[str] = frozenset({"employee_verified", "external_verified", "unverified"})

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class WeightingPolicy:
    """Every constant of a voting policy, in one place.

    The defaults are the ``weighted`` policy. They started from the values in the
    research notes and were checked with ``bench/crowd_sim.py``; see
    ``docs/voting.md`` for what each one does and the measured results.
    """

    name: str = "weighted"
    version: int = 1

    # Which factors this policy applies. `simple` switches all three off, so every
    # vote counts 1 (own and co-authored ideas still count 0).
    weighs_effort: bool = True
    weighs_standing: bool = True
    weighs_collusion: bool = True
    # "wilson": rank by the lower bound over weighted support (ranking.py);
    # "bradley_terry": rank by a fit over pairwise answers (pairwise.py).
    ranking_method: Literal["wilson", "bradley_terry"] = "wilson"
    # Supports each voter may give in a challenge; enforced by the app. None = no limit.
    budget_k: int | None = None
    # Whether a vote may be -1 (opposition); enforced by the app, honoured by ranking.
    allows_opposition: bool = False

    # --- effort: min(1, base + read + reason + criteria) -------------------------
    # The notes started the base (a one-click vote) at 0.25. In the crowd
    # simulation 0.1 did as well in the default scenario and held up far better
    # when drive-by herds or adversaries grow (docs/voting.md, calibration).
    effort_base: float = 0.1
    effort_read: float = 0.25
    effort_reason: float = 0.5
    effort_criteria: float = 0.25
    # Time to read an idea: half its words at this pace, clamped. Half, because a
    # reader who judges an idea skims part of it; the clamp keeps a one-liner from
    # needing 0 s and a long essay from needing minutes.
    reading_words_per_minute: float = 250.0
    read_fraction: float = 0.5
    read_min_seconds: float = 8.0
    read_max_seconds: float = 60.0
    reason_min_words: int = 20
    # Near-copy: 3-word shingles, Jaccard similarity at or above this.
    shingle_size: int = 3
    near_copy_jaccard: float = 0.8

    # --- standing: identity × age × contribution --------------------------------
    identity_employee_verified: float = 1.0
    identity_external_verified: float = 0.7
    identity_unverified: float = 0.3
    age_floor: float = 0.25
    age_floor_seconds: float = HOUR  # below this, the floor
    age_full_seconds: float = 7 * DAY  # from here on, 1
    contribution_base: float = 0.6
    contribution_full_count: int = 3  # substantive contributions in 90 days for 1

    # --- collusion (collusion.py) -------------------------------------------------
    # A cluster counts as its largest vote plus this share of each of the others.
    cluster_rest_share: float = 0.1
    # (a) burst: this many votes on one idea, within this window, by voters whose
    # standing is below the ceiling (fresh or unverified accounts).
    burst_window_seconds: float = 10 * 60
    burst_min_votes: int = 5
    burst_standing_ceiling: float = 0.3
    # (b) shared network: votes on one idea from one network hash, by voters whose
    # standing is below the ceiling. The ceiling spares verified employees, who
    # share their office's network as a matter of course.
    network_min_votes: int = 2
    network_standing_ceiling: float = 0.6
    # (c) lockstep: two voters are linked when they voted on at least
    # `lockstep_min_ideas` same ideas, each time within the window of each other;
    # linked voters acting on one idea within the window form a cluster when they
    # are at least `lockstep_min_voters`.
    lockstep_window_seconds: float = 5 * 60
    lockstep_min_ideas: int = 3
    lockstep_min_voters: int = 3
    # (d) reciprocal pairs: both people give at least this share of their supports
    # to ideas of people who support theirs; their votes for each other count ×factor.
    reciprocal_min_share: float = 0.5
    reciprocal_factor: float = 0.5
    # (e) one voter's burst: this many votes within this window count ×factor.
    voter_burst_window_seconds: float = 30.0
    voter_burst_min_votes: int = 5
    voter_burst_factor: float = 0.5

    # --- ranking (ranking.py) ----------------------------------------------------
    z: float = 1.28  # one-sided 90 % (two-sided 80 %) lower bound
    # Pools disagree when the idea's position (percentile) in two pools differs by
    # at least this much, each pool having at least `disagreement_min_votes` votes.
    disagreement_gap: float = 0.5
    disagreement_min_votes: int = 5

    # --- pairwise (pairwise.py) --------------------------------------------------
    pair_weight_cap: float = 0.05
    # An answer faster than the time to read the pair counts response/threshold,
    # never less than the floor.
    pair_fast_floor: float = 0.1
    # One-sided answerers: with at least `pair_side_min_answers` answers, a share
    # of answers on one side above `pair_side_free_ratio` is discounted linearly
    # down to `pair_side_floor` at a share of 1.
    pair_side_min_answers: int = 8
    pair_side_free_ratio: float = 0.75
    pair_side_floor: float = 0.1
    # Bradley–Terry: half a win and half a loss per idea against a virtual
    # opponent of strength 1.
    bt_prior: float = 0.5
    bt_max_iterations: int = 10_000
    bt_tolerance: float = 1e-10

    def identity_factor(self, identity: Identity) -> float:
        return {
            "employee_verified": self.identity_employee_verified,
            "external_verified": self.identity_external_verified,
            "unverified": self.identity_unverified,
        }[identity]

    @property
    def label(self) -> str:
        """``name/version``, what a stored weight records as its provenance."""
        return f"{self.name}/{self.version}"


WEIGHTED = WeightingPolicy()
SIMPLE = WeightingPolicy(
    name="simple", version=1, weighs_effort=False, weighs_standing=False, weighs_collusion=False
)
BUDGET = WeightingPolicy(name="budget", version=1, budget_k=5)
# The site picks the pairs, so a ring cannot aim its answers; an answer's effort
# is its speed and side pattern (see `answer_factors`), and collusion rules, made
# for votes aimed at one idea, are not applied.
PAIRWISE = WeightingPolicy(
    name="pairwise", version=1, weighs_collusion=False, ranking_method="bradley_terry"
)

POLICIES: Mapping[str, WeightingPolicy] = MappingProxyType(
    {p.name: p for p in (SIMPLE, WEIGHTED, BUDGET, PAIRWISE)}
)


def get_policy(name: str) -> WeightingPolicy:
    """The named policy, or ValueError naming the known ones."""
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown voting policy {name!r}; known: {', '.join(sorted(POLICIES))}") from None


@dataclass(frozen=True)
class VoteSignals:
    """The facts about one vote that its weight depends on, as the app measured them.

    Times are server-side measurements. For a pairwise answer, `seconds_since_view`
    is the time from showing the pair to the answer and `idea_word_count` the words
    shown for both ideas; `pair_same_side_ratio` and `pair_answers` describe the
    answerer's history (share of answers on their more frequent side, count).
    """

    kind: VoteKind = "support"
    value: int = 1
    viewed_before: bool = False
    seconds_since_view: float | None = None
    idea_word_count: int = 0
    reason_word_count: int = 0
    reason_is_near_copy: bool = False
    criteria_rated: bool = False
    # False when the challenge has no criteria: then there is nothing to rate and
    # no suggestion to rate.
    has_criteria: bool = True
    identity: Identity = "unverified"
    account_age_seconds: float = 0.0
    contributions_90d: int = 0
    is_author_or_coauthor: bool = False
    pair_same_side_ratio: float = 0.5
    pair_answers: int = 0

    def __post_init__(self) -> None:
        if self.kind not in VOTE_KINDS:
            raise ValueError(f"unknown vote kind {self.kind!r}")
        if self.value not in (1, -1):
            raise ValueError(f"a vote's value is 1 or -1, not {self.value!r}")
        if self.identity not in IDENTITIES:
            raise ValueError(f"unknown identity {self.identity!r}")
        for name in ("idea_word_count", "reason_word_count", "account_age_seconds",
                     "contributions_90d", "pair_answers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.seconds_since_view is not None and self.seconds_since_view < 0:
            raise ValueError("seconds_since_view cannot be negative")
        if not 0.0 <= self.pair_same_side_ratio <= 1.0:
            raise ValueError("pair_same_side_ratio lies in [0, 1]")


class Discount(NamedTuple):
    """Why a vote counts less than 1: a stable cause code and a sentence for people."""

    code: str
    text: str


@dataclass(frozen=True)
class Collusion:
    """The collusion factor of one vote and the causes behind it (collusion.py)."""

    factor: float = 1.0
    discounts: tuple[Discount, ...] = ()


NO_COLLUSION = Collusion()


@dataclass(frozen=True)
class Weight:
    """A vote's weight with everything needed to explain it."""

    value: float
    effort: float
    standing: float
    collusion: float
    discounts: tuple[Discount, ...] = field(default=())
    policy: str = WEIGHTED.label


class Suggestion(NamedTuple):
    """Something the voter can do, and how much more the vote would then count."""

    code: str
    text: str
    multiplier: float


# --- text --------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:['’]\w+)*")


def _tokens(text: str) -> list[str]:
    # Case and punctuation do not make a copied reason original.
    return _WORD.findall(text.casefold())


def word_count(text: str) -> int:
    """Words in `text` (runs of letters or digits; apostrophes join contractions)."""
    return len(_tokens(text))


def shingles(text: str, policy: WeightingPolicy = WEIGHTED) -> frozenset[tuple[str, ...]]:
    """The set of consecutive word runs of `policy.shingle_size` in normalised text.

    A text shorter than one shingle is its own single shingle, so two identical
    short reasons still match.
    """
    words = _tokens(text)
    size = policy.shingle_size
    if not words:
        return frozenset()
    if len(words) < size:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a ∩ b| / |a ∪ b|; 0 when both are empty (nothing to compare)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_copy(
    reason: str,
    others: Iterable[str | frozenset],
    policy: WeightingPolicy = WEIGHTED,
) -> bool:
    """Whether `reason` is a near-copy of any of `others`.

    `others` are the voter's other reasons and other people's reasons on the idea,
    as text or as `shingles()` already computed. Cost: O(total words).
    """
    mine = shingles(reason, policy)
    if not mine:
        return False
    for other in others:
        theirs = other if isinstance(other, frozenset) else shingles(other, policy)
        if jaccard(mine, theirs) >= policy.near_copy_jaccard:
            return True
    return False


# --- effort ------------------------------------------------------------------------


def read_seconds_needed(words: int, policy: WeightingPolicy = WEIGHTED) -> float:
    """Seconds an idea of `words` words takes to read: half the words at 250 wpm, 8–60 s."""
    seconds = words * policy.read_fraction / policy.reading_words_per_minute * 60.0
    return min(policy.read_max_seconds, max(policy.read_min_seconds, seconds))


def _read(signals: VoteSignals, policy: WeightingPolicy) -> bool:
    return (
        signals.viewed_before
        and signals.seconds_since_view is not None
        and signals.seconds_since_view >= read_seconds_needed(signals.idea_word_count, policy)
    )


def _reasoned(signals: VoteSignals, policy: WeightingPolicy) -> bool:
    return signals.reason_word_count >= policy.reason_min_words and not signals.reason_is_near_copy


def answer_factors(
    response_seconds: float | None,
    read_threshold_seconds: float,
    same_side_ratio: float,
    n_answers: int,
    policy: WeightingPolicy = WEIGHTED,
) -> tuple[float, float]:
    """(speed, side) factors of a pairwise answer, each in [floor, 1].

    Speed: an answer given before the pair could be read counts in proportion to
    the time taken. Side: with enough answers, someone who picks one side far more
    often than chance would explain is not comparing the ideas (the site shows the
    two sides in random order, so honest answers split about evenly).
    """
    if response_seconds is None:
        speed = policy.pair_fast_floor
    elif read_threshold_seconds <= 0 or response_seconds >= read_threshold_seconds:
        speed = 1.0
    else:
        speed = max(policy.pair_fast_floor, response_seconds / read_threshold_seconds)
    side = 1.0
    ratio = max(same_side_ratio, 1.0 - same_side_ratio)
    if n_answers >= policy.pair_side_min_answers and ratio > policy.pair_side_free_ratio:
        excess = (ratio - policy.pair_side_free_ratio) / (1.0 - policy.pair_side_free_ratio)
        side = max(policy.pair_side_floor, 1.0 - excess * (1.0 - policy.pair_side_floor))
    return speed, side


def _effort_parts(signals: VoteSignals, policy: WeightingPolicy) -> tuple[float, list[Discount]]:
    if signals.kind == "pairwise":
        need = read_seconds_needed(signals.idea_word_count, policy)
        speed, side = answer_factors(
            signals.seconds_since_view, need, signals.pair_same_side_ratio, signals.pair_answers, policy
        )
        notes: list[Discount] = []
        if speed < 1.0:
            taken = signals.seconds_since_view
            shown = "an unknown time" if taken is None else f"{taken:.0f} s"
            notes.append(Discount(
                "answered_fast",
                f"answered after {shown}; reading the pair takes about {need:.0f} s: ×{_num(speed)}",
            ))
        if side < 1.0:
            notes.append(Discount(
                "one_sided",
                f"{signals.pair_same_side_ratio:.0%} of {signals.pair_answers} answers picked the "
                f"same side: ×{_num(side)}",
            ))
        return speed * side, notes

    value = policy.effort_base
    missing: list[Discount] = []
    if _read(signals, policy):
        value += policy.effort_read
    elif not signals.viewed_before:
        missing.append(Discount("not_read", "voted without opening the idea first"))
    else:
        need = read_seconds_needed(signals.idea_word_count, policy)
        taken = signals.seconds_since_view
        shown = "an unknown time" if taken is None else f"{taken:.0f} s"
        missing.append(Discount(
            "read_too_fast", f"voted {shown} after opening the idea; reading it takes about {need:.0f} s"
        ))
    if _reasoned(signals, policy):
        value += policy.effort_reason
    elif signals.reason_word_count == 0:
        missing.append(Discount("no_reason", "no reason given"))
    elif signals.reason_is_near_copy:
        missing.append(Discount("copied_reason", "the reason is a near-copy of another reason"))
    else:
        missing.append(Discount(
            "short_reason",
            f"the reason has {signals.reason_word_count} words; {policy.reason_min_words} count as a reason",
        ))
    attainable = policy.effort_base + policy.effort_read + policy.effort_reason
    if signals.has_criteria:
        attainable += policy.effort_criteria
        if signals.criteria_rated:
            value += policy.effort_criteria
        else:
            missing.append(Discount("criteria_not_rated", "the challenge's criteria were not all rated"))
    # Measured against the most a vote can show in this challenge: where there are no
    # criteria to rate, a read and reasoned vote has done everything and counts fully.
    value = min(1.0, value / min(1.0, attainable))
    # A missing part is only a discount if the vote counts less for it.
    return value, (missing if value < 1.0 else [])


def effort(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """How much effort the vote shows, in [0, 1].

    ``min(1, base + read + reason + criteria)``; a pairwise answer's effort is
    its speed × side factors (`answer_factors`).
    """
    return _effort_parts(signals, policy)[0]


# --- standing ----------------------------------------------------------------------


def age_factor(age_seconds: float, policy: WeightingPolicy = WEIGHTED) -> float:
    """The floor under an hour, then linear up to 1 at a week."""
    if age_seconds < policy.age_floor_seconds:
        return policy.age_floor
    span = policy.age_full_seconds - policy.age_floor_seconds
    ramp = (age_seconds - policy.age_floor_seconds) / span if span > 0 else 1.0
    return min(1.0, policy.age_floor + (1.0 - policy.age_floor) * ramp)


def contribution_factor(contributions: int, policy: WeightingPolicy = WEIGHTED) -> float:
    """``base + (1 − base) · min(1, k / full)``: 0.6 with none, 1 from three on."""
    share = min(1.0, contributions / policy.contribution_full_count) if policy.contribution_full_count else 1.0
    return policy.contribution_base + (1.0 - policy.contribution_base) * share


def _standing_parts(signals: VoteSignals, policy: WeightingPolicy) -> tuple[float, list[Discount]]:
    identity = policy.identity_factor(signals.identity)
    age = age_factor(signals.account_age_seconds, policy)
    contribution = contribution_factor(signals.contributions_90d, policy)
    notes: list[Discount] = []
    if identity < 1.0:
        who = {
            "external_verified": "an external participant with a verified e-mail",
            "unverified": "an account whose e-mail is not verified",
            "employee_verified": "a verified employee",
        }[signals.identity]
        notes.append(Discount(f"identity_{signals.identity}", f"{who}: ×{_num(identity)}"))
    if age < 1.0:
        notes.append(Discount(
            "new_account", f"the account was {_duration(signals.account_age_seconds)} old at the vote: ×{_num(age)}"
        ))
    if contribution < 1.0:
        notes.append(Discount(
            "few_contributions",
            f"{signals.contributions_90d} substantive contribution"
            f"{'' if signals.contributions_90d == 1 else 's'} in the last 90 days: ×{_num(contribution)}",
        ))
    return identity * age * contribution, notes


def standing(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """The voter's standing at the vote, in [0, 1]: identity × age × contribution."""
    return _standing_parts(signals, policy)[0]


# --- weight ------------------------------------------------------------------------


def weight_for(
    signals: VoteSignals,
    policy: WeightingPolicy = WEIGHTED,
    collusion: float | Collusion = 1.0,
) -> Weight:
    """The vote's weight under `policy`, with its factors and every discount applied.

    `collusion` is the factor from `collusion.collusion_factors` (a `Collusion`,
    whose causes are then listed) or a bare number in [0, 1].
    """
    found = collusion if isinstance(collusion, Collusion) else Collusion(float(collusion))
    if not 0.0 <= found.factor <= 1.0 or math.isnan(found.factor):
        raise ValueError(f"a collusion factor lies in [0, 1], not {found.factor!r}")
    if signals.is_author_or_coauthor:
        return Weight(
            0.0, 0.0, 0.0, 0.0,
            (Discount("own_idea", "a vote on one's own or a co-authored idea counts 0"),),
            policy.label,
        )
    discounts: list[Discount] = []
    effort_value = standing_value = collusion_value = 1.0
    if policy.weighs_effort:
        effort_value, notes = _effort_parts(signals, policy)
        discounts += notes
    if policy.weighs_standing:
        standing_value, notes = _standing_parts(signals, policy)
        discounts += notes
    if policy.weighs_collusion:
        collusion_value = found.factor
        discounts += found.discounts
    value = min(1.0, max(0.0, effort_value * standing_value * collusion_value))
    return Weight(value, effort_value, standing_value, collusion_value, tuple(discounts), policy.label)


def what_would_raise(
    signals: VoteSignals,
    policy: WeightingPolicy = WEIGHTED,
    collusion: float | Collusion = 1.0,
) -> list[Suggestion]:
    """What the voter could still do, each with the multiplier it would bring.

    Multipliers are computed by weighing the changed vote, never written down, so
    they stay true when constants change. Largest first. Nothing is suggested for
    a vote that counts 0 (own idea, or a collusion factor of 0) or already counts 1.
    Account age is not suggested (nothing to do but wait) and neither are
    contributions (a nudge to post more would invite filler).
    """
    before = weight_for(signals, policy, collusion).value
    if before <= 0.0 or before >= 1.0:
        return []
    need = read_seconds_needed(signals.idea_word_count, policy)
    read = {"viewed_before": True, "seconds_since_view": max(need, signals.seconds_since_view or 0.0)}
    reason = {"reason_word_count": max(policy.reason_min_words, signals.reason_word_count),
              "reason_is_near_copy": False}
    criteria = {"criteria_rated": True}

    candidates: list[tuple[str, str, dict]] = []
    if signals.kind == "pairwise":
        if policy.weighs_effort:
            candidates.append(("read_pair", f"take the time to read both ideas (about {need:.0f} s) before answering",
                               {"seconds_since_view": max(need, signals.seconds_since_view or 0.0)}))
    elif policy.weighs_effort:
        actions: list[tuple[str, str, dict]] = []
        if not _read(signals, policy):
            actions.append(("read_first", f"open the idea and read it (about {need:.0f} s) before voting", read))
        if not _reasoned(signals, policy):
            what = "in your own words " if signals.reason_is_near_copy else ""
            actions.append(("add_reason", f"add a reason of at least {policy.reason_min_words} words {what}".rstrip(),
                            reason))
        if signals.has_criteria and not signals.criteria_rated:
            actions.append(("rate_criteria", "rate the idea on all of the challenge's criteria", criteria))
        candidates += actions
        # Together: the fewest actions, in this order, that bring effort to its cap.
        merged: dict = {}
        taken: list[str] = []
        for _, text, change in actions:
            if effort(replace(signals, **merged), policy) >= 1.0:
                break
            merged.update(change)
            taken.append(text)
        if len(taken) > 1:
            candidates.append(("all_effort", ", then ".join(taken), merged))
    if policy.weighs_standing and signals.identity == "unverified":
        candidates.append(("verify_email", "verify your e-mail address", {"identity": "external_verified"}))

    found: list[Suggestion] = []
    for code, text, change in candidates:
        after = weight_for(replace(signals, **change), policy, collusion).value
        multiplier = after / before
        if multiplier > 1.0 + 1e-9:
            found.append(Suggestion(code, f"{text}: this vote would count ×{_num(multiplier)}", multiplier))
    found.sort(key=lambda s: (-s.multiplier, s.code))
    return found


# --- formatting --------------------------------------------------------------------


def _num(x: float) -> str:
    """4.0 → "4", 2.333 → "2.3", 0.25 → "0.25": short, and exact enough to check."""
    text = f"{x:.2f}" if x < 1 else f"{x:.1f}"
    return text.rstrip("0").rstrip(".")


def _duration(seconds: float) -> str:
    if seconds < HOUR:
        return f"{max(0, int(seconds // 60))} min"
    if seconds < 2 * DAY:
        return f"{int(seconds // HOUR)} h"
    return f"{int(seconds // DAY)} days"
