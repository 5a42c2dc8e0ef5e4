"""The Whoosh index on disk: opening it, checking it, repairing and rebuilding it,
and running work on a searcher that survives another process's commit.

How it stays readable is told in docs/search.md ("Keeping the index readable")."""
from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.query import Every
from whoosh.util.filelock import FileLock

from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.search import postgres, settings
from ideas.search.documents import (
    INDEXED_STATUSES,
    SCHEMA,
    SCHEMA_VERSION,
    documents_for,
)
from ideas.search.models import IndexJob

log = logging.getLogger("ideas.search")

# Writer settings: one process, modest memory, separate segment files (see docs/search.md).
WRITER_OPTIONS = {"procs": 1, "limitmb": 32, "compound": False}
REBUILD_WRITER_OPTIONS = {"procs": 1, "limitmb": 128, "compound": False}

OPEN_WAIT = 3.0  # seconds a search waits for a rebuild in another process
INLINE_REBUILD_LIMIT = 5000  # ideas; a larger automatic rebuild runs in a background thread
REBUILDING = "The search index is being rebuilt. Please try again in a minute."
UNAVAILABLE = "Search is not available right now. Please try again."

_NAME = re.compile(r"^ideas\d+$")


class SearchUnavailableError(RuntimeError):
    """The index cannot be read right now (being rebuilt elsewhere, or broken beyond repair)."""



@dataclass
class _Handle:
    path: Path
    name: str
    stamp: tuple
    ix: whoosh_index.FileIndex
    searcher: object | None = None
    # The queued jobs this process's rebuild of the index already covers (`_queued_jobs`).
    covered: frozenset[tuple] = frozenset()

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


state_lock = threading.RLock()  # guards _handle and every use of its searcher in this process
_handle: _Handle | None = None


def _index_path(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["IDEAS_SEARCH_INDEX"])


def lock_for(path: Path) -> FileLock:
    # Beside the folder, not in it, so that deleting or replacing the folder cannot
    # leave two processes each holding "the" lock.
    return FileLock(str(path.parent / f"{path.name}.lock"))


def acquire(lock: FileLock, wait: float) -> bool:
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
    with closing_abandoned_files():
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
            _read_postings_and_lengths(searcher)
        except Exception as error:  # noqa: BLE001 — whoosh reports damage in many ways
            problem = str(error) if isinstance(error, _Unreadable) else f"{type(error).__name__}: {error}"
            if handle is not None:
                handle.close()
    if problem is not None:
        raise _Unreadable(problem)
    return handle


def _read_postings_and_lengths(searcher) -> None:
    """An emptied postings or field-length file opens fine and then fails every search:
    read, in each segment, one term's postings and one field length per scored field. A
    document found under a term of a field has a length there: an emptied lengths file
    reads as none."""
    for reader, _offset in searcher.reader().leaf_readers():
        for fieldname in SCHEMA.scorable_names():
            term = next(iter(reader.field_terms(fieldname)), None)
            if term is not None:
                docnum = next(iter(reader.postings(fieldname, term).all_ids()))
                if not reader.doc_field_length(docnum, fieldname):
                    raise _Unreadable(f"the lengths of the {fieldname} field are missing")


@contextmanager
def closing_abandoned_files():
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


def current_handle(wait: float) -> _Handle:
    """The open index of this process, reopened when another process switched it,
    repaired when it is missing or unreadable. Call with `state_lock` held."""
    global _handle
    path = _index_path()
    stamp = _stamp(path)
    if _handle is not None and _handle.path == path and _handle.stamp == stamp and stamp is not None:
        return _handle
    forget()
    # No CURRENT file: no index yet (or one deleted), not a race with a writer, so it is
    # made at once instead of after three tries that cannot succeed.
    for attempt in range(3 if stamp is not None else 0):
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
        raise SearchUnavailableError(UNAVAILABLE) from error


def _repair_or_rebuild(path: Path, wait: float) -> _Handle:
    _make_folder(path)
    lock = lock_for(path)
    if not acquire(lock, wait):
        raise SearchUnavailableError(REBUILDING)
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
    raise SearchUnavailableError(REBUILDING)


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
                lock = lock_for(path)
                if not acquire(lock, 0.0):
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


def forget() -> None:
    global _handle
    if _handle is not None:
        _handle.close()
        _handle = None


