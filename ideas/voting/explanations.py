"""Why a vote counts what it counts, for the voter and for managers; when counts are shown."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from ideas.challenges.models import (
    Idea,
)
from ideas.extensions import db
from ideas.voting import weighting
from ideas.voting.models import (
    Vote,
)
from ideas.voting.permissions import can_see_ranking
from ideas.voting.settings import active_policy
from ideas.voting.signals import _signals_for


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
    return db.session.scalar(_VOTE_OF, {"voter_id": voter.id, "idea_id": idea.id})


# Read on every signed-in idea page: built once (building costs more than the read on SQLite).
_VOTE_OF = select(Vote).where(Vote.voter_id == bindparam("voter_id"), Vote.idea_id == bindparam("idea_id"))


_UNREAD = object()


def counts_visible(idea: Idea, viewer, vote: Vote | None = _UNREAD) -> bool:
    """Counts are hidden until the person has voted (against herding), unless the
    challenge shows them, voting is over, or the viewer runs the challenge. `vote` is
    the viewer's vote on the idea (or None) when the caller has read it already."""
    if can_see_ranking(viewer, idea.challenge):
        return True
    if vote is _UNREAD:
        vote = my_vote(idea, viewer)
    return vote is not None or (
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
