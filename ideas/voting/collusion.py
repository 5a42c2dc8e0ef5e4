"""Spotting mass and coordinated votes, over plain records.

Behaviour says more than text about fake votes, and groups of accounts acting on
the same ideas in the same short windows are the classic signature of
coordination (see ../shared/voting-notes.md). Five rules, all constants in the
`WeightingPolicy`:

(a) burst — at least `burst_min_votes` votes on one idea within
    `burst_window_seconds` by voters of standing below `burst_standing_ceiling`;
(b) shared network — votes on one idea from one network hash are linked only
    with a second clue: cast within `network_window_seconds` of each other, both
    reasons near-copies, both accounts fresh and created together, or both voters
    voting from that network on `network_covote_ideas` same ideas, making up
    `network_covote_share` of what each of them voted on from it; linked votes
    form a cluster of at least `network_min_votes`. A shared network alone (an
    office, a university, a mobile carrier) never discounts anyone;
(c) lockstep — voters linked by having voted on `lockstep_min_ideas` same ideas,
    each time within `lockstep_window_seconds` of each other; on one idea, linked
    voters acting within the window form a cluster of at least `lockstep_min_voters`;
(d) reciprocal pairs — two people each giving at least `reciprocal_min_mutual`
    supports, and at least `reciprocal_min_share` of their supports, to ideas of
    people who support theirs: their votes for each other count `reciprocal_factor`;
(e) one voter's burst — `voter_burst_min_votes` votes by one voter within
    `voter_burst_window_seconds` count `voter_burst_factor`.

A cluster from (a), (b) or (c) counts as its largest vote plus
`cluster_rest_share` of each other vote: the largest vote (by standing × effort)
keeps factor 1 and the others get the share. A vote caught by several rules gets
the smallest factor, not the product, so one behaviour seen by two rules is not
punished twice; every cause is still listed.

Order independence: the input is put in a canonical order (time, then vote id)
before anything else, so the result does not depend on the order of the list.
Windows are anchored at the earliest vote of a run, so the result does depend on
the times themselves, which is the point.

Cost, for n votes with at most a authors per idea and w votes on one idea within
one lockstep window of any vote: sorting O(n log n); rules (a), (b), (e) O(n);
(d) O(n·a); (c) O(n·w) time and memory for the co-voting pairs. Set-based over a
whole challenge, this is one pass; see `collusion_factors` for the bounded call
the app makes when one vote is cast.
"""
from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ideas.voting.weighting import WEIGHTED, Collusion, Discount, WeightingPolicy

__all__ = ["LIVE", "UNBOUNDED", "Collusion", "Context", "ContextBounds", "VoteFact", "VoteLookup", "Votes",
           "collusion_factors", "context_for", "judged_for"]

# vote id -> (factor, cause) for every rule that caught the vote
Marks = dict[Hashable, list[tuple[float, Discount]]]
ByIdea = dict[Hashable, list["VoteFact"]]


@dataclass(frozen=True, kw_only=True)
class VoteFact:
    """One vote as the collusion rules see it.

    `at` is seconds since the epoch or a datetime (a naive one is taken as UTC);
    it is stored as seconds. `standing` and `effort` are the vote's factors from
    `weighting.standing` / `weighting.effort` at the time of the vote: standing
    decides who is "low-standing", standing × effort which vote of a cluster is the
    largest. `network` is the salted network hash, None when unknown, purged, or
    not a voter's own (loopback, private or proxy addresses). `account_age` is
    the voter's account age in seconds at the vote (None when unknown) and
    `copied` whether the vote's reason is a near-copy: clues the network rule
    needs besides the network itself.
    Vote ids must be mutually orderable (ints or strings): ties in time are broken
    by them, which is what makes the result independent of input order.
    """

    vote_id: Hashable
    voter_id: Hashable
    idea_id: Hashable
    author_ids: frozenset = field(default_factory=frozenset)
    at: float
    standing: float = 1.0
    effort: float = 1.0
    network: str | None = None
    value: int = 1
    account_age: float | None = None
    copied: bool = False

    def __post_init__(self) -> None:
        at = self.at
        if isinstance(at, datetime):
            at = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()
        object.__setattr__(self, "at", float(at))
        object.__setattr__(self, "author_ids", frozenset(self.author_ids))
        if not 0.0 <= self.standing <= 1.0 or not 0.0 <= self.effort <= 1.0:
            raise ValueError(f"vote {self.vote_id!r}: standing and effort lie in [0, 1]")
        if self.value not in (1, -1):
            raise ValueError(f"vote {self.vote_id!r}: value is 1 or -1")

    @property
    def on_own_idea(self) -> bool:
        return self.voter_id in self.author_ids


