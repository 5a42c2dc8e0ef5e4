"""The worker (`flask ideas worker`): the scheduler's jobs out of requests.

Workers on several servers share one database: two of them working through the same
queue never send one mail or one webhook twice; any other job runs in one process at a
time. With a worker (IDEAS_WORKER), a request makes no outbound call: the mail and the
webhooks it caused wait for the worker. The worker stops cleanly on SIGTERM.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from ideas import mail, scheduler
from ideas.extensions import db
from ideas.integrations import webhooks
from ideas.integrations.models import WebhookDelivery
from ideas.mail.models import MailMessage
from tests.accounts.test_registration import register
from tests.operations.test_mail_outage import TinySmtp

ROOT = Path(__file__).resolve().parents[2]
MAILS, PINGS = 20, 30


@pytest.fixture
def smtp(app):
    server = TinySmtp(0)  # a free port
    app.config.update(IDEAS_SMTP_HOST="127.0.0.1", IDEAS_SMTP_PORT=server.port, IDEAS_SMTP_STARTTLS=False)
    yield server
    server.close()


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_two_workers_on_one_queue_never_send_one_mail_or_webhook_twice(app, smtp, endpoint, receiver, admin):
    hook, _ = endpoint(events=("close",))
    for _ in range(PINGS):
        webhooks.send_ping(hook, admin)
    for n in range(MAILS):
        mail.send_mail(f"person{n}@example.org", f"Message {n}", "Hello")
    db.session.commit()
    receiver.delay = 0.03  # a receiver that takes its time, so the two workers overlap
    start = threading.Barrier(2)
    counts: list[dict] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                counts.append(scheduler.run())
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures

    sent = Counter(r.headers["x-ideas-delivery"] for r in receiver.received)
    assert len(sent) == PINGS and set(sent.values()) == {1}, sent.most_common(3)
    subjects = Counter(line for message in smtp.messages for line in message.splitlines()
                       if line.startswith("Subject: "))
    assert len(subjects) == MAILS and set(subjects.values()) == {1}, subjects.most_common(3)
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {"delivered"}
    assert {(m.status, m.attempts) for m in db.session.scalars(select(MailMessage))} == {("sent", 1)}
    print(f"webhooks per worker: {[c['webhooks'] for c in counts]}, mail per worker: {[c['mail'] for c in counts]}")
    if _postgresql():  # rows locked FOR UPDATE SKIP LOCKED: both workers took a share
        assert all(c["webhooks"] > 0 for c in counts), counts
    assert sum(c["webhooks"] for c in counts) == PINGS and sum(c["mail"] for c in counts) == MAILS


def test_a_request_sends_nothing_when_a_worker_runs_and_the_worker_sends_it(lazy_tick, smtp, endpoint, receiver,
                                                                            admin, client):
    lazy_tick.config["IDEAS_WORKER"] = True
    hook, _ = endpoint(events=("close",))
    webhooks.send_ping(hook, admin)
    db.session.commit()
    assert register(client).status_code == 302  # writes a verification mail
    client.get("/healthz")
    assert receiver.received == [] and smtp.messages == []
    db.session.expire_all()
    assert db.session.scalars(select(WebhookDelivery.status)).all() == ["pending"]
    assert db.session.scalars(select(MailMessage.status)).all() == ["pending"]

    result = lazy_tick.test_cli_runner().invoke(args=["ideas", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "webhooks: 1" in result.output and "mail: 1" in result.output
    assert len(receiver.received) == 1
    assert [m for m in smtp.messages if "grace@outside.example" in m]


def test_without_a_worker_requests_still_run_the_jobs(lazy_tick, endpoint, receiver, admin, client):
    """The embedded default (`make run`): nothing else runs, so requests do it lazily."""
    hook, _ = endpoint(events=("close",))
    webhooks.send_ping(hook, admin)
    db.session.commit()
    client.get("/healthz")
    assert len(receiver.received) == 1


def test_a_job_runs_in_one_process_at_a_time(app):
    held, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with app.app_context(), scheduler.exclusive("phases") as mine:
            assert mine
            held.set()
            release.wait(timeout=60)

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        busy = scheduler.run()
        tick = app.test_cli_runner().invoke(args=["ideas", "tick"])
    finally:
        release.set()
        thread.join(timeout=30)
    assert busy["phases"] is None and busy["digests"] == 0
    assert "phases: running in another process" in tick.output
    assert scheduler.run()["phases"] == 0  # released: this process runs it again


def _worker_env(app) -> dict:
    return {**os.environ, "IDEAS_ENV": "production", "IDEAS_SECRET_KEY": "k" * 64, "IDEAS_HTTPS": "0",
            "IDEAS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "IDEAS_INSTANCE_PATH": app.instance_path,
            "IDEAS_SEARCH_INDEX": app.config["IDEAS_SEARCH_INDEX"], "IDEAS_UPLOADS": app.config["IDEAS_UPLOADS"],
            "IDEAS_WORKER": "1"}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_keeps_sending_until_it_is_told_to_stop(app, sig, endpoint, receiver, admin, tmp_path):
    hook, _ = endpoint(events=("close",))
    log_path = tmp_path / "worker.log"

    def output() -> str:
        return log_path.read_text()

    def wait_for(what, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not what() and time.monotonic() < deadline:
            assert worker.poll() is None, output()[-3000:]
            time.sleep(0.1)

    with open(log_path, "w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "ideas", "worker",
                                   "--interval", "0.2"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env={**_worker_env(app), "IDEAS_WEBHOOK_ALLOW_PRIVATE": "1"})
        try:
            wait_for(lambda: "worker started" in output())
            for expected in (1, 2):  # queued while it runs: each goes out on a later round
                webhooks.send_ping(hook, admin)
                db.session.commit()
                wait_for(lambda n=expected: len(receiver.received) >= n)
                assert len(receiver.received) == expected, output()[-3000:]
            worker.send_signal(sig)
            code = worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert code == 0, output()[-3000:]
    assert f"{sig.name}: stopping after the job under way" in output()
    assert "worker stopped after" in output()
