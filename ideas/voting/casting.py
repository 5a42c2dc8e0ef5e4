"""Casting, changing and withdrawing votes, and weighing the idea's votes again with each one.

Concurrency: every change to an idea's votes first takes that idea's score row
(`scores._lock_scores`: an UPDATE, so a write lock in SQLite and a row lock in
PostgreSQL), then reads and writes its votes. Votes on one idea are thus applied one
after another, each seeing the others, and the stored aggregates always equal the
sum of the stored weights; the unique (voter, idea) constraint makes a second vote
impossible whatever the timing."""
from __future__ import annotations

import ipaddress
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

from flask import current_app
from sqlalchemy import Row, func, select, update
from sqlalchemy.orm.util import identity_key

from ideas import clock, events
from ideas.accounts.models import User
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges.models import (
    Challenge,
    CoAuthor,
    Idea,
    IdeaStatus,
    Phase,
)
from ideas.challenges.permissions import Action
from ideas.challenges.services import require_participation
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.voting import batch, weighting
from ideas.voting import collusion as collusion_rules
from ideas.voting.models import (
    IdeaScore,
    Vote,
    VoteRating,
)
from ideas.voting.scores import _apply_changes, _lock_scores
from ideas.voting.settings import VoteError, active_policy
from ideas.voting.signals import (
    NETWORK_RULE_KEY,
    _measure,
    _signals_for,
    identity_of,
    network_hash,
    network_rule_off,
    weigh_alone,
)
from ideas.voting.weighting import WEIGHTED

log = logging.getLogger(__name__)


# This many votes in a row, by this many different people, from one address: the
# site sees a proxy's address, not its voters' (IDEAS_TRUST_PROXY is not set).
ONE_ADDRESS_VOTERS = 20


REASON_LIMIT = 5000


def observe_vote_address(address: str | None, voter_id: int) -> bool:
    """Watch for a site that sees every vote from one address; True when it just tripped.

    Kept in the worker's memory (no write per vote): the latest address and the
    people who voted from it in a row. When ONE_ADDRESS_VOTERS different people in
    a row voted from one address and the site does not trust a proxy, the network
    rule is switched off, the existing hashes of that address are forgotten, the
    event is logged and the administrators are told.
    """
    if not address or current_app.config.get("IDEAS_TRUST_PROXY"):
        return False
    probe = current_app.extensions.setdefault("ideas.vote_addresses", {"address": None, "voters": set()})
    if probe["address"] != address:
        probe["address"], probe["voters"] = address, set()
    probe["voters"].add(voter_id)
    if len(probe["voters"]) < ONE_ADDRESS_VOTERS or network_rule_off():
        return False
    _switch_network_rule_off(address, len(probe["voters"]))
    return True


def _switch_network_rule_off(address: str, voters: int) -> None:
    from ideas.accounts.models import SiteSetting

    reason = (f"The last {voters} votes, by {voters} different people, all came from one address ({address}): "
              f"the site is behind a proxy and IDEAS_TRUST_PROXY is not set, so it cannot tell voters' networks "
              f"apart. The shared-network rule is off until IDEAS_TRUST_PROXY is set to the number of proxies "
              f"in front of the site.")
    row = db.session.get(SiteSetting, NETWORK_RULE_KEY)
    if row is None:
        db.session.add(SiteSetting(key=NETWORK_RULE_KEY, value=reason))
    else:
        row.value = reason
    stale = {network_hash(address)}
    try:
        ip = ipaddress.ip_address(address)
        if ip.version == 6:
            stale.add(network_hash(str(ipaddress.ip_network(f"{ip}/64", strict=False))))
    except ValueError:
        pass
    affected = set(db.session.scalars(select(Vote.idea_id).where(Vote.network.in_(stale)).distinct()))
    db.session.execute(update(Vote).where(Vote.network.in_(stale)).values(network=None),
                       execution_options={"synchronize_session": "fetch"})
    # Votes a network cluster of that address discounted count again as they should.
    now = clock.now()
    for idea in db.session.scalars(select(Idea).where(Idea.id.in_(affected))):
        policy = active_policy(idea.challenge)
        _lock_scores(idea, now)
        _apply_changes(idea, _reweigh_idea_votes(idea, policy, now), policy)
    log.warning("voting: shared-network rule switched off: %s", reason)
    db.session.flush()
    events.emit("vote.network_rule_off", {"reason": reason})


