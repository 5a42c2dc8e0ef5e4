"""The one place that knows the search index (Whoosh, under the instance folder).

How a change reaches the index
------------------------------
A use case that changes what an idea says or who may find it calls `enqueue(idea_id)`,
which adds an `IndexJob` row in the same transaction as the change. So a rolled-back
change never reaches the index, and a committed one is never forgotten: the job stays
in the database until an index commit has taken it in.

`drain()` turns jobs into index updates, in this order: read a batch of jobs (several
jobs for one idea count once), read those ideas' current state from the database,
update or delete their documents, commit the index, and only then delete the jobs it
read. A process killed anywhere in between leaves the jobs queued and the next drain
does the same work again (an update is idempotent); nothing is lost.

Whoosh allows one writer per index, so only one process drains at a time: a drain
takes a file lock beside the index (`<index>.lock`) without waiting. When another
process holds it, the drain returns at once and leaves the work to the holder, which
looks at the queue again after releasing the lock, so a job committed while it was
busy is still picked up. No lock error ever reaches a person.

Who drains, and why results are fresh
-------------------------------------
* After a request whose transaction committed a job (a SQLAlchemy `after_commit`
  hook marks the session; a `teardown_request` hook drains), before the response
  leaves the worker: a person who submits an idea and then searches finds it.
* At the start of each search, when jobs are queued (one cheap query when they are
  not), waiting a moment for a busy drainer: this also catches jobs whose worker
  was killed before it could drain, and jobs committed by command-line scripts.
* On every scheduler tick (`flask ideas tick`, and the lazy tick on requests): the
  job "search" drains what a killed worker left behind even if nobody searches.
A search whose own transaction has unflushed or uncommitted writes skips the drain
(on SQLite the drain's separate connection would wait for that very transaction).

What is indexed, and what is decided at query time
-------------------------------------------------
Only ideas that were published (published, withdrawn, merged) are indexed; drafts
never are. Each document carries the idea's challenge, pool, status and a hidden
flag. The challenge's own state (published or not, audience, pool mode, phase) is
read from the database on every search, so a phase change or an audience change
needs no reindexing: search looks only into the challenges `visible_challenges`
returns, and within each only into the pools `visible_pools` allows; hidden ideas
are left out for everyone but the challenge's staff. Every idea found is checked
once more with `permissions.can_see_idea` before it is returned. Browsing without words,
newest first, is answered by the database under the same rules: nothing to score,
and an index on the ideas does the sorting.

Keeping the index readable
--------------------------
The live index's name is written in a small file `CURRENT` in the index folder.
`ensure_index` opens it, checks it can be read, and rebuilds it from the database
when it is missing or unreadable (no folder, no `CURRENT`, a garbled table of
contents or segment, an older schema). A writer merging segments in another process
can make an open fail once, so an index is only judged damaged when it also fails
while this process holds the writer lock. A rebuild writes a complete new index under
a new name beside the old one and then switches `CURRENT` atomically, so searches in
other processes keep reading the old index until the new one is whole; above
`INLINE_REBUILD_LIMIT` ideas it runs in a background thread and search says so
meanwhile. `flask --app wsgi ideas reindex` rebuilds on demand.

Each process keeps its open index and searcher, and opens a new searcher when another
process has committed. Writers use separate segment files (`compound=False`):
measured on 100,000 ideas, an update costs ~3 ms instead of ~100 ms and opening a
searcher ~1 ms instead of ~100 ms.
"""
from __future__ import annotations

import gc
import logging
import math
import os
import re
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import and_, delete, event, func, or_, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, NullQuery, Or, Query, Term
from whoosh.sorting import FieldFacet
from whoosh.support.charset import accent_map
from whoosh.util.filelock import FileLock

from ideas.challenges import permissions
from ideas.challenges.models import (
    Challenge,
    Comment,
    Idea,
    IdeaStatus,
    IdeaTag,
    IndexJob,
    Phase,
)
from ideas.extensions import db
from ideas.numbers import db_int

log = logging.getLogger("ideas.search")

# --- the schema -------------------------------------------------------------------

SCHEMA_VERSION = "3"  # bump when SCHEMA changes: every process then rebuilds once

_text = StemmingAnalyzer() | CharsetFilter(accent_map)  # "cafe" finds "café"

SCHEMA = Schema(
    id=ID(stored=True, unique=True),
    num=NUMERIC(int, bits=64, sortable=True),  # the id again, to break ties in "newest"
    challenge_id=ID,
    pool=ID,
    cpool=ID,  # "12:employee": who may see the idea is decided by challenge and pool together
    status=ID,
    hidden_in=ID,  # the challenge's id, only while moderation hides the idea
    tags=KEYWORD(commas=True, lowercase=True, scorable=True),
    title=TEXT(analyzer=_text),
    summary=TEXT(analyzer=_text),
    body=TEXT(analyzer=_text),
    comments=TEXT(analyzer=_text),  # the bodies of the idea's visible comments
    published=NUMERIC(int, bits=64, sortable=True),  # microseconds since the epoch
    # For "more like this" within one challenge: the title's and the summary's words
    # prefixed with the challenge ("c12_kiosk"), so that each word's postings and
    # statistics are the challenge's own, and the cost follows the challenge's size
    # rather than the whole site's.
    like_title=KEYWORD(scorable=True),
    like_summary=KEYWORD(scorable=True),
)