def ensure_index(app: Flask | None = None, *, wait: float = OPEN_WAIT) -> whoosh_index.FileIndex | None:
    """Open the index, rebuilding it from the database when it is missing or unreadable.
    None when PostgreSQL answers searches: there is no index folder then."""
    with _app_context(app):
        if settings.uses_postgres():
            return None
        with state_lock:
            return current_handle(wait).ix


@contextmanager
def _app_context(app: Flask | None):
    if app is None or (has_app_context() and current_app._get_current_object() is app):
        yield
    else:
        with app.app_context():
            yield


def close() -> None:
    """Close this process's searcher (tests, and before forking)."""
    with state_lock:
        forget()



def read_current_or_none(path: Path) -> str | None:
    try:
        return _read_current(path)
    except _Unreadable:
        return None



def reindex(batch: int = 1000, *, wait: float = 60.0) -> int:
    """Rebuild the whole index from the database; returns the number of ideas indexed.
    SearchUnavailableError when another process keeps the writer lock longer than `wait`.
    On PostgreSQL its search documents are rewritten too (one statement per batch, in one
    transaction), whichever backend answers, so a bulk load that bypassed `enqueue`
    leaves both right; when PostgreSQL answers, that is all there is to rebuild."""
    global _handle
    if db.engine.dialect.name == "postgresql":
        with Session(db.engine) as session:
            count = postgres.rebuild(session, batch)
            session.commit()
        if settings.uses_postgres():
            return count
    path = _index_path()
    path.mkdir(parents=True, exist_ok=True)
    with state_lock:
        forget()
        lock = lock_for(path)
        if not acquire(lock, wait):
            raise SearchUnavailableError("Another process is writing the search index.")
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
    covered = _queued_jobs()
    count = _fill(ix, batch)
    _switch_current(path, name)
    _remove_other_indexes(path, name)
    log.info("search index built: %d ideas in %.1f s", count, time.monotonic() - started)
    try:
        handle = _open(path)
    except _Unreadable as error:
        raise SearchUnavailableError("The search index could not be rebuilt.") from error
    handle.covered = covered
    return handle


# At most this many queued jobs are taken as covered by a rebuild; any beyond are indexed.
COVERED_JOBS_LIMIT = 10_000


def _queued_jobs() -> frozenset[tuple]:
    """The jobs committed before a rebuild reads the ideas: the rebuild sees their
    changes, so the next drain deletes them without indexing those ideas a second time.
    Only these: a job committed later may carry a change the rebuild read too early.
    Each is known by its id and time, as SQLite gives a deleted job's id to the next."""
    with Session(db.engine) as session:
        return frozenset(tuple(row) for row in session.execute(
            select(IndexJob.id, IndexJob.created_at).order_by(IndexJob.id).limit(COVERED_JOBS_LIMIT)))


@contextmanager
def writing(ix, options: dict):
    """A writer of `ix` that commits when the block ends, or cancels if it fails."""
    writer = ix.writer(**options)
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def _fill(ix, batch: int) -> int:
    count = 0
    last = 0
    with writing(ix, REBUILD_WRITER_OPTIONS) as writer, Session(db.engine) as session:
        while True:
            ids = session.scalars(
                select(Idea.id).where(Idea.id > last, Idea.status.in_(INDEXED_STATUSES))
                .order_by(Idea.id).limit(batch)
            ).all()
            if not ids:
                break
            documents = documents_for(session, ids)
            for idea_id in ids:
                if idea_id in documents:
                    writer.add_document(**documents[idea_id])
                    count += 1
            last = ids[-1]
            session.rollback()  # a fresh snapshot per batch: no long-held transaction
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



class WorkFailed(SearchUnavailableError):
    """The index opened, but the work failed on two searchers in a row."""


def with_searcher(work: Callable, *, wait: float = OPEN_WAIT):
    """Run `work(searcher)`. A writer in another process may merge away a segment this
    searcher had not opened yet: on any read error, reopen the index (checking it, and
    rebuilding it if damaged) and try once more."""
    for attempt in (1, 2):
        with state_lock:
            handle = current_handle(wait)
            failed = False
            with closing_abandoned_files():
                try:
                    return work(handle.fresh_searcher())
                except SearchUnavailableError:
                    raise
                except Exception:
                    failed = True
                    if attempt == 2:
                        log.warning("searching failed on a fresh searcher too", exc_info=True)
                    else:
                        log.info("searching failed (%s); reopening the index", sys.exc_info()[1])
                    forget()
            if failed and attempt == 2:
                raise WorkFailed(UNAVAILABLE)
    raise AssertionError("unreachable")