@dataclass
class Ballot:
    value: int = 1
    reason: str = ""
    ratings: dict[int, int] | None = None  # criterion id → 1..5


def check_can_vote(idea: Idea, voter) -> None:
    challenge = idea.challenge
    if idea.status != IdeaStatus.PUBLISHED or idea.hidden_at is not None:
        if not challenge_permissions.can_see_idea(voter, idea):
            raise NotFoundError()
        raise VoteError(f"This idea is {'hidden' if idea.hidden_at else idea.status}: it takes no votes.", status=409)
    require_participation(voter, challenge, Action.VOTE)
    if not challenge_permissions.in_audience(voter, challenge):
        raise VoteError("This challenge is not open to your pool.", status=403)
    if voter.id in idea.author_ids() or _invited_coauthor(idea, voter):
        raise VoteError("You cannot vote on your own or a co-authored idea.", status=403)


def can_vote(voter, idea: Idea) -> bool:
    """Whether the person may cast a vote on the idea now (the vote form is offered)."""
    if not getattr(voter, "is_authenticated", False) or idea.challenge.voting_policy == "pairwise":
        return False
    try:
        check_can_vote(idea, voter)
    except (ChallengeError, NotFoundError):
        return False
    return True


def _invited_coauthor(idea: Idea, voter) -> bool:
    return any(c.user_id == voter.id for c in idea.coauthors)


def cast_vote(idea: Idea, voter: User, ballot: Ballot, *, network: str | None = None,
              now: datetime | None = None) -> Vote:
    """Cast or change this person's vote on the idea, weigh it, and update the idea's scores."""
    now = now or clock.now()
    check_can_vote(idea, voter)
    if idea.challenge.voting_policy == "pairwise":
        raise VoteError("This challenge votes by comparing pairs of ideas.", status=409)
    return record_vote(idea, voter, ballot, network=network, now=now)


def record_vote(idea: Idea, voter: User, ballot: Ballot, *, network: str | None, now: datetime) -> Vote:
    """Weigh and store a vote that is allowed (live, or replayed from an archive at its
    own time): signals are measured against the history as it stood at `now`."""
    challenge = idea.challenge
    policy = active_policy(challenge)
    value, reason, ratings = _clean_ballot(challenge, policy, ballot)
    _lock_scores(idea, now)
    vote = db.session.scalar(select(Vote).where(Vote.voter_id == voter.id, Vote.idea_id == idea.id))
    if value > 0 and policy.budget_k and (vote is None or vote.value < 0):
        used = db.session.scalar(select(func.count(Vote.id)).where(
            Vote.challenge_id == challenge.id, Vote.voter_id == voter.id, Vote.value > 0)) or 0
        if used >= policy.budget_k:
            raise VoteError(f"You have used your {policy.budget_k} supports in this challenge: "
                            "withdraw one to support this idea.", status=409)
    old = (vote.pool, vote.value, vote.weight) if vote is not None else None
    if vote is None:
        vote = Vote(challenge_id=challenge.id, idea_id=idea.id, voter_id=voter.id, created_at=now)
        db.session.add(vote)
    # Measured before the vote is written: one INSERT (or UPDATE) with everything, not a
    # first one the measuring queries would flush and a second with what they found.
    with db.session.no_autoflush:
        vote.pool = voter.pool
        vote.value = value
        vote.kind = "ratings" if ratings else ("reason" if reason.strip() else "support")
        vote.updated_at = now
        if network:
            vote.network = network
        vote.ratings[:] = [VoteRating(criterion_id=c, rating=r) for c, r in sorted(ratings.items())]
        vote.criteria_rated = bool(challenge.criteria) and {c.id for c in challenge.criteria} <= set(ratings)
        _measure(vote, idea, voter, now, reason)
    _weigh_in(idea, vote, old, policy, now)
    _announce("vote.cast", idea, voter, new=old is None)
    return vote


