"""The queue between a change and the index: `enqueue` in the change's transaction,
`drain` after the commit (order, locking and who drains: docs/search.md)."""
from __future__ import annotations

import logging
import time

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from ideas.extensions import db
from ideas.search import postgres, settings, store
from ideas.search.documents import documents_for
from ideas.search.models import IndexJob
from ideas.search.store import WRITER_OPTIONS, SearchUnavailableError

log = logging.getLogger("ideas.search")

DRAIN_BATCH = 200
DRAIN_BUDGET = 2.0  # seconds a drain keeps going while new jobs keep arriving
SEARCH_DRAIN_WAIT = 0.5  # seconds a search waits for a busy drainer before reading


_QUEUED = "ideas.search.queued"  # idea ids queued in the current transaction
_ENQUEUED = "ideas.search.enqueued"  # this transaction queued a job
_DUE = "ideas.search.due"  # a committed transaction queued a job: drain after the request
_WROTE = "ideas.search.wrote"  # this transaction flushed writes
_DOCUMENTS = "ideas.search.documents"  # ideas whose PostgreSQL documents this transaction rewrites


def enqueue(idea_id: int) -> None:
    """Queue `idea_id` for (re)indexing in the current transaction.

    On PostgreSQL its search document is also rewritten by this transaction's commit;
    when PostgreSQL answers searches, that is all (no job, no index folder)."""
    session = db.session()
    if settings.keeps_documents(session):
        session.info.setdefault(_DOCUMENTS, set()).add(idea_id)
        if settings.uses_postgres():
            return
    queued = session.info.setdefault(_QUEUED, set())
    if idea_id in queued:
        return
    queued.add(idea_id)
    session.add(IndexJob(idea_id=idea_id))
    session.info[_ENQUEUED] = True


def _enqueue_idea(_name: str, payload: dict) -> None:
    enqueue(payload["idea"].id)


def _enqueue_comment(_name: str, payload: dict) -> None:
    enqueue(payload["comment"].idea_id)  # comments are part of the idea's search document


def _enqueue_merged(_name: str, payload: dict) -> None:
    enqueue(payload["duplicate"].id)
    enqueue(payload["survivor"].id)


# The events after which an idea's document changes (ideas/events.py); publishing
# emits idea.changed too.
SUBSCRIPTIONS = {
    "idea.changed": _enqueue_idea,
    "moderation.visibility_changed": _enqueue_idea,
    "comment.posted": _enqueue_comment,
    "comment.edited": _enqueue_comment,
    "idea.merged": _enqueue_merged,
}


def _after_flush(session, _context) -> None:
    session.info[_WROTE] = True
    jobs = [obj.idea_id for obj in session.new if isinstance(obj, IndexJob)]
    if jobs:
        session.info[_ENQUEUED] = True
        if settings.keeps_documents(session):  # a job added by hand (scripts) counts as enqueue
            session.info.setdefault(_DOCUMENTS, set()).update(jobs)


def _before_commit(session) -> None:
    """Rewrite the PostgreSQL search documents of the ideas this transaction changed,
    inside it: they commit with the change or roll back with it."""
    if not session.info.get(_DOCUMENTS):
        return
    session.flush()
    ids = session.info.pop(_DOCUMENTS, set())
    postgres.refresh(session, ids)


def _after_commit(session) -> None:
    if session.info.get(_ENQUEUED):
        session.info[_DUE] = True


def _after_transaction_end(session, transaction) -> None:
    # A savepoint rolled back may have taken a job with it: queue again rather than skip.
    # (A flush runs in an inner transaction too, which is neither nested nor outermost.)
    if transaction.nested or transaction.parent is None:
        session.info.pop(_QUEUED, None)
    if transaction.parent is None:  # the outermost transaction, committed or not
        for key in (_ENQUEUED, _WROTE, _DOCUMENTS):
            session.info.pop(key, None)


