"""A throw-away PostgreSQL database for one run of the suite (`make test-pg`).

    python -m tests.pg available     exit 0 when the server answers
    python -m tests.pg create        create a randomly named database, print its URL
    python -m tests.pg drop URL      drop it again (closing any connection left open), and
                                     the databases of its worker processes (`for_worker`)

Tests that need an empty database of their own beside the suite's (migrations run
down and up, a browser's server) use `scratch_database(url)`.

The server is IDEAS_TEST_PG_SERVER (default postgresql://postgres@127.0.0.1:5432/postgres).
Only databases whose name starts with `ideas_test_` are ever dropped.
"""
from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SERVER = os.environ.get("IDEAS_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "ideas_test_"


def _connect():
    return psycopg.connect(SERVER, autocommit=True, connect_timeout=3)


def _url_for(name: str) -> str:
    parts = urlsplit(SERVER)
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))


def available() -> int:
    try:
        with _connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        print(f"PostgreSQL does not answer at {urlsplit(SERVER).netloc}: {error}".strip(), file=sys.stderr)
        return 1
    return 0


def _create(name: str) -> str:
    with _connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # A test database need not survive a crash: no flush to disk on every commit.
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
    return _url_for(name)


def _drop(conn, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create() -> int:
    print(_create(PREFIX + secrets.token_hex(6)))
    return 0


def for_worker(url: str, worker: str) -> str:
    """A database of its own for one process of a run split over several (pytest-xdist's
    `worker`, "gw0"…), named after the run's, so that dropping the run's drops it too
    (a run that was killed may have left it: it starts empty)."""
    name = f"{urlsplit(url).path.lstrip('/')}_{worker}"
    with _connect() as conn:
        _drop(conn, name)
    return _create(name)


def drop_worker(url: str) -> None:
    """Drop a database `for_worker` made."""
    name = urlsplit(url).path.lstrip("/")
    assert re.search(r"_gw\d+$", name), name
    with _connect() as conn:
        _drop(conn, name)


def drop(url: str) -> int:
    """Drop the run's database and those of its worker processes."""
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(PREFIX):
        print(f"refusing to drop {name!r}: not a test database", file=sys.stderr)
        return 2
    with _connect() as conn:
        workers = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (name.replace("_", r"\_") + r"\_gw%",))]
        for each in [name, *workers]:
            _drop(conn, each)
    return 0


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new empty database on the server of `url` (a PostgreSQL URL), dropped on exit."""
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "ideas"
    name = f"{base[:40]}_s{secrets.token_hex(4)}"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            _drop(conn, name)


def main(argv: list[str]) -> int:
    if argv[:1] == ["available"]:
        return available()
    if argv[:1] == ["create"]:
        return create()
    if argv[:1] == ["drop"] and len(argv) == 2:
        return drop(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