def _weigh_in(idea: Idea, vote: Vote, old: tuple | None, policy, now: datetime) -> None:
    """Weigh a vote just measured, with the votes of the idea it can affect, and move the
    idea's aggregates from `old` (its pool, value and weight before; None for a new vote)."""
    vote.weight = 0.0
    db.session.flush()
    changes = _reweigh_idea_votes(idea, policy, now, cast=vote)
    if old is not None:
        changes.append((old[0], old[1], -old[2], -1))
    changes.append((vote.pool, vote.value, 0.0, 1))  # its weight is in `changes` already
    _apply_changes(idea, changes, policy)


def reweigh_voter(voter: User, now: datetime | None = None) -> int:
    """The person is counted as someone else now (their address proven, perhaps another
    pool): each of their votes still open to change (its challenge in voting, its idea
    published) is weighed again by the live path with who they are now, the rest of what
    was measured at the vote (reading, reason, timing) kept as it was. Returns how many."""
    now = now or clock.now()
    votes = list(db.session.scalars(
        select(Vote).join(Idea, Idea.id == Vote.idea_id).join(Challenge, Challenge.id == Vote.challenge_id)
        .where(Vote.voter_id == voter.id, Vote.kind != "pairwise", Challenge.phase == Phase.VOTING,
               Challenge.voting_policy != "pairwise", Idea.status == IdeaStatus.PUBLISHED)
        .order_by(Vote.idea_id)))  # always in one order, so two at once wait instead of deadlocking
    for vote in votes:
        idea = db.session.get(Idea, vote.idea_id)
        policy = active_policy(idea.challenge)
        _lock_scores(idea, now)
        old = (vote.pool, vote.value, vote.weight)
        vote.identity, vote.pool = identity_of(voter), voter.pool
        weigh_alone(vote, idea)
        _weigh_in(idea, vote, old, policy, now)
    return len(votes)


def _announce(name: str, idea: Idea, voter: User, **facts) -> None:
    score = db.session.get(IdeaScore, idea.id)  # just updated: no query
    votes = (score.raw_employee or 0) + (score.raw_external or 0) if score is not None else 0
    events.emit(name, {"idea": idea, "voter": voter, "votes": votes, **facts})


