"""Fixtures: a fresh app and database per test, and factories for people and sessions.

The suite runs on SQLite by default and on PostgreSQL when IDEAS_TEST_DATABASE_URL
points at one (`make test` does both). The schema comes from the migrations, once
per run; each test then starts from empty tables.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import event, text

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


def pytest_configure(config):
    """`make test-pg` splits the suite over two processes (pytest-xdist): each takes a
    database of its own beside the run's, dropped with it. The environment carries it, so
    whatever reads IDEAS_TEST_DATABASE_URL later (a test's scratch database, a server a
    test starts) finds this process's."""
    url, worker = os.environ.get("IDEAS_TEST_DATABASE_URL", ""), os.environ.get("PYTEST_XDIST_WORKER", "")
    if url and worker:
        from tests import pg

        own = os.environ["IDEAS_TEST_DATABASE_URL"] = pg.for_worker(url, worker)
        config.add_cleanup(lambda: pg.drop_worker(own))


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server a test starts: several
    suites run side by side (both backends, and each in more than one process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


# `make test` runs the two backends side by side and hands each a share of the tests that
# cannot tell the backends apart (marked `once`: what a page looks like to axe-core, what
# a person does in chromium, the pure rules). IDEAS_TEST_SHARE="1/3" keeps the first of
# every three such tests, in the order of their ids, "2,3/3" the second and third; the
# rest are deselected. Without it (make test-sqlite, make test-pg, a bare pytest) every
# test runs. Every share collects the same tests, so each runs exactly once.
SHARE = os.environ.get("IDEAS_TEST_SHARE", "")


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its tests
def pytest_collection_modifyitems(config, items):
    if not SHARE:
        return
    mine, count = SHARE.split("/")
    kept = {int(part) - 1 for part in mine.split(",")}
    once = sorted(item.nodeid for item in items if item.get_closest_marker("once"))
    other = {nodeid for n, nodeid in enumerate(once) if n % int(count) not in kept}
    if other:
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in other])
        items[:] = [item for item in items if item.nodeid not in other]


def _empty_tables() -> None:
    """Every table emptied, and on PostgreSQL every id sequence back at 1.

    Most tests write to a handful of the 45 tables: one statement finds those that hold
    rows, and only they are deleted from (in the order the foreign keys need)."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    connection = db.session.connection()
    filled = {row[0] for row in connection.exec_driver_sql(probe)}
    dirty = [name for name in tables if name in filled]
    if db.engine.dialect.name == "postgresql":
        # DELETE of a few rows is ~50× cheaper than TRUNCATE of 45 tables (measured
        # 6–20 ms against 0.3–0.5 s); then every id sequence starts again at 1.
        if dirty:
            connection.exec_driver_sql("; ".join(f"DELETE FROM {name}" for name in dirty))
        connection.exec_driver_sql("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
    else:
        # An emptied SQLite table numbers its rows from 1 again, as a fresh copy of the
        # template would (no table uses AUTOINCREMENT, so there is no sequence to reset).
        for name in dirty:
            connection.exec_driver_sql(f"DELETE FROM {name}")
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
                response = super().open(*args, **kwargs)
        finally:
            db.session.rollback()  # and the test then reads what the request wrote
        _check_post_forms(response)
        return response


_POST_FORM = re.compile(r"<form\b[^>]*\bmethod=[\"']?post\b[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)


def _check_post_forms(response) -> None:
    """Every form that posts carries its CSRF token, on every page any test receives."""
    if response.mimetype != "text/html" or response.is_streamed:
        return
    for form in _POST_FORM.finditer(response.get_data(as_text=True)):
        assert 'name="csrf_token"' in form.group(0), f"a form without its CSRF token: {form.group(0)[:300]}"


@pytest.fixture(scope="session")
def site(database_template, tmp_path_factory) -> Iterator[Flask]:
    """The one app of the run, built once: building an app costs ~0.1 s of CPU (every
    URL rule compiled, every blueprint registered), more than most tests themselves.
    `app` puts it back as new before each test. A test that needs other settings at
    start-up (the environment, rate limits on) still builds its own with create_app."""
    application = build_app(database_template, tmp_path_factory.mktemp("site"))
    with application.app_context():
        event.listen(db.engine, "before_cursor_execute", _note_write)
    _pristine[application] = (copy.deepcopy(dict(application.config)), dict(application.extensions))
    _pristine_events[application] = {name: list(handlers)
                                      for name, handlers in application.extensions.get("ideas.events", {}).items()}
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if "folder" in _snapshots:
        shutil.rmtree(_snapshots.pop("folder"), ignore_errors=True)


def build_app(database_template: dict, folder: Path) -> Flask:
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
    # The scheduler stays out of requests: its jobs would run on every request of every
    # test. The tests of the scheduler and of what it moves on turn it on (`lazy_tick`).
    application = create_app({**_base_overrides(instance, url), "IDEAS_LAZY_TICK_SECONDS": -1})
    application.test_client_class = FreshContextClient
    return application


# The shared app's settings and registries as create_app left them.
_pristine: dict[Flask, tuple[dict, dict]] = {}
_pristine_events: dict[Flask, dict[str, list]] = {}


def _restore(application: Flask, instance: Path) -> None:
    """Put the shared app back as create_app left it, with this test's own instance folder."""
    from ideas import search
    from ideas.extensions import limiter

    config, extensions = _pristine[application]
    application.config.clear()
    application.config.update(copy.deepcopy(config))
    application.config.update(
        INSTANCE_PATH=str(instance),
        IDEAS_SEARCH_INDEX=str(instance / "search-index"),
        IDEAS_UPLOADS=str(instance / "uploads"),
    )
    application.instance_path = str(instance)
    application.extensions.clear()
    application.extensions.update(extensions)
    # The event registry's lists would be shared with the snapshot: a listener a test
    # subscribes (tests/test_events.py, the review's transition tests) must not outlive it.
    application.extensions["ideas.events"] = {
        name: list(handlers) for name, handlers in _pristine_events[application].items()}
    # The limiter is one object for every app: an app built with limits on (a test of
    # the limits) leaves it on, and its counters, until it is bound to this app again.
    limiter.init_app(application)
    search.close()  # the next search opens this test's (empty) index
    clock.set_now(None)