def collusion_factors(
    votes: Iterable[VoteFact],
    policy: WeightingPolicy = WEIGHTED,
    *,
    ideas: Collection[Hashable] | None = None,
) -> dict[Hashable, Collusion]:
    """The collusion factor, in [0, 1], and its causes for each vote.

    Set-based: pass every vote of a challenge, get a factor for every vote.

    Bounded, when a vote is cast on idea X: pass the votes `context_for` picks —
    all votes on X; every vote in the challenge by X's voters and X's authors; and
    every vote on ideas those people wrote (the reciprocal rule asks whether the
    people they support support them back) — and `ideas={X}`. The factors returned for X's votes are then the same as the
    set-based ones (tested). Factors of votes on other ideas would be computed
    from partial context, which is why only the ideas asked for are returned.
    A new vote can change the factors of earlier votes on X (a burst forms), so
    the app updates X's aggregates from all the returned factors.

    Votes on one's own or a co-authored idea are left out of every rule (they
    count 0 whatever happens) and get factor 1. Raises ValueError on a repeated
    vote id.
    """
    ordered = sorted(votes, key=lambda v: (v.at, v.vote_id))
    seen: set[Hashable] = set()
    for vote in ordered:
        if vote.vote_id in seen:
            raise ValueError(f"vote {vote.vote_id!r} appears twice")
        seen.add(vote.vote_id)
    counted = [v for v in ordered if not v.on_own_idea]
    by_idea: ByIdea = defaultdict(list)
    for vote in counted:
        by_idea[vote.idea_id].append(vote)

    # Every vote is read, but only the votes on the ideas asked for are judged: a rule's
    # clusters on another idea would mark only votes whose factors are not returned.
    judged = by_idea if ideas is None else {idea: by_idea[idea] for idea in ideas if idea in by_idea}
    marks: Marks = defaultdict(list)
    _bursts(judged, policy, marks)
    _shared_networks(by_idea, policy, marks, judged)
    _lockstep(by_idea, policy, marks, judged)
    _reciprocal(counted, policy, marks, None if ideas is None else set(ideas))
    _voter_bursts(counted, policy, marks)

    result: dict[Hashable, Collusion] = {}
    for vote in ordered:
        if ideas is not None and vote.idea_id not in ideas:
            continue
        found = marks.get(vote.vote_id, [])
        factor = min((f for f, _ in found), default=1.0)
        result[vote.vote_id] = Collusion(factor, tuple(d for _, d in found))
    return result


# --- the context of one idea ---------------------------------------------------------

DAY = 86_400.0


@dataclass(frozen=True)
class ContextBounds:
    """How far around an idea the rules look when one vote on it is cast.

    `recent_seconds`: the idea's votes judged again with the new one (those of the
    last two days, at most `limit`, plus at most `limit` sharing one of their
    networks); `around_seconds` and `around_limit`: the history of those voters and
    of the idea's authors the rules read. None: no bound (every vote of the set).
    Bounded, a vote costs the same in a challenge of ten votes and of a million.
    """

    recent_seconds: float | None = 2 * DAY
    around_seconds: float | None = 30 * DAY
    limit: int | None = 500
    around_limit: int | None = 2000


LIVE = ContextBounds()
UNBOUNDED = ContextBounds(None, None, None, None)


