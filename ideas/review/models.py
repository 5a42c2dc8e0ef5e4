"""The review of shortlisted ideas: its state, its log, reviewers and scorecards,
handoffs to R&D owners with their deadlines and escalations, progress updates.

The database guards what must never happen whatever the code does: a state the
workflow does not know, a rating outside 1–5, two scorecards by one reviewer on
one criterion, the same reviewer twice on one idea, an escalation sent twice for
the same missed handoff.  States come from `workflow.ALL_STATES`, so the check
constraints and the transition table cannot disagree.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges.models import Challenge, Criterion, Idea
from ideas.extensions import UTCDateTime, db, one_of
from ideas.review.workflow import DECISIONS, ReviewState, check_constraint_sql

__all__ = [
    "Handoff",
    "IdeaReview",
    "OwnerSettings",
    "ProgressUpdate",
    "ReviewEscalation",
    "ReviewTransition",
    "ReviewerAssignment",
    "ScorecardEntry",
]

OWNED_STATES = (ReviewState.HANDED_OFF, ReviewState.ACKNOWLEDGED, ReviewState.IN_PROGRESS)
ESCALATION_LEVELS = ("reminder", "escalation")


class IdeaReview(db.Model):
    """One shortlisted idea on its way through review and handoff (one per idea)."""

    __tablename__ = "idea_reviews"
    __table_args__ = (
        CheckConstraint(check_constraint_sql("state"), name="state"),
        CheckConstraint(f"decision IS NULL OR {one_of('decision', sorted(DECISIONS))}", name="decision"),
        # A decision is owed a reason the author can read (principle 1).
        CheckConstraint("decision IS NULL OR length(decision_reason) > 0", name="decision_reason"),
        # While an idea is with an owner, that owner is named.
        CheckConstraint(f"owner_id IS NOT NULL OR NOT {one_of('state', OWNED_STATES)}", name="owner"),
        Index("ix_idea_reviews_challenge_state", "challenge_id", "state"),
        Index("ix_idea_reviews_owner_state", "owner_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), unique=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default=ReviewState.SHORTLISTED)
    # When the idea entered its current state: how long it has been waiting there.
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str] = mapped_column(Text, default="")  # shown to the author
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff only: never rendered for the author, externals or the API's public fields.
    internal_note: Mapped[str] = mapped_column(Text, default="")

    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handoff_count: Mapped[int] = mapped_column(Integer, default=0)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str] = mapped_column(Text, default="")  # shown to the author
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    idea: Mapped[Idea] = relationship(lazy="joined", innerjoin=True)
    challenge: Mapped[Challenge] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    assignments: Mapped[list[ReviewerAssignment]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewerAssignment.id"
    )
    transitions: Mapped[list[ReviewTransition]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewTransition.id"
    )
    handoffs: Mapped[list[Handoff]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Handoff.number"
    )
    updates: Mapped[list[ProgressUpdate]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ProgressUpdate.id"
    )

    @property
    def current_handoff(self) -> Handoff | None:
        return self.handoffs[-1] if self.handoffs else None

    def active_assignments(self) -> list[ReviewerAssignment]:
        return [a for a in self.assignments if a.conflict_declared_at is None]


class ReviewTransition(db.Model):
    """The log: every step an idea took, by whom, when and why.

    `reason` is shown to the author unless `internal` is set (an over-capacity
    shortlist, an owner turning a handoff down); `note` never leaves the staff side.
    `from_state` is empty for the first entry, when the idea was shortlisted."""

    __tablename__ = "review_transitions"
    __table_args__ = (
        CheckConstraint(f"from_state IS NULL OR {check_constraint_sql('from_state')}", name="from_state"),
        CheckConstraint(check_constraint_sql("to_state"), name="to_state"),
        Index("ix_review_transitions_review_id", "review_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("idea_reviews.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    reason: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[IdeaReview] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


class ReviewerAssignment(db.Model):
    """A reviewer asked to score one idea; a declared conflict takes them off it."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        UniqueConstraint("review_id", "reviewer_id"),
        CheckConstraint(
            "conflict_declared_at IS NULL OR length(conflict_reason) > 0", name="conflict_reason"
        ),
        Index("ix_review_assignments_reviewer", "reviewer_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("idea_reviews.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conflict_reason: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[IdeaReview] = relationship(back_populates="assignments")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id], lazy="joined", innerjoin=True)
    entries: Mapped[list[ScorecardEntry]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan", lazy="selectin"
    )


class ScorecardEntry(db.Model):
    """One reviewer's rating of one criterion, with the comment that explains it."""

    __tablename__ = "scorecard_entries"
    __table_args__ = (
        UniqueConstraint("assignment_id", "criterion_id"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating"),
        CheckConstraint("length(comment) > 0", name="comment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignments.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    assignment: Mapped[ReviewerAssignment] = relationship(back_populates="entries")
    criterion: Mapped[Criterion] = relationship()


class Handoff(db.Model):
    """Each time an accepted idea was handed to an owner: acknowledged, declined or pending."""

    __tablename__ = "review_handoffs"
    __table_args__ = (
        UniqueConstraint("review_id", "number"),
        CheckConstraint("acknowledged_at IS NULL OR declined_at IS NULL", name="one_answer"),
        CheckConstraint("declined_at IS NULL OR length(decline_reason) > 0", name="decline_reason"),
        Index("ix_review_handoffs_owner", "owner_id", "acknowledged_at", "declined_at"),
        Index("ix_review_handoffs_pending_due", "ack_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("idea_reviews.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first owner, 2 after a decline …
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The owner was past their work-in-progress limit and the manager confirmed anyway.
    over_wip_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")  # the manager to the owner; staff only
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str] = mapped_column(Text, default="")  # staff only

    review: Mapped[IdeaReview] = relationship(back_populates="handoffs")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    handed_by: Mapped[User | None] = relationship(foreign_keys=[handed_by_id])
    escalations: Mapped[list[ReviewEscalation]] = relationship(
        back_populates="handoff", cascade="all, delete-orphan", order_by="ReviewEscalation.id"
    )

    @property
    def pending(self) -> bool:
        return self.acknowledged_at is None and self.declined_at is None


class ReviewEscalation(db.Model):
    """A missed acknowledgement deadline, at one level: the reminder to the owner, then the
    notice to the managers and the escalation contact.  Unique per handoff and level, so
    two ticks running at once cannot send the same one twice."""

    __tablename__ = "review_escalations"
    __table_args__ = (
        UniqueConstraint("handoff_id", "level"),
        CheckConstraint(one_of("level", ESCALATION_LEVELS), name="level"),
        Index("ix_review_escalations_challenge", "challenge_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("idea_reviews.id", ondelete="CASCADE"), index=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("review_handoffs.id", ondelete="CASCADE"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the deadline that was missed
    notified: Mapped[int] = mapped_column(Integer, default=0)

    handoff: Mapped[Handoff] = relationship(back_populates="escalations")
    review: Mapped[IdeaReview] = relationship()


class ProgressUpdate(db.Model):
    """The owner reports back: the author and the idea's followers read it."""

    __tablename__ = "review_progress_updates"
    __table_args__ = (
        CheckConstraint("length(body) > 0", name="body"),
        Index("ix_review_progress_updates_review", "review_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("idea_reviews.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    review: Mapped[IdeaReview] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()


class OwnerSettings(db.Model):
    """An R&D owner's work-in-progress limit (kept out of the accounts tables on purpose:
    it is review business)."""

    __tablename__ = "review_owner_settings"
    __table_args__ = (CheckConstraint("wip_limit >= 1 AND wip_limit <= 100", name="wip_limit"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    wip_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
