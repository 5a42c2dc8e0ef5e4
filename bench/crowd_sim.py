"""Crowd simulation: does the voting policy rank ideas by their hidden quality?

    python bench/crowd_sim.py [--seeds N] [--ideas N] [--voters N]
                              [--drive-by SHARE] [--adversarial SHARE]
                              [--herding EXPONENT] [--noise SD] [--jobs N]

Ideas get a hidden true quality. A crowd votes on them over a challenge of two
weeks, and every policy ranks the ideas from the same crowd's behaviour:

- engaged voters read a random handful of ideas (the voting page is in random
  order), judge each with noise (sd equal to that of quality), support those
  above their own bar, often with a reason and criteria ratings; most are
  established accounts, some are new;
- honest newcomers (accounts hours or days old) among the engaged voters, and
  honest people sharing a network (employees in three offices, externals on a
  few campus or carrier networks);
- drive-by likers click one to three ideas without reading, picked in proportion
  to the visible raw count (rich get richer); some of them paste generic praise
  ("Great idea, I fully support this …") as a reason;
- adversaries push ideas from the lower half of the quality: rings of accounts
  created minutes before bursting on their targets (half of them faking the read
  and pasting a lightly edited template reason), sockpuppets on one network
  spread over days with reads and reasons of their own, and reciprocal rings of
  established accounts who wrote mediocre ideas and carefully support each other.

Each policy is scored against the truth by top-10 precision (share of the true
top 10 in the policy's top 10) and Kendall's tau-b over all ideas, per seed, with
mean and min. Fairness, for the weighted policy: the mean weight of honest
engaged votes (read, and reasoned or rated) by newcomers (accounts under a week
old at the vote) relative to that of established voters' (target ≥ 0.6); the
share of honest engaged votes from shared networks that a network cluster
discounted; and the mean weight of generic-praise votes. `raw` is the visible count of votes. `budget` runs the crowd again
with each voter limited to K supports (engaged voters keep their K best).
`pairwise` runs the crowd again on the pairwise page: the site picks the pairs;
engaged voters compare with the same noise, drive-bys answer in seconds, many
always on one side, adversaries pick their ideas whenever they appear.

Uses only the pure voting modules (no app, no database).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ideas.voting import collusion, pairwise, ranking  # noqa: E402
from ideas.voting.weighting import (  # noqa: E402
    DAY,
    reason_specificity,
    POLICIES,
    VoteSignals,
    WeightingPolicy,
    effort,
    jaccard,
    read_seconds_needed,
    shingles,
    standing,
    weight_for,
)

POOL = "all"  # one pool: the crowd as a whole, the case with no pool to shield it
VOCABULARY = [f"w{k}" for k in range(3000)]


@dataclass(frozen=True)
class Scenario:
    ideas: int = 100
    voters: int = 2000
    drive_by_share: float = 0.3
    adversarial_share: float = 0.1
    days: float = 14.0
    engaged_reads: tuple[int, int] = (4, 14)
    engaged_noise: float = 1.0  # sd of a reader's error; true quality has sd 1
    engaged_bar: tuple[float, float] = (0.8, 0.3)  # mean, sd of a voter's support bar
    engaged_reason: float = 0.6
    engaged_criteria: float = 0.5
    engaged_skip_read: float = 0.15  # votes cast from the list without opening the idea
    engaged_new_account: float = 0.1
    # Externals sharing a campus or carrier network honestly, among this many networks.
    external_shared_network: float = 0.3
    shared_networks: int = 4
    # Drive-bys who paste generic praise as a reason.
    drive_by_praise: float = 0.3
    drive_by_clicks: tuple[int, int] = (1, 3)
    herding: float = 1.5  # drive-bys pick ∝ (raw count + 1) ** herding
    # Adversarial voters split: burst rings, network sockpuppets, reciprocal rings.
    adversary_mix: tuple[float, float, float] = (0.4, 0.3, 0.3)
    burst_ring_size: int = 10
    burst_targets: int = 3
    puppet_group_size: int = 10
    puppet_targets: int = 3
    reciprocal_ring_size: int = 6
    pairwise_answers: tuple[int, int] = (10, 25)


@dataclass
class Person:
    id: int
    kind: str  # engaged, drive_by, burst, puppet, ring
    identity: str
    joined: float  # seconds relative to the challenge's opening
    contributions: int
    network: str
    group: int = -1
    careful: bool = True  # adversaries: fake the read and write reasons
    bar: float = 0.0  # engaged: supports what seems better than this
    targets: tuple[int, ...] = ()  # adversaries: the ideas they push
    burst_at: float = 0.0  # burst rings: when the ring strikes
    own_idea: int = -1  # reciprocal rings: quality index of the idea written, -1 for none


@dataclass
class Idea:
    id: int
    quality: float
    words: int
    authors: frozenset[int] = field(default_factory=frozenset)
    text: str = ""  # the words a reason about this idea can share with it


@dataclass
class Vote:
    voter: int
    idea: int
    at: float
    viewed: bool
    seconds: float | None
    reason: tuple[str, ...] = ()
    criteria: bool = False
    honest: bool = False  # an engaged voter's vote


GENERIC_PRAISE = [
    "Great idea, I fully support this and I really think it would help everyone a lot, please make it happen soon",
    "Love it! This is exactly the kind of thing we need, totally agree, brilliant idea, would be great to see it",
    "Fantastic idea, I absolutely support this one, it is a really good thing and everybody will love it",
]


# --- the crowd ---------------------------------------------------------------------


def build_crowd(sc: Scenario, rng: random.Random, extra: random.Random | None = None) -> tuple[list[Idea], list[Person]]:
    """The ideas and the people. `extra` draws what the fairness scenario added
    (shared campus networks, idea texts), so `rng` draws the same crowd as before."""
    extra = extra or random.Random(0)
    qualities = sorted(rng.gauss(0, 1) for _ in range(sc.ideas))
    lower_half = list(range(sc.ideas // 2))
    rng.shuffle(lower_half)  # indexes into `qualities` still free for adversaries
    n_adv = round(sc.voters * sc.adversarial_share)
    n_drive = round(sc.voters * sc.drive_by_share)
    n_engaged = sc.voters - n_adv - n_drive
    people: list[Person] = []

    def person(kind: str, identity: str, joined: float, contributions: int, network: str, **kw) -> Person:
        p = Person(len(people), kind, identity, joined, contributions, network, **kw)
        people.append(p)
        return p

    def established() -> float:
        return -math.exp(rng.uniform(math.log(7 * DAY), math.log(3 * 365 * DAY)))

    offices = [f"office-{k}" for k in range(3)]
    for _ in range(n_engaged):
        identity = rng.choices(["employee_verified", "external_verified", "unverified"], [0.5, 0.4, 0.1])[0]
        new = rng.random() < sc.engaged_new_account
        joined = rng.uniform(0, sc.days * DAY) if new else established()
        if identity == "employee_verified":
            network = rng.choice(offices)
        elif extra.random() < sc.external_shared_network:
            network = f"campus-{extra.randrange(sc.shared_networks)}"
        else:
            network = f"home-{len(people)}"
        contributions = 0 if new else min(6, int(rng.expovariate(1 / 1.5)))
        person("engaged", identity, joined, contributions, network,
               bar=rng.gauss(sc.engaged_bar[0], sc.engaged_bar[1]))
    for _ in range(n_drive):
        identity = rng.choices(["employee_verified", "external_verified", "unverified"], [0.3, 0.5, 0.2])[0]
        network = rng.choice(offices) if identity == "employee_verified" else f"home-{len(people)}"
        person("drive_by", identity, established() if rng.random() < 0.8 else rng.uniform(-7 * DAY, sc.days * DAY),
               int(rng.random() < 0.2), network)

    shares = sc.adversary_mix
    n_burst = round(n_adv * shares[0] / sum(shares))
    n_puppet = round(n_adv * shares[1] / sum(shares))
    n_ring = n_adv - n_burst - n_puppet
    group = 0

    def take(k: int) -> tuple[int, ...]:
        chosen = tuple(lower_half.pop() for _ in range(min(k, len(lower_half))))
        return chosen

    for size, kind in ((sc.burst_ring_size, "burst"), (sc.puppet_group_size, "puppet")):
        total = n_burst if kind == "burst" else n_puppet
        # One campaign per kind: every ring or network group of it pushes the same slate.
        targets = take(sc.burst_targets if kind == "burst" else sc.puppet_targets)
        made = 0
        while made < total:
            members = min(size, total - made)
            careful = rng.random() < 0.5 if kind == "burst" else True
            start = rng.uniform(0, 2 * DAY)
            for _ in range(members):
                if kind == "burst":
                    # Created within the hour before the burst, through proxies.
                    person("burst", rng.choice(["unverified", "external_verified"]),
                           start - rng.uniform(10 * 60, 50 * 60), 0, f"proxy-{len(people)}",
                           group=group, careful=careful, targets=targets, burst_at=start)
                else:
                    person("puppet", "external_verified", -rng.uniform(3 * DAY, 10 * DAY), rng.randint(0, 1),
                           f"puppet-net-{group}", group=group, targets=targets)
            made += members
            group += 1
    made = 0
    while made < n_ring:
        members = min(sc.reciprocal_ring_size, n_ring - made)
        targets = take(members)
        for k in range(members):
            person("ring", "external_verified", -rng.uniform(30 * DAY, 300 * DAY), rng.randint(2, 4),
                   f"home-{len(people)}", group=group, targets=targets,
                   own_idea=targets[k] if k < len(targets) else -1)
        made += members
        group += 1

    # Quality indexes go to idea ids at random, so ids say nothing about quality.
    ids = list(range(sc.ideas))
    rng.shuffle(ids)
    engaged = [p.id for p in people if p.kind == "engaged"]
    ideas = [Idea(ids[k], qualities[k], rng.randint(60, 600)) for k in range(sc.ideas)]
    for idea in ideas:
        idea.text = " ".join(extra.sample(VOCABULARY, 40))
    by_quality_index = {k: ideas[k] for k in range(sc.ideas)}
    for p in people:
        p.targets = tuple(by_quality_index[t].id for t in p.targets)
    authored: set[int] = set()
    for p in people:
        if p.kind == "ring" and p.own_idea >= 0:
            idea = by_quality_index[p.own_idea]
            idea.authors = frozenset({p.id})
            authored.add(idea.id)
    for idea in ideas:
        if idea.id not in authored:
            authors = {rng.choice(engaged)}
            if rng.random() < 0.2:
                authors.add(rng.choice(engaged))
            idea.authors = frozenset(authors)
    ideas.sort(key=lambda i: i.id)
    return ideas, people


def plan_votes(sc: Scenario, ideas: list[Idea], people: list[Person], rng: random.Random,
               budget_k: int | None, extra: random.Random) -> tuple[list[Vote], list[tuple[float, Person]]]:
    """Votes that do not depend on what others did, and the drive-by arrivals."""
    votes: list[Vote] = []
    drive_bys: list[tuple[float, Person]] = []
    by_id = {i.id: i for i in ideas}

    def reason(words: int) -> tuple[str, ...]:
        return tuple(rng.choice(VOCABULARY) for _ in range(words))

    def engaged_reason(idea: Idea) -> tuple[str, ...]:
        """A reason of one's own about the idea: some of its words, many of one's own."""
        if rng.random() >= sc.engaged_reason:
            return ()
        n = rng.randint(5, 19) if rng.random() < 0.1 else rng.randint(20, 80)
        about = idea.text.split()
        words = [rng.choice(VOCABULARY) for _ in range(n)]
        return tuple(extra.choice(about) if extra.random() < 0.25 else word for word in words)

    templates: dict[int, tuple[str, ...]] = {}
    for p in people:
        if p.kind == "engaged":
            t = rng.uniform(0, sc.days * DAY)
            if p.joined > t:
                t = p.joined + rng.uniform(60, 3 * DAY)
            candidates = [i for i in ideas if p.id not in i.authors]
            read = rng.sample(candidates, min(len(candidates), rng.randint(*sc.engaged_reads)))
            chosen: list[tuple[float, Idea, float, float]] = []
            for idea in read:
                need = read_seconds_needed(idea.words)
                spent = need * rng.uniform(0.7, 3.0)
                t += spent + rng.uniform(5, 60)
                perceived = idea.quality + rng.gauss(0, sc.engaged_noise)
                if perceived > p.bar:
                    chosen.append((perceived, idea, t, spent))
            if budget_k is not None:
                chosen = sorted(chosen, key=lambda c: -c[0])[:budget_k]
            for _, idea, at, spent in chosen:
                skip = rng.random() < sc.engaged_skip_read
                votes.append(Vote(p.id, idea.id, at, viewed=not skip, seconds=None if skip else spent,
                                  reason=engaged_reason(idea), criteria=rng.random() < sc.engaged_criteria,
                                  honest=True))
        elif p.kind == "drive_by":
            drive_bys.append((max(p.joined, 0.0) + rng.uniform(0, sc.days * DAY), p))
        elif p.kind == "burst":
            start = p.burst_at
            template = templates.setdefault(p.group, reason(30))
            for k, target in enumerate(p.targets[: budget_k or None]):
                at = start + k * 5 * 60 + rng.uniform(0, 3 * 60)
                if p.careful:
                    edited = list(template)
                    for _ in range(2):
                        edited[rng.randrange(len(edited))] = rng.choice(VOCABULARY)
                    need = read_seconds_needed(by_id[target].words)
                    votes.append(Vote(p.id, target, at, True, need + rng.uniform(1, 5), tuple(edited), True))
                else:
                    votes.append(Vote(p.id, target, at, False, None))
        elif p.kind == "puppet":
            for target in p.targets[: budget_k or None]:
                at = rng.uniform(0, 3 * DAY)
                need = read_seconds_needed(by_id[target].words)
                votes.append(Vote(p.id, target, at, True, need + rng.uniform(1, 20),
                                  reason(rng.randint(20, 40)), True))
        elif p.kind == "ring":
            mine = [t for t in p.targets if p.id not in by_id[t].authors]
            decoys = [i.id for i in rng.sample(ideas, 2) if i.id not in p.targets][: rng.randint(0, 2)]
            picks = mine + decoys
            if budget_k is not None:
                picks = picks[:budget_k]
            for target in picks:
                need = read_seconds_needed(by_id[target].words)
                votes.append(Vote(p.id, target, rng.uniform(0, sc.days * DAY), True,
                                  need * rng.uniform(1.0, 2.0), reason(rng.randint(25, 60)), True))
    return votes, drive_bys


def run_votes(sc: Scenario, ideas: list[Idea], people: list[Person], rng: random.Random,
              budget_k: int | None, extra: random.Random | None = None) -> list[Vote]:
    """The whole voting period in time order; drive-bys see the raw counts so far."""
    extra = extra or random.Random(0)
    planned, arrivals = plan_votes(sc, ideas, people, rng, budget_k, extra)
    planned.sort(key=lambda v: v.at)
    arrivals.sort(key=lambda a: a[0])
    counts = Counter()
    votes: list[Vote] = []
    praiser = {p.id: extra.random() < sc.drive_by_praise for _, p in arrivals}
    k = 0
    for t, p in arrivals:
        while k < len(planned) and planned[k].at <= t:
            votes.append(planned[k])
            counts[planned[k].idea] += 1
            k += 1
        clicks = rng.randint(*sc.drive_by_clicks)
        if budget_k is not None:
            clicks = min(clicks, budget_k)
        open_ideas = [i for i in ideas if p.id not in i.authors]
        at = t
        for _ in range(clicks):
            weights = [(counts[i.id] + 1) ** sc.herding for i in open_ideas]
            idea = rng.choices(open_ideas, weights)[0]
            open_ideas.remove(idea)
            glance = rng.random() < 0.2
            reason = tuple(rng.choice(["great", "idea", "love", "it", "yes"]) for _ in range(rng.randint(2, 6))) \
                if rng.random() < 0.05 else ()
            if praiser[p.id]:
                reason = tuple(extra.choice(GENERIC_PRAISE).split())
            votes.append(Vote(p.id, idea.id, at, glance, rng.uniform(2, 6) if glance else None, reason))
            counts[idea.id] += 1
            at += rng.uniform(3, 15)
    votes.extend(planned[k:])
    votes.sort(key=lambda v: v.at)
    return votes


# --- weighing with the pure modules ------------------------------------------------


def signals_of(vote: Vote, idea: Idea, p: Person, near: bool) -> VoteSignals:
    kind = "reason" if vote.reason else ("ratings" if vote.criteria else "support")
    text = " ".join(vote.reason)
    return VoteSignals(
        kind=kind, value=1, viewed_before=vote.viewed, seconds_since_view=vote.seconds,
        idea_word_count=idea.words, reason_word_count=len(vote.reason), reason_is_near_copy=near,
        reason_specificity=reason_specificity(text, idea.text) if text else 1.0,
        criteria_rated=vote.criteria, has_criteria=True, identity=p.identity,
        account_age_seconds=max(0.0, vote.at - p.joined), contributions_90d=p.contributions,
        is_author_or_coauthor=p.id in idea.authors,
    )


def weighted_ranking(votes: list[Vote], ideas: list[Idea], people: list[Person],
                     policy: WeightingPolicy, fairness: dict | None = None) -> dict[int, float]:
    by_idea = {i.id: i for i in ideas}
    # Near-copies: against the voter's own earlier reasons and others' on the idea.
    said_on_idea: dict[int, list[frozenset]] = defaultdict(list)
    said_by_voter: dict[int, list[frozenset]] = defaultdict(list)
    facts: list[collusion.VoteFact] = []
    signals: list[VoteSignals] = []
    for n, vote in enumerate(votes):
        near = False
        if vote.reason:
            mine = shingles(" ".join(vote.reason), policy)
            near = any(jaccard(mine, other) >= policy.near_copy_jaccard
                       for other in said_on_idea[vote.idea] + said_by_voter[vote.voter])
            said_on_idea[vote.idea].append(mine)
            said_by_voter[vote.voter].append(mine)
        p = people[vote.voter]
        s = signals_of(vote, by_idea[vote.idea], p, near)
        signals.append(s)
        facts.append(collusion.VoteFact(
            vote_id=n, voter_id=vote.voter, idea_id=vote.idea, author_ids=by_idea[vote.idea].authors,
            at=vote.at, standing=standing(s, policy), effort=effort(s, policy), network=p.network,
            account_age=s.account_age_seconds, copied=near,
        ))
    factors = collusion.collusion_factors(facts, policy) if policy.weighs_collusion else {}
    entries: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
    weights: list[tuple[Vote, VoteSignals, Person, float, tuple[str, ...]]] = []
    for n, (vote, s) in enumerate(zip(votes, signals)):
        w = weight_for(s, policy, factors.get(n, 1.0))
        entries[vote.idea].append((POOL, 1, w.value))
        weights.append((vote, s, people[vote.voter], w.value, tuple(d.code for d in w.discounts)))
    aggregates = {i.id: ranking.aggregate(entries.get(i.id, [])) for i in ideas}
    ranked = ranking.rank(aggregates, POOL, policy)
    if fairness is not None:
        fairness.update(fairness_figures(weights))
    return {line.idea_id: line.score for line in ranked}


def fairness_figures(weights) -> dict[str, float]:
    """Whom the defences spare: honest engaged newcomers, honest shared networks; and generic praise."""
    new, old, shared, shared_hit, praise = [], [], 0, 0, []
    for vote, s, p, w, codes in weights:
        if p.kind == "drive_by" and len(vote.reason) > 10:
            praise.append(w)
        engaged = vote.honest and s.viewed_before and (s.reason_word_count > 0 or s.criteria_rated)
        if not engaged or s.is_author_or_coauthor:
            continue
        (new if s.account_age_seconds < 7 * DAY else old).append(w)
        if not p.network.startswith("home-"):
            shared += 1
            shared_hit += "shared_network" in codes
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return {"newcomer_ratio": mean(new) / mean(old), "newcomer_votes": len(new),
            "shared_network_hit": shared_hit / shared if shared else 0.0, "shared_votes": shared,
            "praise_weight": mean(praise), "engaged_weight": mean(old)}


def pairwise_ranking(sc: Scenario, ideas: list[Idea], people: list[Person], rng: random.Random) -> dict[int, float]:
    policy = POLICIES["pairwise"]
    by_id = {i.id: i for i in ideas}
    sessions: list[tuple[float, Person, int]] = []
    for p in people:
        start = rng.uniform(0, sc.days * DAY)
        if p.kind == "engaged":
            n = rng.randint(*sc.pairwise_answers)
        elif p.kind == "drive_by":
            n = rng.randint(2, 6)
        else:
            n = 20  # adversaries answer as many pairs as they can bear
        if p.kind == "burst":
            start = p.burst_at
        for k in range(n):
            sessions.append((start + k * 40.0 + rng.uniform(0, 10), p, k))
    sessions.sort(key=lambda s: (s[0], s[1].id, s[2]))
    appearances = {i.id: 0 for i in ideas}
    shown: dict[int, set[frozenset]] = defaultdict(set)
    own = {p.id: {i.id for i in ideas if p.id in i.authors} for p in people}
    left_picker = {p.id: rng.random() < 0.5 for p in people}
    answers: list[tuple[Person, int, int, float, bool, int]] = []  # person, winner, loser, secs, left?, words
    for _, p, _ in sessions:
        left, right = pairwise.choose_pair(appearances, rng, exclude=own[p.id], avoid=shown[p.id], policy=policy)
        appearances[left] += 1
        appearances[right] += 1
        shown[p.id].add(frozenset((left, right)))
        words = min(by_id[left].words, 120) + min(by_id[right].words, 120)  # the pair page shows summaries
        need = read_seconds_needed(words, policy)
        a, b = by_id[left], by_id[right]
        if p.kind == "engaged" or (p.kind == "ring" and a.id not in p.targets and b.id not in p.targets):
            pa, pb = a.quality + rng.gauss(0, sc.engaged_noise), b.quality + rng.gauss(0, sc.engaged_noise)
            if abs(pa - pb) < 0.1:
                continue  # can't decide: shown, not counted
            pick_left = pa > pb
            secs = need * rng.uniform(0.8, 2.5)
        elif p.kind == "drive_by":
            pick_left = True if left_picker[p.id] else rng.random() < 0.5
            secs = rng.uniform(1, 4)
        else:
            if a.id in p.targets or b.id in p.targets:
                pick_left = a.id in p.targets
            else:
                pick_left = True if left_picker[p.id] else rng.random() < 0.5
            secs = need + rng.uniform(0, 3) if p.careful else rng.uniform(1, 3)
        winner, loser = (a.id, b.id) if pick_left else (b.id, a.id)
        answers.append((p, winner, loser, secs, pick_left, words))
    sides: dict[int, list[bool]] = defaultdict(list)
    for p, _, _, _, pick_left, _ in answers:
        sides[p.id].append(pick_left)
    weighted: list[tuple[int, int, float]] = []
    for p, winner, loser, secs, _, words in answers:
        mine = sides[p.id]
        ratio = max(sum(mine), len(mine) - sum(mine)) / len(mine)
        s = VoteSignals(kind="pairwise", viewed_before=True, seconds_since_view=secs, idea_word_count=words,
                        identity=p.identity, account_age_seconds=max(0.0, sc.days * DAY / 2 - p.joined),
                        contributions_90d=p.contributions, pair_same_side_ratio=ratio, pair_answers=len(mine))
        weighted.append((winner, loser, weight_for(s, policy).value))
    return pairwise.bradley_terry([i.id for i in ideas], weighted, policy=policy)


# --- scoring against the truth -----------------------------------------------------


def top_precision(scores: dict[int, float], truth: dict[int, float], k: int = 10) -> float:
    best = set(sorted(truth, key=lambda i: -truth[i])[:k])
    # Equal scores go in id order, as the site breaks ties; ids are random here.
    mine = sorted(scores, key=lambda i: (-scores[i], i))[:k]
    return len(best.intersection(mine)) / k


def kendall_tau_b(scores: dict[int, float], truth: dict[int, float]) -> float:
    ids = list(truth)
    concordant = discordant = ties_x = ties_y = 0
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            dx = scores[ids[a]] - scores[ids[b]]
            dy = truth[ids[a]] - truth[ids[b]]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else 0.0


METHODS = ("raw", "simple", "weighted", "budget", "pairwise")


def run_seed(sc: Scenario, seed: int) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    rng = random.Random(seed)
    ideas, people = build_crowd(sc, rng, random.Random(seed * 7919 + 3))
    truth = {i.id: i.quality for i in ideas}
    votes = run_votes(sc, ideas, people, random.Random(seed * 7919 + 1), None, random.Random(seed * 7919 + 4))
    budget_votes = run_votes(sc, ideas, people, random.Random(seed * 7919 + 1), POLICIES["budget"].budget_k,
                             random.Random(seed * 7919 + 4))
    authors = {i.id: i.authors for i in ideas}
    raw = Counter(v.idea for v in votes if v.voter not in authors[v.idea])
    fairness: dict[str, float] = {}
    scores = {
        "raw": {i.id: float(raw[i.id]) for i in ideas},
        "simple": weighted_ranking(votes, ideas, people, POLICIES["simple"]),
        "weighted": weighted_ranking(votes, ideas, people, POLICIES["weighted"], fairness),
        "budget": weighted_ranking(budget_votes, ideas, people, POLICIES["budget"]),
        "pairwise": pairwise_ranking(sc, ideas, people, random.Random(seed * 7919 + 2)),
    }
    return {m: (top_precision(scores[m], truth), kendall_tau_b(scores[m], truth)) for m in METHODS}, fairness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="seeds run in parallel processes (results do not depend on it)")
    parser.add_argument("--ideas", type=int, default=Scenario.ideas)
    parser.add_argument("--voters", type=int, default=Scenario.voters)
    parser.add_argument("--drive-by", type=float, default=Scenario.drive_by_share)
    parser.add_argument("--adversarial", type=float, default=Scenario.adversarial_share)
    parser.add_argument("--herding", type=float, default=Scenario.herding,
                        help="drive-bys pick ideas with probability ∝ (raw count + 1) ** HERDING")
    parser.add_argument("--noise", type=float, default=Scenario.engaged_noise,
                        help="sd of an engaged voter's judgement error (true quality has sd 1)")
    args = parser.parse_args(argv)
    if args.ideas < 20:
        parser.error("--ideas must be at least 20 (top-10 precision needs room)")
    if args.drive_by + args.adversarial > 0.9:
        parser.error("leave at least 10 % of the voters engaged")
    sc = Scenario(ideas=args.ideas, voters=args.voters, drive_by_share=args.drive_by,
                  adversarial_share=args.adversarial, herding=args.herding, engaged_noise=args.noise)
    started = time.perf_counter()
    print(f"scenario: {sc.ideas} ideas, {sc.voters} voters over {sc.days:g} days, "
          f"{sc.drive_by_share:.0%} drive-by, {sc.adversarial_share:.0%} adversarial "
          f"(burst rings / network sockpuppets / reciprocal rings = "
          f"{'/'.join(f'{s:.0%}' for s in sc.adversary_mix)}), {args.seeds} seeds")
    print(f"engaged: read {sc.engaged_reads[0]}-{sc.engaged_reads[1]} ideas each, judgement noise sd "
          f"{sc.engaged_noise:g} (quality sd 1), reason {sc.engaged_reason:.0%}, criteria "
          f"{sc.engaged_criteria:.0%}, vote unread {sc.engaged_skip_read:.0%}, new accounts "
          f"{sc.engaged_new_account:.0%}; drive-by herding exponent {sc.herding:g}")
    print("policies: " + ", ".join(f"{p.label}" for p in POLICIES.values())
          + f"; budget K = {POLICIES['budget'].budget_k}")
    results: dict[str, list[tuple[float, float]]] = defaultdict(list)
    seeds = range(1, args.seeds + 1)
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            per_seed = list(pool.map(run_seed, [sc] * len(seeds), seeds))
    else:
        per_seed = [run_seed(sc, seed) for seed in seeds]
    for figures_by_method, _ in per_seed:
        for method, figures in figures_by_method.items():
            results[method].append(figures)
    print()
    print(f"{'method':<10} {'top-10 precision':>22} {'Kendall tau':>22}")
    print(f"{'':<10} {'mean':>10} {'min':>11} {'mean':>10} {'min':>11}")
    for method in METHODS:
        precision = [r[0] for r in results[method]]
        tau = [r[1] for r in results[method]]
        print(f"{method:<10} {sum(precision) / len(precision):>10.2f} {min(precision):>11.2f} "
              f"{sum(tau) / len(tau):>10.2f} {min(tau):>11.2f}")
    print()
    fair = [f for _, f in per_seed]
    ratios = [f["newcomer_ratio"] for f in fair]
    print(f"fairness (weighted): honest engaged newcomer / established mean weight = "
          f"{sum(ratios) / len(ratios):.2f} (min {min(ratios):.2f}; "
          f"{sum(f['newcomer_votes'] for f in fair) / len(fair):.0f} newcomer votes a seed; target >= 0.6)")
    print(f"  honest engaged votes from shared networks discounted as a network cluster: "
          f"{sum(f['shared_network_hit'] for f in fair) / len(fair):.1%} "
          f"(of {sum(f['shared_votes'] for f in fair) / len(fair):.0f} a seed)")
    print(f"  mean weight: generic-praise votes {sum(f['praise_weight'] for f in fair) / len(fair):.3f}, "
          f"established honest engaged votes {sum(f['engaged_weight'] for f in fair) / len(fair):.3f}")
    print("per seed (precision / tau): " + "; ".join(
        f"{m} " + " ".join(f"{p:.1f}/{t:.2f}" for p, t in results[m]) for m in METHODS))
    print(f"took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
