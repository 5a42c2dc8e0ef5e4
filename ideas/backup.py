"""Online backups of an SQLite database: SQLite's own backup API copies a consistent
snapshot while the site keeps reading and writing (no need to stop it, and never a
torn copy, as a plain file copy of a database in WAL mode can be).

PostgreSQL has its own tools for this (pg_dump, pg_restore): docs/operations.md."""
from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

from ideas.extensions import db

PAGES_PER_STEP = 4096  # ~16 MB at a time: writers wait at most one step, never the whole copy


class BackupError(Exception):
    pass


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: int
    uploads: Path | None = None
    uploads_copied: int = 0


def backup_sqlite(target: str | os.PathLike, *, uploads: bool = True, overwrite: bool = False) -> BackupResult:
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError(
            f"`ideas backup` copies SQLite databases; this site runs on {engine.dialect.name}. Use pg_dump, e.g. "
            f"`pg_dump --format=custom --file=ideas.dump \"$IDEAS_DATABASE_URL\"`, and pg_restore to restore "
            f"(docs/operations.md).")
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupError("This database lives in memory: there is nothing on disk to back up.")
    path = Path(target)
    if path.is_dir():
        path = path / f"ideas-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    if path.resolve() == Path(source).resolve():
        raise BackupError("The backup would overwrite the database itself: choose another path.")
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists: choose another path, or pass --overwrite.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        tables = _copy(Path(source), partial)
        os.replace(partial, path)  # a backup is either whole or absent
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"The backup failed: {error}") from error
    result = BackupResult(path=path, size=path.stat().st_size, tables=tables)
    if uploads:
        result.uploads, result.uploads_copied = _copy_uploads(path)
    return result


def _copy(source: Path, target: Path) -> int:
    src = sqlite3.connect(source, timeout=30)
    dest = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dest, pages=PAGES_PER_STEP, sleep=0.005)
        # One self-contained file: no -wal beside it to forget when copying it away.
        dest.execute("PRAGMA journal_mode=DELETE")
        problem = dest.execute("PRAGMA integrity_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(f"the copy fails its integrity check: {problem}")
        return dest.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        dest.close()
        src.close()


def _copy_uploads(path: Path) -> tuple[Path | None, int]:
    """Uploaded files are stored under their content hash and never change: copying them
    after the database snapshot gives every file the snapshot refers to."""
    folder = Path(current_app.config["IDEAS_UPLOADS"])
    if not folder.is_dir():
        return None, 0
    target = path.with_name(f"{path.stem}-uploads")
    copied = 0
    for file in folder.rglob("*"):
        if file.is_file() and not file.name.startswith("."):
            out = target / file.relative_to(folder)
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, out)
                copied += 1
    return target, copied
