"""Review events: one place where every step of the review is announced.

Services call `emit(name, payload)` after they have written the change (inside the
request's transaction, before the commit).  Other code subscribes with
`subscribe(app, name, handler)` — webhooks, the search index, metrics — or to every
event with `name="*"`.  Subscribers are per application, so two apps in one process
(tests) never hear each other.

Handlers run inside the transaction: they must not do network I/O.  A handler that
needs to talk to the outside (a webhook) writes a row to deliver after the commit,
so a refused or rolled-back change is never announced.  A handler that raises makes
the whole action fail and roll back, rather than lose the announcement silently.

Payloads are plain JSON-ready dicts.  They never carry internal notes, reasons the
author may not read, individual reviewer scores, or (under blind review) authors:
an outside system gets what an R&D tool may be shown.  The names are listed in
`EVENTS`; see `ideas/review/services.py` for what each payload holds.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

Handler = Callable[[str, dict[str, Any]], None]

_KEY = "ideas.review.events"

# Every event the review emits.  `review.transition` accompanies each state change
# (with `from`/`to`), alongside the specific event named for that change.
EVENTS: tuple[str, ...] = (
    "review.transition",
    "review.shortlisted",
    "review.started",
    "review.reviewers_assigned",
    "review.scorecard_submitted",
    "review.decided",
    "review.revisited",
    "review.handed_off",
    "review.handoff_declined",
    "review.acknowledged",
    "review.work_started",
    "review.progress_posted",
    "review.closed",
    "review.escalated",
)
ANY = "*"


def _registry(app: Flask) -> dict[str, list[Handler]]:
    return app.extensions.setdefault(_KEY, {})


def subscribe(app: Flask, name: str, handler: Handler) -> None:
    """Call `handler(name, payload)` on each `name` event (or every event for "*")."""
    if name != ANY and name not in EVENTS:
        raise ValueError(f"unknown review event {name!r}; known: {', '.join(EVENTS)}")
    handlers = _registry(app).setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(app: Flask, name: str, handler: Handler) -> None:
    handlers = _registry(app).get(name, [])
    if handler in handlers:
        handlers.remove(handler)


def emit(name: str, payload: dict[str, Any]) -> int:
    """Hand the event to its subscribers; returns how many heard it."""
    if name not in EVENTS:
        raise ValueError(f"unknown review event {name!r}")
    registry = _registry(current_app)
    handlers = [*registry.get(name, []), *registry.get(ANY, [])]
    for handler in handlers:
        handler(name, dict(payload))
    return len(handlers)
