"""Challenges with their charter, phases and audience; ideas, comments, flags, moderation."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
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
from ideas.extensions import UTCDateTime, db, one_of

# An imported challenge or idea keeps the key it had on its source platform.
EXTERNAL_REF_MAX = 255


class Phase(enum.StrEnum):
    DRAFT = "draft"
    SUBMISSION = "submission"
    VOTING = "voting"
    REVIEW = "review"
    CLOSED = "closed"


class PoolMode(enum.StrEnum):
    EMPLOYEES_ONLY = "employees_only"
    EXTERNALS_ONLY = "externals_only"
    SEPARATE = "separate"
    BLENDED = "blended"


class IdeaStatus(enum.StrEnum):
    DRAFT = "draft"  # saved by its author, seen by nobody else
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # by its author; stays readable, takes no votes
    MERGED = "merged"  # a duplicate folded into another idea


class ChallengeRole(enum.StrEnum):
    MANAGER = "manager"
    MODERATOR = "moderator"


class Challenge(db.Model):
    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint(one_of("phase", Phase), name="phase"),
        CheckConstraint(one_of("pool_mode", PoolMode), name="pool_mode"),
        CheckConstraint("review_capacity >= 0", name="review_capacity"),
        CheckConstraint("flag_threshold >= 1", name="flag_threshold"),
        CheckConstraint(
            "pool_weight_employee >= 0 AND pool_weight_external >= 0", name="pool_weights"
        ),
        Index("ix_challenges_published_phase", "published_at", "phase"),
        # A page of the challenges open to a pool reads each audience's newest ids.
        Index("ix_challenges_pool_mode_id", "pool_mode", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    brief: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text, default="")
    scope_in: Mapped[str] = mapped_column(Text, default="")
    scope_out: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text, default="")
    prize: Mapped[str] = mapped_column(Text, default="")
    # The challenge's own terms (ownership of ideas …), accepted by externals before submitting.
    terms: Mapped[str] = mapped_column(Text, default="")

    pool_mode: Mapped[str] = mapped_column(String(16), default=PoolMode.BLENDED)
    # In `separate` mode: may each pool see the other pool's ideas?
    cross_visibility: Mapped[bool] = mapped_column(Boolean, default=False)
    pool_weight_employee: Mapped[float] = mapped_column(Float, default=0.5)
    pool_weight_external: Mapped[float] = mapped_column(Float, default=0.5)

    voting_policy: Mapped[str] = mapped_column(String(16), default="weighted")
    voting_policy_version: Mapped[int] = mapped_column(Integer, default=1)
    budget_k: Mapped[int] = mapped_column(Integer, default=5)
    hide_counts_until_voted: Mapped[bool] = mapped_column(Boolean, default=True)
    randomise_order: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_opposition: Mapped[bool] = mapped_column(Boolean, default=False)

    review_capacity: Mapped[int] = mapped_column(Integer, default=10)
    reviewers_per_idea: Mapped[int] = mapped_column(Integer, default=3)
    blind_review: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_threshold: Mapped[int] = mapped_column(Integer, default=3)
    escalation_contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    phase: Mapped[str] = mapped_column(String(16), default=Phase.DRAFT)
    # Dates drive the phases; a manager's manual change moves the matching date to "now".
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # submission starts
    submission_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # voting ends
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allow_overlap: Mapped[bool] = mapped_column(Boolean, default=False)

    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    external_ref: Mapped[str | None] = mapped_column(String(EXTERNAL_REF_MAX))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    # Who runs it comes with it: nearly every permission check asks. The criteria and
    # tags load when asked for: a challenge comes with every idea and is read again after
    # every commit, and the pages and lists that show them ask for them in their query.
    staff: Mapped[list[ChallengeStaff]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", lazy="selectin"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", order_by="Criterion.position"
    )
    tag_rows: Mapped[list[ChallengeTag]] = relationship(cascade="all, delete-orphan", order_by="ChallengeTag.tag")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def pool_weights(self) -> dict[str, float]:
        return {"employee": self.pool_weight_employee, "external": self.pool_weight_external}

    def staff_ids(self, role: ChallengeRole | None = None) -> set[int]:
        return {s.user_id for s in self.staff if role is None or s.role == role}


class ChallengeStaff(db.Model):
    """The people who manage and moderate one challenge."""

    __tablename__ = "challenge_staff"
    __table_args__ = (CheckConstraint(one_of("role", ChallengeRole), name="role"),)

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    challenge: Mapped[Challenge] = relationship(back_populates="staff")
    user: Mapped[User] = relationship(lazy="joined")


class Criterion(db.Model):
    """An evaluation criterion: rated by voters (1–5) and scored by reviewers."""

    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("challenge_id", "name"),
        CheckConstraint("weight >= 1 AND weight <= 10", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300), default="")
    weight: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)

    challenge: Mapped[Challenge] = relationship(back_populates="criteria")


class ChallengeTag(db.Model):
    __tablename__ = "challenge_tags"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class TermsAcceptance(db.Model):
    """An external participant accepted this challenge's own terms."""

    __tablename__ = "challenge_terms_acceptances"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PhaseEvent(db.Model):
    """Every phase change: by the scheduler (actor empty) or by a manager with a reason."""

    __tablename__ = "phase_events"
    __table_args__ = (
        CheckConstraint(one_of("from_phase", Phase), name="from_phase"),
        CheckConstraint(one_of("to_phase", Phase), name="to_phase"),
        # The scheduler may run in several processes at once: each step is logged once.
        UniqueConstraint("challenge_id", "from_phase", "to_phase", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    from_phase: Mapped[str] = mapped_column(String(16))
    to_phase: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()


class Idea(db.Model):
    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint(one_of("status", IdeaStatus), name="status"),
        CheckConstraint(one_of("pool", ("employee", "external")), name="pool"),
        Index("ix_ideas_challenge_status_id", "challenge_id", "status", "id"),
        Index("ix_ideas_author_status", "author_id", "status"),
        UniqueConstraint("challenge_id", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The author's pool when the idea was submitted: decides who sees it in `separate` mode.
    pool: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(Text, default="")  # the form keeps typed ones short; imports keep theirs
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=IdeaStatus.DRAFT)
    # Hidden by moderation (flags past the threshold, or a moderator): invisible to participants.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    external_ref: Mapped[str | None] = mapped_column(String(EXTERNAL_REF_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    challenge: Mapped[Challenge] = relationship(lazy="joined", innerjoin=True)
    author: Mapped[User] = relationship(lazy="joined", innerjoin=True, foreign_keys=[author_id])
    coauthors: Mapped[list[CoAuthor]] = relationship(
        back_populates="idea", cascade="all, delete-orphan", lazy="selectin"
    )
    tag_rows: Mapped[list[IdeaTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IdeaTag.tag"
    )
    merged_into: Mapped[Idea | None] = relationship(remote_side=[id])

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    def author_ids(self) -> set[int]:
        """The author and the co-authors who accepted: nobody votes on their own idea."""
        return {self.author_id} | {c.user_id for c in self.coauthors if c.accepted_at and c.user_id}


class IdeaTag(db.Model):
    __tablename__ = "idea_tags"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class CoAuthor(db.Model):
    """A co-author invited by e-mail; counts only once they accept."""

    __tablename__ = "idea_coauthors"
    __table_args__ = (UniqueConstraint("idea_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    idea: Mapped[Idea] = relationship(back_populates="coauthors")
    user: Mapped[User | None] = relationship()


class IdeaRevision(db.Model):
    """The text of an idea as it was after each edit: the history shown as a diff."""

    __tablename__ = "idea_revisions"
    __table_args__ = (UniqueConstraint("idea_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(1000), default="")
    note: Mapped[str] = mapped_column(String(300), default="")

    editor: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """An image or PDF on an idea, or a challenge's cover; the file lives under the instance folder."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(one_of("purpose", ("idea", "cover")), name="purpose"),
        CheckConstraint("purpose = 'cover' OR idea_id IS NOT NULL", name="idea_attachment_has_idea"),
        Index("ix_attachments_challenge_purpose", "challenge_id", "purpose", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(8), default="idea")
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_idea_id_id", "idea_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # One level of replies: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    idea: Mapped[Idea] = relationship()
    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Flag(db.Model):
    """Someone reported an idea or a comment. One flag per person per item."""

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint(one_of("target_type", ("idea", "comment")), name="target_type"),
        UniqueConstraint("target_type", "target_id", "reporter_id"),
        Index("ix_flags_challenge_open", "challenge_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reporter: Mapped[User] = relationship()


class ModerationAction(db.Model):
    """The moderation log: every hide, restore, warning and suspension, with its reason."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        CheckConstraint(one_of("action", ("hide", "restore", "warn", "suspend", "unsuspend", "auto_hide")),
                        name="action"),
        CheckConstraint(one_of("target_type", ("idea", "comment", "user")), name="target_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])


class Suspension(db.Model):
    """A person suspended from one challenge: they may read but not post, vote or flag."""

    __tablename__ = "challenge_suspensions"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
