"""A worker killed (kill -9) in the middle of a vote storm: no vote lost, none doubled.

gunicorn serves the test's database with two workers; voters cast and withdraw votes
through the API while a worker is killed three times (gunicorn starts a new one). A
request whose answer was lost with its worker is sent again, as a client would: a vote
is "this person supports this idea", so sending it twice must not count twice. At the
end the votes in the database are exactly the last thing each voter asked for, and the
stored aggregates equal the votes they sum.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.voting.models import Vote
from tests.api.test_concurrent_votes import stored_aggregates_match_the_votes
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import free_port

PORT = free_port()
ROOT = Path(__file__).resolve().parents[2]
VOTERS, IDEAS, OPS_EACH, KILLS = 6, 3, 25, 3
# A worker is killed once it has served this long: a fork of the preloaded site (--preload)
# answers at once, so well over a second is well into the storm.
SERVING_SECONDS = 1.5


def _gunicorn() -> str:
    found = Path(sys.executable).with_name("gunicorn")
    return str(found) if found.exists() else (shutil.which("gunicorn") or pytest.skip("gunicorn is not installed"))


def _workers(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def _send(method: str, path: str, token: dict) -> int | None:
    """The status, or None when the answer never came (the worker died with it)."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        body = json.dumps({}).encode() if method == "POST" else None
        headers = {**token, "Content-Type": "application/json"} if body else token
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


@pytest.mark.timeout(300)  # a real server, three worker restarts
def test_a_worker_killed_during_a_vote_storm_loses_and_doubles_nothing(app, make_user, api_token, tmp_path):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    ideas = [idea_in(challenge, make_user(), title=f"Idea number {n}") for n in range(IDEAS)]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    voters = [make_user(pool="external" if n % 3 == 0 else "employee") for n in range(VOTERS)]
    tokens = [api_token(v) for v in voters]
    db.session.commit()
    idea_ids, voter_ids = [i.id for i in ideas], [v.id for v in voters]  # plain values for the threads

    env = {**os.environ, "IDEAS_ENV": "production", "IDEAS_SECRET_KEY": "k" * 64, "IDEAS_HTTPS": "0",
           "IDEAS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "IDEAS_INSTANCE_PATH": app.instance_path,
           "IDEAS_SEARCH_INDEX": app.config["IDEAS_SEARCH_INDEX"], "IDEAS_UPLOADS": app.config["IDEAS_UPLOADS"],
           "IDEAS_LAZY_TICK_SECONDS": "-1", "IDEAS_RATELIMIT_ENABLED": "0"}
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 — closed below
    # --preload: a replacement worker is a fork of the loaded site, at once, not a fresh start.
    server = subprocess.Popen([_gunicorn(), "-w", "2", "-b", f"127.0.0.1:{PORT}", "--graceful-timeout", "1",
                               "--preload", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if _send("GET", "/api/v1/me", tokens[0]) == 200:
                break
            if server.poll() is not None:
                pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer: " + (tmp_path / "gunicorn.log").read_text()[-3000:])

        wanted: dict[tuple[int, int], bool] = {}
        lost_answers, answered = [], []
        server_errors = []

        # The storm lasts until every kill is done (each worker must have served a few
        # seconds first, which a quiet machine would otherwise outrun), within a bound.
        kills_done = threading.Event()
        sent = Counter()

        def storm(n: int) -> None:
            rng = random.Random(n)
            while sent[n] < OPS_EACH or (not kills_done.is_set() and sent[n] < 20 * OPS_EACH):
                sent[n] += 1
                idea_id = rng.choice(idea_ids)
                vote = rng.random() < 0.7
                method = "POST" if vote else "DELETE"
                for _attempt in range(50):
                    status = _send(method, f"/api/v1/ideas/{idea_id}/vote", tokens[n])
                    if status is None:
                        lost_answers.append(n)
                        time.sleep(0.05)
                        continue
                    if status >= 500:
                        server_errors.append(status)
                    answered.append(status)
                    break
                wanted[(voter_ids[n], idea_id)] = vote

        threads = [threading.Thread(target=storm, args=(n,)) for n in range(VOTERS)]
        for thread in threads:
            thread.start()
        killed, first_seen, answered_at_kill = 0, {}, -1
        while killed < KILLS and any(t.is_alive() for t in threads):
            time.sleep(0.5)
            now = time.monotonic()
            for pid in _workers(server.pid):
                first_seen.setdefault(pid, now)
            # A worker that has served for a while, and votes answered since the last kill
            # (so the replacement booted): never one still starting up.
            serving = [pid for pid in _workers(server.pid) if now - first_seen[pid] > SERVING_SECONDS]
            if serving and len(answered) > answered_at_kill + 3:
                os.kill(random.choice(serving), signal.SIGKILL)
                killed, answered_at_kill = killed + 1, len(answered)
        kills_done.set()
        for thread in threads:
            thread.join(timeout=120)
        print(f"{sum(sent.values())} votes and withdrawals, {killed} workers killed, "
              f"{len(lost_answers)} answers lost with them and sent again")
        assert killed == KILLS, f"the storm ended before {KILLS} kills ({killed})"
        assert not server_errors, server_errors[:5]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

    db.session.rollback()
    stored = {(v.voter_id, v.idea_id) for v in db.session.scalars(select(Vote).where(Vote.challenge_id == challenge.id))}
    expected = {key for key, vote in wanted.items() if vote}
    assert stored == expected, (f"lost: {sorted(expected - stored)[:5]}, extra: {sorted(stored - expected)[:5]}; "
                                f"{len(lost_answers)} answers were lost with their worker")
    for idea_id in idea_ids:
        stored_aggregates_match_the_votes(idea_id)
