"""The event registry: one place where domains announce and others subscribe."""
from __future__ import annotations

import pytest

from ideas import events


@pytest.fixture(autouse=True)
def own_registry(app, monkeypatch):
    """These tests are about the registry itself: other code's subscribers (webhooks)
    are set aside while they run."""
    monkeypatch.setitem(app.extensions, "ideas.events", {})


def test_subscribers_hear_their_event_and_wildcards_hear_all(app) -> None:
    heard = []
    events.subscribe(app, "review.decided", lambda name, payload: heard.append(("one", name, payload)))
    events.subscribe(app, events.ANY, lambda name, payload: heard.append(("all", name, payload)))
    assert events.emit("review.decided", {"decision": "accepted"}) == 2
    assert events.emit("review.closed", {"outcome": "delivered"}) == 1
    assert heard == [("one", "review.decided", {"decision": "accepted"}),
                     ("all", "review.decided", {"decision": "accepted"}),
                     ("all", "review.closed", {"outcome": "delivered"})]


def test_a_handler_gets_its_own_copy_of_the_payload(app) -> None:
    seen = []

    def greedy(name, payload):
        payload["changed"] = True

    events.subscribe(app, "review.closed", greedy)
    events.subscribe(app, "review.closed", lambda name, payload: seen.append(payload))
    events.emit("review.closed", {"outcome": "dropped"})
    assert seen == [{"outcome": "dropped"}]


def test_unknown_names_are_refused_both_ways(app) -> None:
    with pytest.raises(ValueError):
        events.subscribe(app, "review.decide", lambda *_: None)
    with pytest.raises(ValueError):
        events.emit("review.nope", {})


def test_subscribing_twice_is_subscribing_once_and_unsubscribe_works(app) -> None:
    heard = []

    def handler(name, payload):
        heard.append(name)

    events.subscribe(app, "review.started", handler)
    events.subscribe(app, "review.started", handler)
    events.emit("review.started", {})
    events.unsubscribe(app, "review.started", handler)
    events.emit("review.started", {})
    assert heard == ["review.started"]


def test_subscribers_belong_to_one_app(app, tmp_path) -> None:
    from ideas import create_app
    from tests.conftest import _base_overrides

    other = create_app(_base_overrides(tmp_path, f"sqlite:///{tmp_path / 'other.db'}"))
    other.extensions["ideas.events"] = {}
    heard = []
    events.subscribe(other, "review.started", lambda name, payload: heard.append(name))
    assert events.emit("review.started", {}) == 0
    assert heard == []
    with other.app_context():
        from ideas.extensions import db

        db.engine.dispose()