# What a person may type: words, "phrases", field:word for these fields, AND OR NOT ( ).
# Filter fields (pool, status, hidden …) are not searchable by syntax: they are set by
# the filters and by visibility only.
SEARCH_FIELDS = ("title", "summary", "body", "tags", "comments")
FIELD_BOOSTS = {"title": 3.0, "summary": 2.0, "tags": 2.0}
_PARSER_SCHEMA = Schema(**{name: SCHEMA[name] for name in SEARCH_FIELDS})

INDEXED_STATUSES = (IdeaStatus.PUBLISHED, IdeaStatus.WITHDRAWN, IdeaStatus.MERGED)
SORTS = ("relevance", "newest", "rank")
MAX_QUERY = 300  # characters; a longer query is cut, with a notice
MAX_COMMENTS_TEXT = 200_000  # characters of comments indexed per idea
RANK_WINDOW = 5000  # "rank" orders at most this many best matches

# Writer settings: one process, modest memory, separate segment files (see above).
WRITER_OPTIONS = {"procs": 1, "limitmb": 32, "compound": False}
REBUILD_WRITER_OPTIONS = {"procs": 1, "limitmb": 128, "compound": False}

DRAIN_BATCH = 200
DRAIN_BUDGET = 2.0  # seconds a drain keeps going while new jobs keep arriving
SEARCH_DRAIN_WAIT = 0.5  # seconds a search waits for a busy drainer before reading
OPEN_WAIT = 3.0  # seconds a search waits for a rebuild in another process
INLINE_REBUILD_LIMIT = 5000  # ideas; a larger automatic rebuild runs in a background thread
REBUILDING = "The search index is being rebuilt. Please try again in a minute."
UNAVAILABLE = "Search is not available right now. Please try again."

_NAME = re.compile(r"^ideas\d+$")


class SearchUnavailable(RuntimeError):
    """The index cannot be read right now (being rebuilt elsewhere, or broken beyond repair)."""


# --- queueing ---------------------------------------------------------------------

_QUEUED = "ideas.search.queued"  # idea ids queued in the current transaction
_ENQUEUED = "ideas.search.enqueued"  # this transaction queued a job
_DUE = "ideas.search.due"  # a committed transaction queued a job: drain after the request
_WROTE = "ideas.search.wrote"  # this transaction flushed writes


def enqueue(idea_id: int) -> None:
    """Queue `idea_id` for (re)indexing in the current transaction."""
    session = db.session()
    queued = session.info.setdefault(_QUEUED, set())
    if idea_id in queued:
        return
    queued.add(idea_id)
    session.add(IndexJob(idea_id=idea_id))
    session.info[_ENQUEUED] = True


def _after_flush(session, _context) -> None:
    session.info[_WROTE] = True
    if any(isinstance(obj, IndexJob) for obj in session.new):
        session.info[_ENQUEUED] = True


def _after_commit(session) -> None:
    if session.info.get(_ENQUEUED):
        session.info[_DUE] = True


def _after_transaction_end(session, transaction) -> None:
    # A savepoint rolled back may have taken a job with it: queue again rather than skip.
    # (A flush runs in an inner transaction too, which is neither nested nor outermost.)
    if transaction.nested or transaction.parent is None:
        session.info.pop(_QUEUED, None)
    if transaction.parent is None:  # the outermost transaction, committed or not
        for key in (_ENQUEUED, _WROTE):
            session.info.pop(key, None)


