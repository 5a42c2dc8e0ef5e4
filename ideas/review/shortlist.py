"""Shortlisting ideas within the challenge's review capacity, and sending them to review."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges.models import Challenge, Idea, IdeaStatus
from ideas.extensions import db
from ideas.numbers import in_range
from ideas.review.access import _require_manager
from ideas.review.common import SHORTLIST_PHASES, ReviewError, S, _clean, _lock
from ideas.review.models import IdeaReview, ReviewerAssignment, ReviewTransition
from ideas.review.reviewers import assign_reviewers
from ideas.review.transitions import _record, check, transition
from ideas.voting.services import suggested_lines


def shortlisted_count(challenge: Challenge) -> int:
    return db.session.scalar(
        select(func.count(IdeaReview.id)).where(IdeaReview.challenge_id == challenge.id)
    ) or 0


def shortlist_ideas(challenge: Challenge, manager: User, idea_ids: Iterable[int],
                    over_capacity_reason: str | None = None, *, now: datetime | None = None) -> list[IdeaReview]:
    """Shortlist ideas for review, within the challenge's review capacity.

    Going beyond the capacity needs a reason, logged (staff only) with each idea's
    first step.  All or nothing: one idea that cannot be shortlisted refuses them all."""
    _require_manager(manager, challenge)
    now = now or clock.now()
    ids = list(dict.fromkeys(int(i) for i in idea_ids))
    if not ids:
        raise ReviewError("Choose at least one idea to shortlist.", field="idea_ids")
    if challenge.phase not in SHORTLIST_PHASES:
        raise ReviewError(f"Ideas are shortlisted once voting is over; this challenge is in its "
                          f"{challenge.phase} phase.", field="idea_ids", status=409)
    # One manager at a time per challenge, so two shortlists cannot both fit the last places.
    db.session.scalar(select(Challenge.id).where(Challenge.id == challenge.id).with_for_update())
    storable = [i for i in ids if in_range(i)]  # a larger number names no idea
    found = {i.id: i for i in db.session.scalars(
        select(Idea).where(Idea.id.in_(storable), Idea.challenge_id == challenge.id))}
    taken = set(db.session.scalars(select(IdeaReview.idea_id).where(IdeaReview.idea_id.in_(storable))))
    for idea_id in ids:
        idea = found.get(idea_id)
        if idea is None:
            raise ReviewError(f"Idea {idea_id} is not an idea of this challenge.", field="idea_ids")
        if idea.status != IdeaStatus.PUBLISHED or idea.hidden_at is not None:
            state = "hidden by moderation" if idea.hidden_at else idea.status
            raise ReviewError(f"“{idea.title}” is {state}: only published ideas are shortlisted.",
                              field="idea_ids", status=409)
        if idea_id in taken:
            raise ReviewError(f"“{idea.title}” is already shortlisted.", field="idea_ids", status=409)
    already = shortlisted_count(challenge)
    reason = _clean(over_capacity_reason, "why the shortlist goes beyond the capacity", "over_capacity_reason")
    over = already + len(ids) > challenge.review_capacity
    if over and not reason:
        places = max(challenge.review_capacity - already, 0)
        raise ReviewError(
            f"The reviewers can take {challenge.review_capacity} ideas in this challenge and {already} "
            f"{'is' if already == 1 else 'are'} shortlisted: {places} place{'' if places == 1 else 's'} left "
            f"for the {len(ids)} chosen. Shortlist fewer, or say why the reviewers can take more.",
            field="over_capacity_reason", status=409,
        )
    reviews = []
    for idea_id in ids:
        review = IdeaReview(idea=found[idea_id], challenge_id=challenge.id, state=S.SHORTLISTED,
                            state_since=now, created_at=now, created_by_id=manager.id)
        db.session.add(review)
        reviews.append(review)
    db.session.flush()
    for review in reviews:
        _record(review, None, S.SHORTLISTED, manager, reason if over else "", internal=True, note="",
                payload={"over_capacity": over}, now=now, action="shortlist")
    return reviews


@dataclass
class Suggestion:
    idea: Idea
    position: int | None  # in the blended ranking
    score: float | None
    disagree: bool
    why: list[str]


SUGGESTION_DEPTH = 100  # how far down the ranking suggestions look


def suggested_shortlist(challenge: Challenge, viewer, *, depth: int = SUGGESTION_DEPTH, lines=None,
                        taken: set[int] | None = None) -> list[Suggestion]:
    """The top of the blended ranking, plus ideas on which the pools disagree, within the
    places left: a third of them (at least one) is kept for disagreement, since it is
    information the blended score averages away. `lines` (`suggested_lines` to `depth`)
    and `taken` (the ideas already shortlisted) are read here unless the caller has them."""
    if taken is None:
        taken = set(db.session.scalars(select(IdeaReview.idea_id).where(IdeaReview.challenge_id == challenge.id)))
    places = max(challenge.review_capacity - len(taken), 0)
    if not places:
        return []
    # A separate-pools challenge suggests from each pool's own ranking, never a blend.
    if lines is None:
        lines = suggested_lines(challenge, viewer, limit=depth)
    # An idea nobody voted on is not suggested: the crowd has said nothing of it yet.
    lines = [line for line in lines if line.voted and line.idea.id not in taken]
    disagreeing = [line for line in lines if line.disagree]
    reserved = min(len(disagreeing), max(1, places // 3)) if disagreeing else 0
    picked = {line.idea.id: line for line in lines[: places - reserved]}
    for line in disagreeing:
        if len(picked) >= places:
            break
        picked.setdefault(line.idea.id, line)
    for line in lines:  # fewer disagreements than reserved: fill from the top
        if len(picked) >= places:
            break
        picked.setdefault(line.idea.id, line)
    top = {line.idea.id for line in lines[:places]}
    suggestions = []
    for line in sorted(picked.values(), key=lambda ln: ln.position):
        why = []
        if line.idea.id in top:
            why.append(f"#{line.position} in {line.ranking_words}")
        if line.disagree:
            why.append("employees and externals disagree")
        suggestions.append(Suggestion(line.idea, line.position, line.score, line.disagree, why))
    return suggestions


def start_review(review: IdeaReview, manager: User, *, now: datetime | None = None) -> ReviewTransition:
    """A shortlisted idea goes into review (a parked one comes back through `revisit`)."""
    review = _lock(review)
    check(review, S.IN_REVIEW, manager)
    if review.state != S.SHORTLISTED:
        raise ReviewError("Only a shortlisted idea starts its review; a parked one is revisited.", status=409)
    return transition(review, S.IN_REVIEW, manager, now=now)


def send_to_review(review: IdeaReview, manager: User, *, assign: bool = False) -> list[ReviewerAssignment]:
    """Start a shortlisted idea's review and, when asked, assign its reviewers by expertise
    and load; the reviewers assigned."""
    start_review(review, manager)
    return assign_reviewers(review, manager) if assign else []


def shortlist_for_review(challenge: Challenge, manager: User, idea_ids: Iterable[int],
                         over_capacity_reason: str | None = None, *, start: bool = False,
                         assign: bool = False) -> tuple[list[IdeaReview], int]:
    """Shortlist → start → assign, as the dashboard and the API both offer it: the new
    reviews, and the reviewer places left to fill by hand (no reviewer without a conflict)."""
    reviews = shortlist_ideas(challenge, manager, idea_ids, over_capacity_reason)
    unfilled = 0
    if start:
        for review in reviews:
            added = send_to_review(review, manager, assign=assign)
            if assign:
                unfilled += max(0, challenge.reviewers_per_idea - len(added))
    return reviews, unfilled
