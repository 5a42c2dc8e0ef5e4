"""Voting use cases: views, casting and withdrawing votes, aggregates, rankings, policy changes.

Concurrency: every change to an idea's votes first takes that idea's score row (an
UPDATE, so a write lock in SQLite and a row lock in PostgreSQL), then reads and writes
its votes. Votes on one idea are thus applied one after another, each seeing the
others, and the stored aggregates always equal the sum of the stored weights; the
unique (voter, idea) constraint makes a second vote impossible whatever the timing.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges.models import (
    Challenge,
    CoAuthor,
    Comment,
    Idea,
    IdeaStatus,
    PoolMode,
)
from ideas.challenges.permissions import Action
from ideas.challenges.services import require_participation
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.voting import batch, ranking, weighting
from ideas.voting import collusion as collusion_rules
from ideas.voting.models import (
    IdeaScore,
    IdeaView,
    PolicyChange,
    PoolScale,
    Vote,
    VoteRating,
)
from ideas.voting.weighting import WEIGHTED, VoteSignals

log = logging.getLogger(__name__)

NETWORK_RETENTION = timedelta(days=90)
# This many votes in a row, by this many different people, from one address: the
# site sees a proxy's address, not its voters' (IDEAS_TRUST_PROXY is not set).
ONE_ADDRESS_VOTERS = 20
NETWORK_RULE_KEY = "voting.network_rule_off"
SUBSTANTIVE_COMMENT_WORDS = 20
REASON_LIMIT = 5000
# How far around a vote the collusion rules look, bounded so a vote costs the same
# in a challenge of ten votes and of a million (`voting.replay` keeps to the same bounds).
CONTEXT_LIMIT = 500
CONTEXT_RECENT = timedelta(days=2)  # the idea's votes judged again with each new one
CONTEXT_AROUND = timedelta(days=30)  # the history of those voters the rules look at
AROUND_LIMIT = CONTEXT_LIMIT * 4
OWN_REASONS_LIMIT = 100  # the voter's latest reasons a new reason is compared with
CONTRIBUTION_WINDOW = timedelta(days=90)


class VoteError(ChallengeError):
    """A vote the rules refuse."""


def active_policy(challenge: Challenge) -> weighting.WeightingPolicy:
    base = weighting.get_policy(challenge.voting_policy)
    # The challenge's own settings: opposition and the budget.
    return replace(base, allows_opposition=bool(challenge.allow_opposition),
                             budget_k=challenge.budget_k if base.name == "budget" else base.budget_k)


def pool_weights(challenge: Challenge) -> dict[str, float]:
    mode = PoolMode(challenge.pool_mode)
    if mode == PoolMode.EMPLOYEES_ONLY:
        return {"employee": 1.0, "external": 0.0}
    if mode == PoolMode.EXTERNALS_ONLY:
        return {"employee": 0.0, "external": 1.0}
    return {"employee": challenge.pool_weight_employee, "external": challenge.pool_weight_external}


# --- views ---------------------------------------------------------------------

def record_view(idea: Idea, user, now: datetime | None = None) -> None:
    """Remember when this person opened the idea (the first time and the latest)."""
    if not getattr(user, "is_authenticated", False):
        return
    now = now or clock.now()
    row = db.session.get(IdeaView, (idea.id, user.id))
    if row is not None:
        if now - clock.as_utc(row.last_at) > timedelta(minutes=1):  # a write per minute at most
            row.last_at = now
        return
    try:
        with db.session.begin_nested():
            db.session.add(IdeaView(idea_id=idea.id, user_id=user.id, first_at=now, last_at=now))
    except IntegrityError:
        pass  # the same person opened it twice at once: the first view stands


# --- signals -------------------------------------------------------------------

def network_hash(address: str | None) -> str | None:
    """A salted hash of the voter's network: comparable between votes, not reversible."""
    if not address:
        return None
    salt = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{salt}|network|{address}".encode()).hexdigest()[:32]


def voter_network(address: str | None, *, forwarded: bool = False) -> str | None:
    """The network hash of a live vote, or None when the address says nothing about
    the voter's own network.

    Loopback, private, shared and other non-public addresses are never one voter
    network (a site's own proxy, an office's NAT, a test client); neither is an
    untrusted proxy's address (the request carries forwarding headers the site
    does not trust), nor any address once the site has been found to see every
    vote from one address. IPv6 voters are grouped by their /64, which is one
    household or office; IPv4 by the address itself.
    """
    if not address or network_rule_off():
        return None
    if forwarded and not current_app.config.get("IDEAS_TRUST_PROXY"):
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if not ip.is_global:
        return None
    if ip.version == 6:
        return network_hash(str(ipaddress.ip_network(f"{ip}/64", strict=False)))
    return network_hash(str(ip))


def network_rule_off() -> str | None:
    """Why the shared-network rule is switched off on this site, or None while it runs.

    It is switched off when every vote arrives from one address (a proxy whose
    forwarded addresses the site is not told to trust); setting IDEAS_TRUST_PROXY
    switches it back on."""
    if current_app.config.get("IDEAS_TRUST_PROXY"):
        return None
    from ideas.accounts.models import SiteSetting

    row = db.session.get(SiteSetting, NETWORK_RULE_KEY)
    return row.value if row is not None and row.value else None


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
    from ideas.accounts.models import Role, SiteSetting, UserRole
    from ideas.notifications import services as notifications

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
    admins = db.session.scalars(select(UserRole.user_id).where(UserRole.role == Role.ADMIN))
    notifications.notify(set(admins), "admin", f"Voting: {reason}")
    db.session.flush()


