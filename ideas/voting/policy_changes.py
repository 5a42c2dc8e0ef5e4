"""Changing a challenge's voting policy after votes exist: logged, every weight recomputed, participants told."""
from __future__ import annotations

from sqlalchemy import select

from ideas import events
from ideas.accounts.models import User
from ideas.challenges.models import (
    Challenge,
)
from ideas.extensions import db
from ideas.voting import batch, permissions, weighting
from ideas.voting.models import (
    PolicyChange,
    Vote,
)
from ideas.voting.pairs import reweigh_answers
from ideas.voting.scores import _write_scores
from ideas.voting.settings import VoteError, active_policy


def change_policy(challenge: Challenge, actor: User, new_policy: str, reason: str) -> PolicyChange:
    """Change the voting policy after votes exist: logged, every weight recomputed, participants told."""
    if not permissions.can_change_voting_policy(actor, challenge):
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
    voters = db.session.scalars(select(Vote.voter_id).where(Vote.challenge_id == challenge.id).distinct())
    events.emit("policy.changed", {"challenge": challenge, "change": change, "actor": actor,
                                   "voter_ids": set(voters)})
    return change


def policy_locked(challenge: Challenge) -> bool:
    return db.session.scalar(select(Vote.id).where(Vote.challenge_id == challenge.id).limit(1)) is not None


def recompute_challenge(challenge: Challenge) -> None:
    """Every weight again under the challenge's policy, then every aggregate and score.

    Each vote keeps the signals it was cast with and the collusion rules' judgement
    of it (factor and causes); a policy decides how they combine and which discounts
    are shown. So every vote is weighed again by `weighting.weight_for` from what it
    stored, exactly as when it was cast, in chunks read and written in bulk
    (`voting.batch`), and no discount of the previous policy stays behind.

    Around the rewrite, `votes.reweighing` and `votes.reweighed` let what is kept from
    each vote's weight (the dashboards' tallies) be counted once for the challenge
    instead of row by row, in this same transaction."""
    policy = active_policy(challenge)
    db.session.flush()
    events.emit("votes.reweighing", {"challenge": challenge})
    aggregates = batch.reweigh_challenge(challenge.id, bool(challenge.criteria), policy)
    events.emit("votes.reweighed", {"challenge": challenge})
    _write_scores(challenge, aggregates, policy)
    reweigh_answers(challenge, policy)