class VoteLookup(Protocol):
    """The look-ups `context_for` makes: each answers VoteFacts of one challenge, latest
    first (time, then vote id, descending), at most `limit` (None: all), of votes cast at
    or after `since` (seconds since the epoch; None: any time). `Votes` answers them from
    memory; the app from the database (`voting.casting.StoredVotes`)."""

    def on_idea(self, idea_id: Hashable, since: float | None, limit: int | None) -> Sequence[VoteFact]:
        """The idea's votes."""

    def on_idea_from(self, idea_id: Hashable, networks: Collection[str], limit: int | None) -> Sequence[VoteFact]:
        """The idea's votes cast from one of these networks (any time)."""

    def by_people(self, people: Collection[Hashable], since: float | None,
                  limit: int | None) -> Sequence[VoteFact]:
        """The votes these people cast."""

    def by_voters_for(self, voters: Collection[Hashable], authors: Collection[Hashable],
                      since: float | None, limit: int | None) -> Sequence[VoteFact]:
        """The votes these voters cast on ideas written (or co-written) by these authors."""


class Votes:
    """`VoteLookup` over VoteFacts in memory: the tests' and the archive replay's history.

    `upto(n)` is the history as it stood when the n-th fact added was cast (the
    replay judges each cast on the votes before it). Facts must be added in time
    order (ties in vote id order), as votes are cast."""

    def __init__(self, facts: Iterable[VoteFact] = ()):
        self._facts: list[VoteFact] = []
        self._on_idea: dict[Hashable, list[int]] = defaultdict(list)
        self._idea_times: dict[Hashable, list[float]] = defaultdict(list)
        self._by_voter: dict[Hashable, list[int]] = defaultdict(list)
        self._end: int | None = None
        for fact in sorted(facts, key=lambda v: (v.at, v.vote_id)):
            self.add(fact)

    def add(self, fact: VoteFact) -> None:
        if self._facts and (fact.at, fact.vote_id) < (self._facts[-1].at, self._facts[-1].vote_id):
            raise ValueError(f"vote {fact.vote_id!r} is added out of time order")
        k = len(self._facts)
        self._facts.append(fact)
        self._on_idea[fact.idea_id].append(k)
        self._idea_times[fact.idea_id].append(fact.at)
        self._by_voter[fact.voter_id].append(k)

    def upto(self, count: int) -> Votes:
        """The same history cut to its first `count` facts (shares the indexes)."""
        view = object.__new__(Votes)
        view.__dict__.update(self.__dict__)
        view._end = count
        return view

    def _latest(self, indexes: Iterable[int], since: float | None, limit: int | None) -> list[VoteFact]:
        end = len(self._facts) if self._end is None else self._end
        found = sorted((k for k in indexes if k < end and (since is None or self._facts[k].at >= since)),
                       reverse=True)
        return [self._facts[k] for k in (found if limit is None else found[:limit])]

    def _before(self, indexes: list[int]) -> list[int]:
        if self._end is None:
            return indexes
        return indexes[:bisect.bisect_left(indexes, self._end)]

    def on_idea(self, idea_id, since, limit):
        own = self._before(self._on_idea.get(idea_id, []))
        if since is not None:  # an idea's facts are in time order: start at the first recent one
            own = own[bisect.bisect_left(self._idea_times[idea_id], since, hi=len(own)):]
        return self._latest(own, None, limit)

    def on_idea_from(self, idea_id, networks, limit):
        own = self._before(self._on_idea.get(idea_id, []))
        return self._latest((k for k in own if self._facts[k].network in networks), None, limit)

    def by_people(self, people, since, limit):
        return self._latest((k for p in people for k in self._before(self._by_voter.get(p, []))), since, limit)

    def by_voters_for(self, voters, authors, since, limit):
        authors = set(authors)
        return self._latest((k for p in voters for k in self._before(self._by_voter.get(p, []))
                             if not authors.isdisjoint(self._facts[k].author_ids)), since, limit)