def listen() -> None:
    for name, listener in (("after_flush", _after_flush), ("before_commit", _before_commit),
                           ("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def caller_has_writes() -> bool:
    session = db.session()
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def pending() -> bool:
    """Are index jobs waiting?"""
    with db.engine.connect() as connection:
        return connection.execute(select(IndexJob.id).limit(1)).first() is not None


def drain(limit: int = DRAIN_BATCH, *, wait: float = 0.0) -> int:
    """Index the queued changes; returns how many jobs this call processed.

    Never raises and never blocks longer than `wait` for another process: when one
    holds the writer lock, it is the one that finishes the queue. When PostgreSQL
    answers searches, the jobs (left by a process that still wrote the Whoosh index)
    only need their documents rewritten.
    """
    if settings.uses_postgres():
        return _drain_documents(limit)
    with store.closing_abandoned_files():
        try:
            return _drain(limit, wait)
        except Exception:  # the jobs stay queued; the next drain retries
            log.exception("draining the search queue failed; the jobs stay queued")
    with store.state_lock:
        store.forget()  # reopen (and check) the index next time
    return 0


def _drain(limit: int, wait: float) -> int:
    with store.state_lock:
        try:
            handle = store.current_handle(wait=0.0)
        except SearchUnavailableError:
            return 0  # a rebuild is under way elsewhere; it reads the database itself
        ix, path, covered = handle.ix, handle.path, handle.covered
    done = 0
    deadline = time.monotonic() + DRAIN_BUDGET
    while True:
        lock = store.lock_for(path)
        if not store.acquire(lock, wait):
            return done
        try:
            if store.read_current_or_none(path) != ix.indexname:
                return done  # rebuilt meanwhile: the next call opens the new index
            while time.monotonic() < deadline:
                processed = drain_batch(ix, limit, covered)
                done += processed
                if processed < limit:
                    break
        finally:
            lock.release()
        # Look again after releasing: a job committed while we held the lock may have
        # been skipped by its own process, which saw the lock taken.
        if time.monotonic() >= deadline or not pending():
            return done
        wait = 0.0


def drain_batch(ix, limit: int, covered: frozenset[tuple] = frozenset()) -> int:
    """Index the next `limit` jobs' ideas; a job in `covered` (one the rebuild of this
    index already read: store._queued_jobs) is deleted without indexing its idea again."""
    with Session(db.engine) as session:
        jobs = session.execute(select(IndexJob.id, IndexJob.idea_id, IndexJob.created_at)
                               .order_by(IndexJob.id).limit(limit)).all()
        if not jobs:
            return 0
        idea_ids = sorted({job.idea_id for job in jobs if (job.id, job.created_at) not in covered})
        documents = documents_for(session, idea_ids) if idea_ids else {}
        session.rollback()  # read nothing stale later; the delete below starts afresh
        if idea_ids:
            with store.writing(ix, WRITER_OPTIONS) as writer:
                for idea_id in idea_ids:
                    document = documents.get(idea_id)
                    if document is None:
                        writer.delete_by_term("id", str(idea_id))
                    else:
                        writer.update_document(**document)
        # Only now: a crash before this line re-processes these jobs, never loses them.
        session.execute(delete(IndexJob).where(IndexJob.id.in_([job.id for job in jobs])))
        session.commit()
    return len(jobs)


def _drain_documents(limit: int) -> int:
    done = 0
    with Session(db.engine) as session:
        while True:
            jobs = session.execute(select(IndexJob.id, IndexJob.idea_id).order_by(IndexJob.id).limit(limit)).all()
            if not jobs:
                return done
            postgres.refresh(session, {job.idea_id for job in jobs})
            session.execute(delete(IndexJob).where(IndexJob.id.in_([job.id for job in jobs])))
            session.commit()
            done += len(jobs)


def drain_after_request(error=None) -> None:
    """A request whose transaction committed an index job drains before its response leaves."""
    session = db.session()
    if session.info.pop(_DUE, False) and error is None:
        drain()
