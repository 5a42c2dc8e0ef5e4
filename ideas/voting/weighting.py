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
    version: int = 2

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
    # Reason credit = length × specificity, graded (no cliff): length rises
    # linearly to 1 at `reason_full_words`; specificity (`reason_specificity`) is
    # how much of the reason speaks about this idea rather than praising in
    # general. A copy earns nothing.
    reason_full_words: int = 12
    # Specificity: (shared + own_share × own) / full, capped at 1, where shared are
    # the reason's content words that also occur in the idea's title, summary,
    # body or tags, and own its other content words (generic praise and filler
    # words are not content words).
    specificity_full_words: float = 4.0
    specificity_own_share: float = 0.25
    # Near-copy: 3-word shingles, Jaccard similarity at or above this.
    shingle_size: int = 3
    near_copy_jaccard: float = 0.8

    # --- standing: identity × history^(1 − engagement) ----------------------------
    # Within a pool every verified member starts equal: being staff or outsider
    # changes what a vote counts only through the challenge's published pool
    # weights (ranking.blended_score), never twice.
    identity_employee_verified: float = 1.0
    identity_external_verified: float = 1.0
    identity_unverified: float = 0.3
    # History (age × contribution) discounts cheap signals, not engaged ones: it is
    # applied to the power (1 − engagement), engagement being the share of the
    # effort parts (read, reason, criteria) the vote shows. A one-click vote takes
    # the history factor whole, a read, reasoned and rated vote not at all.
    history_relief: bool = True
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
    # (b) shared network: an office, a university or a mobile carrier puts many
    # honest people on one network, so a shared network alone is no evidence. Two
    # votes on one idea from one network are linked only with a second clue: cast
    # within `network_window_seconds` of each other; both reasons near-copies;
    # both accounts younger than `network_fresh_seconds` and created within
    # `network_created_window_seconds` of each other; or both voters voted from
    # this network on at least `network_covote_ideas` of the same ideas, which make
    # up at least `network_covote_share` of the ideas each of them voted on from
    # it (colleagues who like the same three favourites among many votes are not
    # a pattern; accounts that vote for the same slate and nothing else are).
    # Linked votes form a cluster of at least `network_min_votes`.
    network_min_votes: int = 2
    network_window_seconds: float = 5 * 60
    network_fresh_seconds: float = 30 * DAY
    network_created_window_seconds: float = DAY
    network_covote_ideas: int = 3
    network_covote_share: float = 0.75
    # (c) lockstep: two voters are linked when they voted on at least
    # `lockstep_min_ideas` same ideas, each time within the window of each other;
    # linked voters acting on one idea within the window form a cluster when they
    # are at least `lockstep_min_voters`.
    lockstep_window_seconds: float = 5 * 60
    lockstep_min_ideas: int = 3
    lockstep_min_voters: int = 3
    # (d) reciprocal pairs: both people give at least `reciprocal_min_mutual`
    # supports, and at least this share of their supports, to ideas of people who
    # support theirs; their votes for each other count ×factor. One vote each way
    # is ordinary life in a challenge, not a pattern.
    reciprocal_min_mutual: int = 3
    reciprocal_min_share: float = 0.5
    reciprocal_factor: float = 0.5
    # (e) one voter's burst: this many votes within this window count ×factor.
    voter_burst_window_seconds: float = 30.0
    voter_burst_min_votes: int = 5
    voter_burst_factor: float = 0.5

    # --- ranking (ranking.py) ----------------------------------------------------
    z: float = 1.28  # one-sided 90 % (two-sided 80 %) lower bound
    # Pools on one scale (ranking.pool_scale): before blending, each pool's scores
    # are divided by the pool's best score and multiplied by its confidence
    # H / (H + z²), H being the weighted support the pool has given in the
    # challenge: the same caution as one idea's Wilson bound, applied to the pool.
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

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
                    or not low <= value <= high:
                raise PolicyError(name, f"{name} must lie in [{low:g}, {high:g}], not {value!r}")
        if self.budget_k is not None and (isinstance(self.budget_k, bool) or not isinstance(self.budget_k, int)
                                          or self.budget_k < 1):
            raise PolicyError("budget_k", f"budget_k must be a whole number of at least 1, not {self.budget_k!r}")
        if self.read_min_seconds > self.read_max_seconds:
            raise PolicyError("read_min_seconds", "read_min_seconds cannot exceed read_max_seconds")
        if self.age_floor_seconds > self.age_full_seconds:
            raise PolicyError("age_floor_seconds", "age_floor_seconds cannot exceed age_full_seconds")
        if self.ranking_method not in ("wilson", "bradley_terry"):
            raise PolicyError("ranking_method", f"ranking_method is wilson or bradley_terry, "
                                                f"not {self.ranking_method!r}")

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


