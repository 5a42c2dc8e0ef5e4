"""Many people voting on one idea at the same moment, through a real threaded server.

Each request is its own thread, app context, session and database connection, as in
production; a barrier releases them together. The unique (voter, idea) constraint and
the idea's score row, taken first by every vote, must leave exactly one vote per person
and aggregates equal to the votes they sum — on SQLite (WAL, busy timeout) and PostgreSQL.
"""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from ideas.extensions import db
from ideas.voting.models import IdeaScore, Vote

HOST = "127.0.0.1"


@pytest.fixture
def live_server(app):
    """The test's app (and so its database) served on a free local port, one thread per request."""
    # The scheduler runs on every request in tests; in production at most every 30 s a
    # process. What is measured here is the vote, so it stays out of the way.
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def fire_together(port: int, requests: list[tuple[str, str, dict, dict]]) -> list[tuple[int, dict]]:
    """Send every (method, path, headers, body) at once: connected first, released by a barrier."""
    barrier = threading.Barrier(len(requests))
    results: list[tuple[int, dict] | BaseException | None] = [None] * len(requests)

    def send(index: int, method: str, path: str, headers: dict, body: dict) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.connect()
            payload = json.dumps(body).encode()
            # the app answers for its SERVER_NAME only
            heads = {**headers, "Host": "ideas.test", "Content-Type": "application/json",
                     "Content-Length": str(len(payload))}
            barrier.wait(timeout=30)
            connection.request(method, path, body=payload, headers=heads)
            response = connection.getresponse()
            text = response.read().decode()
            try:
                parsed = json.loads(text) if text else {}
            except ValueError:
                parsed = {"raw": text[:500]}
            results[index] = (response.status, parsed)
        except BaseException as error:  # noqa: BLE001 - reported by the test with the others
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n, *request)) for n, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    failures = [r for r in results if not isinstance(r, tuple)]
    assert not failures, f"requests that got no answer: {failures[:3]}"
    return results  # type: ignore[return-value]


def stored_aggregates_match_the_votes(idea_id: int) -> tuple[IdeaScore, dict]:
    db.session.rollback()  # read what the server committed
    score = db.session.get(IdeaScore, idea_id, populate_existing=True)
    sums = {pool: {"support": 0.0, "raw": 0} for pool in ("employee", "external")}
    for pool, value, count, weight in db.session.execute(
        select(Vote.pool, Vote.value, func.count(Vote.id), func.sum(Vote.weight))
        .where(Vote.idea_id == idea_id).group_by(Vote.pool, Vote.value)
    ):
        sums[pool]["raw"] += count
        if value > 0:
            sums[pool]["support"] += float(weight or 0)
    for pool in ("employee", "external"):
        assert getattr(score, f"raw_{pool}") == sums[pool]["raw"], (pool, sums)
        assert getattr(score, f"support_{pool}") == pytest.approx(sums[pool]["support"], abs=1e-9), (pool, sums)
    return score, sums


def problems(results) -> list:
    return [(status, body.get("error", body)) for status, body in results if not 200 <= status < 300]


def test_fifty_people_voting_at_once_leave_fifty_votes_and_true_aggregates(live_server, make_user, api_token,
                                                                           voting_idea):
    _, idea, _, _ = voting_idea()
    voters = [make_user(pool="external" if n % 3 == 0 else "employee") for n in range(50)]
    tokens = [api_token(voter) for voter in voters]
    db.session.commit()
    path = f"/api/v1/ideas/{idea.id}/vote"

    results = fire_together(live_server, [("POST", path, token, {"reason": f"Voter {n} likes it"})
                                          for n, token in enumerate(tokens)])

    assert not problems(results), f"{len(problems(results))} of 50 refused: {problems(results)[:5]}"
    assert all(status == 201 for status, _ in results)
    assert db.session.scalar(select(func.count(Vote.id)).where(Vote.idea_id == idea.id)) == 50
    assert db.session.scalar(select(func.count(func.distinct(Vote.voter_id))).where(Vote.idea_id == idea.id)) == 50
    score, _ = stored_aggregates_match_the_votes(idea.id)
    assert score.raw_employee + score.raw_external == 50


def test_one_person_sending_ten_votes_at_once_leaves_one_vote(live_server, make_user, api_token, voting_idea):
    _, idea, _, _ = voting_idea()
    others = [make_user() for _ in range(3)]
    voter = make_user()
    token = api_token(voter)
    db.session.commit()
    # a few votes already there, so the score row exists and the race is on the vote itself
    fire_together(live_server, [("POST", f"/api/v1/ideas/{idea.id}/vote", api_token(p), {}) for p in others])

    results = fire_together(live_server, [("POST", f"/api/v1/ideas/{idea.id}/vote", token,
                                           {"reason": f"Version {n} of my reason"}) for n in range(10)])

    assert not problems(results), problems(results)[:5]
    assert sorted(status for status, _ in results).count(201) == 1  # the first is new, the rest change it
    db.session.rollback()
    mine = db.session.scalars(select(Vote).where(Vote.idea_id == idea.id, Vote.voter_id == voter.id)).all()
    assert len(mine) == 1
    assert mine[0].reason in {f"Version {n} of my reason" for n in range(10)}
    score, _ = stored_aggregates_match_the_votes(idea.id)
    assert score.raw_employee == 4