def _clean_ballot(challenge, policy, ballot: Ballot) -> tuple[int, str, dict[int, int]]:
    if ballot.value not in (1, -1):
        raise VoteError("A vote is for (1) or against (-1).", field="value")
    if ballot.value < 0 and not policy.allows_opposition:
        raise VoteError("This challenge counts support only.", field="value")
    reason = (ballot.reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise VoteError(f"Keep the reason under {REASON_LIMIT:,} characters.", field="reason")
    known = {c.id: c for c in challenge.criteria}
    ratings: dict[int, int] = {}
    for key, rating in (ballot.ratings or {}).items():
        try:
            criterion_id = int(key)
        except (TypeError, ValueError):
            criterion_id = next((c.id for c in challenge.criteria if c.name == key), None)
        if criterion_id not in known:
            raise VoteError(f"“{key}” is not one of this challenge's criteria.", field="ratings")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise VoteError(f"Rate “{known[criterion_id].name}” from 1 to 5.", field="ratings")
        ratings[criterion_id] = rating
    return ballot.value, reason, ratings


def withdraw_vote(idea: Idea, voter: User, now: datetime | None = None, *, force: bool = False) -> bool:
    """Withdraw a vote while voting is open (`force`: a merge moving it with consent)."""
    now = now or clock.now()
    if not force:
        require_participation(voter, idea.challenge, Action.VOTE)
    _lock_scores(idea, now)
    vote = db.session.scalar(select(Vote).where(Vote.voter_id == voter.id, Vote.idea_id == idea.id))
    if vote is None:
        return False
    changes = [(vote.pool, vote.value, -vote.weight, -1)]
    db.session.delete(vote)
    db.session.flush()
    policy = active_policy(idea.challenge)
    changes += _reweigh_idea_votes(idea, policy, now)
    _apply_changes(idea, changes, policy)
    _announce("vote.withdrawn", idea, voter)
    return True


def _facts(votes, authors: dict[int, frozenset]) -> list[collusion_rules.VoteFact]:
    """The votes (ORM votes, rows of `_CONTEXT` or `_JUDGED`, or anything with the
    `_FACT` attributes) as the collusion rules see them. Their standing is the voter's own
    at the vote (identity × age × contribution), not `vote.standing`, which is the
    standing the vote counts with."""
    found = []
    for v in votes:
        (vote_id, voter_id, idea_id, created_at, identity, age, contributions, effort, network, value,
         copied) = v[:len(_FACT)] if isinstance(v, Row) else _read_fact(v)
        found.append(collusion_rules.VoteFact(
            vote_id=vote_id, voter_id=voter_id, idea_id=idea_id, author_ids=authors.get(idea_id, frozenset()),
            at=clock.as_utc(created_at), standing=weighting.standing_from(identity, age, contributions, WEIGHTED),
            effort=effort, network=network, value=value, account_age=age, copied=bool(copied)))
    return found


def _authors_of(idea_ids) -> dict[int, frozenset]:
    idea_ids = set(idea_ids)
    if not idea_ids:
        return {}
    found: dict[int, set] = defaultdict(set)
    for idea_id, author_id in db.session.execute(select(Idea.id, Idea.author_id).where(Idea.id.in_(idea_ids))):
        found[idea_id].add(author_id)
    for idea_id, user_id in db.session.execute(
        select(CoAuthor.idea_id, CoAuthor.user_id).where(CoAuthor.idea_id.in_(idea_ids),
                                                         CoAuthor.accepted_at.is_not(None))):
        found[idea_id].add(user_id)
    return {k: frozenset(v) for k, v in found.items()}


# What the collusion rules read of a stored vote (`_facts`), and what weighing a judged
# one again needs besides: rows of these columns answer the same attributes as an ORM
# `Vote` (`batch.signals_of` takes either), without building one (and its ratings) for
# each of the thousands of votes a context can hold. Not the reason's text: its
# measures are stored beside it.
_FACT = ("id", "voter_id", "idea_id", "created_at", "identity", "account_age_seconds", "contributions_90d",
         "effort", "network", "value", "reason_near_copy")
_CONTEXT = tuple(getattr(Vote, name) for name in _FACT)
_read_fact = attrgetter(*_FACT)  # a row is read by position: its columns begin with these
_JUDGED = tuple(getattr(Vote, name) for name in dict.fromkeys((
    *_FACT, "pool", *(column.name for column in batch.SIGNAL_COLUMNS), *batch.WEIGHT_COLUMNS)))


class StoredVotes:
    """`collusion.VoteLookup` over one challenge's stored votes: each look-up is one
    indexed, bounded query of columns, in the order `collusion.Votes` answers (latest
    first, ties by id). The rows read are kept (`rows`), so the judged votes are weighed
    from them; `add` puts a vote of the session (the one being cast) among them."""

    def __init__(self, challenge_id: int, authors: dict[int, frozenset] | None = None):
        self.challenge_id = challenge_id
        self.rows: dict[int, object] = {}  # vote id -> its row, or the session's Vote
        self._authors: dict[int, frozenset] = dict(authors or {})  # idea -> its authors, as far as known
        self._facts: dict[int, collusion_rules.VoteFact] = {}

    def add(self, vote: Vote) -> collusion_rules.VoteFact:
        self.rows[vote.id] = vote
        return self.facts([vote])[0]

    def facts(self, votes) -> list[collusion_rules.VoteFact]:
        """Each vote as the rules see it; a vote read by an earlier look-up (the idea's
        votes come again among their voters' history) keeps the fact made then."""
        fresh = [v for v in votes if v.id not in self._facts]
        missing = {v.idea_id for v in fresh} - self._authors.keys()
        if missing:
            self._authors.update({idea_id: frozenset() for idea_id in missing} | _authors_of(missing))
        for vote, fact in zip(fresh, _facts(fresh, self._authors), strict=True):
            self.rows[vote.id], self._facts[vote.id] = vote, fact
        return [self._facts[v.id] for v in votes]

    def _latest(self, where, since: float | None, limit: int | None, columns=_CONTEXT
                ) -> list[collusion_rules.VoteFact]:
        query = select(*columns).where(*where)
        if since is not None:
            query = query.where(Vote.created_at >= datetime.fromtimestamp(since, UTC))
        query = query.order_by(Vote.created_at.desc(), Vote.id.desc())
        return self.facts(db.session.execute(query if limit is None else query.limit(limit)).all())

    # The idea's votes are the judged ones (`collusion.judged_for` asks for them first):
    # they are read with what weighing them again takes.
    def on_idea(self, idea_id, since, limit):
        return self._latest((Vote.idea_id == idea_id,), since, limit, _JUDGED)

    def on_idea_from(self, idea_id, networks, limit):
        return self._latest((Vote.idea_id == idea_id, Vote.network.in_(sorted(networks))), None, limit, _JUDGED)

    def by_people(self, people, since, limit):
        return self._latest((Vote.challenge_id == self.challenge_id, Vote.voter_id.in_(sorted(people))),
                            since, limit)

    def by_voters_for(self, voters, authors, since, limit):
        authors = sorted(authors)
        written = select(Idea.id).where(Idea.challenge_id == self.challenge_id, Idea.author_id.in_(authors)).union(
            select(CoAuthor.idea_id).where(CoAuthor.user_id.in_(authors), CoAuthor.accepted_at.is_not(None)))
        return self._latest((Vote.challenge_id == self.challenge_id, Vote.voter_id.in_(sorted(voters)),
                             Vote.idea_id.in_(written)), since, limit)


def _reweigh_idea_votes(idea: Idea, policy, now: datetime, cast: Vote | None = None
                        ) -> list[tuple[str, int, float, int]]:
    """Recompute the weights of the idea's votes that the new state can affect: those
    `collusion.context_for` judges (within `collusion.LIVE`'s bounds), by the rules run
    over the context it picks.

    Returns the (pool, value, weight change, count change) list for the aggregates;
    `cast`, the vote being cast or changed, is weighed here too (its old weight was set to 0).
    A judged vote the session holds is changed there; the others whose weight or
    explanation changed are written in one statement."""
    lookup = StoredVotes(idea.challenge_id, {idea.id: frozenset(idea.author_ids())})
    context = collusion_rules.context_for(idea.id, lookup, now=now, bounds=collusion_rules.LIVE,
                                          cast=lookup.add(cast) if cast is not None else None)
    factors = collusion_rules.collusion_factors(context.facts, WEIGHTED, ideas={idea.id})
    changes, written = [], []
    for fact in context.judged:
        row = lookup.rows[fact.vote_id]
        columns = batch.weigh(_signals_for(row, idea), policy,
                              factors.get(row.id, weighting.NO_COLLUSION)).columns()
        if all(getattr(row, name) == value for name, value in columns.items()):
            continue
        before = row.weight
        held = row if isinstance(row, Vote) else db.session.identity_map.get(identity_key(Vote, row.id))
        if held is not None:
            for name, value in columns.items():
                setattr(held, name, value)
        else:
            written.append({"b_id": row.id, **columns})
        if not math.isclose(before, columns["weight"]):
            changes.append((row.pool, row.value, columns["weight"] - before, 0))
    batch.update_votes(written)
    db.session.flush()
    return changes