class PolicyError(ValueError):
    """A policy constant outside its range; `field` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


_SHARE = (0.0, 1.0)
_SECONDS = (0.0, 10 * 365 * DAY)
# The range of every numeric constant; a policy outside them is refused, naming the field.
_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "version": (1, 10_000),
    "effort_base": _SHARE, "effort_read": _SHARE, "effort_reason": _SHARE, "effort_criteria": _SHARE,
    "reading_words_per_minute": (1.0, 10_000.0), "read_fraction": (0.01, 1.0),
    "read_min_seconds": (0.0, 3600.0), "read_max_seconds": (0.0, 3600.0),
    "reason_full_words": (1, 1000), "specificity_full_words": (0.5, 100.0), "specificity_own_share": _SHARE,
    "shingle_size": (1, 20), "near_copy_jaccard": (0.01, 1.0),
    "identity_employee_verified": _SHARE, "identity_external_verified": _SHARE, "identity_unverified": _SHARE,
    "age_floor": _SHARE, "age_floor_seconds": _SECONDS, "age_full_seconds": _SECONDS,
    "contribution_base": _SHARE, "contribution_full_count": (0, 1000),
    "cluster_rest_share": _SHARE, "burst_window_seconds": _SECONDS, "burst_min_votes": (2, 100_000),
    "burst_standing_ceiling": _SHARE, "network_min_votes": (2, 100_000), "network_window_seconds": _SECONDS,
    "network_fresh_seconds": _SECONDS, "network_created_window_seconds": _SECONDS,
    "network_covote_ideas": (2, 1000), "network_covote_share": _SHARE, "lockstep_window_seconds": _SECONDS, "lockstep_min_ideas": (2, 1000),
    "lockstep_min_voters": (2, 100_000), "reciprocal_min_mutual": (1, 1000), "reciprocal_min_share": _SHARE,
    "reciprocal_factor": _SHARE, "voter_burst_window_seconds": _SECONDS, "voter_burst_min_votes": (2, 100_000),
    "voter_burst_factor": _SHARE, "z": (0.0, 10.0),
    "disagreement_gap": _SHARE, "disagreement_min_votes": (0, 1_000_000), "pair_weight_cap": (1e-6, 1.0),
    "pair_fast_floor": _SHARE, "pair_side_min_answers": (1, 1_000_000), "pair_side_free_ratio": (0.5, 0.999),
    "pair_side_floor": _SHARE, "bt_prior": (1e-6, 1000.0), "bt_max_iterations": (1, 10_000_000),
    "bt_tolerance": (0.0, 1.0),
})


WEIGHTED = WeightingPolicy()
SIMPLE = WeightingPolicy(
    name="simple", version=1, weighs_effort=False, weighs_standing=False, weighs_collusion=False
)
BUDGET = WeightingPolicy(name="budget", version=2, budget_k=5)
# The site picks the pairs, so a ring cannot aim its answers; an answer's effort
# is its speed and side pattern (see `answer_factors`), and collusion rules, made
# for votes aimed at one idea, are not applied.
PAIRWISE = WeightingPolicy(
    name="pairwise", version=2, weighs_collusion=False, ranking_method="bradley_terry"
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
    # `reason_specificity` of the reason against the idea, in [0, 1]; 1 where it
    # was not measured (then the reason is judged by its length alone).
    reason_specificity: float = 1.0
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
        if not 0.0 <= self.reason_specificity <= 1.0:
            raise ValueError("reason_specificity lies in [0, 1]")


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
    """A vote's weight with everything needed to explain it.

    ``value = min(1, effort × standing × collusion)``, where `standing` is the
    standing this vote counts with (`vote_standing`), not the voter's bare
    standing (`standing`).
    """

    value: float
    effort: float
    standing: float
    collusion: float
    discounts: tuple[Discount, ...] = field(default=())
    policy: str = WEIGHTED.label


# Every discount code in plain words, for pages that list causes without a
# particular vote's sentence (the manager's breakdown, archives). A page never
# shows a raw code.
DISCOUNT_LABELS: Mapping[str, str] = MappingProxyType({
    "own_idea": "vote on one's own or a co-authored idea (counts 0)",
    "not_read": "voted without opening the idea first",
    "read_too_fast": "voted sooner after opening the idea than it takes to read",
    "no_reason": "no reason given",
    "short_reason": "a short reason",
    "generic_reason": "a reason that says little about this idea (generic praise)",
    "copied_reason": "a reason copied from another reason",
    "criteria_not_rated": "the challenge's criteria not all rated",
    "identity_unverified": "e-mail address not verified",
    "identity_external_verified": "external participant",
    "identity_employee_verified": "employee",
    "new_account": "a new account (counts less on quick votes)",
    "few_contributions": "few ideas or comments in the last 90 days (counts less on quick votes)",
    "burst": "one of a burst of votes from new or unverified accounts",
    "shared_network": "one of several votes from one network that also share timing, wording or accounts",
    "lockstep": "one of a group of voters who vote on the same ideas within minutes",
    "reciprocal": "voter and author repeatedly support each other's ideas",
    "voter_burst": "one of many votes cast by one person within seconds",
    "answered_fast": "pair answered faster than it takes to read",
    "one_sided": "answers nearly always on the same side of the pair",
})


EFFORT_CODES = frozenset({"not_read", "read_too_fast", "no_reason", "short_reason", "generic_reason",
                          "copied_reason", "criteria_not_rated", "answered_fast", "one_sided"})
STANDING_CODES = frozenset({"identity_unverified", "identity_external_verified", "identity_employee_verified",
                            "new_account", "few_contributions"})


def attribute_loss(codes: Iterable[str], effort: float, standing: float, collusion: float) -> dict[str, float]:
    """Which share of a vote's lost weight each of its discounts caused, summing to 1.

    The weight is a product, so each factor's share of the loss is its share of
    −ln(weight): ``−ln f / −ln(e·s·c)``; a factor's share is split evenly among
    the discounts that explain it (effort, standing or collusion codes).
    """
    codes = list(dict.fromkeys(codes))
    if "own_idea" in codes:
        return {"own_idea": 1.0}
    groups = {"effort": [c for c in codes if c in EFFORT_CODES],
              "standing": [c for c in codes if c in STANDING_CODES]}
    groups["collusion"] = [c for c in codes if c not in EFFORT_CODES and c not in STANDING_CODES]
    logs = {name: -math.log(max(1e-9, min(1.0, value)))
            for name, value in (("effort", effort), ("standing", standing), ("collusion", collusion))}
    total = math.fsum(logs[name] for name in groups if groups[name])
    if total <= 0:
        return {code: 1.0 / len(codes) for code in codes} if codes else {}
    shares: dict[str, float] = {}
    for name, members in groups.items():
        for code in members:
            shares[code] = logs[name] / total / len(members)
    return shares


def discount_label(code: str) -> str:
    """The plain words for a discount code; an unknown code is described, never shown raw."""
    return DISCOUNT_LABELS.get(code, "another discount")


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


# Words that carry no information about an idea: grammar, and the baseline of
# generic praise ("great idea, I fully support this, it would really help
# everyone") that can be pasted under any idea. Measured on the demo's and the
# simulation's generic reasons; see docs/voting.md, "Reason specificity".
STOPWORDS: frozenset[str] = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can did do does doing done down during each few for from further had has have having he
her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once
only or other our ours out over own same she should so some such than that the their theirs them then there
these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours could might must shall may us let lets it's i'm don't can't won't isn't
""".split())
GENERIC_PRAISE: frozenset[str] = frozenset("""
great good nice cool awesome amazing excellent fantastic wonderful brilliant super superb perfect terrific
love loved like liked likes support supported supporting agree agreed idea ideas fully totally really truly
absolutely definitely strongly completely certainly surely clearly simply think thought believe feel
make makes made way thing things lot lots everyone everybody people help helps helpful useful important
need needed needs better best improve improvement improvements worth well yes please soon possible go
plan proposal suggestion concept initiative change changes project benefit benefits beneficial positive
value valuable much many everything something anything one ones would get gets getting really big huge
sure hope hopefully implement implemented implementing vote voting voted deserves deserve top favourite
favorite must win winner exactly right true add adds excited exciting interesting innovative
smart clever genius happen happens put forward fine okay ok wow omg
""".split())


