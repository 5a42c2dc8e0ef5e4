"""Replaying a history of votes in bulk, with the weights the live site would have given.

An archive brings votes with their times. Cast one by one through
`casting.record_vote`, each costs a dozen queries (20–30 ms); here the whole
history is read with a few set-based queries, every vote is measured and judged in
memory in time order exactly as `record_vote` would at that moment, and the
results are written with one bulk INSERT.

"Exactly as live" means the same inputs reach the same pure functions:

- signals as `signals._measure` takes them: the voter's first view of the idea
  before the vote, the reason's words and whether it near-copies the voter's
  latest other reasons or others' reasons on the idea (`weighting.near_copy`),
  identity, account age and substantive contributions in the 90 days before;
- the collusion judgement as the live cast makes it: when a vote is cast on idea X,
  `collusion.context_for` (bounds `collusion.LIVE`) picks the votes X's cast judges
  again and the context the rules read, here from the history in memory
  (`collusion.Votes`, cut at that cast) where the live site reads the database
  (`casting.StoredVotes`), and `collusion.collusion_factors` judges them. A vote's
  stored weight is the one from the last such judgement that included it, so each
  vote is judged once, at that cast;
- weights from `batch.weigh` (`weighting.weight_for`), scores afterwards from the
  stored weights (`scores.rebuild_scores`).

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
from ideas.voting import batch, casting, settings, signals, weighting
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
    live path's own functions (`signals.measure`, `_signals_for`, `_facts`) read it
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
    policy = settings.active_policy(challenge)
    criteria = {c.id for c in challenge.criteria}
    idea_ids = sorted(ideas)
    authors = casting._authors_of(idea_ids)
    views = _first_views(idea_ids)
    worked = signals.contribution_times({c.voter_id for c in casts})

    votes: list[_Vote] = []
    history = collusion_rules.Votes()  # the facts cast so far, as the live site's database holds them
    reasons_by_voter: dict[int, list[tuple[int, frozenset]]] = defaultdict(list)  # (idea, shingles)
    reasons_by_idea: dict[int, list[tuple[int, frozenset]]] = defaultdict(list)  # (voter, shingles)
    judged_at: dict[int, int] = {}  # vote -> the cast whose judgement it keeps

    for index, cast in enumerate(casts):
        now = cast.at
        idea, voter = ideas[cast.idea_id], users[cast.voter_id]
        reason = cast.reason.strip()

        def others(idea=idea, voter=voter) -> list[frozenset]:
            # signals._other_reasons: the voter's latest reasons on other ideas of the
            # challenge, and the latest reasons of others on this idea.
            found = [sh for other_idea, sh in reversed(reasons_by_voter[voter.id])
                     if other_idea != idea.id][:signals.OWN_REASONS_LIMIT]
            return found + [sh for other_voter, sh in reversed(reasons_by_idea[idea.id])
                            if other_voter != voter.id][:signals.CONTEXT_LIMIT]

        times = worked.get(voter.id, ())
        since = now - signals.CONTRIBUTION_WINDOW
        record = _Record(
            id=index, challenge_id=challenge.id, idea_id=idea.id, voter_id=voter.id, pool=voter.pool,
            value=cast.value, kind="ratings" if cast.ratings else ("reason" if reason else "support"),
            created_at=now, updated_at=now, network=cast.network,
            criteria_rated=bool(challenge.criteria) and criteria <= set(cast.ratings))
        signals.measure(record, idea, voter, now, reason, first_view=views.get((idea.id, voter.id)),
                         other_reasons=others,
                         contributions_90d=bisect.bisect_right(times, now) - bisect.bisect_left(times, since),
                         author_ids=authors.get(idea.id, ()))
        fact, = casting._facts([record], authors)
        votes.append(_Vote(index, cast, record, signals._signals_for(record, idea), fact))
        history.add(fact)
        if reason:
            mine = weighting.shingles(reason)
            reasons_by_voter[voter.id].append((idea.id, mine))
            reasons_by_idea[idea.id].append((voter.id, mine))
        # The idea's votes this cast judges again, as the live cast would.
        for judged in collusion_rules.judged_for(idea.id, history, now=now, bounds=collusion_rules.LIVE, cast=fact):
            judged_at[judged.vote_id] = index

    keeps: dict[int, list[int]] = defaultdict(list)
    for vote_index, cast_index in judged_at.items():
        keeps[cast_index].append(vote_index)
    same = policy == WEIGHTED
    for cast_index in sorted(keeps):
        judged = votes[cast_index]
        context = collusion_rules.context_for(judged.cast.idea_id, history.upto(cast_index + 1), now=judged.cast.at,
                                              bounds=collusion_rules.LIVE, cast=judged.fact)
        factors = collusion_rules.collusion_factors(context.facts, WEIGHTED, ideas={judged.cast.idea_id})
        for j in keeps[cast_index]:
            found = factors.get(j, weighting.NO_COLLUSION)
            for name, value in batch.weigh(votes[j].signals, policy, found, same=same).columns().items():
                setattr(votes[j].record, name, value)
    _write([vote.record.columns() for vote in votes], [vote.cast.ratings for vote in votes])
    return len(votes)


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
