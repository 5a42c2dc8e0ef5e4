"""Tallies the dashboards read instead of a challenge's million votes.

Both are kept by the database itself (`insight.tallies`: triggers on `votes` and
`ideas`), in the transaction that changes a vote or an idea, whichever code path
does it — a vote cast, changed or withdrawn, a merge moving votes, a policy
recompute rewriting weights, an import, an account or an idea deleted with its votes.
`insight.tallies.recount` builds them again from the rows, and the tests hold the
two equal.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ideas.extensions import db
from ideas.voting.models import IdeaScore


class ActivityDay(db.Model):
    """One person taking part in a challenge on one (UTC) day, in one pool: `acts`
    counts their votes cast that day and their ideas published that day.  A row with
    nothing left in it is deleted, so the rows of a day are the people of that day."""

    __tablename__ = "insight_activity"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    acts: Mapped[int] = mapped_column(Integer, default=0)


class VoteWeightTally(db.Model):
    """An idea's votes from one pool: how many, the weight they count for, and the
    weight each cause took from them (split as `figures.vote_quality` explains).

    One row per idea and pool, not one per challenge: a vote already holds its idea's
    score row locked (`voting.services`), so writing here adds no lock between
    votes on different ideas."""

    __tablename__ = "insight_vote_weights"
    __table_args__ = (Index("ix_insight_vote_weights_challenge", "challenge_id", "pool"),)

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    counted: Mapped[float] = mapped_column(Float, default=0.0)
    effort: Mapped[float] = mapped_column(Float, default=0.0)
    standing: Mapped[float] = mapped_column(Float, default=0.0)
    collusion: Mapped[float] = mapped_column(Float, default=0.0)
    own_idea: Mapped[float] = mapped_column(Float, default=0.0)


# The ideas the pools disagree on, found without reading every score row of the challenge
# (a handful among 20,000): declared here, where the dashboard reads it, on the ranking's table.
Index("ix_idea_scores_disagree", IdeaScore.challenge_id,
      sqlite_where=IdeaScore.disagree.is_(True), postgresql_where=IdeaScore.disagree.is_(True))
