"""The scheduler: everything that happens at a date, whether or not anybody visits.

`flask --app wsgi ideas tick` runs every job once (safe from cron every minute, and
idempotent); requests also run it lazily, at most once per IDEAS_LAZY_TICK_SECONDS
per process, so phases move on time even without cron. Domains add their jobs to
`app.extensions["ideas.tick"]` as callables taking the current time and returning a count."""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app

from ideas import clock
from ideas.extensions import db

log = logging.getLogger("ideas.scheduler")
_last_run: dict[int, float] = {}


def run(now=None) -> dict[str, int]:
    """Run every job, each in its own transaction so one failure does not undo the others."""
    now = now or clock.now()
    results: dict[str, int] = {}
    for name, job in current_app.extensions.get("ideas.tick", []):
        try:
            results[name] = job(now) or 0
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled job %s failed; it runs again on the next tick", name)
            results[name] = -1
    return results


def add_job(app: Flask, name: str, job) -> None:
    jobs = app.extensions.setdefault("ideas.tick", [])
    if all(existing != name for existing, _ in jobs):
        jobs.append((name, job))


def init_app(app: Flask) -> None:
    from ideas import mail
    from ideas.challenges import services as challenges
    from ideas.notifications import services as notifications

    add_job(app, "phases", challenges.tick)
    add_job(app, "digests", notifications.send_digests)
    add_job(app, "mail", lambda now: mail.deliver_pending())

    @app.before_request
    def lazy_tick():
        interval = app.config.get("IDEAS_LAZY_TICK_SECONDS", 30)
        if interval < 0:
            return
        key = id(app)
        started = time.monotonic()
        if interval and started - _last_run.get(key, float("-inf")) < interval:
            return
        _last_run[key] = started
        run()
