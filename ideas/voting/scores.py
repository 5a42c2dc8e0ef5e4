"""Each idea's stored aggregates and scores, the pools' common scale, and the blend."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ideas import clock
from ideas.challenges.models import (
    Challenge,
    Idea,
    IdeaStatus,
)
from ideas.database import insert_for_dialect
from ideas.extensions import db
from ideas.voting import batch, ranking
from ideas.voting.models import (
    IdeaScore,
    PoolScale,
)
from ideas.voting.settings import active_policy, pool_weights


def ensure_score(idea: Idea) -> None:
    """Every published idea has a score row, so it appears in the rankings from the start."""
    _insert_score(idea, clock.now())


def _insert_score(idea: Idea, now: datetime) -> bool:
    """The idea's score row, unless it has one (already, or written by another request at
    the same moment: INSERT … ON CONFLICT DO NOTHING). True when this call wrote it."""
    return db.session.scalar(insert_for_dialect()(IdeaScore)
                             .values(idea_id=idea.id, challenge_id=idea.challenge_id, updated_at=now)
                             .on_conflict_do_nothing(index_elements=["idea_id"])
                             .returning(IdeaScore.idea_id)) is not None


def _lock_scores(idea: Idea, now: datetime) -> IdeaScore:
    """Take the idea's score row first: votes on one idea are applied one at a time.

    Before it, the challenge's scale rows, in every vote and withdrawal: a re-blend (a
    pool's scale moved a step) rewrites every score row of the challenge while holding
    them, so a vote holding another idea's score row while it waits for them would
    deadlock with it; and a pool's heard support is added under that lock, never lost."""
    db.session.scalars(select(PoolScale).where(PoolScale.challenge_id == idea.challenge_id)
                       .order_by(PoolScale.pool).with_for_update()
                       .execution_options(populate_existing=True)).all()
    touch = update(IdeaScore).where(IdeaScore.idea_id == idea.id).values(updated_at=now)
    # No row yet: write it (and so hold it), or, if another request just did, take it.
    if db.session.execute(touch).rowcount == 0 and not _insert_score(idea, now):
        db.session.execute(touch)
    return db.session.get(IdeaScore, idea.id, populate_existing=True)


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


def ranking_column(pool: str):
    return {"blended": IdeaScore.score_blended, "employee": IdeaScore.score_employee,
            "external": IdeaScore.score_external, "pairwise": IdeaScore.score_pairwise}[pool]


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


def rebuild_scores(challenge: Challenge) -> None:
    """Aggregates (`ranking.aggregate`) and scores of every idea from its stored weights."""
    policy = active_policy(challenge)
    db.session.flush()
    if db.session.scalar(select(Idea.id).where(Idea.challenge_id == challenge.id).limit(1)) is None:
        _reset_scales(challenge)  # no idea yet (a challenge just created): no vote, no score row
        return
    _write_scores(challenge, batch.stored_aggregates(challenge.id), policy)


def _reset_scales(challenge: Challenge) -> None:
    """The pools' scales of a challenge without ideas, as `_write_scores` leaves them."""
    now = clock.now()
    for scale in _scale_rows(challenge).values():
        scale.heard = scale.applied_heard = scale.applied_best = 0.0
        scale.updated_at = now


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
