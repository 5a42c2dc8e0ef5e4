"""Rankings read from stored scores: pages per pool, the suggested shortlist order, raw counts against weighted ranks. (`ranking` holds the pure formulas.)"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from ideas.challenges import permissions as challenge_permissions
from ideas.challenges import services as challenges
from ideas.challenges.models import (
    Challenge,
    Idea,
    IdeaStatus,
    PoolMode,
)
from ideas.extensions import db
from ideas.voting import weighting
from ideas.voting.models import (
    IdeaScore,
    Vote,
)
from ideas.voting.scores import ranking_column
from ideas.voting.settings import VoteError

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
    pair_appearances: int = 0  # times the idea was shown in a pair (pairwise challenges)

    @property
    def ranking_words(self) -> str:
        return RANKING_WORDS.get(self.ranking, self.ranking)

    @property
    def voted(self) -> bool:
        """Someone voted on it (or compared it in a pair): its place says something."""
        return self.raw_total > 0 or self.pair_appearances > 0

    @property
    def raw_total(self) -> int:
        return self.raw["employee"] + self.raw["external"]


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
    # The lines show ideas as cards do (title, author): not their tags, co-authors or body.
    query = query.options(*challenges.idea_card_loads())
    for position, (idea, score) in enumerate(db.session.execute(query), start=offset + 1):
        lines.append(RankingLine(
            ranking=pool, position=position, idea=idea,
            score=getattr(score, column.key),
            support={"employee": score.support_employee, "external": score.support_external},
            raw={"employee": score.raw_employee, "external": score.raw_external},
            disagree=score.disagree, pair_appearances=score.pair_appearances or 0,
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
