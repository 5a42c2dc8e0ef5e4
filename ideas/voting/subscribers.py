"""What voting hears (ideas/events.py): stored score rows follow the ideas and the
challenge settings they depend on, in the same transaction as the change."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from ideas import events
from ideas.extensions import db
from ideas.voting import moves, services
from ideas.voting.models import Vote

# A new blend of the pools is one UPDATE of the stored scores; opposition or another
# policy changes every pool score.
BLEND_SETTINGS = frozenset({"pool_mode", "pool_weight_employee", "pool_weight_external"})


def _idea_published(_name, p) -> None:
    services.ensure_score(p["idea"])


def _policy_requested(_name, p) -> None:
    """Votes were cast under the current policy: it changes only from the voting settings,
    with a reason participants are told (services.change_policy)."""
    challenge = p["challenge"]
    if db.session.scalar(select(Vote.id).where(Vote.challenge_id == challenge.id).limit(1)) is not None:
        raise services.VoteError("Votes exist: change the policy from the voting settings, with a reason.",
                                 field="voting_policy")


def _scoring_changed(_name, p) -> None:
    if p["changed"] <= BLEND_SETTINGS:
        services.rescore_blend(p["challenge"])
    else:
        services.rebuild_scores(p["challenge"])


def _account_verified(_name, p) -> None:
    services.reweigh_voter(p["user"])


def init_app(app: Flask) -> None:
    events.subscribe(app, "idea.published", _idea_published)
    events.subscribe(app, "challenge.policy_requested", _policy_requested)
    events.subscribe(app, "challenge.scoring_changed", _scoring_changed)
    events.subscribe(app, "idea.merged", moves.ask_supporters)
    events.subscribe(app, "account.verified", _account_verified)
