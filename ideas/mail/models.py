"""The outbox: every e-mail the site sends, and where it stands."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ideas import clock
from ideas.extensions import UTCDateTime, db


class MailMessage(db.Model):
    """Every e-mail the site sends. Without SMTP this outbox is where mail is read."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('logged', 'pending', 'sent', 'failed')", name="status"),
        Index("ix_mail_outbox_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="logged")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
