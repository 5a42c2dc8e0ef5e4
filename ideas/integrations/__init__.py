"""Integrations: how the review reaches other systems.

Webhooks (site-wide endpoints an administrator manages, signed deliveries queued with
the review change and sent by the scheduler) and CSV exports of the shortlist and of
the handoffs.  Kept out of `ideas/review/` on purpose: the review announces its steps
(`ideas.events`) and knows nothing of who listens; this package is one
listener, with its own tables, pages and scheduler job.
"""
from __future__ import annotations

import os

from flask import Flask

from ideas import events
from ideas.integrations import webhooks


def init_app(app: Flask) -> None:
    """Webhooks hear the review's events (each queues its deliveries in the change's
    transaction); their settings come from the environment unless the application was
    given them."""
    app.config.setdefault("IDEAS_WEBHOOK_ALLOW_PRIVATE", _flag(os.environ.get("IDEAS_WEBHOOK_ALLOW_PRIVATE")))
    app.config.setdefault("IDEAS_WEBHOOK_TIMEOUT",
                          float(os.environ.get("IDEAS_WEBHOOK_TIMEOUT") or webhooks.DEFAULT_TIMEOUT))
    for name in webhooks.SOURCES:
        events.subscribe(app, name, webhooks.queue_review_event)


def register_jobs(app: Flask) -> None:
    from ideas import scheduler

    # Shared: each delivery is claimed before it is sent, so every worker may take some.
    scheduler.register_job(app, "webhooks", webhooks.deliver_due, shared=True)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
