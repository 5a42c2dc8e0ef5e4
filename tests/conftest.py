"""Fixtures: a fresh app and database per test, and factories for people and sessions.

The suite runs on SQLite by default and on PostgreSQL when IDEAS_TEST_DATABASE_URL
points at one (`make test` does both). The schema comes from the migrations, once
per run; each test then starts from empty tables.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from ideas import clock, create_app
from ideas.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def _base_overrides(instance: Path, url: str) -> dict:
    return {
        "IDEAS_ENV": "testing",
        "IDEAS_INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "IDEAS_SEARCH_INDEX": str(instance / "search-index"),
        "IDEAS_UPLOADS": str(instance / "uploads"),
        "SERVER_NAME": "ideas.test",
    }


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> dict:
    """Migrate once: an SQLite file to copy per test, or a PostgreSQL schema to empty per test."""
    from flask_migrate import upgrade

    url = os.environ.get("IDEAS_TEST_DATABASE_URL", "")
    base = tmp_path_factory.mktemp("template")
    if url:
        app = create_app(_base_overrides(base, url))
        with app.app_context():
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
            upgrade()
            # An engine left to the garbage collector closes its connections with a
            # ResourceWarning, which -W error turns into a failed run.
            db.engine.dispose()
        return {"kind": "postgresql", "url": url}
    path = base / "template.db"
    app = create_app(_base_overrides(base, f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return {"kind": "sqlite", "path": path}


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # DELETE of a few rows is ~50× cheaper than TRUNCATE of 45 tables (measured
        # 6–20 ms against 0.3–0.5 s); then every id sequence starts again at 1.
        db.session.connection().exec_driver_sql("; ".join(f"DELETE FROM {name}" for name in tables))
        db.session.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    The test itself holds an app context for direct database access; without this,
    requests would share its `g` (and so the signed-in person) and its session.
    """

    def open(self, *args, **kwargs):
        db.session.commit()  # what the test wrote is visible to the request
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            db.session.rollback()  # and the test then reads what the request wrote


def build_app(database_template: dict, folder: Path):
    """An app whose instance lives under `folder`, on a copy of the migrated SQLite
    template or on the PostgreSQL database (which the caller empties in its app context)."""
    instance = folder / "instance"
    instance.mkdir()
    if database_template["kind"] == "sqlite":
        target = instance / "ideas.db"
        shutil.copy(database_template["path"], target)
        url = f"sqlite:///{target}"
    else:
        url = database_template["url"]
    application = create_app(_base_overrides(instance, url))
    application.test_client_class = FreshContextClient
    return application


@pytest.fixture
def app(database_template, tmp_path) -> Iterator:
    application = build_app(database_template, tmp_path)
    with application.app_context():
        if database_template["kind"] == "postgresql":
            _empty_tables()
        yield application
        db.session.remove()
        db.engine.dispose()
    clock.set_now(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app) -> Callable:
    """make_user(pool="external", roles=("manager",), verified=True, active=True, **fields)"""
    from ideas.accounts import services
    from ideas.accounts.models import Pool, PoolSource, User

    def factory(
        pool: str = "employee",
        roles: tuple[str, ...] = (),
        verified: bool = True,
        active: bool = True,
        password: str = PASSWORD,
        **fields,
    ) -> User:
        n = next(_counter)
        domain = "staff.example" if pool == Pool.EMPLOYEE else "outside.example"
        user = User(
            name=fields.pop("name", f"Person {n}"),
            email=fields.pop("email", f"person{n}@{domain}"),
            password_hash=services.hash_password(password),
            pool=pool,
            pool_source=PoolSource.ADMIN,
            email_verified_at=clock.now() if verified else None,
            terms_accepted_at=fields.pop("terms_accepted_at", clock.now()),
            active=active,
            **fields,
        )
        db.session.add(user)
        db.session.flush()
        services.set_roles(user, roles)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client) -> Callable:
    """Sign `user` in through the real form (CSRF is on in tests)."""

    def do(user, password: str = PASSWORD, remember: bool = False, target=None):
        target = target or client
        token = csrf_token(target, "/login")
        response = target.post(
            "/login",
            data={"email": user.email, "password": password, "csrf_token": token,
                  **({"remember": "y"} if remember else {})},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def post_form(client) -> Callable:
    """post_form(page, action=None, data={...}): load the page for its CSRF token, then post."""

    def do(page: str, data: dict | None = None, action: str | None = None, target=None, **kwargs):
        target = target or client
        return target.post(action or page, data={"csrf_token": csrf_token(target, page), **(data or {})}, **kwargs)

    return do


@pytest.fixture
def api_token(app) -> Callable:
    from ideas.accounts import services

    def make(user) -> dict:
        _, secret = services.create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def outbox(app) -> Callable:
    """The mail the site wrote, newest last."""
    from sqlalchemy import select

    from ideas.accounts.models import MailMessage

    def read(to: str | None = None) -> list[MailMessage]:
        query = select(MailMessage).order_by(MailMessage.id)
        if to:
            query = query.where(MailMessage.to_address == to)
        return list(db.session.scalars(query))

    return read


def link_in(message, path_prefix: str) -> str:
    match = re.search(rf"https?://[^\s/]+({re.escape(path_prefix)}[^\s]+)", message.body)
    assert match, f"no {path_prefix} link in {message.body!r}"
    return match.group(1)