@dataclass(frozen=True)
class Context:
    """What one idea's votes are judged on: `judged`, the idea's votes weighed again,
    and `facts`, every vote the rules run over (`judged` among them)."""

    judged: tuple[VoteFact, ...]
    facts: tuple[VoteFact, ...]


def _seconds(now: float | datetime | None) -> float | None:
    if isinstance(now, datetime):
        return (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).timestamp()
    return now


def _lookup(votes: VoteLookup | Iterable[VoteFact]) -> VoteLookup:
    return votes if hasattr(votes, "by_voters_for") else Votes(votes)


def judged_for(idea_id: Hashable, votes: VoteLookup | Iterable[VoteFact], *, now: float | datetime | None = None,
               bounds: ContextBounds = UNBOUNDED, cast: VoteFact | None = None) -> tuple[VoteFact, ...]:
    """The idea's votes a new vote on it judges again (the first step of `context_for`):
    those cast within `bounds.recent_seconds` of `now` (the latest `bounds.limit`), those
    sharing one of their networks (at most `bounds.limit`), and `cast`, the vote being
    cast or changed, whenever it was first cast. In time order."""
    lookup, now = _lookup(votes), _seconds(now)
    chosen = {v.vote_id: v for v in lookup.on_idea(
        idea_id, None if bounds.recent_seconds is None or now is None else now - bounds.recent_seconds,
        bounds.limit)}
    if cast is not None:
        chosen.setdefault(cast.vote_id, cast)
    networks = {v.network for v in chosen.values() if v.network is not None}
    if networks:
        for fact in lookup.on_idea_from(idea_id, networks, bounds.limit):
            chosen.setdefault(fact.vote_id, fact)
    return tuple(sorted(chosen.values(), key=lambda v: (v.at, v.vote_id)))


def context_for(idea_id: Hashable, votes: VoteLookup | Iterable[VoteFact], *, now: float | datetime | None = None,
                bounds: ContextBounds = UNBOUNDED, cast: VoteFact | None = None) -> Context:
    """The votes the rules need to judge the votes on one idea, and which of them are judged.

    The idea's votes (within `bounds`: the recent ones and those sharing their
    networks) are judged; call their voters and the idea's authors P. The rules read
    every vote by someone in P, and, where a voter and an author of the idea support
    each other's ideas (the reciprocal rule might apply), the votes the authors P
    supports cast on ideas of P (do the people they support support them back?).
    This is the one definition the live vote (over the database), the archive
    replay and the tests (in memory, `Votes`) use. Unbounded, the factors
    `collusion_factors(context.facts, ideas={idea_id})` gives the judged votes are
    those of the whole set (tested); bounded, the work is bounded by the bounds,
    not by the size of the challenge.
    """
    lookup, now = _lookup(votes), _seconds(now)

    def since(window: float | None) -> float | None:
        return None if window is None or now is None else now - window

    judged = judged_for(idea_id, lookup, now=now, bounds=bounds, cast=cast)
    chosen: dict[Hashable, VoteFact] = {v.vote_id: v for v in judged}

    def keep(found: Iterable[VoteFact]) -> None:
        for fact in found:
            chosen.setdefault(fact.vote_id, fact)

    authors = frozenset().union(*(v.author_ids for v in judged))
    people = {v.voter_id for v in judged} | authors
    if people:
        keep(lookup.by_people(people, since(bounds.around_seconds), bounds.around_limit))
    # Voters of the idea whom one of its authors supports back: only for them can the
    # reciprocal rule apply, and it needs to know whether those they support support them.
    supported = defaultdict(set)  # person -> authors of the ideas the person supports
    for vote in chosen.values():
        if vote.value > 0 and vote.voter_id in people:
            supported[vote.voter_id] |= vote.author_ids
    mutual = {v.voter_id for v in judged if v.value > 0 and any(v.voter_id in supported[a] for a in v.author_ids)}
    if mutual:
        ring = mutual | authors
        partners = set().union(*(supported[p] for p in ring)) - ring
        if partners:
            keep(lookup.by_voters_for(partners, ring, since(bounds.around_seconds), bounds.around_limit))
    return Context(judged, tuple(sorted(chosen.values(), key=lambda v: (v.at, v.vote_id))))


