"""The search domain's one table: the queue of index changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from ideas import clock
from ideas.extensions import UTCDateTime, db


class IndexJob(db.Model):
    """A search-index change, written in the same transaction as the change itself and
    drained by one writer after commit, so a rolled-back change never reaches the index
    and a killed worker loses nothing."""

    __tablename__ = "index_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