@pytest.fixture
def app(site, tmp_path) -> Iterator[Flask]:
    """The site on empty tables, a new search index and uploads folder, the clock
    running, settings and registries as create_app left them, the scheduler off."""
    instance = tmp_path / "instance"
    instance.mkdir()
    _restore(site, instance)
    with site.app_context():
        _empty_tables()
        _state["base"] = ("empty",)
        yield site
        db.session.remove()
    from ideas import search

    search.close()
    clock.set_now(None)


# The dashboards' tallies are kept by triggers on votes and ideas (ideas/insight/tallies.py):
# putting those rows back counts them again, so the tallies' own rows are never put back.
TALLY_TABLES = frozenset({"insight_vote_weights", "insight_activity"})


@dataclasses.dataclass
class _Snapshot:
    rows: dict[str, list[dict]]  # table -> its rows, tables in the order the foreign keys need
    sequences: list[tuple[str, int]]  # PostgreSQL: each id sequence's last value
    frozen: object  # the clock, as the build left it
    files: Path  # the instance folder's search index and uploads
    keys: object  # what the build returned, each row replaced by its class and primary key


@dataclasses.dataclass(frozen=True)
class _Key:
    cls: type
    identity: tuple


def _to_keys(value):
    from sqlalchemy import inspect as inspect_row

    if isinstance(value, db.Model):
        db.session.flush()
        return _Key(type(value), inspect_row(value).identity)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _to_keys(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    if isinstance(value, dict):
        return {k: _to_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_keys(v) for v in value)
    return value


def _keys_in(value, found: set) -> set:
    if isinstance(value, _Key):
        found.add(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _keys_in(getattr(value, f.name), found)
    elif isinstance(value, dict):
        for v in value.values():
            _keys_in(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _keys_in(v, found)
    return found


def _from_keys(value, loaded: dict | None = None):
    """`value` with each _Key replaced by its row, found in one query per class (their
    relationships are not loaded here: the caller expires them all)."""
    from sqlalchemy import inspect as inspect_row
    from sqlalchemy import select, tuple_
    from sqlalchemy.orm import lazyload

    if loaded is None:
        loaded = {}
        by_class: dict[type, list[_Key]] = {}
        for key in _keys_in(value, set()):
            by_class.setdefault(key.cls, []).append(key)
        for cls, keys in by_class.items():
            columns = inspect_row(cls).primary_key
            rows = db.session.scalars(select(cls).where(tuple_(*columns).in_([k.identity for k in keys]))
                                      .options(lazyload("*")))
            for row in rows:
                loaded[_Key(cls, inspect_row(row).identity)] = row
    if isinstance(value, _Key):
        assert value in loaded, f"{value.cls.__name__} {value.identity} is not in the snapshot"
        return loaded[value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _from_keys(getattr(value, f.name), loaded)
                                             for f in dataclasses.fields(value) if f.init})
    if isinstance(value, dict):
        return {k: _from_keys(v, loaded) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_from_keys(v, loaded) for v in value)
    return value


def _capture(folder: Path, keys) -> _Snapshot:
    from ideas import search

    db.session.commit()
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name not in TALLY_TABLES:
            found = [dict(r) for r in db.session.execute(table.select()).mappings()]
            if found:
                rows[table.name] = found
    sequences = []
    if db.engine.dialect.name == "postgresql":
        sequences = [tuple(r) for r in db.session.execute(text(
            "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences WHERE last_value IS NOT NULL"))]
    db.session.commit()
    search.close()
    instance = Path(current_app.instance_path)
    for name in ("search-index", "uploads"):
        if (instance / name).exists():
            shutil.copytree(instance / name, folder / name)
    return _Snapshot(rows, sequences, clock.now() if clock._frozen is not None else None, folder, keys)


def _put_back(snap: _Snapshot):
    """The snapshot's rows, sequences, clock and files in place of what the test has."""
    from ideas import search

    db.session.rollback()
    _empty_tables()
    tables = {table.name: table for table in db.metadata.sorted_tables}
    for name, rows in snap.rows.items():
        db.session.execute(tables[name].insert(), rows)
    for name, value in snap.sequences:
        db.session.execute(text("SELECT setval(:name, :value, true)"), {"name": name, "value": value})
    db.session.commit()
    search.close()
    instance = Path(current_app.instance_path)
    for name in ("search-index", "uploads"):
        shutil.rmtree(instance / name, ignore_errors=True)
        if (snap.files / name).exists():
            shutil.copytree(snap.files / name, instance / name)
    clock.set_now(snap.frozen)
    world = _from_keys(snap.keys)
    db.session.expire_all()  # as after the build's last commit: each row is read again when first used
    return world


# What the database holds, when the suite knows it: ("empty",) after a test's tables are
# emptied, a snapshot's key after it was put back; None once anything else wrote to it
# (a statement other than a read, seen on the shared app's engine; other processes'
# writes are not seen, and no test uses both).
_state: dict = {"base": None, "patched": False}
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN", "PRAGMA", "SHOW")
_snapshots: dict = {}


def _note_write(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if _state["base"] is not None and not statement.lstrip()[:10].upper().startswith(_READS):
        _state["base"] = None


@pytest.fixture(autouse=True)
def _snapshot_guard(request):
    """A test that patches code may change what a build writes: it builds its own."""
    _state["patched"] = "monkeypatch" in request.fixturenames
    yield
    _state["base"] = None


def snapshot(name: str, build: Callable):
    """What `build()` makes, built once per run and put back for every later test that
    asks for it from the same start (its rows, id sequences, clock, search index and
    uploads), with the rows it returned loaded again by primary key.

    For the worlds many tests build alike (tests/review's `world`, an idea walked to a
    state in it): building one costs dozens of service calls, putting it back one INSERT
    per table. The start is empty tables or another snapshot just put back, at the same
    clock; every test, the first included, gets the result put back, so all start alike.
    Whenever that cannot be known to hold, `build()` simply runs for this test alone, as
    before: the test wrote rows, has changes not yet flushed, changed a setting or an
    event listener, patches code (`monkeypatch`), or the build left the clock running
    or changed a setting itself."""
    app = current_app._get_current_object()
    base = _state["base"]
    session = db.session()
    if base is None or _state["patched"] or app not in _pristine or _differs(app) or \
            session.new or session.dirty or session.deleted:
        return build()
    key = (name, base, clock._frozen, id(app))
    snap = _snapshots.get(key)
    if snap is None:
        built = build()
        if clock._frozen is None or _differs(app):
            return built  # a world built on a running clock would age between tests
        folder = _snapshots.setdefault("folder", Path(tempfile.mkdtemp(prefix="ideas-snapshots-")))
        snap = _snapshots[key] = _capture(folder / str(len(_snapshots)), _to_keys(built))
    world = _put_back(snap)
    _state["base"] = key
    return world


def _differs(app: Flask) -> bool:
    """Are the app's settings or event listeners not those create_app gave it?"""
    config = _pristine[app][0]
    ignored = ("INSTANCE_PATH", "IDEAS_SEARCH_INDEX", "IDEAS_UPLOADS")
    if any(app.config.get(k) != config.get(k) for k in set(app.config) | set(config) if k not in ignored):
        return True
    return app.extensions.get("ideas.events", {}) != _pristine_events[app]


@pytest.fixture(name="snapshot")
def snapshot_fixture(app) -> Callable:
    """snapshot(name, build): see `snapshot` above."""
    return snapshot


@pytest.fixture
def lazy_tick(app) -> Flask:
    """Requests run the scheduler again, on every request (as IDEAS_LAZY_TICK_SECONDS=0
    does): for the tests of what moves on by itself when somebody visits."""
    app.config["IDEAS_LAZY_TICK_SECONDS"] = 0
    return app


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


def sign_in(client, user, password: str = PASSWORD, remember: bool = False) -> None:
    """Sign `user` in on `client` as the sign-in form does, without the two requests.

    The credentials are checked by the same service the form calls (a wrong password or a
    deactivated account fails here, and the last sign-in time is recorded), then Flask-Login
    writes the session in a request from the client's own address and browser, so the
    session is "fresh" and survives session protection; "remember me" sets its cookie on
    the client's next response. Signing in through the form is tested in tests/accounts.
    """
    from flask import session
    from flask_login import login_user

    from ideas.accounts import services

    person = services.authenticate(user.email, password)
    assert person is not None, f"{user.email} cannot sign in with that password (or is deactivated)"
    db.session.commit()
    person.get_id(), person.is_active  # loaded here, in the test's own session
    app = client.application
    # A context of its own, so the test's `g` does not keep the signed-in person.
    with app.app_context(), app.test_request_context(environ_base=client.environ_base):
        login_user(person, remember=remember, fresh=True)
        signed = dict(session)
    with client.session_transaction() as stored:
        stored.update(signed)


def sign_in_through_form(client, user, password: str = PASSWORD, remember: bool = False):
    """Sign in with the real form (its page, its CSRF token, its POST); returns the POST's response."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": token,
              **({"remember": "y"} if remember else {})},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login(client) -> Callable:
    """login(user, password=…, remember=False, target=client): signed in (see `sign_in`)."""

    def do(user, password: str = PASSWORD, remember: bool = False, target=None) -> None:
        sign_in(target or client, user, password=password, remember=remember)

    return do


@pytest.fixture
def login_form(client) -> Callable:
    """login_form(user, …): sign in through the form itself, for the tests of signing in."""

    def do(user, password: str = PASSWORD, remember: bool = False, target=None):
        return sign_in_through_form(target or client, user, password=password, remember=remember)

    return do


def csrf_token(client, path: str) -> str:
    """The CSRF token the page at `path` carries (fetches the page)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def session_csrf_token(client) -> str:
    """A valid CSRF token for `client`'s session, made as a page would make it (by
    Flask-WTF's generate_csrf, from the session's secret), without fetching a page."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    app = client.application
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    with client.session_transaction() as stored:
        # A context of its own: generate_csrf keeps the token it made on `g`.
        with app.app_context(), app.test_request_context():
            if field in stored:
                session[field] = stored[field]  # sign the secret the client's pages already use
            token = generate_csrf()
            if field not in stored:
                stored[field] = session[field]
    return token


@pytest.fixture
def post_form(client) -> Callable:
    """post_form(page, action=None, data={...}): post the form of `page` (to `action`, or back
    to `page`) with a valid CSRF token of the client's session. The page is not fetched:
    GET it in the test when what it shows matters."""

    def do(page: str, data: dict | None = None, action: str | None = None, target=None, **kwargs):
        target = target or client
        return target.post(action or page, data={"csrf_token": session_csrf_token(target), **(data or {})},
                           **kwargs)

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

    from ideas.mail.models import MailMessage

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


@pytest.fixture
def cached(app, tmp_path):
    """The site's cache switched on for one test (the suite runs with NullCache): the
    default filesystem cache in the test's folder, and the tick off, so that only the
    test's own changes move a generation."""
    from ideas import caching

    caching.cache.init_app(app, config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache"),
                                        "CACHE_DEFAULT_TIMEOUT": 300})
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1
    assert caching.enabled()
    return app

