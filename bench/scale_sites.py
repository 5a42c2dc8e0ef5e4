"""Shared by the page benchmarks: the cached scale data sets and the pages to measure.

A data set is built once per scale and backend with `ideas demo --scale` and kept
under the cache folder (SQLite: the database file and its search index;
PostgreSQL: a database of its own, `ideas_bench_<scale>`, plus the search index
folder), with a `READY` file written only when the build finished, so an
interrupted build is started again rather than measured.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SECRET = "bench-only-secret-key-not-for-production-0123456789"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class DataSet:
    scale: str
    backend: str  # sqlite | postgresql
    folder: Path
    url: str

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "IDEAS_ENV": "production", "IDEAS_SECRET_KEY": SECRET, "IDEAS_INSTANCE_PATH": str(self.folder),
            "IDEAS_DATABASE_URL": self.url, "IDEAS_SEARCH_INDEX": str(self.folder / "search-index"),
            "IDEAS_UPLOADS": str(self.folder / "uploads"), "IDEAS_HTTPS": "0",
            # A benchmark sends thousands of requests a second from one address.
            "IDEAS_RATELIMIT_ENABLED": "0",
        })
        return env

    @property
    def ready(self) -> bool:
        return (self.folder / "READY").exists()


def data_set(cache: Path, scale: str, backend: str) -> DataSet:
    folder = cache / f"{backend}-{scale}"
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'ideas.db'}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/ideas_bench_{scale}"
    return DataSet(scale, backend, folder, url)


def postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def _recreate_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure(ds: DataSet, log=print) -> None:
    """Build the data set unless the cache holds a finished one."""
    if ds.ready:
        return
    import shutil

    shutil.rmtree(ds.folder, ignore_errors=True)
    ds.folder.mkdir(parents=True)
    if ds.backend == "postgresql":
        _recreate_pg_database(ds.url.rsplit("/", 1)[1])
    env = ds.env
    env["IDEAS_ENV"] = "development"  # the scale build prints progress, not a production warning
    log(f"building the {ds.scale} data set on {ds.backend} in {ds.folder} (once; reused from the cache after)")
    started = time.perf_counter()
    flask = str(BIN / "flask")
    subprocess.run([flask, "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = subprocess.run([flask, "--app", "wsgi", "ideas", "demo", "--scale", ds.scale], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"building {ds.scale} on {ds.backend} failed:\n{result.stdout}\n{result.stderr}")
    (ds.folder / "BUILD.txt").write_text(result.stdout)
    (ds.folder / "READY").write_text(f"{time.perf_counter() - started:.0f} s\n")
    log(f"  built in {time.perf_counter() - started:.0f} s")


@dataclass
class Targets:
    """The rows the pages are measured on, found in the data set."""

    challenge_id: int
    deep_before: int
    idea_id: int
    review_challenge_id: int
    search_word: str
    similar_title: str
    similar_summary: str
    manager_email: str
    reviewer_email: str
    participant_email: str
    big_manager_email: str = ""  # the big challenge's manager: reads its ranking while voting runs
    vote_ideas: list[int] = field(default_factory=list)
    voters: list[int] = field(default_factory=list)
    a_row_id: int = 1


def find_targets(session) -> Targets:
    """The big challenge (the one with the most ideas), its most-voted idea, a deep page, …"""
    from sqlalchemy import func, select

    from ideas.accounts.models import User, UserRole
    from ideas.challenges.models import Challenge, ChallengeStaff, Idea
    from ideas.review.models import ReviewerAssignment
    from ideas.voting.models import IdeaScore, Vote

    challenge_id = session.execute(
        select(Idea.challenge_id).group_by(Idea.challenge_id).order_by(func.count().desc()).limit(1)).scalar_one()
    ids = session.scalars(select(Idea.id).where(Idea.challenge_id == challenge_id, Idea.status == "published")
                          .order_by(Idea.id)).all()
    deep_before = ids[len(ids) // 2]
    idea_id = session.scalar(select(IdeaScore.idea_id).where(IdeaScore.challenge_id == challenge_id)
                             .order_by((IdeaScore.raw_employee + IdeaScore.raw_external).desc()).limit(1))
    idea = session.get(Idea, idea_id)
    review_challenge_id = session.scalar(select(Challenge.id).where(Challenge.phase == "review")
                                         .order_by(Challenge.id).limit(1))
    big_manager_id = session.scalar(select(ChallengeStaff.user_id).where(
        ChallengeStaff.challenge_id == challenge_id, ChallengeStaff.role == "manager").limit(1))
    manager_id = session.scalar(select(ChallengeStaff.user_id).where(
        ChallengeStaff.challenge_id == review_challenge_id, ChallengeStaff.role == "manager").limit(1))
    reviewer_id = session.scalar(select(ReviewerAssignment.reviewer_id).group_by(ReviewerAssignment.reviewer_id)
                                 .order_by(func.count().desc()).limit(1))
    staff = select(UserRole.user_id)
    participant_id = session.scalar(select(User.id).where(User.pool == "employee", User.id.not_in(staff),
                                                          User.email_verified_at.is_not(None)).order_by(User.id)
                                    .limit(1))
    # Voters for the vote POST: people who have not voted on the chosen ideas yet, so
    # every request is a new vote; the ideas: published ones in the big challenge.
    vote_ideas = ids[-50:]
    already = select(Vote.voter_id).where(Vote.idea_id.in_(vote_ideas))
    voters = session.scalars(select(User.id).where(User.id.not_in(already), User.id.not_in(staff),
                                                   User.pool == "employee",
                                                   User.email_verified_at.is_not(None)).order_by(User.id)
                             .limit(400)).all()
    authors = set(session.scalars(select(Idea.author_id).where(Idea.id.in_(vote_ideas))))
    voters = [v for v in voters if v not in authors][:300]
    word = idea.title.split()[2]
    return Targets(
        challenge_id=challenge_id, deep_before=deep_before, idea_id=idea_id,
        review_challenge_id=review_challenge_id, search_word=word, similar_title=idea.title,
        similar_summary=idea.summary, manager_email=session.get(User, manager_id).email,
        reviewer_email=session.get(User, reviewer_id).email,
        participant_email=session.get(User, participant_id).email,
        big_manager_email=session.get(User, big_manager_id).email, vote_ideas=list(vote_ideas), voters=voters,
        a_row_id=idea_id,
    )


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    who: str = "anonymous"  # anonymous | participant | manager | reviewer | token (a manager's API token)
    method: str = "GET"
    gate: bool = False  # one of the pages the issue sets a target for


def pages(t: Targets) -> list[Page]:
    from urllib.parse import urlencode

    similar = urlencode({"title": t.similar_title, "summary": t.similar_summary})
    return [
        Page("home", "/"),
        Page("challenge page (first)", f"/challenges/{t.challenge_id}", gate=True),
        Page("challenge page (deep)", f"/challenges/{t.challenge_id}?before={t.deep_before}", gate=True),
        Page("challenge page (signed in)", f"/challenges/{t.challenge_id}", "participant", gate=True),
        Page("idea page", f"/ideas/{t.idea_id}", gate=True),
        Page("idea page (signed in)", f"/ideas/{t.idea_id}", "participant", gate=True),
        Page("search", f"/search?q={t.search_word}", "participant"),
        Page("similar ideas", f"/challenges/{t.challenge_id}/similar?{similar}", "participant"),
        Page("ranking API", f"/api/v1/challenges/{t.challenge_id}/ranking", "token", gate=True),
        Page("manager: review dashboard", f"/challenges/{t.review_challenge_id}/review", "manager"),
        Page("manager: ranking page", f"/challenges/{t.challenge_id}/ranking", "bigmanager"),
        Page("review queue", "/review/queue", "reviewer"),
    ]
