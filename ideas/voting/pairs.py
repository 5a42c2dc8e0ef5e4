"""Pairwise voting: the pair to show, an answer and its weight, the Bradley–Terry scores."""
from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import bindparam, select, update

from ideas import clock
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges.models import (
    Challenge,
    CoAuthor,
    Idea,
    IdeaStatus,
)
from ideas.challenges.permissions import Action
from ideas.challenges.services import require_participation
from ideas.extensions import db
from ideas.voting import batch, pairwise, weighting
from ideas.voting.models import (
    IdeaScore,
    PairShown,
)
from ideas.voting.scores import _lock_scores
from ideas.voting.settings import VoteError, active_policy
from ideas.voting.signals import contributions, identity_of
from ideas.voting.weighting import VoteSignals


def _pairable(challenge: Challenge, voter) -> list[int]:
    pools = challenge_permissions.visible_pools(voter, challenge)
    return list(db.session.scalars(select(Idea.id).where(
        Idea.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED, Idea.hidden_at.is_(None),
        Idea.pool.in_(pools))))


def next_pair(challenge: Challenge, voter, rng=None):
    """The pair to show this voter now (the one still unanswered, or a new one)."""
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
    ideas_shown = db.session.scalars(select(Idea).where(Idea.id.in_((pair.left_id, pair.right_id)))).all()
    pair.answer, pair.answered_at = answer, now
    pair.words_shown = sum(i.word_count for i in ideas_shown)
    pair.identity = identity_of(voter)
    pair.account_age_seconds = max(0.0, (now - clock.as_utc(voter.created_at)).total_seconds())
    pair.contributions_90d = contributions(voter.id, now)
    pair.same_side_ratio = (max(sides.count("left"), sides.count("right")) / len(sides)) if sides else 0.5
    pair.side_answers = len(sides)
    pair.weight = weighting.weight_for(answer_signals(pair), active_policy(challenge)).value
    # One idea's score row after the other, in id order, as every path that takes several.
    for idea_id in sorted((pair.left_id, pair.right_id)):
        idea = db.session.get(Idea, idea_id)
        _lock_scores(idea, now)
        db.session.execute(update(IdeaScore).where(IdeaScore.idea_id == idea_id)
                           .values(pair_appearances=IdeaScore.pair_appearances + 1))
    db.session.flush()
    refit_pairwise(challenge)
    return pair


def answer_signals(pair) -> VoteSignals | None:
    """The signals a pairwise answer was given with, as `weighting.weight_for` takes them
    (its effort is `pairwise.answer_weight` of them); None for an answer from before they
    were kept, which keeps its weight."""
    if pair.answered_at is None or pair.identity is None:
        return None
    return VoteSignals(
        kind="pairwise", seconds_since_view=max(0.0, (clock.as_utc(pair.answered_at)
                                                      - clock.as_utc(pair.shown_at)).total_seconds()),
        idea_word_count=pair.words_shown or 0, identity=pair.identity,
        account_age_seconds=pair.account_age_seconds or 0.0, contributions_90d=pair.contributions_90d or 0,
        pair_same_side_ratio=min(1.0, max(0.0, pair.same_side_ratio or 0.0)), pair_answers=pair.side_answers or 0)


def reweigh_answers(challenge: Challenge, policy) -> int:
    """Every pairwise answer of the challenge weighed again from its signals under `policy`
    (a policy change), then the Bradley–Terry scores fitted again; returns how many changed."""
    table = PairShown.__table__
    changed = []
    for row in db.session.execute(select(table).where(table.c.challenge_id == challenge.id,
                                                      table.c.answered_at.is_not(None),
                                                      table.c.identity.is_not(None))):
        weight = weighting.weight_for(answer_signals(row), policy).value
        if weight != row.weight:
            changed.append({"b_id": row.id, "weight": weight})
    if changed:
        db.session.execute(update(table).where(table.c.id == bindparam("b_id")), changed,
                           execution_options={"synchronize_session": False})
        batch._expire(PairShown)
    if changed or challenge.voting_policy == "pairwise":
        refit_pairwise(challenge)
    return len(changed)


def refit_pairwise(challenge: Challenge) -> None:
    """Bradley–Terry over the challenge's weighted answers; scores stored per idea."""
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
