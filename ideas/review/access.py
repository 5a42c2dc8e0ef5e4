"""Reading a review, and who may know of, read, manage it or learn its authors."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ideas.accounts.models import Role
from ideas.challenges import permissions
from ideas.challenges.models import Challenge, Idea
from ideas.errors import NotFoundError
from ideas.extensions import db
from ideas.review import workflow
from ideas.review.common import ReviewError
from ideas.review.models import IdeaReview, ReviewerAssignment


def review_of(idea: Idea) -> IdeaReview | None:
    # The caller holds the idea (and so its challenge): the review points at them in the
    # session instead of loading them, and their own eager loads, once more.
    review = db.session.scalar(_REVIEW_OF, {"idea_id": idea.id})
    if review is not None:
        set_committed_value(review, "idea", idea)
    return review


# Read on every idea page: built once (building costs more than the read on SQLite).
_REVIEW_OF = select(IdeaReview).options(lazyload(IdeaReview.idea)).where(IdeaReview.idea_id == bindparam("idea_id"))


def get_review(review_id: int) -> IdeaReview:
    review = db.session.get(IdeaReview, review_id)
    if review is None:
        raise NotFoundError()
    return review


def assignment_of(review: IdeaReview, user) -> ReviewerAssignment | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((a for a in review.assignments if a.reviewer_id == user.id), None)


def handed_to(review: IdeaReview, user) -> bool:
    """Is or was this person an owner of the idea (a declined handoff included)?"""
    if not getattr(user, "is_authenticated", False):
        return False
    return review.owner_id == user.id or any(h.owner_id == user.id for h in review.handoffs)


def actor_roles(review: IdeaReview, user) -> frozenset[str]:
    """The workflow roles this person holds on this review."""
    roles = set()
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if permissions.is_manager(user, review.challenge):
        roles.add(workflow.Role.MANAGER)
    if review.owner_id == user.id and user.has_role(Role.OWNER):
        roles.add(workflow.Role.OWNER)
    assignment = assignment_of(review, user)
    if assignment is not None and assignment.conflict_declared_at is None:
        roles.add(workflow.Role.REVIEWER)
    return frozenset(roles)


def can_manage(user, challenge: Challenge) -> bool:
    return permissions.is_manager(user, challenge)


def can_act_as_owner(user, review: IdeaReview) -> bool:
    """Acknowledge a handoff, start and report the work, close it: the idea's R&D owner now."""
    return bool(getattr(user, "is_authenticated", False) and review.owner_id == user.id)


def can_know_of(user, review: IdeaReview) -> bool:
    """Whoever sees the challenge, and the idea's reviewers and owners even when they do
    not (for anybody else the review does not exist: a 404)."""
    return (permissions.can_see_challenge(user, review.challenge) or assignment_of(review, user) is not None
            or handed_to(review, user))


def can_read_review(user, review: IdeaReview) -> bool:
    """The review's steps: whoever sees the idea, its reviewers and its owners."""
    return (permissions.can_see_idea(user, review.idea) or assignment_of(review, user) is not None
            or handed_to(review, user))


def can_open_review(user, review: IdeaReview) -> bool:
    """The review's own page: the challenge's managers, the idea's owners and its
    reviewers (not one who declared a conflict: they are off the idea).  What each sees
    there is narrowed by `can_see_internal`, `can_see_scores` and `hides_authors`."""
    if can_manage(user, review.challenge) or handed_to(review, user):
        return True
    assignment = assignment_of(review, user)
    return assignment is not None and assignment.conflict_declared_at is None


def can_see_internal(user, review: IdeaReview) -> bool:
    """Internal notes, internal reasons and the staff's words: challenge staff, the
    idea's reviewers and owners.  Never its authors (unless they are staff), never
    anybody else."""
    if not getattr(user, "is_authenticated", False):
        return False
    if permissions.is_staff(user, review.challenge):
        return True
    if user.id in review.idea.author_ids():
        return False
    assignment = assignment_of(review, user)
    return (assignment is not None and assignment.conflict_declared_at is None) or handed_to(review, user)


def can_see_scores(user, review: IdeaReview) -> bool:
    """Individual reviewers' scores are the managers' (and each reviewer their own)."""
    return permissions.is_manager(user, review.challenge)


def _blind_for(user, challenge: Challenge) -> bool:
    """Blind review: the idea's reviewers do not learn who wrote it (staff still do)."""
    return (bool(challenge.blind_review) and getattr(user, "is_authenticated", False)
            and not permissions.is_staff(user, challenge))


def hides_authors(user, review: IdeaReview) -> bool:
    """The blind review rule for one review whose reviewers are loaded (the review pages)."""
    return _blind_for(user, review.challenge) and assignment_of(review, user) is not None


def blind_ideas(ideas: Iterable[Idea], user) -> set[int]:
    """The blind review rule for a list of ideas, in one query: those whose authors this
    person may not learn, because they review them (the API's idea lists)."""
    ids = [i.id for i in ideas if _blind_for(user, i.challenge)]
    if not ids:
        return set()
    return set(db.session.scalars(
        select(IdeaReview.idea_id).join(ReviewerAssignment, ReviewerAssignment.review_id == IdeaReview.id)
        .where(IdeaReview.idea_id.in_(ids), ReviewerAssignment.reviewer_id == user.id)))


def _require_manager(user, challenge: Challenge) -> None:
    if not permissions.is_manager(user, challenge):
        raise ReviewError("Only this challenge's managers may do that.", status=403)
