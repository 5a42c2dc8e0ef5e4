"""Reviewers: conflicts of interest, loads, and assigning them by expertise and load."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ideas import clock, events
from ideas.accounts.models import Role, User, UserRole
from ideas.challenges.models import CoAuthor, Comment, Idea
from ideas.extensions import db
from ideas.numbers import in_range
from ideas.review import timing
from ideas.review.access import _require_manager, assignment_of
from ideas.review.common import (
    LOAD_SLACK,
    REVIEWING_STATES,
    ReviewError,
    _clean,
    _lock,
    _notify,
    _path,
    manager_ids,
)
from ideas.review.models import IdeaReview, ReviewerAssignment
from ideas.review.transitions import base_payload
from ideas.voting.models import PairShown, Vote


def conflicts(idea: Idea, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Why each of these people may not review the idea, in words that follow “they”:
    they wrote it, co-wrote it (or were invited to), voted on it (or compared it in
    pairs), or commented on it."""
    ids = set(user_ids)
    found: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return {}
    if idea.author_id in ids:
        found[idea.author_id].append("wrote it")
    # Invited co-authors count too, accepted or not, by account or by the address invited.
    emails = dict(db.session.execute(select(User.email, User.id).where(User.id.in_(ids))).all())
    invited = db.session.execute(select(CoAuthor.user_id, CoAuthor.email).where(
        CoAuthor.idea_id == idea.id, or_(CoAuthor.user_id.in_(ids), CoAuthor.email.in_(list(emails)))))
    for user_id, email in invited:
        person = user_id if user_id in ids else emails.get(email)
        if person is not None and "co-wrote it" not in found[person]:
            found[person].append("co-wrote it")
    for user_id in db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == idea.id, Vote.voter_id.in_(ids))):
        found[user_id].append("voted on it")
    compared = select(PairShown.voter_id).where(
        or_(PairShown.left_id == idea.id, PairShown.right_id == idea.id), PairShown.answered_at.is_not(None),
        PairShown.voter_id.in_(ids)).distinct()
    for user_id in db.session.scalars(compared):
        found[user_id].append("compared it with other ideas")
    commenters = select(Comment.author_id).where(Comment.idea_id == idea.id, Comment.author_id.in_(ids)).distinct()
    for user_id in db.session.scalars(commenters):
        found[user_id].append("commented on it")
    return dict(found)


def _reviewers(ids: Iterable[int] | None = None) -> list[User]:
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == Role.REVIEWER, User.active).order_by(User.id)
             .options(selectinload(User.expertise_rows)))  # the suggestions and the dashboard show it
    if ids is not None:
        query = query.where(User.id.in_(list(ids)))
    return list(db.session.scalars(query))


def _open_assignment_filter():
    return (ReviewerAssignment.conflict_declared_at.is_(None), ReviewerAssignment.submitted_at.is_(None),
            IdeaReview.state.in_(REVIEWING_STATES))