def network_of_request(remote_addr: str | None, headers) -> str | None:
    """`voter_network` for a request's address and headers (routes and the API call this)."""
    forwarded = any(headers.get(name) for name in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
    return voter_network(remote_addr, forwarded=forwarded)


def identity_of(user: User) -> str:
    if not user.is_verified:
        return "unverified"
    return "employee_verified" if user.is_employee else "external_verified"


def contributions(user_id: int, now: datetime) -> int:
    """Substantive contributions in the last 90 days: published ideas and real comments."""
    since = now - CONTRIBUTION_WINDOW
    ideas = db.session.scalar(select(func.count(Idea.id)).where(
        Idea.author_id == user_id, *_substantive_ideas(), Idea.published_at >= since,
        Idea.published_at <= now)) or 0
    comments = db.session.scalar(select(func.count(Comment.id)).where(
        Comment.author_id == user_id, Comment.created_at >= since, Comment.created_at <= now,
        *_substantive_comments())) or 0
    return ideas + comments


def _substantive_ideas():
    return (Idea.status != IdeaStatus.DRAFT,)


def _substantive_comments():
    return (func.length(Comment.body) >= SUBSTANTIVE_COMMENT_WORDS * 5,)


def contribution_times(user_ids) -> dict[int, list[datetime]]:
    """When each of these people made a substantive contribution, in time order: what
    `contributions` counts, read for many people at once (`bisect` then counts a window)."""
    found: dict[int, list[datetime]] = defaultdict(list)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for user_id, at in db.session.execute(select(Idea.author_id, Idea.published_at).where(
                Idea.author_id.in_(part), *_substantive_ideas(), Idea.published_at.is_not(None))):
            found[user_id].append(clock.as_utc(at))
        for user_id, at in db.session.execute(select(Comment.author_id, Comment.created_at).where(
                Comment.author_id.in_(part), *_substantive_comments())):
            found[user_id].append(clock.as_utc(at))
    for times in found.values():
        times.sort()
    return found


def _signals_for(vote: Vote, idea: Idea) -> VoteSignals:
    return batch.signals_of(vote, bool(idea.challenge.criteria))


def _measure(vote: Vote, idea: Idea, voter: User, now: datetime, reason: str) -> None:
    view = db.session.get(IdeaView, (idea.id, voter.id))
    measure(vote, idea, voter, now, reason, first_view=clock.as_utc(view.first_at) if view else None,
            other_reasons=lambda: _other_reasons(vote, idea, voter),
            contributions_90d=contributions(voter.id, now), author_ids=idea.author_ids())


def measure(vote, idea: Idea, voter: User, now: datetime, reason: str, *, first_view: datetime | None,
            other_reasons, contributions_90d: int, author_ids) -> None:
    """Set a vote's signals, and its effort and standing alone, from what is known of it.

    The live path gathers the facts with queries (`_measure`); an archive's replay
    from the history in memory (`voting.replay`), passing an object with the vote's
    columns as attributes. `other_reasons()` gives the reasons a new one is compared
    with (texts, or `weighting.shingles` of them)."""
    vote.viewed_before = first_view is not None and first_view <= now
    vote.seconds_since_view = (now - first_view).total_seconds() if vote.viewed_before else None
    vote.idea_word_count = idea.word_count
    vote.reason = reason
    vote.reason_words = weighting.word_count(reason)
    vote.reason_near_copy = bool(reason) and weighting.near_copy(reason, other_reasons())
    vote.reason_specificity = weighting.reason_specificity(reason, idea_text(idea)) if reason else 1.0
    vote.identity = identity_of(voter)
    vote.account_age_seconds = max(0.0, (now - clock.as_utc(voter.created_at)).total_seconds())
    vote.contributions_90d = contributions_90d
    vote.is_author = voter.id in author_ids
    # Effort and standing first: the collusion rules need to know who is low-standing.
    alone = weighting.weight_for(_signals_for(vote, idea), WEIGHTED)
    vote.effort, vote.standing = alone.effort, alone.standing


def idea_text(idea: Idea) -> str:
    """What a reason about the idea can speak of: its title, summary and body."""
    return f"{idea.title}\n{idea.summary or ''}\n{idea.body or ''}"


def _other_reasons(vote: Vote, idea: Idea, voter: User) -> list[str]:
    """The voter's other reasons in the challenge and others' reasons on this idea (bounded)."""
    mine = db.session.scalars(
        select(Vote.reason).where(Vote.voter_id == voter.id, Vote.challenge_id == idea.challenge_id,
                                  Vote.idea_id != idea.id, Vote.reason != "")
        .order_by(Vote.id.desc()).limit(OWN_REASONS_LIMIT))
    theirs = db.session.scalars(
        select(Vote.reason).where(Vote.idea_id == idea.id, Vote.voter_id != voter.id, Vote.reason != "")
        .order_by(Vote.id.desc()).limit(CONTEXT_LIMIT))
    return [*mine, *theirs]


# --- casting -------------------------------------------------------------------

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
    vote.pool = voter.pool
    vote.value = value
    vote.kind = "ratings" if ratings else ("reason" if reason.strip() else "support")
    vote.updated_at = now
    if network:
        vote.network = network
    vote.ratings[:] = [VoteRating(criterion_id=c, rating=r) for c, r in sorted(ratings.items())]
    vote.criteria_rated = bool(challenge.criteria) and {c.id for c in challenge.criteria} <= set(ratings)
    _measure(vote, idea, voter, now, reason)
    vote.weight = 0.0
    db.session.flush()
    changes = _reweigh_idea_votes(idea, policy, now)
    if old is not None:
        changes.append((old[0], old[1], -old[2], -1))
    changes.append((vote.pool, vote.value, 0.0, 1))  # its weight is in `changes` already
    _apply_changes(idea, changes, policy)
    return vote


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
    return True


def ensure_score(idea: Idea) -> None:
    """Every published idea has a score row, so it appears in the rankings from the start."""
    if db.session.get(IdeaScore, idea.id) is None:
        try:
            with db.session.begin_nested():
                db.session.add(IdeaScore(idea_id=idea.id, challenge_id=idea.challenge_id, updated_at=clock.now()))
        except IntegrityError:
            pass


def _lock_scores(idea: Idea, now: datetime) -> IdeaScore:
    """Take the idea's score row first: votes on one idea are applied one at a time.

    Before it, the challenge's scale rows, in every vote and withdrawal: a re-blend (a
    pool's scale moved a step) rewrites every score row of the challenge while holding
    them, so a vote holding another idea's score row while it waits for them would
    deadlock with it; and a pool's heard support is added under that lock, never lost."""
    db.session.scalars(select(PoolScale).where(PoolScale.challenge_id == idea.challenge_id)
                       .order_by(PoolScale.pool).with_for_update()
                       .execution_options(populate_existing=True)).all()
    result = db.session.execute(
        update(IdeaScore).where(IdeaScore.idea_id == idea.id).values(updated_at=now)
    )
    if result.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(IdeaScore(idea_id=idea.id, challenge_id=idea.challenge_id, updated_at=now))
        except IntegrityError:
            db.session.execute(update(IdeaScore).where(IdeaScore.idea_id == idea.id).values(updated_at=now))
    return db.session.get(IdeaScore, idea.id, populate_existing=True)


# --- weights -------------------------------------------------------------------

def voter_standing(vote: Vote) -> float:
    """The voter's own standing at the vote (identity × age × contribution), as the
    collusion rules need it; `vote.standing` is the standing the vote counts with."""
    return weighting.standing(VoteSignals(identity=vote.identity, account_age_seconds=vote.account_age_seconds,
                                          contributions_90d=vote.contributions_90d), WEIGHTED)


def _facts(votes: list[Vote], authors: dict[int, frozenset]) -> list[collusion_rules.VoteFact]:
    return [
        collusion_rules.VoteFact(
            vote_id=v.id, voter_id=v.voter_id, idea_id=v.idea_id, author_ids=authors.get(v.idea_id, frozenset()),
            at=clock.as_utc(v.created_at), standing=voter_standing(v),
            effort=v.effort, network=v.network, value=v.value, account_age=v.account_age_seconds,
            copied=bool(v.reason_near_copy),
        )
        for v in votes
    ]


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


def _context(idea: Idea, now: datetime) -> tuple[list[Vote], list[Vote]]:
    """The idea's votes near in time (what bursts, networks and lockstep look at), plus
    the recent votes of those voters and of the idea's authors (reciprocity, lockstep).
    Bounded by CONTEXT_LIMIT per look-up, whatever the size of the challenge."""
    recent = list(db.session.scalars(
        select(Vote).where(Vote.idea_id == idea.id, Vote.created_at >= now - CONTEXT_RECENT)
        .order_by(Vote.created_at.desc()).limit(CONTEXT_LIMIT)))
    networks = {v.network for v in recent if v.network}
    shared = list(db.session.scalars(
        select(Vote).where(Vote.idea_id == idea.id, Vote.network.in_(networks)).limit(CONTEXT_LIMIT)
    )) if networks else []
    on_idea = {v.id: v for v in [*recent, *shared]}
    people = {v.voter_id for v in on_idea.values()} | idea.author_ids()
    around = list(db.session.scalars(
        select(Vote).where(Vote.challenge_id == idea.challenge_id, Vote.voter_id.in_(people),
                           Vote.created_at >= now - CONTEXT_AROUND)
        .order_by(Vote.created_at.desc()).limit(AROUND_LIMIT))) if people else []
    others = [v for v in around if v.id not in on_idea]
    return list(on_idea.values()), others


def _reweigh_idea_votes(idea: Idea, policy, now: datetime) -> list[tuple[str, int, float, int]]:
    """Recompute the weights of the idea's votes that the new state can affect.

    Returns the (pool, value, weight change, count change) list for the aggregates;
    the vote being cast is weighed here too (its old weight was set to 0)."""
    on_idea, others = _context(idea, now)
    everything = [*on_idea, *others]
    authors = _authors_of({v.idea_id for v in everything})
    factors = collusion_rules.collusion_factors(_facts(everything, authors), WEIGHTED, ideas={idea.id})
    changes = []
    for vote in on_idea:
        weighed = batch.weigh(_signals_for(vote, idea), policy, factors.get(vote.id, weighting.NO_COLLUSION))
        before = vote.weight
        for name, value in weighed.columns().items():
            setattr(vote, name, value)
        if not math.isclose(before, vote.weight):
            changes.append((vote.pool, vote.value, vote.weight - before, 0))
    db.session.flush()
    return changes


def _apply_changes(idea: Idea, changes, policy) -> None:
    """Add the weight changes to the idea's aggregates and recompute its scores."""
    delta: dict[str, float] = defaultdict(float)
    for pool, value, weight_change, count_change in changes:
        side = "support" if value > 0 else "oppose"
        delta[f"{side}_{pool}"] += weight_change
        delta[f"raw_{pool}"] += count_change
    values = {name: getattr(IdeaScore, name) + amount for name, amount in delta.items() if amount}
    if values:
        db.session.execute(update(IdeaScore).where(IdeaScore.idea_id == idea.id).values(**values))
    score = db.session.get(IdeaScore, idea.id, populate_existing=True)
    _pool_scores(score, policy)
    db.session.flush()
    heard = {pool: delta.get(f"support_{pool}", 0.0) for pool in ranking.POOLS}
    if _keep_scales(idea.challenge, policy, heard):
        db.session.expire(score, ["score_blended"])  # re-blended in the database with every other idea
    else:
        _blend(score, idea.challenge, _applied_scales(idea.challenge, policy))
    db.session.flush()


def _pool_scores(score: IdeaScore, policy) -> None:
    for pool in ranking.POOLS:
        support = max(0.0, getattr(score, f"support_{pool}"))
        oppose = max(0.0, getattr(score, f"oppose_{pool}"))
        if support < 1e-9:
            support = 0.0
        agg = ranking.PoolAggregate(support, oppose, getattr(score, f"raw_{pool}"))
        setattr(score, f"score_{pool}", ranking.pool_score(agg, policy))


def _blend(score: IdeaScore, challenge: Challenge, scales: dict[str, float]) -> None:
    score.score_blended = ranking.blended_score(
        {"employee": score.score_employee, "external": score.score_external}, pool_weights(challenge), scales)


def _score(score: IdeaScore, challenge: Challenge, policy, scales: dict[str, float] | None = None) -> None:
    _pool_scores(score, policy)
    _blend(score, challenge, _applied_scales(challenge, policy) if scales is None else scales)


# --- pools on one scale ----------------------------------------------------------

def _scale_rows(challenge: Challenge) -> dict[str, PoolScale]:
    rows = {row.pool: row for row in db.session.scalars(
        select(PoolScale).where(PoolScale.challenge_id == challenge.id))}
    for pool in ranking.POOLS:
        if pool not in rows:
            rows[pool] = PoolScale(challenge_id=challenge.id, pool=pool, heard=0.0, applied_best=0.0,
                                   applied_heard=0.0, updated_at=clock.now())
            db.session.add(rows[pool])
    return rows


def _applied_scales(challenge: Challenge, policy) -> dict[str, float]:
    """The scales the stored blended scores use (`ranking.pool_scale` of the applied values)."""
    rows = _scale_rows(challenge)
    return {pool: ranking.pool_scale(row.applied_best, row.applied_heard, policy) for pool, row in rows.items()}


def _best_scores(challenge: Challenge) -> dict[str, float]:
    """Each pool's best score in the challenge: one indexed look-up per pool."""
    return {pool: float(db.session.scalar(select(func.max(ranking_column(pool))).where(
        IdeaScore.challenge_id == challenge.id)) or 0.0) for pool in ranking.POOLS}


def _keep_scales(challenge: Challenge, policy, heard_change: dict[str, float]) -> bool:
    """Add the support a vote changed to its pool's heard weight; when a pool's true
    scale has crossed a step of its grid away from the one the blended scores use,
    apply it and re-blend the whole challenge. True when everything was re-blended."""
    rows = _scale_rows(challenge)
    for pool, change in heard_change.items():
        if change:
            rows[pool].heard = max(0.0, (rows[pool].heard or 0.0) + change)
    best = _best_scores(challenge)
    moved = False
    for pool, row in rows.items():
        # Scales lie on a grid (ranking.pool_scale): equal unless a step was crossed.
        if ranking.pool_scale(best[pool], row.heard, policy) != ranking.pool_scale(
                row.applied_best, row.applied_heard, policy):
            moved = True
    if not moved:
        return False
    for pool, row in rows.items():
        row.applied_best, row.applied_heard, row.updated_at = best[pool], row.heard, clock.now()
    db.session.flush()
    rescore_blend(challenge)
    return True


# --- rankings ------------------------------------------------------------------

RANKING_POOLS = ("blended", "employee", "external")


@dataclass
class RankingLine:
    position: int
    idea: Idea
    score: float
    support: dict[str, float]
    raw: dict[str, int]
    disagree: bool
    ranking: str = "blended"  # which ranking placed the line (see `suggested_lines`)

    @property
    def ranking_words(self) -> str:
        return RANKING_WORDS.get(self.ranking, self.ranking)

    @property
    def raw_total(self) -> int:
        return self.raw["employee"] + self.raw["external"]


def ranking_column(pool: str):
    return {"blended": IdeaScore.score_blended, "employee": IdeaScore.score_employee,
            "external": IdeaScore.score_external, "pairwise": IdeaScore.score_pairwise}[pool]


def ranking_page(challenge: Challenge, viewer, pool: str = "blended", *, limit: int = 50,
                 offset: int = 0) -> list[RankingLine]:
    """One page of a ranking: an indexed ORDER BY over stored scores, the same cost at
    a thousand votes and at a million. Bounded paging (at most 100 a page)."""
    if pool not in RANKING_POOLS:
        raise VoteError("Choose the employee, external or blended ranking.", field="pool")
    limit = max(1, min(limit, 100))
    offset = max(0, min(offset, 100_000))
    column = ranking_column("pairwise" if challenge.voting_policy == "pairwise" and pool == "blended" else pool)
    visible = challenge_permissions.visible_pools(viewer, challenge)
    query = (
        select(Idea, IdeaScore)
        .join(IdeaScore, IdeaScore.idea_id == Idea.id)
        .where(IdeaScore.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED,
               Idea.pool.in_(visible))
        .order_by(column.desc(), Idea.id)
        .offset(offset).limit(limit)
    )
    if not challenge_permissions.is_staff(viewer, challenge):
        query = query.where(Idea.hidden_at.is_(None))
    lines = []
    for position, (idea, score) in enumerate(db.session.execute(query), start=offset + 1):
        lines.append(RankingLine(
            ranking=pool, position=position, idea=idea,
            score=getattr(score, column.key),
            support={"employee": score.support_employee, "external": score.support_external},
            raw={"employee": score.raw_employee, "external": score.raw_external},
            disagree=score.disagree,
        ))
    return lines


def ranking_pools(challenge: Challenge, viewer) -> list[str]:
    """The rankings this challenge shows this person, the one to open first leading.

    Only a blended challenge has a blended ranking; a separate-pools challenge shows
    each pool's own ranking (the viewer's own pool first) and never blends them; a
    one-pool challenge shows that pool."""
    mode = PoolMode(challenge.pool_mode)
    if mode == PoolMode.EMPLOYEES_ONLY:
        return ["employee"]
    if mode == PoolMode.EXTERNALS_ONLY:
        return ["external"]
    visible = [p for p in ("employee", "external") if p in challenge_permissions.visible_pools(viewer, challenge)]
    if mode == PoolMode.BLENDED:
        return ["blended", *visible]
    own = challenge_permissions.user_pool(viewer) if getattr(viewer, "is_authenticated", False) else None
    return sorted(visible, key=lambda p: p != own)


def suggested_lines(challenge: Challenge, viewer, *, limit: int = 100) -> list[RankingLine]:
    """The ranking that suggests what to shortlist: the blend where the challenge
    blends; where it keeps separate pools, each pool's own ranking in turn (the
    first of each, then the second of each …), never a blend of the two; the one
    pool's ranking where there is one. Each line says which ranking placed it."""
    pools = [p for p in ranking_pools(challenge, viewer) if p != "blended"] \
        if PoolMode(challenge.pool_mode) == PoolMode.SEPARATE else ["blended"]
    per_pool = [ranking_page(challenge, viewer, pool, limit=limit) for pool in pools]
    for pool, lines in zip(pools, per_pool, strict=True):
        for line in lines:
            line.ranking = pool
    if len(per_pool) == 1:
        return per_pool[0]
    merged: dict[int, RankingLine] = {}
    for rank_lines in zip(*per_pool, strict=False):
        for line in rank_lines:
            merged.setdefault(line.idea.id, line)
    for lines in per_pool:  # a pool with more ranked ideas than the other
        for line in lines:
            merged.setdefault(line.idea.id, line)
    return list(merged.values())[:limit]


RANKING_WORDS = {"blended": "the blended ranking", "employee": "the employees' ranking",
                 "external": "the externals' ranking"}


@dataclass
class Movement:
    """One idea's place by raw count and by weight, and the main causes of the difference."""

    idea: Idea
    raw_position: int | None  # None: beyond the compared depth
    weighted_position: int | None
    votes: int
    weight: float
    causes: list[tuple[str, int, float]]  # plain words, votes, weight lost

    @property
    def shift(self) -> int:
        depth = COMPARE_DEPTH + 1
        return (self.raw_position or depth) - (self.weighted_position or depth)

    @property
    def mean_weight(self) -> float:
        return self.weight / self.votes if self.votes else 0.0


COMPARE_DEPTH = 100


def raw_vs_weighted(challenge: Challenge, viewer, pool: str, *, show: int = 10) -> dict:
    """For managers: the top ideas by raw count and by weight, which rose and fell, and why.

    Compares the top COMPARE_DEPTH of each order (two bounded queries), then reads
    the votes of the ideas shown only, grouped by their discounts."""
    visible = challenge_permissions.visible_pools(viewer, challenge)
    weighted = ranking_page(challenge, viewer, pool, limit=COMPARE_DEPTH)
    raw_column = (IdeaScore.raw_employee + IdeaScore.raw_external) if pool == "blended" else \
        getattr(IdeaScore, f"raw_{pool}")
    raw_rows = db.session.execute(
        select(Idea, raw_column).join(IdeaScore, IdeaScore.idea_id == Idea.id)
        .where(IdeaScore.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED, Idea.pool.in_(visible),
               Idea.hidden_at.is_(None), raw_column > 0)
        .order_by(raw_column.desc(), Idea.id).limit(COMPARE_DEPTH)).all()
    raw_position = {idea.id: k for k, (idea, _) in enumerate(raw_rows, start=1)}
    weighted_position = {line.idea.id: line.position for line in weighted if line.raw_total}
    ideas = {line.idea.id: line.idea for line in weighted} | {idea.id: idea for idea, _ in raw_rows}
    pools = ("employee", "external") if pool == "blended" else (pool,)
    depth = COMPARE_DEPTH + 1
    candidates = sorted(ideas, key=lambda i: -abs(raw_position.get(i, depth) - weighted_position.get(i, depth)))
    risers = [i for i in candidates if weighted_position.get(i, depth) < raw_position.get(i, depth)][:show]
    fallers = [i for i in candidates if weighted_position.get(i, depth) > raw_position.get(i, depth)][:show]
    top = [line.idea.id for line in weighted[:show] if line.raw_total]
    wanted = set(risers) | set(fallers) | set(top)
    totals: dict[int, list] = defaultdict(lambda: [0, 0.0, defaultdict(lambda: [0, 0.0])])
    if wanted:
        for idea_id, discounts, effort, standing, collusion, count, weight in db.session.execute(
            select(Vote.idea_id, Vote.discounts, Vote.effort, Vote.standing, Vote.collusion, func.count(Vote.id),
                   func.sum(Vote.weight))
            .where(Vote.idea_id.in_(wanted), Vote.pool.in_(pools), Vote.value > 0)
            .group_by(Vote.idea_id, Vote.discounts, Vote.effort, Vote.standing, Vote.collusion)
        ):
            entry = totals[idea_id]
            entry[0] += count
            entry[1] += float(weight or 0)
            lost = max(0.0, count - float(weight or 0))
            for code, share in weighting.attribute_loss([c for c, _ in json.loads(discounts)],
                                                        effort, standing, collusion).items():
                entry[2][code][0] += count
                entry[2][code][1] += lost * share

    def movement(idea_id: int) -> Movement:
        votes, weight, causes = totals[idea_id]
        main = sorted(causes.items(), key=lambda kv: (-kv[1][1], kv[0]))[:3]
        return Movement(ideas[idea_id], raw_position.get(idea_id), weighted_position.get(idea_id), votes, weight,
                        [(weighting.discount_label(code), n, lost) for code, (n, lost) in main if lost > 0.005])

    return {"risers": [movement(i) for i in risers], "fallers": [movement(i) for i in fallers],
            "top": [movement(i) for i in top], "depth": COMPARE_DEPTH}


def scores_of(idea: Idea) -> IdeaScore | None:
    return db.session.get(IdeaScore, idea.id)


def refresh_disagreement(challenge: Challenge) -> int:
    """Flag the ideas on which the pools sharply disagree (by their position in each
    pool's ranking, so a small pool is not mistaken for a dissenting one)."""
    policy = active_policy(challenge)
    rows = db.session.scalars(select(IdeaScore).where(IdeaScore.challenge_id == challenge.id)).all()
    if not rows:
        return 0
    placed = {pool: ranking.positions({r.idea_id: getattr(r, f"score_{pool}") for r in rows})
              for pool in ("employee", "external")}
    changed = 0
    for row in rows:
        flag = ranking.pools_disagree(
            {pool: placed[pool][row.idea_id] for pool in placed}, policy,
            {"employee": row.raw_employee, "external": row.raw_external})
        if flag != row.disagree:
            row.disagree = flag
            changed += 1
    db.session.flush()
    return changed


# --- explanations --------------------------------------------------------------

@dataclass
class Explanation:
    vote: Vote
    weight: float
    discounts: list[tuple[str, str]]
    suggestions: list[weighting.Suggestion]
    policy: str


def explain(vote: Vote) -> Explanation:
    idea = db.session.get(Idea, vote.idea_id)
    policy = active_policy(idea.challenge)
    found = weighting.Collusion(vote.collusion, ())
    suggestions = weighting.what_would_raise(_signals_for(vote, idea), policy, found)
    discounts = [tuple(d) for d in json.loads(vote.discounts)]
    if not (policy.weighs_effort or policy.weighs_standing or policy.weighs_collusion):
        # The stored causes were measured under a weighing policy; here every vote counts 1.
        discounts = [d for d in discounts if d[0] == "own_idea"]
    return Explanation(vote=vote, weight=vote.weight, discounts=discounts, suggestions=suggestions,
                       policy=policy.label)


def my_vote(idea: Idea, voter) -> Vote | None:
    if not getattr(voter, "is_authenticated", False):
        return None
    return db.session.scalar(select(Vote).where(Vote.voter_id == voter.id, Vote.idea_id == idea.id))


def counts_visible(idea: Idea, viewer) -> bool:
    """Counts are hidden until the person has voted (against herding), unless the
    challenge shows them, voting is over, or the viewer runs the challenge."""
    challenge = idea.challenge
    if not challenge.hide_counts_until_voted or challenge_permissions.is_staff(viewer, challenge):
        return True
    if challenge.phase in ("review", "closed"):
        return True
    return my_vote(idea, viewer) is not None or (
        getattr(viewer, "is_authenticated", False) and viewer.id in idea.author_ids())


def breakdown(idea: Idea) -> dict:
    """For managers: counts and weights by kind and pool, and every discount with its cause."""
    by_kind = defaultdict(lambda: {"count": 0, "weight": 0.0})
    for kind, pool, count, weight in db.session.execute(
        select(Vote.kind, Vote.pool, func.count(Vote.id), func.sum(Vote.weight))
        .where(Vote.idea_id == idea.id).group_by(Vote.kind, Vote.pool)
    ):
        by_kind[(kind, pool)] = {"count": count, "weight": float(weight or 0)}
    causes: dict[str, dict] = {}
    for discounts, count in db.session.execute(
        select(Vote.discounts, func.count(Vote.id)).where(Vote.idea_id == idea.id).group_by(Vote.discounts)
    ):
        for code, text_ in json.loads(discounts):
            entry = causes.setdefault(code, {"count": 0, "examples": [], "label": weighting.discount_label(code)})
            entry["count"] += count
            if len(entry["examples"]) < 3 and text_ not in entry["examples"]:
                entry["examples"].append(text_)
    return {"by_kind": dict(by_kind), "causes": dict(sorted(causes.items(), key=lambda kv: -kv[1]["count"]))}


# --- policy changes ------------------------------------------------------------

def change_policy(challenge: Challenge, actor: User, new_policy: str, reason: str) -> PolicyChange:
    """Change the voting policy after votes exist: logged, every weight recomputed, participants told."""
    if not challenge_permissions.is_manager(actor, challenge):
        raise VoteError("Only this challenge's managers may change its voting policy.", status=403)
    if new_policy not in weighting.POLICIES:
        raise VoteError("Choose a voting policy.", field="voting_policy")
    reason = (reason or "").strip()
    if not reason:
        raise VoteError("Say why the policy changes: participants are told.", field="reason")
    if new_policy == challenge.voting_policy:
        raise VoteError("This is already the challenge's policy.", field="voting_policy")
    before = active_policy(challenge).label
    challenge.voting_policy = new_policy
    challenge.voting_policy_version += 1
    change = PolicyChange(challenge_id=challenge.id, actor_id=actor.id, from_policy=before,
                          to_policy=active_policy(challenge).label, reason=reason[:2000])
    db.session.add(change)
    db.session.flush()
    recompute_challenge(challenge)
    from ideas.notifications import services as notifications

    voters = db.session.scalars(select(Vote.voter_id).where(Vote.challenge_id == challenge.id).distinct())
    from flask import url_for

    notifications.notify(set(voters), "policy", f"The voting policy of “{challenge.title}” changed to "
                         f"{new_policy}: {reason[:200]}", url_for("challenges.detail", challenge_id=challenge.id),
                         challenge=challenge, actor_id=actor.id)
    return change


def policy_locked(challenge: Challenge) -> bool:
    return db.session.scalar(select(Vote.id).where(Vote.challenge_id == challenge.id).limit(1)) is not None


def recompute_challenge(challenge: Challenge) -> None:
    """Every weight again under the challenge's policy, then every aggregate and score.

    Each vote keeps the signals it was cast with and the collusion rules' judgement
    of it (factor and causes); a policy decides how they combine and which discounts
    are shown. So every vote is weighed again by `weighting.weight_for` from what it
    stored, exactly as when it was cast, in chunks read and written in bulk
    (`voting.batch`), and no discount of the previous policy stays behind."""
    policy = active_policy(challenge)
    db.session.flush()
    aggregates = batch.reweigh_challenge(challenge.id, bool(challenge.criteria), policy)
    _write_scores(challenge, aggregates, policy)


def rebuild_scores(challenge: Challenge) -> None:
    """Aggregates (`ranking.aggregate`) and scores of every idea from its stored weights."""
    policy = active_policy(challenge)
    db.session.flush()
    _write_scores(challenge, batch.stored_aggregates(challenge.id), policy)


def _write_scores(challenge: Challenge, aggregates, policy) -> None:
    """Every idea's score row from its aggregates; the pools' scales from scratch, then
    every blended score with them."""
    published = db.session.scalars(select(Idea.id).where(Idea.challenge_id == challenge.id,
                                                         Idea.status == IdeaStatus.PUBLISHED))
    scored = db.session.scalars(select(IdeaScore.idea_id).where(IdeaScore.challenge_id == challenge.id))
    values = batch.pool_values({*published, *scored, *aggregates}, aggregates, policy)
    now = clock.now()
    scales = {}
    for pool, scale in _scale_rows(challenge).items():
        scale.heard = math.fsum(max(0.0, v[f"support_{pool}"]) for v in values.values())
        scale.applied_heard = scale.heard
        scale.applied_best = max((v[f"score_{pool}"] for v in values.values()), default=0.0)
        scale.updated_at = now
        scales[pool] = ranking.pool_scale(scale.applied_best, scale.applied_heard, policy)
    batch.write_scores(challenge.id, values, pool_weights(challenge), scales)
    refresh_disagreement(challenge)


def rescore_blend(challenge: Challenge) -> None:
    """Pool weights or pool scales changed: each blended score again by
    `ranking.blended_score` with the applied scales, in bulk."""
    weights = pool_weights(challenge)
    scales = _applied_scales(challenge, active_policy(challenge))
    db.session.flush()
    rows = [{"b_idea_id": idea_id, "score_blended": ranking.blended_score(
                {"employee": employee, "external": external}, weights, scales)}
            for idea_id, employee, external in db.session.execute(
                select(IdeaScore.idea_id, IdeaScore.score_employee, IdeaScore.score_external)
                .where(IdeaScore.challenge_id == challenge.id))]
    if rows:
        batch.update_scores(rows)


# --- scheduled -----------------------------------------------------------------

def purge_networks(now: datetime) -> int:
    """Network hashes are kept 90 days, then forgotten."""
    result = db.session.execute(
        update(Vote).where(Vote.network.is_not(None), Vote.created_at < now - NETWORK_RETENTION)
        .values(network=None), execution_options={"synchronize_session": False})
    return result.rowcount or 0


def refresh_flags(now: datetime) -> int:
    """Recompute the pools-disagree flags of challenges whose scores moved recently."""
    recent = db.session.scalars(
        select(IdeaScore.challenge_id).where(IdeaScore.updated_at >= now - timedelta(minutes=5)).distinct())
    changed = 0
    for challenge_id in list(recent):
        challenge = db.session.get(Challenge, challenge_id)
        if challenge is not None:
            changed += refresh_disagreement(challenge)
    return changed


# --- pairwise ------------------------------------------------------------------

def _pairable(challenge: Challenge, voter) -> list[int]:
    pools = challenge_permissions.visible_pools(voter, challenge)
    return list(db.session.scalars(select(Idea.id).where(
        Idea.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED, Idea.hidden_at.is_(None),
        Idea.pool.in_(pools))))


def next_pair(challenge: Challenge, voter, rng=None):
    """The pair to show this voter now (the one still unanswered, or a new one)."""
    import random

    from ideas.voting import pairwise
    from ideas.voting.models import PairShown

    require_participation(voter, challenge, Action.VOTE)
    if challenge.voting_policy != "pairwise":
        raise VoteError("This challenge does not vote by pairs.", status=409)
    pending = db.session.scalar(select(PairShown).where(
        PairShown.challenge_id == challenge.id, PairShown.voter_id == voter.id, PairShown.answered_at.is_(None))
        .order_by(PairShown.id.desc()).limit(1))
    if pending is not None:
        return pending
    ids = _pairable(challenge, voter)
    own = set(db.session.scalars(select(Idea.id).where(Idea.id.in_(ids), Idea.author_id == voter.id)))
    own |= set(db.session.scalars(select(CoAuthor.idea_id).where(CoAuthor.idea_id.in_(ids),
                                                                 CoAuthor.user_id == voter.id)))
    shown = {i: a for i, a in db.session.execute(
        select(IdeaScore.idea_id, IdeaScore.pair_appearances).where(IdeaScore.challenge_id == challenge.id))}
    appearances = {i: shown.get(i, 0) for i in ids}
    seen = {frozenset((a, b)) for a, b in db.session.execute(
        select(PairShown.left_id, PairShown.right_id).where(PairShown.challenge_id == challenge.id,
                                                            PairShown.voter_id == voter.id))}
    try:
        left, right = pairwise.choose_pair(appearances, rng or random.Random(), exclude=own, avoid=seen)
    except ValueError:
        raise VoteError("There are not yet two ideas for you to compare.", status=409) from None
    pair = PairShown(challenge_id=challenge.id, voter_id=voter.id, left_id=left, right_id=right,
                     shown_at=clock.now(), pool=voter.pool)
    db.session.add(pair)
    db.session.flush()
    return pair


def answer_pair(challenge: Challenge, voter, pair_id: int, answer: str, now: datetime | None = None):
    """Record the answer to a pair the site showed this voter."""
    from ideas.voting.models import PairShown

    now = now or clock.now()
    require_participation(voter, challenge, Action.VOTE)
    if answer not in ("left", "right", "none"):
        raise VoteError("Pick the left idea, the right idea, or “can't decide”.", field="answer")
    pair = db.session.get(PairShown, pair_id)
    if pair is None or pair.voter_id != voter.id or pair.challenge_id != challenge.id:
        raise VoteError("This pair was not shown to you.", status=409, field="pair")
    if pair.answered_at is not None:
        raise VoteError("You already answered this pair.", status=409, field="pair")
    history = list(db.session.scalars(select(PairShown.answer).where(
        PairShown.voter_id == voter.id, PairShown.challenge_id == challenge.id,
        PairShown.answer.in_(("left", "right")))))
    sides = history + ([answer] if answer != "none" else [])
    same_side = (max(sides.count("left"), sides.count("right")) / len(sides)) if sides else 0.5
    ideas_shown = db.session.scalars(select(Idea).where(Idea.id.in_((pair.left_id, pair.right_id)))).all()
    words = sum(i.word_count for i in ideas_shown)
    signals = VoteSignals(
        kind="pairwise", seconds_since_view=(now - clock.as_utc(pair.shown_at)).total_seconds(),
        idea_word_count=words, identity=identity_of(voter),
        account_age_seconds=max(0.0, (now - clock.as_utc(voter.created_at)).total_seconds()),
        contributions_90d=contributions(voter.id, now), pair_same_side_ratio=same_side, pair_answers=len(sides),
    )
    pair.answer, pair.answered_at = answer, now
    pair.weight = weighting.weight_for(signals, weighting.PAIRWISE).value
    for idea_id in (pair.left_id, pair.right_id):
        idea = db.session.get(Idea, idea_id)
        _lock_scores(idea, now)
        db.session.execute(update(IdeaScore).where(IdeaScore.idea_id == idea_id)
                           .values(pair_appearances=IdeaScore.pair_appearances + 1))
    db.session.flush()
    refit_pairwise(challenge)
    return pair


def refit_pairwise(challenge: Challenge) -> None:
    """Bradley–Terry over the challenge's weighted answers; scores stored per idea."""
    from ideas.voting import pairwise
    from ideas.voting.models import PairShown

    answers = []
    for left, right, answer, weight in db.session.execute(
        select(PairShown.left_id, PairShown.right_id, PairShown.answer, PairShown.weight).where(
            PairShown.challenge_id == challenge.id, PairShown.answer.in_(("left", "right")))):
        answers.append((left, right, weight) if answer == "left" else (right, left, weight))
    ids = list(db.session.scalars(select(Idea.id).where(Idea.challenge_id == challenge.id,
                                                        Idea.status == IdeaStatus.PUBLISHED)))
    scores = pairwise.bradley_terry(ids, [a for a in answers if a[0] in set(ids) and a[1] in set(ids)])
    existing = {r.idea_id: r for r in db.session.scalars(
        select(IdeaScore).where(IdeaScore.challenge_id == challenge.id))}
    for idea_id, score in scores.items():
        row = existing.get(idea_id)
        if row is None:
            row = IdeaScore(idea_id=idea_id, challenge_id=challenge.id)
            db.session.add(row)
        row.score_pairwise = score
    db.session.flush()