def _stem(word: str) -> str:
    """A crude stem, enough to match "kiosks" with "kiosk" and "queueing" with "queue"."""
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> frozenset[str]:
    """Stems of the words that can say something particular: no grammar, no generic praise."""
    return frozenset(
        _stem(w) for w in _tokens(text)
        if len(w) >= 3 and w not in STOPWORDS and w not in GENERIC_PRAISE and not w.isdigit()
    )


def reason_specificity(reason: str, idea_text: str, policy: WeightingPolicy = WEIGHTED) -> float:
    """How much the reason speaks about this idea, in [0, 1].

    ``min(1, (shared + own_share × own) / full)``: `shared` are the reason's
    content words that also occur in the idea's text, `own` its other content
    words. Generic praise has no content words, so it scores 0 however long.
    """
    mine = content_words(reason)
    if not mine:
        return 0.0
    about = content_words(idea_text)
    shared = len(mine & about)
    own = len(mine) - shared
    return min(1.0, (shared + policy.specificity_own_share * own) / policy.specificity_full_words)


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


def reason_credit(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """The share of the reason bonus a reason earns, in [0, 1]: length × specificity.

    Length rises linearly to 1 at `reason_full_words`; a near-copy earns 0.
    """
    if signals.reason_is_near_copy or signals.reason_word_count == 0:
        return 0.0
    length = min(1.0, signals.reason_word_count / policy.reason_full_words)
    return length * signals.reason_specificity


def _reasoned(signals: VoteSignals, policy: WeightingPolicy) -> bool:
    return reason_credit(signals, policy) >= 1.0 - 1e-9


def engagement(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """The share of the effort parts the vote shows, in [0, 1] (0 for a one-click vote).

    Effort above the one-click base, over the most a vote can add in this
    challenge; a pairwise answer's engagement is its effort.
    """
    value = effort(signals, policy)
    if signals.kind == "pairwise":
        return value
    if policy.effort_base >= 1.0:
        return 1.0
    return min(1.0, max(0.0, (value - policy.effort_base) / (1.0 - policy.effort_base)))


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


def answer_weight(
    response_seconds: float | None,
    read_threshold_seconds: float,
    same_side_ratio: float,
    n_answers: int,
    policy: WeightingPolicy = WEIGHTED,
) -> float:
    """How much a pairwise answer counts for its effort, in (0, 1]: speed × side.

    An answer faster than the time to read the pair counts response / threshold (at
    least `pair_fast_floor`); an answerer with at least `pair_side_min_answers`
    answers whose share on one side exceeds `pair_side_free_ratio` is discounted
    linearly to `pair_side_floor` at a share of 1 (`answer_factors`). This is the
    effort `weight_for` gives a pairwise answer (which then multiplies in the
    voter's standing); `pairwise.answer_weight` is this function.
    """
    speed, side = answer_factors(response_seconds, read_threshold_seconds, same_side_ratio, n_answers, policy)
    return speed * side


def _effort_parts(signals: VoteSignals, policy: WeightingPolicy) -> tuple[float, list[Discount]]:
    if signals.kind == "pairwise":
        need = read_seconds_needed(signals.idea_word_count, policy)
        speed, side = answer_factors(
            signals.seconds_since_view, need, signals.pair_same_side_ratio, signals.pair_answers, policy
        )
        value = answer_weight(signals.seconds_since_view, need, signals.pair_same_side_ratio, signals.pair_answers,
                              policy)
        notes: list[Discount] = []
        if speed < 1.0:
            taken = signals.seconds_since_view
            shown = "an unknown time" if taken is None else f"{math.floor(taken)} s"
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
        return value, notes

    value = policy.effort_base
    missing: list[Discount] = []
    if _read(signals, policy):
        value += policy.effort_read
    elif not signals.viewed_before:
        missing.append(Discount("not_read", "voted without opening the idea first"))
    else:
        need = read_seconds_needed(signals.idea_word_count, policy)
        taken = signals.seconds_since_view
        shown = "an unknown time" if taken is None else f"{math.floor(taken)} s"
        missing.append(Discount(
            "read_too_fast", f"voted {shown} after opening the idea; reading it takes about {need:.0f} s"
        ))
    credit = reason_credit(signals, policy)
    value += policy.effort_reason * credit
    if signals.reason_word_count == 0:
        missing.append(Discount("no_reason", "no reason given"))
    elif signals.reason_is_near_copy:
        missing.append(Discount("copied_reason", "the reason is a near-copy of another reason, so it earns "
                                                 "no reason credit"))
    elif credit < 1.0 - 1e-9:
        length = min(1.0, signals.reason_word_count / policy.reason_full_words)
        if signals.reason_specificity < 0.5:
            missing.append(Discount(
                "generic_reason",
                f"the reason says little about this idea in particular (generic praise earns little): "
                f"{_credit_words(credit)}",
            ))
        elif signals.reason_specificity <= length:
            missing.append(Discount(
                "generic_reason",
                f"the reason speaks only in part about this idea (what it would change, for whom, how): "
                f"{_credit_words(credit)}",
            ))
        else:
            missing.append(Discount(
                "short_reason",
                f"the reason is short ({signals.reason_word_count} words; about {policy.reason_full_words} "
                f"words about the idea earn it all): {_credit_words(credit)}",
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
    """The standing this vote counts with: identity × (age × contribution)^(1 − engagement)."""
    identity = policy.identity_factor(signals.identity)
    age = age_factor(signals.account_age_seconds, policy)
    contribution = contribution_factor(signals.contributions_90d, policy)
    power = 1.0 - engagement(signals, policy) if policy.history_relief else 1.0
    age_applied, contribution_applied = age**power, contribution**power
    spared = ("; the more care a vote shows (read, a reason, ratings), the less this counts against it"
              if power < 1.0 else "")
    notes: list[Discount] = []
    if identity < 1.0:
        notes.append(Discount(f"identity_{signals.identity}",
                              f"{IDENTITY_WORDS[signals.identity]}: ×{_num(identity)}"))
    if age_applied < 1.0 - 5e-3:
        notes.append(Discount(
            "new_account",
            f"the account was {_duration(signals.account_age_seconds)} old at the vote: ×{_num(age_applied)}{spared}",
        ))
    if contribution_applied < 1.0 - 5e-3:
        notes.append(Discount(
            "few_contributions",
            f"{_contributions_words(signals.contributions_90d)} in the last 90 days (from "
            f"{policy.contribution_full_count} on, a voter's history counts in full): "
            f"×{_num(contribution_applied)}{spared}",
        ))
    return identity * age_applied * contribution_applied, notes


def _contributions_words(count: int) -> str:
    if count == 0:
        return "no ideas or substantive comments"
    return f"only {count} idea{'' if count == 1 else 's'} or substantive comment{'' if count == 1 else 's'}"


def _credit_words(credit: float) -> str:
    return f"it earns {credit:.0%} of what a specific reason earns"


IDENTITY_WORDS: Mapping[str, str] = MappingProxyType({
    "employee_verified": "a verified employee",
    "external_verified": "an external participant with a verified e-mail",
    "unverified": "an account whose e-mail address is not verified",
})


def standing(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """The voter's standing at the vote, in [0, 1]: identity × age × contribution.

    This is who the voter is, whatever the vote; the collusion rules use it to tell
    fresh or unverified accounts. What a vote counts with is `vote_standing`.
    """
    return standing_from(signals.identity, signals.account_age_seconds, signals.contributions_90d, policy)


def standing_from(identity: Identity, account_age_seconds: float, contributions_90d: int,
                  policy: WeightingPolicy = WEIGHTED) -> float:
    """`standing` from the three signals it reads, for the many stored votes the collusion
    rules look at (no `VoteSignals` to build and check for each)."""
    return (policy.identity_factor(identity) * age_factor(account_age_seconds, policy)
            * contribution_factor(contributions_90d, policy))


def vote_standing(signals: VoteSignals, policy: WeightingPolicy = WEIGHTED) -> float:
    """The standing this vote counts with: identity × (age × contribution)^(1 − engagement).

    Account age and history discount a one-click vote fully and a read, reasoned
    and rated vote not at all: an honest newcomer's careful vote counts from day one.
    """
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
    reason = {"reason_word_count": max(policy.reason_full_words, signals.reason_word_count),
              "reason_specificity": 1.0, "reason_is_near_copy": False}
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
            if signals.reason_word_count == 0:
                what = "add a reason: a sentence or two in your own words on what this idea would change"
            elif signals.reason_is_near_copy:
                what = "write the reason in your own words instead of a copy"
            else:
                what = "say in a sentence or two what this idea in particular would change, and why"
            actions.append(("add_reason", what, reason))
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


def weight_words(weight: float) -> str:
    """A vote's weight as a person reads it: two decimals, and "less than 0.01" for a
    weight that two decimals would show as nothing (next to advice of "×66.7")."""
    if 0.0 < weight < 0.005:
        return "less than 0.01"
    return f"{weight:.2f}"


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
