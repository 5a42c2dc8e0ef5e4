"""The database unreachable: pages answer a friendly 503, the API a JSON 503, both with
Retry-After, and the site recovers by itself when the database is back (no restart).

Two ways to take it away: a fault hook on the engine (both backends: every new
connection and every statement fails as when the server is gone), and on PostgreSQL the
real thing, a TCP proxy between the site and the server that is stopped and started, so
that the pooled connections really die and pool_pre_ping must notice.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from ideas import create_app
from ideas.extensions import db
from tests.challenges.factories import open_challenge
from tests.conftest import _base_overrides, free_port

OUTAGE_SECONDS = float(os.environ.get("IDEAS_OUTAGE_SECONDS", "2"))
PROXY_PORT = free_port()


@contextmanager
def database_down(engine):
    """Every connection attempt and every statement fails, as with the server gone."""
    dbapi = engine.dialect.dbapi

    def refuse_connect(dialect, conn_rec, cargs, cparams):
        raise dbapi.OperationalError("could not connect to server: Connection refused (fault hook)")

    def refuse_statement(conn, cursor, statement, parameters, context, executemany):
        raise dbapi.OperationalError("server closed the connection unexpectedly (fault hook)")

    event.listen(engine, "do_connect", refuse_connect)
    event.listen(engine, "before_cursor_execute", refuse_statement)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse_connect)
        event.remove(engine, "before_cursor_execute", refuse_statement)


def _assert_unavailable(client, headers):
    page = client.get("/challenges")
    assert page.status_code == 503, page.get_data(as_text=True)[:500]
    assert "Back in a moment" in page.get_data(as_text=True) and page.headers["Retry-After"] == "10"
    api = client.get("/api/v1/challenges", headers=headers)
    assert api.status_code == 503 and api.headers["Retry-After"] == "10"
    assert api.get_json()["error"]["code"] == "unavailable"


def _assert_working(client, headers, title):
    page = client.get("/challenges")
    assert page.status_code == 200 and title in page.get_data(as_text=True)
    assert client.get("/api/v1/challenges", headers=headers).status_code == 200


def test_pages_and_api_answer_503_while_the_database_is_away_and_recover(app, client, make_user, login,
                                                                          api_token):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    headers = api_token(manager)
    login(manager)
    _assert_working(client, headers, challenge.title)
    with database_down(db.engine):
        deadline = time.monotonic() + OUTAGE_SECONDS
        while True:
            _assert_unavailable(client, headers)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        form = client.post("/account/profile", data={"name": "Typed while away"})
        assert form.status_code == 503
    _assert_working(client, headers, challenge.title)  # by itself: nothing restarted


class Proxy:
    """127.0.0.1:PROXY_PORT → the PostgreSQL server; stop() drops every connection."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", PROXY_PORT))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self.listener is not None:
            try:  # wakes the thread blocked in accept(), which close() alone would not
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()


def test_postgresql_stopped_and_started_again_is_survived(app, make_user, api_token, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server to stop needs PostgreSQL; SQLite is covered by the fault hook above")
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    headers = api_token(manager)
    db.session.commit()
    real = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    instance = tmp_path / "proxied"
    instance.mkdir()
    url = real.set(host="127.0.0.1", port=PROXY_PORT).render_as_string(hide_password=False)
    site = create_app({**_base_overrides(instance, url), "IDEAS_LAZY_TICK_SECONDS": -1,
                       # The site's own engine options (pool_pre_ping among them), and a short connect timeout.
                       "SQLALCHEMY_ENGINE_OPTIONS": {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                     "connect_args": {"connect_timeout": 2}}})
    client = site.test_client()
    try:
        _assert_working(client, headers, challenge.title)  # a pooled connection now exists
        proxy.stop()
        deadline = time.monotonic() + OUTAGE_SECONDS
        while True:
            _assert_unavailable(client, headers)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        proxy.start()
        _assert_working(client, headers, challenge.title)  # the dead pooled connection was replaced
        # A restart nobody saw (no request in between): the pooled connection is dead
        # without the pool knowing; pool_pre_ping finds out before the request uses it.
        proxy.stop()
        proxy.start()
        _assert_working(client, headers, challenge.title)
    finally:
        proxy.stop()
        with site.app_context():
            db.engine.dispose()
