"""Real-browser fixtures: the site served on a free localhost port, Debian's chromium driven by Playwright.

    def test_journey(live_server, page):
        page.goto(live_server.url + "/register")
        ...
        link = live_server.mail_link("grace@outside.example", "/verify/")

The server serves the test's own `app` (a fresh database per test, SQLite or the
PostgreSQL of IDEAS_TEST_DATABASE_URL), so a test can prepare rows with the
factories (make_user, …) and read what the site wrote. Without /usr/bin/chromium
every test here is skipped, and the summary says why.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from ideas.extensions import db

CHROMIUM = os.environ.get("IDEAS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(items):
    """Every test here drives chromium; and each is `once` (docs/testing.md): what chromium
    draws and does depends on the pages, which are the same on either backend, and the
    service calls behind each journey's steps run on both in the route and service tests."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.once)


@dataclass
class LiveServer:
    app: Flask
    url: str

    def mail(self, to: str) -> list:
        """What the site mailed to `to`, oldest first (read fresh: the server commits in its own threads)."""
        from ideas.mail.models import MailMessage

        db.session.rollback()
        return list(db.session.scalars(
            select(MailMessage).where(MailMessage.to_address == to).order_by(MailMessage.id)
        ))

    def mail_link(self, to: str, path_prefix: str) -> str:
        """The newest link starting with `path_prefix` mailed to `to`, as a full URL on this server."""
        for message in reversed(self.mail(to)):
            match = re.search(rf"https?://[^\s/]+({re.escape(path_prefix)}\S+)", message.body)
            if match:
                return self.url + match.group(1)
        raise AssertionError(f"no {path_prefix} link was mailed to {to}")


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    # One access-log line per request would bury a failure's own output.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"
    # Links in mail and redirects name this server, not the test client's ideas.test.
    app.config.update(SERVER_NAME=f"{host}:{port}", IDEAS_BASE_URL=url)
    db.session.commit()  # rows the test prepared must be visible to the server's threads
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        access_log.setLevel(level)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) "
                    "to run the browser tests")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="module")
def shared_site(database_template, tmp_path_factory, browser):
    """One seeded site for a whole module of read-only page checks (see tests/browser/site.py)."""
    from ideas import clock
    from tests.browser.site import Server, SharedSite, seed, start_app

    app, app_context = start_app(database_template, tmp_path_factory.mktemp("shared-site"))
    try:
        users, ids = seed()
        db.session.commit()
        server = Server(app)
        site = SharedSite(url=server.url, users=users, ids=ids)
        try:
            yield site
        finally:
            for tab in site.tabs.values():
                tab.context.close()
            server.stop()
    finally:
        db.session.remove()
        db.engine.dispose()
        app_context.pop()
        clock.set_now(None)


@pytest.fixture(scope="module")
def tab_as(browser, shared_site):
    """tab_as("manager"): a tab signed in as the shared site's manager, made once per module
    and reused (each role's cookies live in their own browser context)."""
    from tests.conftest import PASSWORD

    def tab(role: str, viewport: dict | None = None):
        key = (role, tuple(sorted((viewport or {}).items())))
        if key in shared_site.tabs:
            return shared_site.tabs[key]
        desktop = shared_site.tabs.get((role, ()))
        context = browser.new_context(
            base_url=shared_site.url, viewport=viewport or {"width": 1280, "height": 800},
            # A phone tab starts from the desktop tab's cookies instead of signing in again.
            storage_state=desktop.context.storage_state() if desktop and viewport else None,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        if role != "anonymous" and not (desktop and viewport):
            page.goto("/login")
            page.get_by_label("E-mail").fill(shared_site.users[role].email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").wait_for()
        shared_site.tabs[key] = page
        return page

    return tab
