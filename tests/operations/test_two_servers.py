"""Two servers, as in docs/deployment.md: two gunicorn servers on two ports share one
PostgreSQL and one Redis (caches and rate limits) and no folder but the uploads; each
keeps its own instance folder (and so its own search index folder).

Votes sent through both at once end exact; a ranking cached on one is never stale
after a vote through the other; a rate limit counts the attempts made on both; an idea
submitted through one is found by search on the other within 5 seconds.

Runs on PostgreSQL (IDEAS_TEST_DATABASE_URL) with Redis at IDEAS_TEST_REDIS_URL
(default redis://127.0.0.1:6379/0); skipped, saying why, when either does not answer.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from ideas import config as config_module
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.voting.models import Vote
from tests.api.test_concurrent_votes import stored_aggregates_match_the_votes
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PORTS = (free_port(), free_port())
REDIS_URL = os.environ.get("IDEAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "two-servers-" + "k" * 52  # one secret for both: a session or token works on either
VOTERS, IDEAS, OPS_EACH = 8, 3, 8
SEARCH_SECONDS = 5.0


def _skip(reason: str):
    print(f"SKIPPED: {reason}")
    pytest.skip(reason)


def _gunicorn() -> str:
    found = Path(sys.executable).with_name("gunicorn")
    return str(found) if found.exists() else (shutil.which("gunicorn") or _skip("gunicorn is not installed"))


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        _skip(f"Redis does not answer at {REDIS_URL}: {error}")
    return client


@dataclass
class Server:
    port: int

    def send(self, method: str, path: str, headers: dict | None = None, payload=None,
             timeout: float = 30) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(payload).encode() if payload is not None else None
            sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw or b"{}")
            except ValueError:
                return response.status, {"raw": raw[:200].decode("utf-8", "replace")}
        finally:
            connection.close()


@contextmanager
def two_servers(app, tmp_path: Path, **settings: str) -> Iterator[tuple[Server, Server]]:
    """Both servers, answering; stopped (SIGTERM) afterwards."""
    if db.engine.dialect.name != "postgresql":
        _skip("two servers share one PostgreSQL: run with IDEAS_TEST_DATABASE_URL (make test-pg)")
    _redis()
    gunicorn = _gunicorn()
    db.session.commit()
    uploads = tmp_path / "uploads"  # the one folder they share
    uploads.mkdir(exist_ok=True)
    processes, logs = [], []
    try:
        for n, port in enumerate(PORTS):
            instance = tmp_path / f"server-{n}"
            instance.mkdir()
            env = {**os.environ, "IDEAS_ENV": "production", "IDEAS_SECRET_KEY": SECRET, "IDEAS_HTTPS": "0",
                   "IDEAS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                   "IDEAS_INSTANCE_PATH": str(instance), "IDEAS_SEARCH_INDEX": str(instance / "search-index"),
                   "IDEAS_UPLOADS": str(uploads), "IDEAS_CACHE_URL": REDIS_URL,
                   "IDEAS_RATELIMIT_STORAGE_URL": REDIS_URL, "IDEAS_RATELIMIT_ENABLED": "1",
                   "IDEAS_TRUST_PROXY": "1", "IDEAS_WORKER": "1", **settings}
            log = open(tmp_path / f"server-{n}.log", "w")  # noqa: SIM115 — closed below
            logs.append(log)
            processes.append(subprocess.Popen(
                [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2", "--preload", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        servers = tuple(Server(port) for port in PORTS)
        deadline = time.monotonic() + 120
        for n, server in enumerate(servers):
            while True:
                try:
                    if server.send("GET", "/healthz", timeout=5)[0] == 200:
                        break
                except OSError:
                    pass
                if processes[n].poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server {n} did not answer: " + (tmp_path / f"server-{n}.log").read_text()[-3000:])
                time.sleep(0.2)
        print(f"two servers answered after {time.monotonic() - deadline + 120:.1f} s")
        yield servers  # type: ignore[misc]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _voting_challenge(make_user, api_token):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    ideas = [idea_in(challenge, make_user(), title=f"Two servers idea {n}") for n in range(IDEAS)]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    return manager, challenge, ideas


def _raw_votes(server: Server, challenge_id: int, token: dict) -> dict[int, int]:
    status, ranking = server.send("GET", f"/api/v1/challenges/{challenge_id}/ranking?pool=blended", token)
    assert status == 200, ranking
    return {line["id"]: line["raw_votes"] for line in ranking["ideas"]}


def _votes_in_database(challenge_id: int) -> dict[int, int]:
    db.session.rollback()
    counts: dict[int, int] = {}
    for vote in db.session.scalars(select(Vote).where(Vote.challenge_id == challenge_id)):
        counts[vote.idea_id] = counts.get(vote.idea_id, 0) + 1
    return counts


@pytest.mark.timeout(420)  # two real servers on a shared 2-core machine
def test_two_servers_count_every_vote_once_and_never_show_a_stale_ranking(app, make_user, api_token, tmp_path):
    manager, challenge, ideas = _voting_challenge(make_user, api_token)
    voters = [make_user(pool="external" if n % 3 == 0 else "employee") for n in range(VOTERS + 1)]
    tokens = [api_token(v) for v in voters]
    staff = api_token(manager)
    idea_ids, voter_ids, challenge_id = [i.id for i in ideas], [v.id for v in voters], challenge.id

    with two_servers(app, tmp_path) as servers:
        # Both at once: each voter sends each vote or withdrawal through either server.
        wanted: dict[tuple[int, int], bool] = {}
        answers: list[int] = []
        start = threading.Barrier(VOTERS)

        def storm(n: int) -> None:
            rng = random.Random(n)
            start.wait(timeout=60)
            for _ in range(OPS_EACH):
                idea_id, vote = rng.choice(idea_ids), rng.random() < 0.7
                status, _ = rng.choice(servers).send("POST" if vote else "DELETE",
                                                     f"/api/v1/ideas/{idea_id}/vote", tokens[n],
                                                     payload={} if vote else None)
                # Withdrawing a vote one does not have answers 404, and changes nothing.
                answers.append(status if vote or status != 404 else 204)
                wanted[(voter_ids[n], idea_id)] = vote

        threads = [threading.Thread(target=storm, args=(n,)) for n in range(VOTERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        print(f"{len(answers)} votes and withdrawals through both servers in {time.monotonic() - started:.1f} s")
        assert all(200 <= status < 300 for status in answers), sorted(set(answers))
        assert len(answers) == VOTERS * OPS_EACH

        stored = {(v.voter_id, v.idea_id) for v in
                  db.session.scalars(select(Vote).where(Vote.challenge_id == challenge_id))}
        assert stored == {key for key, vote in wanted.items() if vote}
        for idea_id in idea_ids:
            stored_aggregates_match_the_votes(idea_id)
        counts = _votes_in_database(challenge_id)
        for server in servers:
            assert _raw_votes(server, challenge_id, staff) == {i: counts.get(i, 0) for i in idea_ids}

        # A ranking cached on one server, a vote through the other: the next read shows it.
        first, second = servers
        redis = _redis()
        late_voter, target = tokens[VOTERS], idea_ids[0]
        for reader, writer in ((first, second), (second, first)):
            before = _raw_votes(reader, challenge_id, staff)
            assert _raw_votes(reader, challenge_id, staff) == before  # now from the cache
            assert redis.exists(f"ideas:gen:c:{challenge_id}"), "the servers do not keep their caches in Redis"
            voted = target not in {i for (voter, i), vote in wanted.items() if voter == voter_ids[VOTERS] and vote}
            status, _ = writer.send("POST" if voted else "DELETE", f"/api/v1/ideas/{target}/vote", late_voter,
                                    payload={} if voted else None)
            assert 200 <= status < 300
            wanted[(voter_ids[VOTERS], target)] = voted
            assert _raw_votes(reader, challenge_id, staff)[target] == before[target] + (1 if voted else -1)

        # One Redis counts the attempts on both: 10 password attempts a minute per address.
        # The minute starts at an address's first attempt (the counter expires a minute
        # after it is made), so a new address starts a whole one.
        address = {"X-Forwarded-For": f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"}
        statuses = [servers[n % 2].send("POST", "/api/v1/tokens", address,
                                        payload={"email": "nobody@example.org", "password": "wrong " * 3})[0]
                    for n in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses


@pytest.mark.timeout(300)
def test_an_idea_submitted_through_one_server_is_found_by_search_on_the_other(app, make_user, api_token, tmp_path):
    if "IDEAS_SEARCH_BACKEND" not in config_module.load({"IDEAS_ENV": "testing"}):
        _skip("search across servers needs the PostgreSQL full-text backend (IDEAS_SEARCH_BACKEND=postgres), "
              "which this code does not have yet: with Whoosh each server keeps its own index folder, and each "
              "queued change is indexed once, by whichever server or worker takes it, so the other server's "
              "folder never hears of the idea")
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    author = make_user()
    author_token, reader_token = api_token(author), api_token(make_user())
    word = f"zeppelin{secrets.token_hex(3)}"
    with two_servers(app, tmp_path, IDEAS_SEARCH_BACKEND="postgres") as (first, second):
        status, idea = first.send("POST", f"/api/v1/challenges/{challenge.id}/ideas", author_token,
                                  payload={"title": f"A {word} for the night shift", "summary": "Quiet lights",
                                           "accept_terms": True})
        assert status == 201, idea
        submitted = time.monotonic()
        found = []
        while not found and time.monotonic() - submitted < SEARCH_SECONDS:
            status, result = second.send("GET", f"/api/v1/search?q={word}", reader_token)
            assert status == 200, result
            found = [item["id"] for item in result["items"]]
            if not found:
                time.sleep(0.2)
        print(f"found on the other server after {time.monotonic() - submitted:.2f} s")
        assert found == [idea["id"]]
