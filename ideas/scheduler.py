"""The scheduler: everything that happens at a date, whether or not anybody visits.

Each package registers its own jobs (`register_job`), and `create_app` lists the
packages once. Jobs are callables taking the current time and returning a count.
Three ways to run them, all safe together:

* `flask --app wsgi ideas worker`: a loop, for a deployment; stops between two jobs on
  SIGTERM or SIGINT. With IDEAS_WORKER=1 on the web servers, requests run no job and
  make no outbound call (mail, webhooks): the workers do it all.
* `flask --app wsgi ideas tick`: every job once (from cron).
* Requests, lazily: at most once per IDEAS_LAZY_TICK_SECONDS per process, the embedded
  default for `make run`, so phases move on time with nothing else running.

Never twice, however many workers on however many servers:
* a job that works through a queue of rows where each row is an outbound call (mail,
  webhooks) is `shared`: on PostgreSQL every worker may run it at once, each taking a
  row with `claimed` (FOR UPDATE SKIP LOCKED) so two workers never send one row; on
  SQLite one process at a time works through the `queue`;
* every other job runs in one process at a time (`exclusive`): a PostgreSQL advisory
  lock, or on SQLite, whose database is one file on one machine, a file lock beside it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import select, text

from ideas import clock
from ideas.extensions import db

log = logging.getLogger("ideas.scheduler")
_last_run: dict[int, float] = {}
_in_process: dict[str, threading.Lock] = {}
_in_process_guard = threading.Lock()


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable
    shared: bool = False  # several workers at once, through `queue` and `claimed`


def register_job(app: Flask, name: str, job: Callable, *, shared: bool = False) -> None:
    """Add a job to what every tick runs, in registration order (once per name)."""
    jobs: dict[str, Job] = app.extensions.setdefault("ideas.jobs", {})
    jobs.setdefault(name, Job(name, job, shared))


def jobs(app: Flask | None = None) -> list[Job]:
    return list((app or current_app).extensions.get("ideas.jobs", {}).values())


def run(now=None, *, stop: Callable[[], bool] = lambda: False) -> dict[str, int | None]:
    """Run every job, each in its own transaction so one failure does not undo the others.

    A job's count, -1 when it failed, None when another process was running it."""
    results: dict[str, int | None] = {}
    for job in jobs():
        if stop():
            break
        at = now or clock.now()
        with exclusive(job.name, wanted=not job.shared) as mine:  # a shared job takes its `queue`
            if not mine:
                results[job.name] = None
                continue
            try:
                results[job.name] = job.run(at) or 0
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("scheduled job %s failed; it runs again on the next tick", job.name)
                results[job.name] = -1
    return results


# --- never twice -----------------------------------------------------------------------

@contextmanager
def queue(name: str) -> Iterator[bool]:
    """Work through the rows of the shared job `name` (False: not now, another process is).

    On PostgreSQL every worker may at once, each row being taken with `claimed`. SQLite
    is one file on one machine: one process at a time sends, which is safe and enough."""
    if db.engine.dialect.name == "postgresql":
        yield True
        return
    with exclusive(name) as mine:
        yield mine


@contextmanager
def claimed(model, row_id: int, still: list) -> Iterator[object | None]:
    """One queued row to act on (an outbound call, then its outcome written), or None
    when it is no longer due (`still` is false) or another worker holds it.

    On PostgreSQL the row is locked FOR UPDATE SKIP LOCKED until the block ends, so other
    workers pass over it instead of sending it too, and see the outcome once it commits;
    a worker that dies mid-block gives the row back untouched. On SQLite the caller holds
    the `queue`. The block's writes are committed when it ends, undone if it raises."""
    session = db.session
    session.commit()  # what came before is the caller's, and settled
    query = (select(model).where(model.id == row_id, *still)
             .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        # OF the row alone: rows joined in by eager loads (the endpoint every delivery
        # shares) stay free, or one worker's claim would make the others skip them all.
        query = query.with_for_update(skip_locked=True, of=model)
    row = session.scalar(query)
    if row is None:
        session.rollback()
        yield None
        return
    try:
        yield row
    except BaseException:
        session.rollback()
        raise
    session.commit()


@contextmanager
def exclusive(name: str, *, wanted: bool = True) -> Iterator[bool]:
    """Hold the job `name` for this process: yields False when another process (or
    thread) holds it. With `wanted` False, yields True and holds nothing."""
    if not wanted:
        yield True
        return
    with _in_process_guard:
        local = _in_process.setdefault(name, threading.Lock())
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with _advisory_lock(engine, name) as mine:
                yield mine
        else:
            with _file_lock(engine.url.database, name) as mine:
                yield mine
    finally:
        local.release()


def _lock_key(name: str) -> int:
    return zlib.crc32(f"ideas.job:{name}".encode())


@contextmanager
def _advisory_lock(engine, name: str) -> Iterator[bool]:
    # A connection of its own: the job's session commits (and changes connection) as it
    # goes. If this process dies, PostgreSQL drops the connection and the lock with it.
    key = _lock_key(name)
    with engine.connect() as connection:
        mine = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        connection.commit()  # never idle in a transaction while the job runs
        try:
            yield mine
        finally:
            if mine:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


@contextmanager
def _file_lock(database: str | None, name: str) -> Iterator[bool]:
    if not database or database == ":memory:":
        yield True  # a database of this process alone: the thread lock is enough
        return
    folder = f"{database}-locks"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".lock")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


# --- where jobs run --------------------------------------------------------------------

def requests_run_jobs(app: Flask) -> bool:
    """False when a worker does the site's work (IDEAS_WORKER): no request runs a job or
    calls out, so a slow mail server or webhook receiver never holds up a page."""
    return not app.config.get("IDEAS_WORKER") and app.config.get("IDEAS_LAZY_TICK_SECONDS", 30) >= 0


def work(*, once: bool = False, interval: float = 5.0, echo: Callable[[str], None] = log.info) -> int:
    """The worker: run every job, wait `interval` seconds, again, until SIGTERM or SIGINT
    (the job under way finishes first). Returns the number of rounds."""
    stopping = threading.Event()

    def _stop(signum, _frame):
        echo(f"{signal.Signals(signum).name}: stopping after the job under way")
        stopping.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    echo(f"worker started: {', '.join(job.name for job in jobs())}"
         + ("" if once else f", every {interval:g} s"))
    rounds = 0
    try:
        while not stopping.is_set():
            started = time.monotonic()
            results = run(stop=stopping.is_set)
            rounds += 1
            done = {name: count for name, count in results.items() if count}
            if done:
                echo("; ".join(f"{name}: {'failed (see the log)' if count < 0 else count}"
                               for name, count in done.items()))
            db.session.remove()  # give the connection back between rounds
            if once:
                break
            stopping.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo(f"worker stopped after {rounds} round{'s' if rounds != 1 else ''}")
    return rounds


def init_app(app: Flask) -> None:
    @app.before_request
    def lazy_tick():
        if not requests_run_jobs(app):
            return
        interval = app.config.get("IDEAS_LAZY_TICK_SECONDS", 30)
        key = id(app)
        started = time.monotonic()
        if interval and started - _last_run.get(key, float("-inf")) < interval:
            return
        _last_run[key] = started
        run()
