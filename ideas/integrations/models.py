"""Webhook endpoints, the events each one wants, and the delivery log.

A delivery is written in the same transaction as the review change it announces, so a
refused or rolled-back change is never sent; the scheduler sends it afterwards and logs
every attempt.  The database keeps the states and event names to the known ones, and
an attempt number to one row per delivery."""
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
from ideas.extensions import UTCDateTime, db, one_of

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookSubscription"]

# What an administrator ticks for an endpoint (the five steps R&D tools care about).
EVENT_KINDS = ("decision", "handoff", "acknowledgement", "update", "close")
# What a delivery's X-Ideas-Event header says: the kinds, a returned handoff (sent to
# endpoints that take "handoff"), and the test ping an administrator sends by hand.
WIRE_EVENTS = (*EVENT_KINDS, "handoff_declined", "ping")
DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(db.Model):
    """A URL outside the site that hears about review steps, signed with its own secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("length(url) > 0", name="url"),
        CheckConstraint("length(secret) >= 32", name="secret"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Kept as written: the receiver needs the same value to check each signature,
    # so it cannot be hashed.  Pages show it once, then masked.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    secret_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    created_by: Mapped[User | None] = relationship()
    subscriptions: Mapped[list[WebhookSubscription]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", lazy="selectin",
        order_by="WebhookSubscription.event",
    )

    @property
    def events(self) -> list[str]:
        return [kind for kind in EVENT_KINDS if kind in {s.event for s in self.subscriptions}]

    @property
    def masked_secret(self) -> str:
        return f"{self.secret[:6]}…{self.secret[-4:]}"


class WebhookSubscription(db.Model):
    """One event kind an endpoint takes."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event"),
        CheckConstraint(one_of("event", EVENT_KINDS), name="event"),
        Index("ix_webhook_subscriptions_event", "event", "endpoint_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="subscriptions")


class WebhookDelivery(db.Model):
    """One event for one endpoint: pending until a 2xx answer (delivered) or the last
    retry (failed).  `payload` is the event's data as JSON, fixed when it was queued."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", DELIVERY_STATES), name="status"),
        CheckConstraint(one_of("event", WIRE_EVENTS), name="event"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("status <> 'pending' OR next_attempt_at IS NOT NULL", name="pending_due"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))
    source_event: Mapped[str] = mapped_column(String(40), default="")  # e.g. review.decided
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # A redelivery an administrator asked for names the delivery it repeats.
    redelivery_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined", innerjoin=True)
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="WebhookAttempt.number",
    )


class WebhookAttempt(db.Model):
    """One try at sending a delivery: the answer (a status code) or the error, how long
    it took, and when the next try is due (None after success or the last try)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "number"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("duration_ms >= 0", name="duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(500), default="")
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
