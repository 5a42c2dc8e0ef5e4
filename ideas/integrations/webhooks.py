"""Webhooks: site-wide endpoints that hear about review steps, and their delivery.

Managing endpoints (administrators only) and queueing are use cases like any other:
plain values in, the acting person named, flush, never commit.  Sending belongs to
the scheduler ("webhooks" job), never to the request that made the change:

1. A review service emits an event inside its transaction (`ideas.events`).
   `queue_review_event` writes one pending delivery per active endpoint that takes
   that kind of event — in the same transaction, so a refused or rolled-back change
   is never announced, and a committed one is never lost.
2. `deliver_due(now)` (every tick) POSTs each due delivery: a JSON body, signed
   (`signing.py`), to the address checked again at that moment (`urls.py`) and
   connected to directly, with a short timeout and no redirects followed.
3. Each attempt is logged.  A 2xx answer delivers; anything else (an error, a timeout,
   a redirect, a refused address) is retried after 1 min, 5 min, 30 min, 2 h and 12 h;
   after the sixth attempt the delivery is "failed".

Deliveries are at least once: a receiver that answered too slowly may hear the same
delivery (same id) again.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from ideas import clock, scheduler
from ideas.accounts.models import User
from ideas.extensions import db
from ideas.integrations import signing
from ideas.integrations.models import (
    EVENT_KINDS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)
from ideas.integrations.urls import CheckedUrl, UnsafeUrlError, check_url

# Which review events each endpoint kind hears, and the name they go out under.
SOURCES: dict[str, tuple[str, str]] = {
    "review.decided": ("decision", "decision"),
    "review.handed_off": ("handoff", "handoff"),
    # A returned handoff goes to the endpoints that follow handoffs: an R&D tool that
    # opened a ticket for the owner needs to know the owner gave it back.
    "review.handoff_declined": ("handoff", "handoff_declined"),
    "review.acknowledged": ("acknowledgement", "acknowledgement"),
    "review.progress_posted": ("update", "update"),
    "review.closed": ("close", "close"),
}
EVENT_LABELS = {
    "decision": "Decision: an idea is accepted, declined or parked, with the reason its author reads",
    "handoff": "Handoff: an accepted idea is handed to an R&D owner (or the owner hands it back)",
    "acknowledgement": "Acknowledgement: the owner takes the idea on",
    "update": "Progress update: the owner reports progress to the author",
    "close": "Close: the idea is delivered or dropped, with the reason",
}

# 1 min, 5 min, 30 min, 2 h, 12 h after the attempts that failed; then "failed".
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
DEFAULT_TIMEOUT = 5.0
# Per tick: from cron (`ideas tick`) a batch with a time budget; from a request's lazy
# tick (sites without cron) two at most, with a shorter wait, so a receiver that is
# down delays somebody's page by a few seconds at worst, once per lazy interval.
BATCH, BUDGET_SECONDS = 50, 30.0
LAZY_BATCH, LAZY_BUDGET_SECONDS, LAZY_TIMEOUT = 2, 2.0, 2.0
MAX_DESCRIPTION = 200
USER_AGENT = "Ideas-Webhooks/1"


class WebhookError(ValueError):
    """A webhook change refused; the message is fit to show the administrator."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# --- settings --------------------------------------------------------------------------

def allow_private() -> bool:
    """IDEAS_WEBHOOK_ALLOW_PRIVATE: may webhooks reach loopback and private addresses?"""
    return bool(current_app.config.get("IDEAS_WEBHOOK_ALLOW_PRIVATE", False))


