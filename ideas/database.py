"""Connection settings and the request's single transaction."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from ideas.extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Without WAL and a busy timeout, concurrent writers from several workers fail
    # with "database is locked". SQLite takes one writer at a time: in a rush (fifty
    # votes at once on a busy machine) a write may wait several seconds for its turn,
    # so it waits up to 15 s, well inside gunicorn's 30 s, before answering 503.
    # Foreign keys are off in SQLite unless asked for.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def seconds_between(start, end) -> ColumnElement:
    """SQL for the seconds from `start` to `end` (both UTC timestamps), on either backend:
    aggregates of durations (time in a stage, time to acknowledge) stay in the database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def insert_for_dialect():
    """The database's own INSERT construct (for `on_conflict_do_nothing`): one statement
    where a savepoint around an ORM add would cost three."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def init_database(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            if not event.contains(engine, "connect", _sqlite_pragmas):
                event.listen(engine, "connect", _sqlite_pragmas)
            database = engine.url.database
            if database and database != ":memory:":
                from pathlib import Path

                Path(database).parent.mkdir(parents=True, exist_ok=True)

    @app.after_request
    def _commit(response):
        # The request owns the transaction: services flush, and the request commits
        # once when it succeeded, or rolls back when it did not. A request that never
        # touched the database (a page from the cache) has nothing to end.
        if not db.session().in_transaction():
            return response
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response
