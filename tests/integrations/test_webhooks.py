"""Webhooks end to end: review steps queue deliveries in their own transaction; the
scheduler sends them signed to a receiver on 127.0.0.1, retries with back-off on a
controllable clock, gives up after the last attempt, and logs every attempt."""
from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from ideas import clock, create_app, events, integrations, scheduler
from ideas.extensions import db
from ideas.integrations import signing, urls, webhooks
from ideas.integrations.models import WebhookAttempt, WebhookDelivery
from ideas.review import services
from tests.conftest import _base_overrides
from tests.review.conftest import walk


def deliveries() -> list[WebhookDelivery]:
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def tick(at=None) -> int:
    """One run of the site's scheduler at `at` (default: the frozen now); the webhook
    job's count of attempts."""
    if at is not None:
        clock.set_now(at)
    result = scheduler.run()
    db.session.expire_all()
    return result["webhooks"]


def test_the_scheduler_runs_the_webhook_job(app):
    assert "webhooks" in [job.name for job in scheduler.jobs(app)]


def test_the_package_subscribes_webhooks_to_each_review_event_once():
    bare = Flask(__name__)
    integrations.init_app(bare)
    integrations.init_app(bare)
    registry = bare.extensions["ideas.events"]
    assert set(registry) == set(webhooks.SOURCES) <= set(events.REVIEW_EVENTS)
    assert all(handlers == [webhooks.queue_review_event] for handlers in registry.values())