# --- the rules ---------------------------------------------------------------------


def _share(policy: WeightingPolicy) -> str:
    return f"{policy.cluster_rest_share:g}"


def _cluster(cluster: Sequence[VoteFact], discount: Discount, policy: WeightingPolicy, marks: Marks) -> None:
    """The largest vote keeps its weight; every other one counts the rest share."""
    largest = min(cluster, key=lambda v: (-(v.standing * v.effort), v.at, v.vote_id))
    for vote in cluster:
        if vote is not largest:
            marks[vote.vote_id].append((policy.cluster_rest_share, discount))


def _windows(run: Sequence[VoteFact], window: float, minimum: int) -> Iterable[Sequence[VoteFact]]:
    """Disjoint runs of at least `minimum` votes spanning at most `window` seconds.

    `run` is in time order; each window is anchored at its earliest vote and the
    next one starts after it, so a steady stream becomes one cluster per window.
    """
    i, n = 0, len(run)
    while i < n:
        j = i
        while j + 1 < n and run[j + 1].at - run[i].at <= window:
            j += 1
        if j - i + 1 >= minimum:
            yield run[i : j + 1]
            i = j + 1
        else:
            i += 1


def _bursts(by_idea: ByIdea, policy: WeightingPolicy, marks: Marks) -> None:
    minutes = policy.burst_window_seconds / 60
    for idea_votes in by_idea.values():
        low = [v for v in idea_votes if v.standing < policy.burst_standing_ceiling]
        for cluster in _windows(low, policy.burst_window_seconds, policy.burst_min_votes):
            _cluster(cluster, Discount(
                "burst",
                f"one of {len(cluster)} votes on this idea from new or unverified accounts within "
                f"{minutes:g} minutes: counts ×{_share(policy)}, the largest of them counts in full",
            ), policy, marks)


def _shared_networks(by_idea: ByIdea, policy: WeightingPolicy, marks: Marks, judged: ByIdea) -> None:
    # Which ideas each voter voted on from each network: the co-voting clue.
    from_network: dict[tuple[str, Hashable], set[Hashable]] = defaultdict(set)
    for idea, idea_votes in by_idea.items():
        for vote in idea_votes:
            if vote.network is not None:
                from_network[(vote.network, vote.voter_id)].add(idea)
    for idea_votes in judged.values():
        groups: dict[str, list[VoteFact]] = defaultdict(list)
        for vote in idea_votes:
            if vote.network is not None:
                groups[vote.network].append(vote)
        for network, group in groups.items():
            if len(group) < policy.network_min_votes:
                continue
            for cluster, clues in _network_clusters(network, group, from_network, policy):
                _cluster(cluster, Discount(
                    "shared_network",
                    f"one of {len(cluster)} votes on this idea from one network that also "
                    f"{' and '.join(sorted(clues))}: counts ×{_share(policy)}, the largest of them counts in full",
                ), policy, marks)


_CLUE_WORDS = {
    "timing": "came within minutes of each other",
    "copied": "share copied reasons",
    "fresh": "come from new accounts created together",
    "covoting": "vote together on the same ideas",
}


