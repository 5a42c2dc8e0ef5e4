"""Replaying a history of votes in bulk, with the weights the live site would have given.

An archive brings votes with their times. Cast one by one through
`services.record_vote`, each costs a dozen queries (20–30 ms); here the whole
history is read with a few set-based queries, every vote is measured and judged in
memory in time order exactly as `record_vote` would at that moment, and the
results are written with one bulk INSERT.

"Exactly as live" means the same inputs reach the same pure functions:

- signals as `services._measure` takes them: the voter's first view of the idea
  before the vote, the reason's words and whether it near-copies the voter's
  latest other reasons or others' reasons on the idea (`weighting.near_copy`),
  identity, account age and substantive contributions in the 90 days before;
- the collusion judgement as `services._reweigh_idea_votes` makes it: when a vote
  is cast on idea X, the rules run (`collusion.collusion_factors`) over X's votes
  of the last two days and those sharing their networks, plus the recent votes of
  those voters and X's authors (`services._context`, same bounds), and X's votes in
  that set are weighed again. A vote's stored weight is the one from the last such
  judgement that included it, so each vote is judged once, at that cast;
- weights from `batch.weigh` (`weighting.weight_for`), scores afterwards from the
  stored weights (`services.rebuild_scores`).

The equivalence is tested vote by vote against the live path
(tests/archive/test_bulk_import.py).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db
from ideas.voting import batch, services, weighting
from ideas.voting import collusion as collusion_rules
from ideas.voting.models import IdeaView, Vote, VoteRating
from ideas.voting.weighting import WEIGHTED


@dataclass(frozen=True)
class Cast:
    """One vote to replay, already checked: the voter may vote on the idea, ratings
    name the challenge's criteria (by id), `network` is the hash the site stores."""

    idea_id: int
    voter_id: int
    at: datetime
    value: int = 1
    reason: str = ""
    ratings: Mapping[int, int] = field(default_factory=dict)
    network: str | None = None


class _Record:
    """A vote being replayed, with the votes table's columns as attributes, so that the
    live path's own functions (`services.measure`, `_signals_for`, `_facts`) read it
    as they read a stored `Vote`."""

    def __init__(self, **columns):
        self.__dict__.update(columns)

    def columns(self) -> dict:
        return {name: getattr(self, name) for name in _COLUMNS if hasattr(self, name)}


_COLUMNS = [c.key for c in Vote.__table__.c if c.key != "id"]


@dataclass
class _Vote:
    index: int
    cast: Cast
    record: _Record
    signals: weighting.VoteSignals
    fact: collusion_rules.VoteFact


