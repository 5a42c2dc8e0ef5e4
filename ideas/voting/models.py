"""Votes with the signals they were cast with, their weights, and per-idea aggregates."""
from __future__ import annotations

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

VOTE_KINDS = ("support", "reason", "ratings", "pairwise")


class IdeaView(db.Model):
    """The first and latest time a person opened an idea's page (measured by the server)."""

    __tablename__ = "idea_views"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Vote(db.Model):
    """One person's vote on one idea, with the signals measured when it was cast.

    The weight is derived from the signals by the challenge's policy; the signals
    are kept so a policy change can recompute every weight without guessing."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("voter_id", "idea_id"),  # one vote per person per idea
        CheckConstraint(one_of("kind", VOTE_KINDS), name="kind"),
        CheckConstraint("value IN (1, -1)", name="value"),
        CheckConstraint(one_of("pool", ("employee", "external")), name="pool"),
        CheckConstraint("weight >= 0 AND weight <= 1", name="weight"),
        CheckConstraint("effort >= 0 AND effort <= 1 AND standing >= 0 AND standing <= 1 "
                        "AND collusion >= 0 AND collusion <= 1", name="factors"),
        Index("ix_votes_idea_created", "idea_id", "created_at"),
        Index("ix_votes_challenge_voter", "challenge_id", "voter_id", "created_at"),
        Index("ix_votes_idea_network", "idea_id", "network"),
        # Room on each page so re-weighing rewrites rows in place (migrations 27bc2424c0c6, d2f6a9c4e1b7).
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    # Signals, as measured when the vote was cast or last changed.
    viewed_before: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds_since_view: Mapped[float | None] = mapped_column(Float)
    idea_word_count: Mapped[int] = mapped_column(Integer, default=0)
    reason_words: Mapped[int] = mapped_column(Integer, default=0)
    reason_near_copy: Mapped[bool] = mapped_column(Boolean, default=False)
    # How much the reason speaks about the idea (weighting.reason_specificity), at the vote.
    reason_specificity: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    criteria_rated: Mapped[bool] = mapped_column(Boolean, default=False)
    identity: Mapped[str] = mapped_column(String(24), default="unverified")
    account_age_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    contributions_90d: Mapped[int] = mapped_column(Integer, default=0)
    is_author: Mapped[bool] = mapped_column(Boolean, default=False)
    # A salted hash of the voter's network; emptied after 90 days.
    network: Mapped[str | None] = mapped_column(String(64))

    # The weight and its explanation under the challenge's policy.
    effort: Mapped[float] = mapped_column(Float, default=1.0)
    standing: Mapped[float] = mapped_column(Float, default=1.0)
    collusion: Mapped[float] = mapped_column(Float, default=1.0)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    discounts: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of [code, text]
    # The collusion rules' causes behind `collusion` (JSON list of [code, text]), kept
    # apart from `discounts` so that a policy which ignores collusion (simple) and a
    # later return to one that weighs it both explain the vote without re-judging it.
    collusion_discounts: Mapped[str] = mapped_column(Text, default="[]")
    policy: Mapped[str] = mapped_column(String(32), default="weighted/1")

    ratings: Mapped[list[VoteRating]] = relationship(
        back_populates="vote", cascade="all, delete-orphan", lazy="selectin"
    )
    voter: Mapped[User] = relationship()


class VoteRating(db.Model):
    __tablename__ = "vote_ratings"
    __table_args__ = (CheckConstraint("rating >= 1 AND rating <= 5", name="rating"),)

    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)

    vote: Mapped[Vote] = relationship(back_populates="ratings")


class IdeaScore(db.Model):
    """Stored aggregates and scores of one idea, updated with each vote, so that a
    ranking is an indexed ORDER BY whatever the number of votes."""

    __tablename__ = "idea_scores"
    __table_args__ = (
        Index("ix_idea_scores_blended", "challenge_id", "score_blended", "idea_id"),
        Index("ix_idea_scores_employee", "challenge_id", "score_employee", "idea_id"),
        Index("ix_idea_scores_external", "challenge_id", "score_external", "idea_id"),
        Index("ix_idea_scores_pairwise", "challenge_id", "score_pairwise", "idea_id"),
    )

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    support_employee: Mapped[float] = mapped_column(Float, default=0.0)
    oppose_employee: Mapped[float] = mapped_column(Float, default=0.0)
    raw_employee: Mapped[int] = mapped_column(Integer, default=0)
    support_external: Mapped[float] = mapped_column(Float, default=0.0)
    oppose_external: Mapped[float] = mapped_column(Float, default=0.0)
    raw_external: Mapped[int] = mapped_column(Integer, default=0)
    score_employee: Mapped[float] = mapped_column(Float, default=0.0)
    score_external: Mapped[float] = mapped_column(Float, default=0.0)
    score_blended: Mapped[float] = mapped_column(Float, default=0.0)
    disagree: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pairwise: how often the idea was shown, and its Bradley–Terry score.
    pair_appearances: Mapped[int] = mapped_column(Integer, default=0)
    score_pairwise: Mapped[float] = mapped_column(Float, default=0.5)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PoolScale(db.Model):
    """What puts one pool's scores of a challenge on the common scale before blending.

    `heard` is the weighted support the pool has given (kept with every vote) and
    `best` its best idea's score; `applied_best` and `applied_heard` are the
    values the stored blended scores were computed with. The scale lies on a grid of
    0.1 % steps (ranking.pool_scale); once the true scale crosses a step, the
    applied values and every blended score follow. A vote thus costs the same in a
    small and a huge challenge, every stored blended score uses one and the same
    scale, and it is the scale a rebuild from scratch computes.
    """

    __tablename__ = "pool_scales"
    __table_args__ = (CheckConstraint(one_of("pool", ("employee", "external")), name="pool"),)

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    heard: Mapped[float] = mapped_column(Float, default=0.0)
    applied_best: Mapped[float] = mapped_column(Float, default=0.0)
    applied_heard: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PairShown(db.Model):
    """A pair the site showed a voter, and their answer (left, right, or can't decide)."""

    __tablename__ = "pair_answers"
    __table_args__ = (
        CheckConstraint("answer IS NULL OR answer IN ('left', 'right', 'none')", name="answer"),
        CheckConstraint("left_id <> right_id", name="distinct"),
        Index("ix_pair_answers_challenge_answered", "challenge_id", "answered_at"),
        Index("ix_pair_answers_voter", "voter_id", "challenge_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    left_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    right_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(8))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    pool: Mapped[str] = mapped_column(String(16))
    # The signals the answer's weight came from, measured when it was given (None for
    # answers from before they were kept), so a policy change weighs it again.
    words_shown: Mapped[int | None] = mapped_column(Integer)
    identity: Mapped[str | None] = mapped_column(String(24))
    account_age_seconds: Mapped[float | None] = mapped_column(Float)
    contributions_90d: Mapped[int | None] = mapped_column(Integer)
    same_side_ratio: Mapped[float | None] = mapped_column(Float)
    side_answers: Mapped[int | None] = mapped_column(Integer)


class PolicyChange(db.Model):
    """A manager changed the voting policy after votes existed: logged with the reason."""

    __tablename__ = "voting_policy_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_policy: Mapped[str] = mapped_column(String(32))
    to_policy: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class VoteMoveRequest(db.Model):
    """After a merge, each supporter of the merged idea is asked whether their vote moves."""

    __tablename__ = "vote_move_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", ("pending", "moved", "declined", "kept")), name="status"),
        UniqueConstraint("voter_id", "from_idea_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    from_idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    to_idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
