"""What a vote is measured with: views of ideas, voters' networks, identity, contributions, and the signals `weighting.weight_for` takes."""
from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ideas import clock
from ideas.accounts.models import SiteSetting, User
from ideas.challenges.models import (
    Comment,
    Idea,
    IdeaStatus,
)
from ideas.extensions import db
from ideas.voting import batch, weighting
from ideas.voting import collusion as collusion_rules
from ideas.voting.models import (
    IdeaView,
    Vote,
)
from ideas.voting.weighting import WEIGHTED, VoteSignals

NETWORK_RETENTION = timedelta(days=90)


NETWORK_RULE_KEY = "voting.network_rule_off"


SUBSTANTIVE_COMMENT_WORDS = 20


# Others' reasons on the idea a new reason is compared with: as many as the collusion
# rules judge (`collusion.LIVE`), so a vote costs the same at ten votes and at a million.
CONTEXT_LIMIT = collusion_rules.LIVE.limit


OWN_REASONS_LIMIT = 100  # the voter's latest reasons a new reason is compared with


CONTRIBUTION_WINDOW = timedelta(days=90)


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
    if not address or (forwarded and not current_app.config.get("IDEAS_TRUST_PROXY")):
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if not ip.is_global or network_rule_off():
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
    row = db.session.get(SiteSetting, NETWORK_RULE_KEY)
    return row.value if row is not None and row.value else None


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
    weigh_alone(vote, idea)


def weigh_alone(vote, idea: Idea) -> None:
    """The vote's effort and standing from its signals alone, before any collusion rule."""
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


def purge_networks(now: datetime) -> int:
    """Network hashes are kept 90 days, then forgotten."""
    result = db.session.execute(
        update(Vote).where(Vote.network.is_not(None), Vote.created_at < now - NETWORK_RETENTION)
        .values(network=None), execution_options={"synchronize_session": False})
    return result.rowcount or 0