def replay(challenge: Challenge, casts: Sequence[Cast], ideas: Mapping[int, Idea],
           users: Mapping[int, User]) -> int:
    """Store these votes (in time order, as live) with their live weights; returns how many.

    `ideas` and `users` hold every idea and voter the casts name. The challenge must
    have no votes yet (an import); the caller rebuilds the scores afterwards."""
    policy = services.active_policy(challenge)
    criteria = {c.id for c in challenge.criteria}
    idea_ids = sorted(ideas)
    authors = services._authors_of(idea_ids)
    views = _first_views(idea_ids)
    worked = services.contribution_times({c.voter_id for c in casts})

    votes: list[_Vote] = []
    by_idea: dict[int, list[int]] = defaultdict(list)
    times_by_idea: dict[int, list[datetime]] = defaultdict(list)
    by_voter: dict[int, list[int]] = defaultdict(list)
    reasons_by_voter: dict[int, list[tuple[int, frozenset]]] = defaultdict(list)  # (idea, shingles)
    reasons_by_idea: dict[int, list[tuple[int, frozenset]]] = defaultdict(list)  # (voter, shingles)
    judged_at: dict[int, int] = {}  # vote -> the cast whose judgement it keeps
    on_idea_of: dict[int, list[int]] = {}

    for index, cast in enumerate(casts):
        now = cast.at
        idea, voter = ideas[cast.idea_id], users[cast.voter_id]
        reason = cast.reason.strip()

        def others(idea=idea, voter=voter) -> list[frozenset]:
            # services._other_reasons: the voter's latest reasons on other ideas of the
            # challenge, and the latest reasons of others on this idea.
            found = [sh for other_idea, sh in reversed(reasons_by_voter[voter.id])
                     if other_idea != idea.id][:services.OWN_REASONS_LIMIT]
            return found + [sh for other_voter, sh in reversed(reasons_by_idea[idea.id])
                            if other_voter != voter.id][:services.CONTEXT_LIMIT]

        times = worked.get(voter.id, ())
        since = now - services.CONTRIBUTION_WINDOW
        record = _Record(
            id=index, challenge_id=challenge.id, idea_id=idea.id, voter_id=voter.id, pool=voter.pool,
            value=cast.value, kind="ratings" if cast.ratings else ("reason" if reason else "support"),
            created_at=now, updated_at=now, network=cast.network,
            criteria_rated=bool(challenge.criteria) and criteria <= set(cast.ratings))
        services.measure(record, idea, voter, now, reason, first_view=views.get((idea.id, voter.id)),
                         other_reasons=others,
                         contributions_90d=bisect.bisect_right(times, now) - bisect.bisect_left(times, since),
                         author_ids=authors.get(idea.id, ()))
        fact, = services._facts([record], authors)
        votes.append(_Vote(index, cast, record, services._signals_for(record, idea), fact))
        by_idea[idea.id].append(index)
        times_by_idea[idea.id].append(now)
        by_voter[voter.id].append(index)
        if reason:
            mine = weighting.shingles(reason)
            reasons_by_voter[voter.id].append((idea.id, mine))
            reasons_by_idea[idea.id].append((voter.id, mine))
        # The idea's votes this cast judges again (services._context): the last two days'
        # (at most CONTEXT_LIMIT) and those sharing one of their networks.
        on_idea = by_idea[idea.id]
        start = bisect.bisect_left(times_by_idea[idea.id], now - services.CONTEXT_RECENT)
        recent = on_idea[max(start, len(on_idea) - services.CONTEXT_LIMIT):]
        networks = {votes[j].cast.network for j in recent if votes[j].cast.network}
        shared = [j for j in on_idea if votes[j].cast.network in networks][:services.CONTEXT_LIMIT] \
            if networks else []
        judged = sorted({*recent, *shared})
        on_idea_of[index] = judged
        for j in judged:
            judged_at[j] = index

    keeps: dict[int, list[int]] = defaultdict(list)
    for vote_index, cast_index in judged_at.items():
        keeps[cast_index].append(vote_index)
    same = policy == WEIGHTED
    for cast_index in sorted(keeps):
        factors = _judge(cast_index, votes, on_idea_of[cast_index], by_voter, authors)
        for j in keeps[cast_index]:
            found = factors.get(j, weighting.NO_COLLUSION)
            for name, value in batch.weigh(votes[j].signals, policy, found, same=same).columns().items():
                setattr(votes[j].record, name, value)
    _write([vote.record.columns() for vote in votes], [vote.cast.ratings for vote in votes])
    return len(votes)


def _judge(cast_index: int, votes: list[_Vote], on_idea: list[int], by_voter, authors) -> dict:
    """The collusion factors of an idea's votes as the cast at `cast_index` finds them
    (services._reweigh_idea_votes over services._context, on the history up to it)."""
    cast = votes[cast_index].cast
    now = cast.at
    people = {votes[j].cast.voter_id for j in on_idea} | set(authors.get(cast.idea_id, ()))
    # Those people's votes up to this cast, of the last 30 days, the latest AROUND_LIMIT.
    cutoff = now - services.CONTEXT_AROUND
    around: list[int] = []
    for person in people:
        own = by_voter.get(person, ())
        end = bisect.bisect_right(own, cast_index)
        around.extend(j for j in own[:end] if votes[j].cast.at >= cutoff)
    around.sort(key=lambda j: (votes[j].cast.at, j), reverse=True)
    chosen = set(on_idea) | set(around[:services.AROUND_LIMIT])
    facts = [votes[j].fact for j in sorted(chosen)]
    return collusion_rules.collusion_factors(facts, WEIGHTED, ideas={cast.idea_id})


def _first_views(idea_ids: Sequence[int]) -> dict[tuple[int, int], datetime]:
    found = {}
    for start in range(0, len(idea_ids), 500):
        for idea_id, user_id, first in db.session.execute(
                select(IdeaView.idea_id, IdeaView.user_id, IdeaView.first_at)
                .where(IdeaView.idea_id.in_(idea_ids[start:start + 500]))):
            found[idea_id, user_id] = clock.as_utc(first)
    return found


def _write(rows: list[dict], ratings: list[Mapping[int, int]]) -> None:
    if not rows:
        return
    table = Vote.__table__
    ids: list[int] = []
    for start in range(0, len(rows), batch.CHUNK):
        result = db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows[start:start + batch.CHUNK])
        ids.extend(result.scalars().all())
    rated = [{"vote_id": vote_id, "criterion_id": criterion, "rating": rating}
             for vote_id, given in zip(ids, ratings, strict=True) for criterion, rating in sorted(given.items())]
    for start in range(0, len(rated), batch.CHUNK):
        db.session.execute(insert(VoteRating.__table__), rated[start:start + batch.CHUNK])