def test_the_webhook_settings_come_from_the_environment_unless_the_app_was_given_them(monkeypatch):
    monkeypatch.setenv("IDEAS_WEBHOOK_ALLOW_PRIVATE", "yes")
    monkeypatch.setenv("IDEAS_WEBHOOK_TIMEOUT", "2.5")
    from_env = Flask(__name__)
    integrations.init_app(from_env)
    assert (from_env.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"], from_env.config["IDEAS_WEBHOOK_TIMEOUT"]) == (True, 2.5)
    given = Flask(__name__)
    given.config.update(IDEAS_WEBHOOK_ALLOW_PRIVATE=False, IDEAS_WEBHOOK_TIMEOUT=1.0)
    integrations.init_app(given)
    assert (given.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"], given.config["IDEAS_WEBHOOK_TIMEOUT"]) == (False, 1.0)
    monkeypatch.delenv("IDEAS_WEBHOOK_ALLOW_PRIVATE")
    monkeypatch.delenv("IDEAS_WEBHOOK_TIMEOUT")
    unset = Flask(__name__)
    integrations.init_app(unset)
    assert (unset.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"], unset.config["IDEAS_WEBHOOK_TIMEOUT"]) == (
        False, webhooks.DEFAULT_TIMEOUT)


def test_a_second_app_in_the_process_leaves_one_delivery_per_event(world, endpoint, app, tmp_path):
    other = create_app(_base_overrides(tmp_path, f"sqlite:///{tmp_path / 'other.db'}"))
    try:
        for each in (app, other):
            registry = each.extensions["ideas.events"]
            assert [registry[name].count(webhooks.queue_review_event) for name in webhooks.SOURCES] == [
                1] * len(webhooks.SOURCES)
        endpoint(events=("decision",))
        review = walk(world, world.idea, "in_review")
        services.decide(review, world.manager, "accepted", "Cuts queues in half")
        db.session.commit()
        [delivery] = deliveries()
        assert delivery.source_event == "review.decided"
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_review_step_queues_a_delivery_with_the_change_and_a_rollback_takes_it_back(world, endpoint):
    endpoint(events=("decision",))
    review = walk(world, world.idea, "in_review")
    services.decide(review, world.manager, "accepted", "Cuts queues in half", note="Budget is tight")
    assert [d.event for d in deliveries()] == ["decision"]  # written, not yet committed
    db.session.rollback()
    assert deliveries() == []
    services.decide(review, world.manager, "accepted", "Cuts queues in half", note="Budget is tight")
    db.session.commit()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.source_event) == ("pending", 0, "review.decided")


def test_the_payload_is_what_an_r_and_d_tool_may_see(world, endpoint):
    world.challenge.blind_review = True
    db.session.commit()
    endpoint(events=("decision",))
    review = walk(world, world.idea, "declined")  # with an internal note along the way
    [delivery] = deliveries()
    data = json.loads(delivery.payload)
    assert data["decision"] == "declined" and data["reason"] == "Because it is declined"
    assert data["idea_id"] == world.idea.id and data["review_id"] == review.id
    assert data["idea_url"] == f"http://ideas.test/ideas/{world.idea.id}"
    text = delivery.payload
    assert "internal" not in text and "budget" not in text
    assert world.author.name not in text and "author_id" not in data


def test_each_endpoint_hears_only_the_events_it_takes(world, endpoint, admin, receiver):
    decisions, _ = endpoint(events=("decision",))
    closes, _ = endpoint(events=("close",))
    everything, _ = endpoint()
    paused, _ = endpoint(active=False)
    review = walk(world, world.idea, "acknowledged")
    services.post_progress(review, world.owner, "A pilot at gate B")
    services.close(review, world.owner, "delivered", "Live at two airports")
    db.session.commit()
    by_endpoint = {}
    for d in deliveries():
        by_endpoint.setdefault(d.endpoint_id, []).append(d.event)
    assert by_endpoint[decisions.id] == ["decision"]
    assert by_endpoint[closes.id] == ["close"]
    assert by_endpoint[everything.id] == ["decision", "handoff", "acknowledgement", "update", "close"]
    assert paused.id not in by_endpoint


def test_a_returned_handoff_goes_to_those_following_handoffs(world, endpoint):
    endpoint(events=("handoff",))
    walk(world, world.idea, "handoff_declined")
    assert [d.event for d in deliveries()] == ["handoff", "handoff_declined"]
    assert "No team" not in deliveries()[1].payload  # the owner's reason is for the managers


def test_the_delivery_is_signed_and_verifies_with_the_secret_only(world, endpoint, receiver):
    _, secret = endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    assert tick() == 1
    [got] = receiver.received
    [delivery] = deliveries()
    headers = got.headers
    assert got.path == "/hook"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-ideas-event"] == "decision"
    assert headers["x-ideas-delivery"] == str(delivery.id)
    assert headers["x-ideas-attempt"] == "1"
    assert headers["x-ideas-timestamp"] == str(int(clock.now().timestamp()))
    now = clock.now().timestamp()
    assert signing.verify(secret, got.body, headers["x-ideas-timestamp"], headers["x-ideas-signature"], now=now)
    assert not signing.verify(signing.new_secret(), got.body, headers["x-ideas-timestamp"],
                              headers["x-ideas-signature"], now=now)
    body = json.loads(got.body)
    assert (body["id"], body["event"], body["review_event"]) == (delivery.id, "decision", "review.decided")
    assert body["data"]["decision"] == "accepted"
    assert got.body == webhooks.body_of(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at == clock.now() and delivery.next_attempt_at is None
    [attempt] = delivery.attempt_log
    assert (attempt.number, attempt.status_code, attempt.error, attempt.next_retry_at) == (1, 200, "", None)
    assert attempt.duration_ms >= 0
    assert tick() == 0  # delivered once


def test_a_failing_receiver_is_retried_with_back_off_then_the_delivery_fails(world, endpoint, receiver):
    receiver.answers = [500]
    endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    start = clock.now()
    at = start
    expected_delays = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                       timedelta(hours=12)]
    assert tick(at) == 1
    for attempt, delay in enumerate(expected_delays, start=1):
        [delivery] = deliveries()
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert delivery.next_attempt_at == at + delay
        assert tick(at + delay - timedelta(seconds=1)) == 0  # not before its time
        at += delay
        assert tick(at) == 1
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 6, None)
    assert delivery.last_status_code == 500 and "500" in delivery.last_error
    assert tick(at + timedelta(days=30)) == 0  # given up for good

    log = delivery.attempt_log
    assert [a.number for a in log] == [1, 2, 3, 4, 5, 6]
    assert all(a.status_code == 500 and "answered 500" in a.error for a in log)
    times = [start]
    for delay in expected_delays:
        times.append(times[-1] + delay)
    assert [a.at for a in log] == times
    assert [a.next_retry_at for a in log] == [*times[1:], None]
    # The receiver saw the same delivery six times, with the attempt counted.
    assert [r.headers["x-ideas-delivery"] for r in receiver.received] == [str(delivery.id)] * 6
    assert [r.headers["x-ideas-attempt"] for r in receiver.received] == ["1", "2", "3", "4", "5", "6"]
    assert len({r.body for r in receiver.received}) == 1