def timeout() -> float:
    return float(current_app.config.get("IDEAS_WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT))


def checked_url(url: str) -> CheckedUrl:
    """The URL judged with this site's settings; WebhookError (field "url") when refused."""
    try:
        return check_url(url, allow_private=allow_private())
    except UnsafeUrlError as error:
        raise WebhookError(error.message, field="url") from None


# --- endpoints ---------------------------------------------------------------------------

def _require_admin(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.is_admin:
        raise WebhookError("Only administrators manage webhooks.", status=403)


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(e) for e in events or ()))
    unknown = [e for e in chosen if e not in EVENT_KINDS]
    if unknown:
        raise WebhookError(f"Unknown event{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                           f"Choose from {', '.join(EVENT_KINDS)}.", field="events")
    if not chosen:
        raise WebhookError("Choose at least one event to send.", field="events")
    return [e for e in EVENT_KINDS if e in chosen]


def _clean_description(text: str | None) -> str:
    value = " ".join((text or "").split())
    if len(value) > MAX_DESCRIPTION:
        raise WebhookError(f"Keep the description under {MAX_DESCRIPTION} characters.", field="description")
    return value


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, endpoint_id)


def create_endpoint(admin: User, url: str, events: Iterable[str], description: str = "", *,
                    active: bool = True, now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once: pages show it masked afterwards)."""
    _require_admin(admin)
    checked = checked_url(url)
    kinds = _clean_events(events)
    description = _clean_description(description)
    now = now or clock.now()
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(url=checked.url, description=description, secret=secret, active=bool(active),
                               created_at=now, created_by_id=admin.id, updated_at=now, secret_changed_at=now,
                               subscriptions=[WebhookSubscription(event=kind) for kind in kinds])
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, admin: User, url: str, events: Iterable[str],
                    description: str = "", *, active: bool = True, now: datetime | None = None) -> WebhookEndpoint:
    _require_admin(admin)
    checked = checked_url(url)
    kinds = _clean_events(events)
    description = _clean_description(description)
    have = {s.event: s for s in endpoint.subscriptions}
    for kind, subscription in have.items():
        if kind not in kinds:
            endpoint.subscriptions.remove(subscription)
    for kind in kinds:
        if kind not in have:
            endpoint.subscriptions.append(WebhookSubscription(event=kind))
    endpoint.url = checked.url
    endpoint.description = description
    endpoint.active = bool(active)
    endpoint.updated_at = now or clock.now()
    db.session.flush()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, admin: User, *, now: datetime | None = None) -> str:
    """A new secret, from the next attempt on (pending retries are signed with it too)."""
    _require_admin(admin)
    endpoint.secret = signing.new_secret()
    endpoint.secret_changed_at = endpoint.updated_at = now or clock.now()
    db.session.flush()
    return endpoint.secret


def delete_endpoint(endpoint: WebhookEndpoint, admin: User) -> None:
    """The endpoint goes, with its queue and its log."""
    _require_admin(admin)
    db.session.delete(endpoint)
    db.session.flush()


def send_ping(endpoint: WebhookEndpoint, admin: User, *, now: datetime | None = None) -> WebhookDelivery:
    """Queue a "ping" delivery, to check the receiver and its signature check."""
    _require_admin(admin)
    now = now or clock.now()
    delivery = _queue(endpoint.id, "ping", "", {"endpoint_id": endpoint.id, "message": "A test from Ideas.",
                                                "actor_id": admin.id, "at": now.isoformat()}, now)
    db.session.flush()
    return delivery


def redeliver(delivery: WebhookDelivery, admin: User, *, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with its own attempts (a receiver
    that deduplicates by id will take it)."""
    _require_admin(admin)
    now = now or clock.now()
    again = WebhookDelivery(endpoint_id=delivery.endpoint_id, event=delivery.event,
                            source_event=delivery.source_event, payload=delivery.payload, status="pending",
                            next_attempt_at=now, created_at=now, redelivery_of_id=delivery.id)
    db.session.add(again)
    db.session.flush()
    return again


@dataclass
class DeliveryPage:
    items: list[WebhookDelivery]
    older: int | None  # the `before` cursor of the next page, None on the last one


def deliveries(endpoint: WebhookEndpoint, *, status: str | None = None, before: int | None = None,
               limit: int = 25) -> DeliveryPage:
    """The endpoint's log, newest first, a page at a time."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows, rows[-1].id if more else None)


def get_delivery(delivery_id: int) -> WebhookDelivery | None:
    return db.session.get(WebhookDelivery, delivery_id)


# --- queueing (inside the review's transaction) ------------------------------------------------

def _site_url() -> str:
    base = current_app.config.get("IDEAS_BASE_URL", "").rstrip("/")
    if base:
        return base
    try:
        return url_for("site.home", _external=True).rstrip("/")
    except RuntimeError:  # the scheduler without SERVER_NAME: links stay relative
        return ""


def _queue(endpoint_id: int, event: str, source: str, data: dict, now: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery(endpoint_id=endpoint_id, event=event, source_event=source,
                               payload=json.dumps(data, sort_keys=True, ensure_ascii=False, default=str),
                               status="pending", next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    return delivery


def queue_review_event(name: str, payload: dict) -> int:
    """The review events subscriber: one pending delivery per active endpoint taking this
    kind of event.  The payload is the review's own (no internal notes, no individual
    scores, no authors), with the idea's link made absolute."""
    kind, event = SOURCES[name]
    endpoint_ids = list(db.session.scalars(
        select(WebhookEndpoint.id).join(WebhookSubscription, WebhookSubscription.endpoint_id == WebhookEndpoint.id)
        .where(WebhookEndpoint.active.is_(True), WebhookSubscription.event == kind)
        .order_by(WebhookEndpoint.id)))
    if not endpoint_ids:
        return 0
    data = dict(payload)
    if isinstance(data.get("idea_url"), str) and data["idea_url"].startswith("/"):
        data["idea_url"] = _site_url() + data["idea_url"]
    now = clock.now()
    for endpoint_id in endpoint_ids:
        _queue(endpoint_id, event, name, data, now)
    db.session.flush()
    return len(endpoint_ids)


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): the same for every attempt of a delivery."""
    document = {
        "id": delivery.id,
        "event": delivery.event,
        "review_event": delivery.source_event or None,
        "created_at": clock.as_utc(delivery.created_at).isoformat(),
        "data": json.loads(delivery.payload),
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers_for(delivery: WebhookDelivery, body: bytes, secret: str, timestamp: int, attempt: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Ideas-Event": delivery.event,
        "X-Ideas-Delivery": str(delivery.id),
        "X-Ideas-Attempt": str(attempt),
        "X-Ideas-Timestamp": str(timestamp),
        "X-Ideas-Signature": signing.signature(secret, timestamp, body),
    }


# --- sending (the scheduler) ---------------------------------------------------------------

@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, seconds: float | None = None,
         allow_private_addresses: bool | None = None) -> Outcome:
    """POST once: check the URL again (DNS rebinding), connect to the checked address,
    read the status line, follow nothing."""
    seconds = timeout() if seconds is None else seconds
    allowed = allow_private() if allow_private_addresses is None else allow_private_addresses
    started = time.monotonic()

    def took() -> int:
        return max(0, int((time.monotonic() - started) * 1000))

    try:
        checked = check_url(url, allow_private=allowed)
    except UnsafeUrlError as error:
        return Outcome(None, f"Not sent: {error.message}", took())
    kind = _PinnedHTTPSConnection if checked.scheme == "https" else _PinnedHTTPConnection
    connection = kind(checked.host, checked.port, address=checked.addresses[0], timeout=seconds)
    try:
        connection.request("POST", checked.target, body=body, headers=headers)
        response = connection.getresponse()
        status, reason = response.status, response.reason
        location = response.getheader("Location") or ""
    except TimeoutError:
        return Outcome(None, f"No answer within {seconds:g} seconds.", took())
    except ssl.SSLCertVerificationError as error:
        return Outcome(None, f"The receiver's TLS certificate was not accepted: {error.verify_message or error}.",
                       took())
    except ssl.SSLError as error:
        return Outcome(None, f"TLS failed: {error.reason or error}.", took())
    except ConnectionRefusedError:
        return Outcome(None, "The connection was refused.", took())
    except http.client.HTTPException as error:
        return Outcome(None, f"The answer was not HTTP ({type(error).__name__}).", took())
    except OSError as error:
        return Outcome(None, f"Network error: {error.strerror or error}.", took())
    finally:
        connection.close()
    if 200 <= status < 300:
        return Outcome(status, "", took())
    if 300 <= status < 400:
        where = f" to {location[:200]}" if location else ""
        return Outcome(status, f"Redirected{where}: webhooks follow no redirects; give the final URL.", took())
    return Outcome(status, f"The receiver answered {status} {reason}.".strip(), took())


def _due_query(now: datetime, limit: int):
    return (
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )


def deliver_due(now: datetime | None = None) -> int:
    """The "webhooks" job: try every due delivery once; returns the attempts made.

    Several workers (or cron and a request) may run it at once: each delivery is claimed
    while it is sent and its attempt logged, so no two send it."""
    with scheduler.queue("webhooks") as mine:
        return _deliver_due(now or clock.now()) if mine else 0


def _deliver_due(now: datetime) -> int:
    lazy = has_request_context()
    limit, budget = (LAZY_BATCH, LAZY_BUDGET_SECONDS) if lazy else (BATCH, BUDGET_SECONDS)
    seconds = min(timeout(), LAZY_TIMEOUT) if lazy else timeout()
    due = db.session.execute(_due_query(now, limit)).all()
    started = time.monotonic()
    tried = 0
    for delivery_id, attempts in due:
        if time.monotonic() - started > budget:
            break
        still_due = [WebhookDelivery.status == "pending", WebhookDelivery.attempts == attempts,
                     WebhookDelivery.next_attempt_at <= now]
        with scheduler.claimed(WebhookDelivery, delivery_id, still_due) as delivery:
            if delivery is None:
                continue
            attempt = attempts + 1
            body = body_of(delivery)
            stamp = int(now.timestamp())
            outcome = post(delivery.endpoint.url, body,
                           headers_for(delivery, body, delivery.endpoint.secret, stamp, attempt), seconds=seconds)
            record_attempt(delivery, outcome, attempt, now)
            tried += 1
    return tried


def next_retry(attempt: int, at: datetime) -> datetime | None:
    """When to try again after attempt number `attempt` failed (None: give up)."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return at + BACKOFF[attempt - 1]


def record_attempt(delivery: WebhookDelivery, outcome: Outcome, attempt: int, now: datetime) -> None:
    retry = None if outcome.ok else next_retry(attempt, now)
    delivery.attempt_log.append(WebhookAttempt(number=attempt, at=now, duration_ms=outcome.duration_ms,
                                               status_code=outcome.status_code, error=outcome.error[:500],
                                               next_retry_at=retry))
    delivery.attempts = attempt
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif retry is None:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = retry
