"""`flask ideas backup`: an online copy of the SQLite database that restores to the same
site, rankings and histories included; on PostgreSQL a clear pointer to pg_dump."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import select

from ideas import create_app
from ideas.accounts.models import User
from ideas.challenges import services as challenges
from ideas.challenges.models import Challenge
from ideas.extensions import db
from ideas.review import services as review
from ideas.review.models import Handoff, IdeaReview, ProgressUpdate
from ideas.voting import services as voting
from ideas.voting.models import Vote
from ideas.voting.services import Ballot
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import _base_overrides
from tests.review.conftest import World, _with_expertise, walk


def _on_sqlite(app) -> bool:
    return db.engine.dialect.name == "sqlite"


@pytest.fixture
def voted_and_reviewed(app, make_user):
    """A blended challenge with votes from both pools, then reviewed: one idea handed off
    and in progress (with a progress update), one declined."""
    manager = make_user(roles=("manager",), name="Mona Manager")
    challenge = open_challenge(manager, phase="submission", review_capacity=3, reviewers_per_idea=1,
                               criteria=[challenges.CriterionInput("impact", weight=3),
                                         challenges.CriterionInput("feasibility", weight=1)])
    authors = [make_user(pool="external"), make_user(), make_user()]
    ideas = [idea_in(challenge, a, title=t) for a, t in zip(authors, ("Kiosks", "Bag robots", "Mobile passes"),
                                                           strict=True)]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    for n in range(6):
        voter = make_user(pool="external" if n % 2 else "employee")
        for idea in ideas[: 1 + n % 3]:
            voting.cast_vote(idea, voter, Ballot(value=1, reason=f"Voter {n} read it"), network=f"net{n}")
    db.session.commit()
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    reviewers = [_with_expertise(make_user(roles=("reviewer",)), "kiosks")]
    owners = [_with_expertise(make_user(roles=("owner",)), "kiosks")]
    world = World(challenge, manager, authors, ideas, reviewers, owners)
    handed = walk(world, ideas[0], "in_progress")
    review.post_progress(handed, owners[0], "A first kiosk stands in hall B.")
    db.session.commit()
    walk(world, ideas[1], "declined")
    return world


def _snapshot(challenge_id: int, manager_id: int) -> dict:
    challenge = db.session.get(Challenge, challenge_id)
    manager = db.session.get(User, manager_id)
    rankings = {
        pool: [(line.position, line.idea.id, line.idea.title, round(line.score, 9), line.raw)
               for line in voting.ranking_page(challenge, manager, pool)]
        for pool in voting.RANKING_POOLS
    }
    reviews = db.session.scalars(select(IdeaReview).where(IdeaReview.challenge_id == challenge_id)
                                 .order_by(IdeaReview.id))
    histories = {r.idea_id: [(e.at, e.kind, e.label, e.reason, e.by, e.note) for e in review.timeline(r, manager)]
                 for r in reviews}
    return {
        "rankings": rankings,
        "histories": histories,
        "votes": sorted((v.idea_id, v.voter_id, v.weight, v.reason) for v in db.session.scalars(select(Vote))),
        "handoffs": sorted((h.review_id, h.owner_id, h.acknowledged_at) for h in db.session.scalars(select(Handoff))),
        "updates": sorted(u.body for u in db.session.scalars(select(ProgressUpdate))),
    }


def test_a_backup_restores_the_same_rankings_and_histories(app, voted_and_reviewed, tmp_path):
    if not _on_sqlite(app):
        pytest.skip("`ideas backup` is for SQLite; PostgreSQL is backed up with pg_dump (the next test)")
    world = voted_and_reviewed
    before = _snapshot(world.challenge.id, world.manager.id)
    assert len(before["votes"]) == 12 and before["handoffs"] and len(before["histories"]) == 2
    assert all(before["rankings"][pool] for pool in voting.RANKING_POOLS)

    target = tmp_path / "copy.db"
    result = app.test_cli_runner().invoke(args=["ideas", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "integrity checked" in result.output and not (tmp_path / "copy.db-wal").exists()

    again = app.test_cli_runner().invoke(args=["ideas", "backup", str(target)])
    assert again.exit_code != 0 and "exists" in again.output  # never over a backup unasked

    restored = tmp_path / "restored"
    restored.mkdir()
    fresh = create_app({**_base_overrides(restored, f"sqlite:///{target}"), "IDEAS_LAZY_TICK_SECONDS": -1})
    with fresh.app_context():
        try:
            assert _snapshot(world.challenge.id, world.manager.id) == before
        finally:
            db.session.remove()
            db.engine.dispose()


def test_a_backup_taken_while_the_site_writes_is_consistent(app, make_user, tmp_path):
    if not _on_sqlite(app):
        pytest.skip("`ideas backup` is for SQLite")
    from ideas.backup import backup_sqlite

    source = db.engine.url.database
    stop = threading.Event()
    written = []

    def writer():  # another process's connection, writing as the site would
        connection = sqlite3.connect(source, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        n = 0
        while not stop.is_set():
            n += 1
            with connection:
                connection.execute("INSERT INTO site_settings (key, value, updated_at) VALUES (?, ?, ?)",
                                   (f"k{n}", "x" * 500, "2031-01-01 00:00:00"))
            written.append(n)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(3000):
            if len(written) >= 20 or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert len(written) >= 20, "the writer did not get going"
        result = backup_sqlite(tmp_path / "live.db", uploads=False)
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(result.path)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    keys = [int(k[1:]) for (k,) in copy.execute("SELECT key FROM site_settings WHERE key LIKE 'k%'")]
    copy.close()
    assert keys and sorted(keys) == list(range(1, max(keys) + 1))  # a prefix of the writes: no torn copy


def test_on_postgresql_the_backup_points_at_pg_dump(app):
    if _on_sqlite(app):
        pytest.skip("the PostgreSQL run checks this")
    result = app.test_cli_runner().invoke(args=["ideas", "backup", "/tmp/never-written.db"])
    assert result.exit_code != 0 and "pg_dump" in result.output and "docs/operations.md" in result.output