def _network_clusters(network: str, group: Sequence[VoteFact], from_network, policy: WeightingPolicy):
    """Components of the votes linked by a second clue; (votes, clue words) per cluster."""
    n = len(group)
    parent = list(range(n))
    clue_of: dict[int, set[str]] = defaultdict(set)  # root -> clues, merged at the end

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    links: list[tuple[int, int, str]] = []
    # Tight timing: consecutive votes (in time order) within the window.
    for k in range(1, n):
        if group[k].at - group[k - 1].at <= policy.network_window_seconds \
                and group[k].voter_id != group[k - 1].voter_id:
            links.append((k - 1, k, "timing"))
    copied = [k for k in range(n) if group[k].copied]
    links += [(copied[0], k, "copied") for k in copied[1:]]
    fresh = sorted((group[k].at - group[k].account_age, k) for k in range(n)
                   if group[k].account_age is not None and group[k].account_age < policy.network_fresh_seconds)
    for (made_a, a), (made_b, b) in zip(fresh, fresh[1:]):
        if made_b - made_a <= policy.network_created_window_seconds:
            links.append((a, b, "fresh"))
    # Co-voting: two voters of this group who voted from this network on enough same ideas.
    shared: Counter = Counter()
    index_of = {vote.voter_id: k for k, vote in enumerate(group)}
    by_other: dict[Hashable, list[Hashable]] = defaultdict(list)
    for voter in index_of:
        for other in from_network.get((network, voter), ()):
            by_other[other].append(voter)
    for voters in by_other.values():
        if len(voters) > 1:
            ordered = sorted(voters, key=lambda v: index_of[v])
            for i in range(len(ordered)):
                for j in range(i + 1, len(ordered)):
                    shared[(ordered[i], ordered[j])] += 1
    for (a, b), count in shared.items():
        most = max(len(from_network[(network, a)]), len(from_network[(network, b)]))
        if count >= policy.network_covote_ideas and count >= policy.network_covote_share * most:
            links.append((index_of[a], index_of[b], "covoting"))
    used: list[tuple[int, str]] = []
    for a, b, clue in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        used.append((a, clue))
    for a, clue in used:
        clue_of[root(a)].add(clue)
    components: dict[int, list[VoteFact]] = defaultdict(list)
    for k in range(n):
        components[root(k)].append(group[k])
    for top, members in components.items():
        if len(members) >= policy.network_min_votes and len({v.voter_id for v in members}) > 1:
            yield members, {_CLUE_WORDS[c] for c in clue_of[top]}


def _close_pairs(idea_votes: Sequence[VoteFact], window: float) -> Iterable[tuple[int, int]]:
    """Index pairs (i, j), i < j, of votes by different voters within `window`."""
    start = 0
    for j, vote in enumerate(idea_votes):
        while idea_votes[start].at < vote.at - window:
            start += 1
        for i in range(start, j):
            if idea_votes[i].voter_id != vote.voter_id:
                yield i, j


def _near_someone(idea_votes: Sequence[VoteFact], window: float) -> set[Hashable]:
    """The voters of one idea (its votes in time order) with a vote within `window` of
    another voter's vote on it: the nearest such vote, before or after, decides."""
    found: set[Hashable] = set()
    n = len(idea_votes)
    before: list[int | None] = [None] * n  # the latest earlier vote by someone else
    for k in range(1, n):
        before[k] = k - 1 if idea_votes[k - 1].voter_id != idea_votes[k].voter_id else before[k - 1]
    after: int | None = None  # the earliest later vote by someone else
    for k in range(n - 1, -1, -1):
        if k + 1 < n:
            after = k + 1 if idea_votes[k + 1].voter_id != idea_votes[k].voter_id else after
        # The same comparison as `_close_pairs`: with float times `a >= b - w` and
        # `b - a <= w` can disagree, and a voter in a close pair would be left out.
        at = idea_votes[k].at
        if (before[k] is not None and idea_votes[before[k]].at >= at - window) or (
                after is not None and at >= idea_votes[after].at - window):
            found.add(idea_votes[k].voter_id)
    return found


