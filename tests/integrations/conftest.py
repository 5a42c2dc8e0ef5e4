"""A receiver on 127.0.0.1 that records what webhooks send, the review world of
tests/review (a challenge in review, reviewers, owners) to make events happen, and the
API caller of tests/api."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.conftest import api  # noqa: F401  (the API caller, for the review API's tests)
from tests.review.conftest import world  # noqa: F401  (the fixture, for these tests too)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of `answers` (the last one repeats); records it."""

    port: int
    answers: list = field(default_factory=lambda: [200])
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self) -> int | tuple[int, dict]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        self.server.receiver.received.append(  # type: ignore[attr-defined]
            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, data))
        receiver = self.server.receiver  # type: ignore[attr-defined]
        if receiver.delay:
            time.sleep(receiver.delay)
        answer = receiver.answer()
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender gave up waiting

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(port=server.server_address[1])  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.receiver  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def allow_private(app):
    """The administrator allowed private addresses (the receiver is on loopback)."""
    app.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"] = True
    return app


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), name="Ada Admin")


@pytest.fixture
def endpoint(allow_private, admin, receiver) -> Callable:
    """endpoint(events=("decision", …), url=receiver.url) -> (endpoint, secret), committed."""
    from ideas.extensions import db
    from ideas.integrations import webhooks

    def make(events=("decision", "handoff", "acknowledgement", "update", "close"), url=None, **kwargs):
        made = webhooks.create_endpoint(admin, url or receiver.url, events, **kwargs)
        db.session.commit()
        return made

    return make