def reviewer_loads(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> dict[int, dict]:
    """Open reviews per reviewer (site-wide), and how many of them are overdue."""
    now = now or clock.now()
    query = (select(ReviewerAssignment.reviewer_id, ReviewerAssignment.due_at)
             .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
             .where(*_open_assignment_filter()))
    if user_ids is not None:
        query = query.where(ReviewerAssignment.reviewer_id.in_(list(user_ids)))
    loads: dict[int, dict] = defaultdict(lambda: {"open": 0, "overdue": 0})
    for reviewer_id, due in db.session.execute(query):
        loads[reviewer_id]["open"] += 1
        if clock.as_utc(due) < now:
            loads[reviewer_id]["overdue"] += 1
    return dict(loads)


def _rank_reviewers(candidates: list[User], idea: Idea, loads: Mapping[int, int]) -> list[User]:
    """Expertise first (reviewer tags that match the idea's), then the lightest load;
    an expert already LOAD_SLACK reviews busier than the least busy waits their turn."""
    tags = set(idea.tags) | set(idea.challenge.tags)
    lightest = min((loads.get(c.id, 0) for c in candidates), default=0)

    def key(person: User):
        load = loads.get(person.id, 0)
        return (load - lightest >= LOAD_SLACK, -len(tags & set(person.expertise)), load, person.id)

    return sorted(candidates, key=key)


def assign_reviewers(review: IdeaReview, manager: User, reviewer_ids: Iterable[int] | None = None, *,
                     count: int | None = None, due_at: datetime | None = None,
                     now: datetime | None = None) -> list[ReviewerAssignment]:
    """Assign reviewers by hand (`reviewer_ids`), or automatically up to `count`
    (default: the challenge's reviewers per idea) by expertise and balanced load.

    People with a conflict of interest are refused by hand and skipped automatically."""
    review = _lock(review)
    _require_manager(manager, review.challenge)
    now = now or clock.now()
    if review.state not in REVIEWING_STATES:
        raise ReviewError("Reviewers are assigned while an idea is shortlisted or in review.", status=409)
    due = due_at or timing.add_working_days(now, timing.REVIEW_WORKING_DAYS)
    if due <= now:
        raise ReviewError("The review's due date must be in the future.", field="due_at")
    assigned = {a.reviewer_id: a for a in review.assignments}
    idea = review.idea
    automatic = reviewer_ids is None
    if automatic:
        want = count if count is not None else review.challenge.reviewers_per_idea
        need = want - len(review.active_assignments())
        if need <= 0:
            return []
        pool = [p for p in _reviewers() if p.id not in assigned]
        blocked = conflicts(idea, [p.id for p in pool])
        pool = [p for p in pool if p.id not in blocked]
        loads = {k: v["open"] for k, v in reviewer_loads([p.id for p in pool], now).items()}
        chosen = _rank_reviewers(pool, idea, loads)[:need]
    else:
        ids = list(dict.fromkeys(int(i) for i in reviewer_ids))
        if not ids:
            raise ReviewError("Choose at least one reviewer.", field="reviewers")
        storable = [i for i in ids if in_range(i)]  # a larger number names nobody
        people = {p.id: p for p in db.session.scalars(select(User).where(User.id.in_(storable))
                                                           .options(selectinload(User.role_rows)))}
        blocked = conflicts(idea, storable)
        chosen = []
        for person_id in ids:
            person = people.get(person_id)
            if person is None or not person.active:
                raise ReviewError("Nobody active has that account.", field="reviewers")
            if not person.has_role(Role.REVIEWER):
                raise ReviewError(f"{person.name} is not a reviewer: give them the reviewer role first.",
                                  field="reviewers")
            if person_id in blocked:
                raise ReviewError(f"{person.name} cannot review this idea: they {' and '.join(blocked[person_id])}.",
                                  field="reviewers")
            existing = assigned.get(person_id)
            if existing is not None and existing.conflict_declared_at is not None:
                raise ReviewError(f"{person.name} declared a conflict of interest on this idea.",
                                  field="reviewers")
            if existing is None:
                chosen.append(person)
    rows = [ReviewerAssignment(review=review, reviewer_id=p.id, assigned_by_id=manager.id, assigned_at=now,
                               automatic=automatic, due_at=due) for p in chosen]
    db.session.add_all(rows)
    db.session.flush()
    if rows:
        url = _path("review.scorecard", review_id=review.id)
        _notify([r.reviewer_id for r in rows], "review_assigned",
                f"Please review “{idea.title}” ({review.challenge.title}) by {due:%d %b %Y}.", url,
                actor_id=manager.id)
        events.emit("review.reviewers_assigned", {**base_payload(review, manager.id, now),
                                                  "reviewer_ids": [r.reviewer_id for r in rows],
                                                  "automatic": automatic})
    return rows


def declare_conflict(review: IdeaReview, reviewer: User, reason: str, *,
                     now: datetime | None = None) -> ReviewerAssignment:
    """A reviewer takes themselves off an idea; the managers are asked for someone else."""
    review = _lock(review)
    assignment = assignment_of(review, reviewer)
    if assignment is None:
        raise ReviewError("You are not a reviewer of this idea.", status=403)
    if assignment.conflict_declared_at is not None:
        raise ReviewError("You have already declared a conflict of interest on this idea.", status=409)
    reason = _clean(reason, "the conflict of interest", "reason", required=True)
    now = now or clock.now()
    assignment.conflict_declared_at = now
    assignment.conflict_reason = reason
    db.session.flush()
    _notify(manager_ids(review.challenge), "review_conflict",
            f"{reviewer.name} declared a conflict of interest on “{review.idea.title}” and will not review it. "
            "Assign someone else.", _path("review.detail", review_id=review.id, _anchor="reviewers-list"),
            actor_id=reviewer.id)
    return assignment