def _lockstep(by_idea: ByIdea, policy: WeightingPolicy, marks: Marks, judged: ByIdea) -> None:
    window = policy.lockstep_window_seconds
    # Only a voter near someone else on `lockstep_min_ideas` ideas can be in a linked
    # pair: the others' votes are left out before the pairs are counted, so a popular
    # idea's crowd of votes within minutes costs its length, not its square.
    near: Counter = Counter()
    for idea_votes in by_idea.values():
        near.update(_near_someone(idea_votes, window))
    candidates = {voter for voter, ideas in near.items() if ideas >= policy.lockstep_min_ideas}
    if not candidates:
        return
    by_idea = {idea: kept for idea, idea_votes in by_idea.items()
               if len(kept := [v for v in idea_votes if v.voter_id in candidates]) > 1}
    together: dict[frozenset, set[Hashable]] = defaultdict(set)
    for idea, idea_votes in by_idea.items():
        for i, j in _close_pairs(idea_votes, window):
            together[frozenset((idea_votes[i].voter_id, idea_votes[j].voter_id))].add(idea)
    linked = {pair for pair, shared in together.items() if len(shared) >= policy.lockstep_min_ideas}
    if not linked:
        return
    for idea, idea_votes in by_idea.items():
        if idea not in judged:
            continue
        parent = list(range(len(idea_votes)))

        def root(k: int) -> int:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        for i, j in _close_pairs(idea_votes, window):
            if frozenset((idea_votes[i].voter_id, idea_votes[j].voter_id)) in linked:
                a, b = root(i), root(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        groups: dict[int, list[VoteFact]] = defaultdict(list)
        for k, vote in enumerate(idea_votes):
            groups[root(k)].append(vote)
        for cluster in groups.values():
            voters = {v.voter_id for v in cluster}
            if len(voters) >= max(2, policy.lockstep_min_voters):
                _cluster(cluster, Discount(
                    "lockstep",
                    f"one of {len(voters)} voters who vote on the same ideas within minutes of each other: "
                    f"counts ×{_share(policy)}, the largest of them counts in full",
                ), policy, marks)


def _reciprocal(counted: Sequence[VoteFact], policy: WeightingPolicy, marks: Marks,
                ideas: set | None) -> None:
    supports = [v for v in counted if v.value > 0]
    gave: dict[Hashable, Counter] = defaultdict(Counter)  # voter -> author -> supports
    total: Counter = Counter()
    for vote in supports:
        total[vote.voter_id] += 1
        for author in vote.author_ids:
            gave[vote.voter_id][author] += 1

    def mutual(a: Hashable, b: Hashable) -> bool:
        return gave[a][b] > 0 and gave[b][a] > 0

    # Judged: the supports on the ideas asked for; whether someone mostly supports those
    # who support them back is needed only for those supports' voters and authors.
    judged = supports if ideas is None else [v for v in supports if v.idea_id in ideas]
    people = {p for v in judged for p in (v.voter_id, *v.author_ids)}
    to_partners: Counter = Counter()
    for vote in supports:
        if vote.voter_id in people and any(mutual(vote.voter_id, author) for author in vote.author_ids):
            to_partners[vote.voter_id] += 1

    def mostly(person: Hashable) -> bool:
        return (to_partners[person] >= policy.reciprocal_min_mutual
                and to_partners[person] / total[person] >= policy.reciprocal_min_share)

    for vote in judged:
        if any(mutual(vote.voter_id, a) and mostly(vote.voter_id) and mostly(a) for a in vote.author_ids):
            marks[vote.vote_id].append((policy.reciprocal_factor, Discount(
                "reciprocal",
                f"the voter and the idea's author support each other's ideas, and most of their "
                f"{total[vote.voter_id]} supports go to people who support them back: "
                f"counts ×{policy.reciprocal_factor:g}",
            )))


def _voter_bursts(counted: Sequence[VoteFact], policy: WeightingPolicy, marks: Marks) -> None:
    by_voter: dict[Hashable, list[VoteFact]] = defaultdict(list)
    for vote in counted:
        by_voter[vote.voter_id].append(vote)
    for own in by_voter.values():
        for run in _windows(own, policy.voter_burst_window_seconds, policy.voter_burst_min_votes):
            discount = Discount(
                "voter_burst",
                f"one of {len(run)} votes cast by the voter within {policy.voter_burst_window_seconds:g} s: "
                f"counts ×{policy.voter_burst_factor:g}",
            )
            for vote in run:
                marks[vote.vote_id].append((policy.voter_burst_factor, discount))