def test_a_receiver_that_recovers_gets_the_delivery_on_a_retry(world, endpoint, receiver):
    receiver.answers = [503, 202]
    endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    assert tick() == 1
    assert tick(clock.now() + timedelta(minutes=1)) == 1
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [a.status_code for a in delivery.attempt_log] == [503, 202]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_network_error_is_logged_and_retried(world, endpoint):
    endpoint(events=("decision",), url=f"http://127.0.0.1:{_closed_port()}/hook")
    walk(world, world.idea, "accepted")
    assert tick() == 1
    [delivery] = deliveries()
    [attempt] = delivery.attempt_log
    assert attempt.status_code is None and "refused" in attempt.error
    assert delivery.status == "pending" and delivery.next_attempt_at == clock.now() + timedelta(minutes=1)


def test_a_slow_receiver_times_out(world, endpoint, receiver, app):
    app.config["IDEAS_WEBHOOK_TIMEOUT"] = 0.2
    receiver.delay = 0.6
    endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    assert tick() == 1
    [attempt] = deliveries()[0].attempt_log
    assert attempt.status_code is None and attempt.error == "No answer within 0.2 seconds."
    assert attempt.duration_ms < 600


def test_redirects_are_never_followed(world, endpoint, receiver):
    receiver.answers = [(302, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    assert tick() == 1
    assert len(receiver.received) == 1
    [delivery] = deliveries()
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "follow no redirects" in delivery.last_error


def test_the_address_is_checked_again_at_send_time(world, endpoint, receiver, app, monkeypatch):
    """DNS rebinding: the name was fine when it was saved, and points inside when it is used."""
    answers = {"hooks.test": "93.184.215.14"}

    def fake_dns(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(urls, "getaddrinfo", fake_dns)
    app.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"] = False
    endpoint(events=("decision",), url=f"http://hooks.test:{receiver.port}/hook")
    answers["hooks.test"] = "127.0.0.1"
    walk(world, world.idea, "accepted")
    assert tick() == 1
    [delivery] = deliveries()
    assert receiver.received == []
    assert delivery.last_error.startswith("Not sent: “hooks.test” resolves to 127.0.0.1, a loopback address")
    assert delivery.status == "pending"


def test_the_sender_connects_to_the_address_it_checked_and_names_the_host(world, endpoint, receiver,
                                                                          monkeypatch):
    monkeypatch.setattr(urls, "getaddrinfo", lambda host, port, type=0: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))])
    endpoint(events=("decision",), url=f"http://hooks.test:{receiver.port}/in?team=rd")
    walk(world, world.idea, "accepted")
    assert tick() == 1
    [got] = receiver.received
    assert got.path == "/in?team=rd" and got.headers["host"] == f"hooks.test:{receiver.port}"


def test_a_paused_endpoint_keeps_its_queue_until_it_is_active_again(world, endpoint, receiver, admin):
    hook, _ = endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    webhooks.update_endpoint(hook, admin, hook.url, hook.events, active=False)
    db.session.commit()
    assert tick() == 0
    webhooks.update_endpoint(hook, admin, hook.url, hook.events, active=True)
    db.session.commit()
    assert tick() == 1 and deliveries()[0].status == "delivered"