def _listen() -> None:
    for name, listener in (("after_flush", _after_flush), ("after_commit", _after_commit),
                           ("after_transaction_end", _after_transaction_end)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def init_app(app: Flask) -> None:
    """Drain after each request that committed an index job, and on every scheduler tick."""
    from ideas import scheduler

    _listen()
    scheduler.add_job(app, "search", lambda now: drain())

    @app.teardown_request
    def _drain_after_request(error=None):
        session = db.session()
        if session.info.pop(_DUE, False) and error is None:
            drain()


def _caller_has_writes() -> bool:
    session = db.session()
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


# --- the index on disk --------------------------------------------------------------

@dataclass
class _Handle:
    path: Path
    name: str
    stamp: tuple
    ix: whoosh_index.FileIndex
    searcher: object | None = None

    def fresh_searcher(self):
        # Not `searcher.refresh()`: in whoosh-reloaded 2.7.5 it re-adds the old reader's
        # segments to the new one, so a document updated or deleted since shows up in its
        # old version too (tests/search/test_index.py shows it). Opening a searcher on
        # separate segment files costs about a millisecond.
        if self.searcher is not None and self.ix.latest_generation() != self.searcher.reader().generation():
            self.close()
        if self.searcher is None:
            self.searcher = self.ix.searcher()
        return self.searcher

    def close(self) -> None:
        if self.searcher is not None:
            try:
                self.searcher.close()
            except Exception:  # closing a broken reader must not stop a repair
                log.debug("closing a searcher failed", exc_info=True)
            self.searcher = None


_state = threading.RLock()  # guards _handle and every use of its searcher in this process
_handle: _Handle | None = None


def _index_path(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["IDEAS_SEARCH_INDEX"])


def _lock_for(path: Path) -> FileLock:
    # Beside the folder, not in it, so that deleting or replacing the folder cannot
    # leave two processes each holding "the" lock.
    return FileLock(str(path.parent / f"{path.name}.lock"))


def _acquire(lock: FileLock, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        if lock.acquire(blocking=False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _stamp(path: Path) -> tuple | None:
    try:
        info = os.stat(path / "CURRENT")
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _read_current(path: Path) -> str:
    try:
        name, version = (path / "CURRENT").read_text(encoding="ascii").split()
    except (OSError, ValueError, UnicodeError) as error:
        raise _Unreadable(f"no readable CURRENT file in {path}") from error
    if not _NAME.match(name) or version != SCHEMA_VERSION:
        raise _Unreadable(f"CURRENT names {name!r} (schema {version!r}), expected schema {SCHEMA_VERSION}")
    return name


class _Unreadable(Exception):
    pass


def _open(path: Path) -> _Handle:
    """Open the index CURRENT names and check that it can be read; _Unreadable otherwise."""
    stamp = _stamp(path)
    name = _read_current(path)
    handle = problem = None
    with _closing_abandoned_files():
        try:
            ix = whoosh_index.FileIndex(FileStorage(str(path)), indexname=name)
            handle = _Handle(path=path, name=name, stamp=stamp, ix=ix)
            searcher = handle.fresh_searcher()
            if set(searcher.schema.names()) != set(SCHEMA.names()):
                raise _Unreadable("the index was written with another schema")
            searcher.doc_count()
            for hit in searcher.search(Every(), limit=1):
                int(hit["id"])
            for _term in zip(range(1), searcher.lexicon("title"), strict=False):
                pass
        except Exception as error:  # noqa: BLE001 — whoosh reports damage in many ways
            problem = str(error) if isinstance(error, _Unreadable) else f"{type(error).__name__}: {error}"
            if handle is not None:
                handle.close()
    if problem is not None:
        raise _Unreadable(problem)
    return handle


@contextmanager
def _closing_abandoned_files():
    """Whoosh leaves files open when it fails half-way through reading a damaged index.
    Let them close here (the failure is logged by the caller), not whenever the garbage
    collector gets to them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            if sys.exc_info()[0] is None:
                gc.collect(0)


def _current_handle(wait: float) -> _Handle:
    """The open index of this process, reopened when another process switched it,
    repaired when it is missing or unreadable. Call with `_state` held."""
    global _handle
    path = _index_path()
    if _handle is not None and _handle.path == path and _handle.stamp == _stamp(path) \
            and _handle.stamp is not None:
        return _handle
    _forget()
    for attempt in range(3):
        try:
            _handle = _open(path)
            return _handle
        except _Unreadable:
            # A writer in another process may have merged away a segment just as we
            # opened it: only a failure while holding the writer lock means damage.
            time.sleep(0.02 * (attempt + 1))
    _handle = _repair(path, wait)
    return _handle


def _repair(path: Path, wait: float) -> _Handle:
    """Open the index with the writer lock held (no writer at work, so a failure is real
    damage) and rebuild it if it is missing or unreadable."""
    try:
        return _repair_or_rebuild(path, wait)
    except OSError as error:  # no permission, a full disk, a read-only mount…
        log.error("the search index at %s cannot be repaired (%s): search is unavailable", path, error)
        raise SearchUnavailable(UNAVAILABLE) from error


def _repair_or_rebuild(path: Path, wait: float) -> _Handle:
    _make_folder(path)
    lock = _lock_for(path)
    if not _acquire(lock, wait):
        raise SearchUnavailable(REBUILDING)
    try:
        try:
            return _open(path)  # another process repaired it, or the failure was a race
        except _Unreadable as problem:
            damage = problem
        if not any(p.name != "CURRENT" for p in path.iterdir()):
            log.info("creating the search index at %s", path)
        else:
            log.warning("search index at %s is unreadable (%s); rebuilding it", path, damage)
        if _indexable_count() <= INLINE_REBUILD_LIMIT:
            return _build(path)
    finally:
        lock.release()
    # Too long for a request (a worker timeout would kill it half-way, again and again):
    # a thread of this process rebuilds, and search says so meanwhile.
    _rebuild_in_background(path)
    raise SearchUnavailable(REBUILDING)


def _make_folder(path: Path) -> None:
    """The index folder, made if missing. Something else where it should be (a plain
    file, a dangling link) is moved aside, not deleted: the rebuild needs the place."""
    if path.is_dir():
        return
    if path.exists() or path.is_symlink():
        aside = path.with_name(f"{path.name}.moved-aside-{int(time.time())}")
        log.warning("%s is not a folder: moved aside to %s, and the index is rebuilt", path, aside)
        path.rename(aside)
    path.mkdir(parents=True, exist_ok=True)


def _indexable_count() -> int:
    with Session(db.engine) as session:
        return session.scalar(select(func.count(Idea.id)).where(Idea.status.in_(INDEXED_STATUSES))) or 0


_background: set[Path] = set()


def _rebuild_in_background(path: Path) -> None:
    if path in _background:
        return
    _background.add(path)
    app = current_app._get_current_object()

    def run():
        try:
            with app.app_context():
                lock = _lock_for(path)
                if not _acquire(lock, 0.0):
                    return  # another process is at it
                try:
                    try:
                        _open(path).close()
                    except _Unreadable:
                        _build(path).close()
                finally:
                    lock.release()
        except Exception:
            log.exception("rebuilding the search index failed")
        finally:
            _background.discard(path)

    threading.Thread(target=run, name="ideas-search-rebuild", daemon=True).start()


def _forget() -> None:
    global _handle
    if _handle is not None:
        _handle.close()
        _handle = None


def ensure_index(app: Flask | None = None, *, wait: float = OPEN_WAIT) -> whoosh_index.FileIndex:
    """Open the index, rebuilding it from the database when it is missing or unreadable."""
    with _app_context(app), _state:
        return _current_handle(wait).ix


@contextmanager
def _app_context(app: Flask | None):
    if app is None or (has_app_context() and current_app._get_current_object() is app):
        yield
    else:
        with app.app_context():
            yield


def close() -> None:
    """Close this process's searcher (tests, and before forking)."""
    with _state:
        _forget()


# --- building documents ---------------------------------------------------------

def _micros(value: datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value is not None else 0


def _documents(session: Session, idea_ids: Iterable[int]) -> dict[int, dict]:
    """The index documents of these ideas, read with plain queries; drafts and missing ideas are absent."""
    ids = list(idea_ids)
    rows = session.execute(
        select(Idea.id, Idea.challenge_id, Idea.pool, Idea.status, Idea.hidden_at, Idea.title, Idea.summary,
               Idea.body, Idea.published_at, Idea.created_at)
        .where(Idea.id.in_(ids), Idea.status.in_(INDEXED_STATUSES))
    ).all()
    if not rows:
        return {}
    found = [row.id for row in rows]
    tags: dict[int, list[str]] = {}
    for idea_id, tag in session.execute(
        select(IdeaTag.idea_id, IdeaTag.tag).where(IdeaTag.idea_id.in_(found)).order_by(IdeaTag.tag)
    ):
        tags.setdefault(idea_id, []).append(tag)
    comments: dict[int, list[str]] = {}
    for idea_id, body in session.execute(
        select(Comment.idea_id, Comment.body)
        .where(Comment.idea_id.in_(found), Comment.hidden_at.is_(None))
        .order_by(Comment.idea_id, Comment.id)
    ):
        comments.setdefault(idea_id, []).append(body or "")
    documents = {}
    for row in rows:
        documents[row.id] = {
            "id": str(row.id),
            "num": row.id,
            "challenge_id": str(row.challenge_id),
            "pool": row.pool,
            "cpool": f"{row.challenge_id}:{row.pool}",
            "status": row.status,
            "tags": ",".join(tags.get(row.id, [])),
            "title": row.title or "",
            "summary": row.summary or "",
            "body": row.body or "",
            "comments": "\n".join(comments.get(row.id, []))[:MAX_COMMENTS_TEXT],
            "published": _micros(row.published_at or row.created_at),
            "like_title": _scoped_words(row.challenge_id, row.title),
            "like_summary": _scoped_words(row.challenge_id, row.summary),
        }
        if row.hidden_at is not None:
            documents[row.id]["hidden_in"] = str(row.challenge_id)
    return documents


def _scoped_words(challenge_id: int, text: str | None) -> str:
    """The text's words as search reads them (stemmed, lowercased, no stop words),
    each prefixed with the challenge."""
    return " ".join(f"c{challenge_id}_{token.text}" for token in _text(text or ""))


# --- draining the queue -----------------------------------------------------------

def pending() -> bool:
    """Are index jobs waiting?"""
    with db.engine.connect() as connection:
        return connection.execute(select(IndexJob.id).limit(1)).first() is not None


def drain(limit: int = DRAIN_BATCH, *, wait: float = 0.0) -> int:
    """Index the queued changes; returns how many jobs this call processed.

    Never raises and never blocks longer than `wait` for another process: when one
    holds the writer lock, it is the one that finishes the queue.
    """
    with _closing_abandoned_files():
        try:
            return _drain(limit, wait)
        except Exception:  # the jobs stay queued; the next drain retries
            log.exception("draining the search queue failed; the jobs stay queued")
    with _state:
        _forget()  # reopen (and check) the index next time
    return 0


def _drain(limit: int, wait: float) -> int:
    with _state:
        try:
            handle = _current_handle(wait=0.0)
        except SearchUnavailable:
            return 0  # a rebuild is under way elsewhere; it reads the database itself
        ix, path = handle.ix, handle.path
    done = 0
    deadline = time.monotonic() + DRAIN_BUDGET
    while True:
        lock = _lock_for(path)
        if not _acquire(lock, wait):
            return done
        try:
            if _read_current_or_none(path) != ix.indexname:
                return done  # rebuilt meanwhile: the next call opens the new index
            while time.monotonic() < deadline:
                processed = _drain_batch(ix, limit)
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


def _read_current_or_none(path: Path) -> str | None:
    try:
        return _read_current(path)
    except _Unreadable:
        return None


def _drain_batch(ix, limit: int) -> int:
    with Session(db.engine) as session:
        jobs = session.execute(select(IndexJob.id, IndexJob.idea_id).order_by(IndexJob.id).limit(limit)).all()
        if not jobs:
            return 0
        idea_ids = sorted({job.idea_id for job in jobs})
        documents = _documents(session, idea_ids)
        session.rollback()  # read nothing stale later; the delete below starts afresh
        writer = ix.writer(**WRITER_OPTIONS)
        try:
            for idea_id in idea_ids:
                document = documents.get(idea_id)
                if document is None:
                    writer.delete_by_term("id", str(idea_id))
                else:
                    writer.update_document(**document)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        # Only now: a crash before this line re-processes these jobs, never loses them.
        session.execute(delete(IndexJob).where(IndexJob.id.in_([job.id for job in jobs])))
        session.commit()
    return len(jobs)


# --- rebuilding -------------------------------------------------------------------

def reindex(batch: int = 1000, *, wait: float = 60.0) -> int:
    """Rebuild the whole index from the database; returns the number of ideas indexed.
    SearchUnavailable when another process keeps the writer lock longer than `wait`."""
    global _handle
    path = _index_path()
    path.mkdir(parents=True, exist_ok=True)
    with _state:
        _forget()
        lock = _lock_for(path)
        if not _acquire(lock, wait):
            raise SearchUnavailable("Another process is writing the search index.")
        try:
            _handle = _build(path, batch)
        finally:
            lock.release()
        return _handle.ix.doc_count()


def _build(path: Path, batch: int = 1000) -> _Handle:
    """Write a complete new index from the database, then switch CURRENT to it. Hold the lock."""
    name = f"ideas{time.time_ns() // 1000}"
    started = time.monotonic()
    ix = whoosh_index.FileIndex.create(FileStorage(str(path)), SCHEMA, indexname=name)
    count = _fill(ix, batch)
    _switch_current(path, name)
    _remove_other_indexes(path, name)
    log.info("search index built: %d ideas in %.1f s", count, time.monotonic() - started)
    try:
        return _open(path)
    except _Unreadable as error:
        raise SearchUnavailable("The search index could not be rebuilt.") from error


def _fill(ix, batch: int) -> int:
    count = 0
    last = 0
    writer = ix.writer(**REBUILD_WRITER_OPTIONS)
    try:
        with Session(db.engine) as session:
            while True:
                ids = session.scalars(
                    select(Idea.id).where(Idea.id > last, Idea.status.in_(INDEXED_STATUSES))
                    .order_by(Idea.id).limit(batch)
                ).all()
                if not ids:
                    break
                documents = _documents(session, ids)
                for idea_id in ids:
                    if idea_id in documents:
                        writer.add_document(**documents[idea_id])
                        count += 1
                last = ids[-1]
                session.rollback()  # a fresh snapshot per batch: no long-held transaction
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


def _switch_current(path: Path, name: str) -> None:
    temporary = path / f"CURRENT.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{name} {SCHEMA_VERSION}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path / "CURRENT")


def _remove_other_indexes(path: Path, name: str) -> None:
    """Delete the files of earlier indexes (open readers elsewhere keep their data on POSIX)."""
    mine = (f"{name}_", f"_{name}_", f"{name}.")
    for entry in path.iterdir():
        if entry.name == "CURRENT" or entry.name.startswith(mine):
            continue
        try:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except OSError:
            log.debug("could not remove %s", entry, exc_info=True)


# --- searching --------------------------------------------------------------------

@dataclass
class SearchPage:
    items: list[Idea]
    total: int
    page: int
    pages: int
    error: str | None = None  # a gentle notice about the query, or why search is unavailable
    sort: str = "relevance"  # the order actually used
    notices: list[str] = field(default_factory=list)


RankKey = Callable[[list[int]], dict[int, float]]


def search_ideas(
    user,
    query: str | None,
    *,
    challenge_id: int | None = None,
    pool: str | None = None,
    phase: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    rank_key: RankKey | None = None,
) -> SearchPage:
    """The ideas matching `query` that `user` may see, one page of them.

    `sort="rank"` orders the best `RANK_WINDOW` matches by `rank_key(idea_ids) ->
    {idea_id: score}` (higher first; ideas without a score follow by relevance), by
    default `stored_rank(user)`. Never raises for what a person typed.
    """
    notices: list[str] = []
    text, notes = _tidy(query)
    notices += notes
    page = max(1, min(_int(page) or 1, 10_000))
    per_page = max(1, min(_int(per_page) or 20, 100))
    sort = sort if sort in SORTS else "relevance"
    if sort == "rank" and rank_key is None:
        rank_key = stored_rank(user)
    if sort == "relevance" and not text:
        sort = "newest"  # nothing to be relevant to

    challenges = _searchable_challenges(user, challenge_id=_int(challenge_id), phase=phase)
    scope = _visibility(user, challenges)
    if scope is None:
        return SearchPage([], 0, 1, 0, error=" ".join(notices) or None, sort=sort, notices=notices)
    pool = pool if pool in BOTH_POOLS else None
    status = str(status) if status in INDEXED_STATUSES else None
    tag = " ".join(str(tag or "").strip().lower().split())[:40] or None
    if pool:
        scope.wanted["pool"] = {pool}
    if status:
        scope.wanted["status"] = {status}
    scope.tag = tag

    browsing = not text and sort == "newest"

    def run(page: int) -> tuple[list[int], int, list[str]]:
        if browsing:
            groups = _groups(user, challenges)
            return (*_browse(groups, pool=pool, status=status, tag=tag, page=page, per_page=per_page), [])
        return _run_search(text, scope, sort, page, per_page, rank_key)

    if not browsing and not _caller_has_writes() and pending():
        drain(wait=SEARCH_DRAIN_WAIT)

    try:
        ids, total, notes = run(page)
        if not ids and total and page > 1:  # past the last page: show the last one
            page = math.ceil(total / per_page)
            ids, total, notes = run(page)
    except SearchUnavailable as problem:
        notices.append(str(problem))
        return SearchPage([], 0, 1, 0, error=" ".join(notices), sort=sort, notices=notices)
    notices += notes
    pages = max(1, math.ceil(total / per_page)) if total else 0
    items = _visible_ideas(user, ids)
    total -= len(ids) - len(items)
    return SearchPage(items, max(total, 0), min(page, max(pages, 1)), pages,
                      error=" ".join(notices) or None, sort=sort, notices=notices)


def _int(value) -> int | None:
    try:
        return db_int(value) if value not in (None, "") else None
    except (TypeError, ValueError):  # not a number, or beyond any stored id
        return None


def _tidy(query: str | None) -> tuple[str, list[str]]:
    """The query as Whoosh should read it, and what we changed to get there."""
    notes = []
    text = "".join(ch if ch.isprintable() else " " for ch in (query or "")).strip()
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY]
        notes.append(f"Your search was long, so only its first {MAX_QUERY} characters were used.")
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + text[last + 1:]
        notes.append("A quotation mark had no partner, so it was ignored.")
    depth, balanced = 0, True
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        balanced = balanced and depth >= 0
    if depth or not balanced:
        text = text.replace("(", " ").replace(")", " ")
        notes.append("Brackets did not pair up, so they were ignored.")
    return " ".join(text.split()), notes


def _parser() -> MultifieldParser:
    return MultifieldParser(list(SEARCH_FIELDS), _PARSER_SCHEMA, fieldboosts=FIELD_BOOSTS)


def _plain_query(text: str) -> Query | None:
    """Just the words, each to be found in some field: the fallback for odd syntax."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    parser = _parser()
    for plugin_name in ("FieldsPlugin", "WildcardPlugin", "RangePlugin", "BoostPlugin", "OperatorsPlugin",
                        "GroupPlugin", "PhrasePlugin", "SingleQuotePlugin", "EveryPlugin"):
        for plugin in list(parser.plugins):
            if type(plugin).__name__ == plugin_name:
                parser.remove_plugin(plugin)
    return parser.parse(" ".join(words))


def _parse(text: str) -> tuple[Query, list[str]]:
    if not text:
        return Every(), []
    try:
        parsed = _parser().parse(text)
    except Exception:  # noqa: BLE001 — an odd query is the person's right, not our error
        parsed = None
    if parsed is None or parsed is NullQuery or isinstance(parsed, type(NullQuery)):
        plain = _plain_query(text)
        if plain is None or isinstance(plain, type(NullQuery)):
            return Every(), ["Your search had no words to look for, so all ideas are listed."]
        return plain, ["Parts of your search could not be read, so only its words were used."]
    return parsed, []


def _run_search(text: str, scope: _Scope, sort: str, page: int, per_page: int,
                rank_key: RankKey | None) -> tuple[list[int], int, list[str]]:
    parsed, notes = _parse(text)
    start = (page - 1) * per_page

    def run(searcher, query):
        limits = scope.queries(searcher)
        if limits is None:
            return [], 0
        within = {"filter": limits[0], "mask": limits[1]}
        if sort == "rank":
            hits = searcher.search(query, limit=RANK_WINDOW, **within)
            return [int(hit["id"]) for hit in hits], -1  # ordered below, outside the index lock
        if sort == "newest":
            hits = searcher.search(query, limit=page * per_page, **within,
                                   sortedby=[FieldFacet("published", reverse=True), FieldFacet("num", reverse=True)])
        else:
            # Scoring every match in one pass costs less than the top page plus a second
            # pass to count them (measured: bench/search_bench.py).
            hits = searcher.search(query, limit=None, **within)
        return [int(hit["id"]) for hit in hits[start:start + per_page]], len(hits)

    try:
        ids, total = _with_searcher(lambda searcher: run(searcher, parsed))
    except _WorkFailed:
        # The index reads fine but this query does not (say, a range over words): the words alone.
        if isinstance(parsed, Every):
            raise SearchUnavailable(UNAVAILABLE) from None
        log.info("query %r failed twice; searching for its words", text)
        plain = _plain_query(text) or Every()
        try:
            ids, total = _with_searcher(lambda searcher: run(searcher, plain))
        except _WorkFailed:
            raise SearchUnavailable(UNAVAILABLE) from None
        notes = [*notes, "Parts of your search could not be read, so only its words were used."]
    if sort == "rank":
        scores = rank_key(ids) or {}
        if len(scores) < len(ids):
            notes = [*notes, ("Ideas without a ranking you may see yet (voting still hides it, or no "
                              "votes) follow the ranked ones, by relevance.")]
        position = {idea_id: n for n, idea_id in enumerate(ids)}
        ids.sort(key=lambda i: (-scores.get(i, float("-inf")), position[i]))
        return ids[start:start + per_page], len(ids), notes
    return ids, total, notes


def stored_rank(user) -> RankKey:
    """Rank by the scores voting stores per idea, the way this person's ranking page
    orders them: the blended score, the person's own pool's score where pools are
    ranked separately (staff see the blend), the pool's score in one-pool challenges,
    the pairwise score under pairwise voting. Ideas of a challenge whose ranking this
    person may not see yet (voting hides it against herding) get no score."""

    def key(ids: list[int]) -> dict[int, float]:
        from ideas.voting.models import IdeaScore
        from ideas.voting.permissions import can_see_ranking  # the voting pages' rule, not a copy

        scores: dict[int, float] = {}
        shown: dict[int, bool] = {}
        for start in range(0, len(ids), 1000):
            rows = db.session.execute(
                select(IdeaScore, Challenge).join(Challenge, Challenge.id == IdeaScore.challenge_id)
                .where(IdeaScore.idea_id.in_(ids[start:start + 1000]))
            ).all()
            for score, challenge in rows:
                if challenge.id not in shown:
                    shown[challenge.id] = can_see_ranking(user, challenge)
                if shown[challenge.id]:
                    scores[score.idea_id] = getattr(score, _rank_column(user, challenge))
        return scores

    return key


def _rank_column(user, challenge: Challenge) -> str:
    if challenge.voting_policy == "pairwise":
        return "score_pairwise"
    mode = challenge.pool_mode
    if mode == "employees_only":
        return "score_employee"
    if mode == "externals_only":
        return "score_external"
    if mode == "separate" and not permissions.is_staff(user, challenge):
        return f"score_{permissions.user_pool(user)}"
    return "score_blended"


class _WorkFailed(SearchUnavailable):
    """The index opened, but the work failed on two searchers in a row."""


def _with_searcher(work: Callable, *, wait: float = OPEN_WAIT):
    """Run `work(searcher)`. A writer in another process may merge away a segment this
    searcher had not opened yet: on any read error, reopen the index (checking it, and
    rebuilding it if damaged) and try once more."""
    for attempt in (1, 2):
        with _state:
            handle = _current_handle(wait)
            failed = False
            with _closing_abandoned_files():
                try:
                    return work(handle.fresh_searcher())
                except SearchUnavailable:
                    raise
                except Exception:
                    failed = True
                    if attempt == 2:
                        log.warning("searching failed on a fresh searcher too", exc_info=True)
                    else:
                        log.info("searching failed (%s); reopening the index", sys.exc_info()[1])
                    _forget()
            if failed and attempt == 2:
                raise _WorkFailed(UNAVAILABLE)
    raise AssertionError("unreachable")


def _searchable_challenges(user, *, challenge_id: int | None = None, phase: str | None = None) -> list[Challenge]:
    from ideas.challenges.services import visible_challenges

    challenges = visible_challenges(user, limit=100_000)
    if challenge_id is not None:
        challenges = [c for c in challenges if c.id == challenge_id]
    if phase in set(Phase):
        challenges = [c for c in challenges if c.phase == phase]
    return challenges


@dataclass
class _Scope:
    """The documents one person may find, as rules; `queries(searcher)` turns them into
    the Whoosh filter and mask that read the fewest postings."""

    pairs: set[str]  # the "challenge:pool" pairs this person may see
    unhidden: set[str]  # challenges whose hidden ideas this person may see (their staff)
    wanted: dict[str, set[str]] = field(default_factory=dict)  # filters chosen: field -> values
    tag: str | None = None
    masked: list[Query] = field(default_factory=list)  # more to leave out (the idea being edited)

    def queries(self, searcher) -> tuple[Query | None, Query | None] | None:
        """(filter, mask) for `searcher.search`, or None when nothing can match.

        Whoosh turns a filter or a mask into the set of documents it names, reading
        their postings: so each rule takes the smaller side, the values allowed or the
        values present in the index but not allowed (a person who sees every challenge
        gets no filter at all; hidden ideas, few, are always a mask)."""
        allow: list[Query] = []
        deny: list[Query] = list(self.masked)
        for fieldname, wanted in (("cpool", self.pairs), *self.wanted.items()):
            present = _present(searcher, fieldname)
            allowed = [v for v in present if v in wanted]
            denied = [v for v in present if v not in wanted]
            if not allowed:
                return None
            if not denied:
                continue
            if _postings(searcher, fieldname, denied) <= _postings(searcher, fieldname, allowed):
                deny.append(_any(fieldname, denied))
            else:
                allow.append(_any(fieldname, allowed))
        if self.tag:
            allow.append(Term("tags", self.tag))
        hidden = [c for c in _present(searcher, "hidden_in") if c not in self.unhidden]
        if hidden:
            deny.append(_any("hidden_in", hidden))
        return _combine(And, allow), _combine(Or, deny)


def _present(searcher, fieldname: str) -> list[str]:
    return list(searcher.reader().field_terms(fieldname))


def _postings(searcher, fieldname: str, values: list[str]) -> int:
    return sum(searcher.doc_frequency(fieldname, v) for v in values)


def _visibility(user, challenges: Iterable[Challenge]) -> _Scope | None:
    """Only these challenges, within each only the pools this person may see there, and
    no hidden idea outside the challenges they moderate. None when nothing is visible."""
    groups = _groups(user, challenges)
    if not groups:
        return None
    pairs = {f"{cid}:{pool}" for key, ids in groups.items() for cid in ids
             for pool in (BOTH_POOLS if key == STAFF else key)}
    return _Scope(pairs=pairs, unhidden={str(cid) for cid in groups.get(STAFF, [])})


STAFF = ("staff",)
BOTH_POOLS = ("employee", "external")


def _groups(user, challenges: Iterable[Challenge]) -> dict[tuple[str, ...], list[int]]:
    """Visible challenge ids by what this person sees in them: everything (STAFF), or
    the unhidden ideas of these pools."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for challenge in challenges:
        if not permissions.can_see_challenge(user, challenge):
            continue
        key = STAFF if permissions.is_staff(user, challenge) else tuple(sorted(permissions.visible_pools(user, challenge)))
        groups.setdefault(key, []).append(challenge.id)
    return groups


def _browse(groups: dict[tuple[str, ...], list[int]], *, pool: str | None, status: str | None,
            tag: str | None, page: int, per_page: int) -> tuple[list[int], int]:
    """Newest first without words: the same rules as a database query, which needs no
    scoring and no sort over every document (an index on the ideas does the work)."""
    clauses = []
    for key, ids in groups.items():
        parts = [Idea.challenge_id.in_(ids)]
        if key != STAFF:
            parts.append(Idea.hidden_at.is_(None))
            if key != BOTH_POOLS:
                parts.append(Idea.pool.in_(key))
        clauses.append(and_(*parts))
    query = select(Idea.id).where(or_(*clauses), Idea.status.in_(INDEXED_STATUSES))
    if pool:
        query = query.where(Idea.pool == pool)
    if status:
        query = query.where(Idea.status == status)
    if tag:
        query = query.where(Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == tag)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(db.session.scalars(
        query.order_by(Idea.published_at.desc(), Idea.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ))
    return ids, total


def _any(fieldname: str, values: Iterable) -> Query:
    terms = [Term(fieldname, str(v)) for v in values]
    return terms[0] if len(terms) == 1 else Or(terms)


def _combine(kind, queries: Iterable[Query | None]) -> Query | None:
    present = [q for q in queries if q is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else kind(present)


def _visible_ideas(user, ids: list[int]) -> list[Idea]:
    """The ideas in this order, each checked once more against the rules (the index may lag)."""
    if not ids:
        return []
    found = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(ids)))}
    return [found[i] for i in ids
            if i in found and found[i].status in INDEXED_STATUSES and permissions.can_see_idea(user, found[i])]


# --- similar ideas ----------------------------------------------------------------

# Duplicates show in the title and the summary (the long description would multiply the
# postings read for little), compared within the challenge (see `like_title`).
SIMILAR_FIELDS = {"like_title": 3.0, "like_summary": 2.0}
SIMILAR_TERMS = 8  # key terms per field
# In a large challenge, a word found in more than this share of its ideas is left out:
# it tells little about this idea and its postings are the longest to read.
SIMILAR_COMMON_SHARE = 0.1
SIMILAR_COMMON_FROM = 1000  # ideas in the challenge


def similar_ideas(user, challenge: Challenge, title: str, summary: str, *,
                  exclude_id: int | None = None, limit: int = 5) -> list[Idea]:
    """Up to `limit` (at most five) ideas of this challenge that read like this title and
    summary ("more like this": the text's key terms, weighted against the index), best first."""
    limit = max(0, min(_int(limit) or 5, 5))
    text = f"{title or ''}\n{summary or ''}"[:4000].strip()
    if not text or challenge is None or limit == 0 or not permissions.can_see_challenge(user, challenge):
        return []
    scope = _visibility(user, [challenge])
    if scope is None:
        return []
    if exclude_id is not None:
        scope.masked.append(Term("id", str(exclude_id)))
    if not _caller_has_writes() and pending():
        drain()

    def more_like(searcher):
        terms: list[Query] = []
        in_challenge = searcher.doc_frequency("challenge_id", str(challenge.id))
        common = in_challenge * SIMILAR_COMMON_SHARE if in_challenge >= SIMILAR_COMMON_FROM else None
        scoped = _scoped_words(challenge.id, text)
        for fieldname, boost in SIMILAR_FIELDS.items():
            kept = 0
            for word, weight in searcher.key_terms_from_text(fieldname, scoped, numterms=SIMILAR_TERMS * 2):
                if common is not None and searcher.doc_frequency(fieldname, word) > common:
                    continue
                terms.append(Term(fieldname, word, boost=boost * weight))
                kept += 1
                if kept == SIMILAR_TERMS:
                    break
        limits = scope.queries(searcher)
        if not terms or limits is None:
            return []
        hits = searcher.search(Or(terms), filter=limits[0], mask=limits[1], limit=limit + 5)
        return [int(hit["id"]) for hit in hits]

    try:
        ids = _with_searcher(more_like, wait=0.0)
    except SearchUnavailable:
        return []
    return [i for i in _visible_ideas(user, ids) if i.id != exclude_id][:limit]


# --- command line -----------------------------------------------------------------

@click.command("reindex")
@click.option("--batch", default=1000, show_default=True, help="Ideas read from the database at a time.")
@click.option("--wait", default=60.0, show_default=True,
              help="Seconds to wait for another process that is writing the index.")
@with_appcontext
def reindex_command(batch: int, wait: float) -> None:
    """Rebuild the search index from the database."""
    started = time.monotonic()
    try:
        count = reindex(batch=max(1, batch), wait=max(0.0, wait))
    except SearchUnavailable as error:
        raise click.ClickException(
            "Another process is writing the search index; try again when it has finished."
        ) from error
    queued = db.session.scalar(select(func.count(IndexJob.id))) or 0
    click.echo(f"Search index rebuilt: {count} ideas in {time.monotonic() - started:.1f} s"
               f" ({queued} queued changes will be applied by the next drain).")


def register_cli(group: click.Group) -> None:
    """Add `reindex` to the `ideas` command group."""
    if "reindex" not in group.commands:
        group.add_command(reindex_command)