def test_a_rotated_secret_signs_the_next_attempts(world, endpoint, receiver, admin):
    receiver.answers = [500, 200]
    hook, old = endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    tick()
    new = webhooks.rotate_secret(hook, admin)
    db.session.commit()
    tick(clock.now() + timedelta(minutes=1))
    first, second = receiver.received
    now = clock.now().timestamp()
    assert signing.verify(old, first.body, first.headers["x-ideas-timestamp"], first.headers["x-ideas-signature"],
                          now=now - 60)
    assert signing.verify(new, second.body, second.headers["x-ideas-timestamp"],
                          second.headers["x-ideas-signature"], now=now)
    assert not signing.verify(old, second.body, second.headers["x-ideas-timestamp"],
                              second.headers["x-ideas-signature"], now=now)


def test_a_redelivery_is_a_new_delivery_of_the_same_event(world, endpoint, receiver, admin):
    receiver.answers = [200]
    endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    tick()
    [first] = deliveries()
    again = webhooks.redeliver(first, admin)
    db.session.commit()
    tick()
    assert again.id != first.id and again.redelivery_of_id == first.id
    one, two = receiver.received
    assert json.loads(one.body)["data"] == json.loads(two.body)["data"]
    assert json.loads(two.body)["id"] == again.id


def test_a_ping_goes_out_like_any_event(endpoint, receiver, admin, app):
    hook, secret = endpoint(events=("close",))
    webhooks.send_ping(hook, admin)
    db.session.commit()
    assert tick() == 1
    [got] = receiver.received
    assert got.headers["x-ideas-event"] == "ping"
    assert signing.verify(secret, got.body, got.headers["x-ideas-timestamp"], got.headers["x-ideas-signature"],
                          now=int(got.headers["x-ideas-timestamp"]))


def test_deleting_an_endpoint_takes_its_queue_and_log(world, endpoint, receiver, admin):
    hook, _ = endpoint(events=("decision",))
    walk(world, world.idea, "accepted")
    tick()
    webhooks.delete_endpoint(hook, admin)
    db.session.commit()
    assert deliveries() == []
    assert db.session.scalar(select(func.count(WebhookAttempt.id))) == 0


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.com/", "http://127.0.0.1", "http://10.0.0.1", "http://[::1]",
    "http://169.254.169.254", "http://0x7f000001", "http://user:pass@host",
])
def test_the_service_refuses_bad_urls_with_a_clear_message(url, app, admin):
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.create_endpoint(admin, url, ["decision"])
    assert refused.value.field == "url" and refused.value.message.endswith((".", "setting."))
    db.session.rollback()
    assert webhooks.list_endpoints() == []


def test_only_administrators_manage_webhooks(app, make_user):
    manager = make_user(roles=("manager",))
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.create_endpoint(manager, "https://93.184.215.14/in", ["decision"])
    assert refused.value.status == 403


def test_events_must_be_known_and_at_least_one(app, admin):
    with pytest.raises(webhooks.WebhookError, match="at least one"):
        webhooks.create_endpoint(admin, "https://93.184.215.14/in", [])
    with pytest.raises(webhooks.WebhookError, match="Unknown event: vote"):
        webhooks.create_endpoint(admin, "https://93.184.215.14/in", ["decision", "vote"])


def test_a_request_that_runs_the_scheduler_sends_only_a_couple(lazy_tick, endpoint, receiver, admin, client):
    """Sites without cron send from requests' lazy ticks: a page waits for two at most."""
    hook, _ = endpoint(events=("close",))
    for _ in range(5):
        webhooks.send_ping(hook, admin)
    db.session.commit()
    with client.get("/healthz"):
        pass
    assert len(receiver.received) == webhooks.LAZY_BATCH == 2
    assert tick() == 3  # cron takes the rest


def test_https_receivers_must_show_a_certificate_the_site_trusts(app, allow_private, tmp_path):
    """The pinned connection still checks the certificate against the host name."""
    import shutil
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass

    server = Server(("127.0.0.1", 0), Quiet)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        outcome = webhooks.post(f"https://127.0.0.1:{server.server_address[1]}/hook", b"{}", {}, seconds=2)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert outcome.status_code is None
    assert outcome.error == "The receiver's TLS certificate was not accepted: self-signed certificate."
