"""Dashboard bench: what a challenge dashboard costs at 20,000 ideas and 1,000,000 votes.

    python bench/dashboard_bench.py [--ideas N] [--votes N] [--db URL] [--cache PATH] [--rebuild]
                                    [--reads N] [--port P] [--seconds S] [--connections C] [--no-http] [--no-settle]

Builds (once) a blended challenge in its review phase with `--ideas` ideas (default
20,000) by 4,000 authors, `--votes` votes (default 1,000,000: 2,000 voters, 500 ideas
each, spread over 30 days, with effort, standing and collusion factors and their
weight) and 300 shortlisted ideas walking the review path (scored, decided, handed
off, acknowledged, delivered, some overdue).  People and ideas go in with Core
executemany; the votes with one INSERT … SELECT over a generated series, so a million
rows take seconds, not an hour.  On SQLite the database is a cache file
(`--cache`, default /tmp/ideas-dashboard-bench.db) reused by later runs whose sizes
match; `--db URL` uses a PostgreSQL database instead (empty, or built by an earlier
run with the same sizes; `--rebuild` drops what is there first).

Then it measures, against baselines from the same run:
  1. in-process: each panel's figures (`insight.services.challenge_panel`) and the
     whole dashboard (`challenge_dashboard`: every query, figures and SVG chart),
     `--reads` times each (default 30), each read in its own transaction as a
     request's would be; p50 and p95, next to a one-row read by primary key;
  2. over HTTP: gunicorn with 2 workers on 127.0.0.1:`--port` (default 8851) serving
     the site, signed in as the challenge's manager, and a hello-world Flask app under
     the same gunicorn settings on the next port; wrk (Debian's; `apt-get install -y
     wrk`) for `--seconds` seconds (default 10) with `--connections` connections
     (default 4) against the dashboard and against hello-world, printing p50/p95 from
     wrk's latency distribution and the requests per second.  Without wrk it falls
     back to timed sequential requests from Python (printed as such).
     The site dashboard (`/dashboard`, every challenge) is measured the same way, in both.
     Over HTTP both are measured twice: with the site's cache on (as it runs; the figures
     that do not depend on the clock are kept under the challenge's generation, and nothing
     is written during the run) and off (`IDEAS_CACHE_URL=null`, every read counted afresh,
     as the first read after a vote is);
  3. last, what the tallies' triggers cost the writing side (each write rolled back).
Before measuring, the database is settled as a site's would be between bursts of writes
(`_settle`: on PostgreSQL the tallies compacted and everything VACUUM ANALYZEd, since the
test server runs without autovacuum and the build writes a million votes in one transaction).
The target (issue 12, item 9) is a dashboard p95 of at most 300 ms over HTTP.

The participation and vote-quality figures read the stored tallies (`insight.tallies`,
kept by triggers while the votes go in); the build also recounts them from the rows
once and says whether that matched, and how long a recount of a million votes takes.
Servers are stopped at the end; the cache file stays for the next run.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, inspect, make_url, select, text  # noqa: E402

from ideas import clock, create_app  # noqa: E402
from ideas.accounts.models import User, UserRole  # noqa: E402
from ideas.challenges.models import Challenge, ChallengeStaff, Criterion, Idea  # noqa: E402
from ideas.extensions import db  # noqa: E402
from ideas.review.models import Handoff, IdeaReview, ReviewerAssignment, ReviewTransition  # noqa: E402
from server_cpu import server_cpu, server_pid  # noqa: E402

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
NOW = START + timedelta(days=60)
TITLE = "Dashboard bench challenge"
AUTHORS, VOTERS, REVIEWS = 4_000, 2_000, 300
PASSWORD = "bench-password-1"
SECRET = "dashboard-bench-secret"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ideas", type=int, default=20_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL; default: the SQLite cache file")
    parser.add_argument("--cache", default="/tmp/ideas-dashboard-bench.db", help="the SQLite cache file")
    parser.add_argument("--rebuild", action="store_true", help="build the challenge again")
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--port", type=int, default=8851, help="the site's port; hello-world gets the next one")
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per target")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument("--no-settle", action="store_true",
                        help="measure the database as the build left it, dead rows and all (see _settle)")
    args = parser.parse_args(argv)
    if args.votes > args.ideas * VOTERS or args.votes < VOTERS or args.ideas < REVIEWS * 2:
        parser.error(f"--votes must lie between {VOTERS:,} and {VOTERS:,} × --ideas; --ideas ≥ {REVIEWS * 2}")
    if not 1024 < args.port < 65000:
        parser.error("--port: a free port above 1024")

    url = args.db or f"sqlite:///{args.cache}"
    if args.db and args.db.startswith("postgresql://"):
        url = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    folder = Path(tempfile.mkdtemp(prefix="ideas-dashboard-bench-"))
    config = {"IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": url,
              "IDEAS_SEARCH_INDEX": str(folder / "search-index"), "IDEAS_UPLOADS": str(folder / "uploads"),
              "IDEAS_LAZY_TICK_SECONDS": -1, "SECRET_KEY": SECRET}
    app = create_app(config)
    try:
        with app.app_context():
            backend = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
            print(f"Dashboard bench on {backend} ({make_url(url).render_as_string(hide_password=True)}), "
                  f"{args.ideas:,} ideas, {args.votes:,} votes")
            challenge_id = _built(args)
            if not args.no_settle:
                _settle()
            in_process(challenge_id, args.reads)
            manager_email = db.session.scalar(select(User.email).where(User.email == "manager@staff.example"))
        status = 0 if args.no_http else over_http(url, challenge_id, manager_email, args)
        with app.app_context():
            # Last: its rolled-back writes leave dead rows behind, which the reads above should
            # not wade through (the next run settles them first, `_settle`).
            write_cost(challenge_id)
        return status
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


# --- building -------------------------------------------------------------------------------

def _built(args) -> int:
    """The bench challenge's id: the one already in the database if its sizes match."""
    tables = inspect(db.engine).get_table_names()
    if tables and not args.rebuild:
        found = db.session.scalar(select(Challenge.id).where(Challenge.title == TITLE))
        if found is not None:
            ideas = db.session.scalar(select(func.count(Idea.id)).where(Idea.challenge_id == found))
            votes = db.session.scalar(text("SELECT count(*) FROM votes WHERE challenge_id = :c"), {"c": found})
            if (ideas, votes) == (args.ideas, args.votes):
                print(f"reusing the challenge built earlier ({ideas:,} ideas, {votes:,} votes)")
                _upgrade_indexes()
                _upgrade_tallies()
                return found
        print("the database holds something else: run with --rebuild (it drops every table first)")
        raise SystemExit(2)
    if tables:
        db.drop_all()
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("VACUUM"))
    db.create_all()
    started = time.perf_counter()
    challenge_id = _build(args.ideas, args.votes)
    print(f"built in {time.perf_counter() - started:.1f} s")
    return challenge_id


def _upgrade_indexes() -> None:
    """A cache built before an index was added gets it, as the migration would."""
    for table in db.metadata.sorted_tables:
        if table.name != "votes":
            continue
        existing = {ix["name"] for ix in inspect(db.engine).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(db.engine)
                print(f"added index {index.name}")
    db.session.commit()


def _upgrade_tallies() -> None:
    """A cache built before the dashboards' tallies gets them, as the migration would."""
    from ideas.insight import tallies

    db.create_all()  # only the tables missing; the triggers with them
    if db.session.scalar(select(func.count()).select_from(tallies.VoteWeightTally)) == 0:
        started = time.perf_counter()
        tallies.recount()
        db.session.commit()
        print(f"tallies counted from the rows in {time.perf_counter() - started:.1f} s")


def _user(email: str, name: str, pool: str, joined: datetime) -> dict:
    return {"email": email, "name": name, "pool": pool, "pool_source": "admin", "email_verified_at": joined,
            "terms_accepted_at": joined, "active": True, "session_version": 1, "digest": "none", "bio": "",
            "created_at": joined}


def _ids(model, column, value) -> list[int]:
    return list(db.session.scalars(select(model.id).where(column == value).order_by(model.id)))


def _series(count: int) -> str:
    """SQL for the integers 0 … count-1 as column n (no table needed)."""
    if db.engine.dialect.name == "postgresql":
        return f"SELECT generate_series(0, {int(count) - 1}) AS n"
    return (f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {int(count) - 1}) "
            "SELECT n FROM s")


def _at_plus_seconds(seconds_sql: str) -> str:
    if db.engine.dialect.name == "postgresql":
        return f"(CAST(:start AS timestamptz) + make_interval(secs => {seconds_sql}))"
    return f"datetime(:start, '+' || CAST({seconds_sql} AS TEXT) || ' seconds')"


def _build(idea_count: int, vote_count: int) -> int:
    from ideas.accounts.services import hash_password

    joined = START - timedelta(days=400)
    manager = _user("manager@staff.example", "Bench Manager", "employee", joined)
    manager["password_hash"] = hash_password(PASSWORD)
    db.session.execute(insert(User.__table__), [manager])
    manager_id = db.session.scalar(select(User.id).where(User.email == manager["email"]))
    db.session.execute(insert(UserRole.__table__), [{"user_id": manager_id, "role": "manager"},
                                                    {"user_id": manager_id, "role": "reviewer"},
                                                    {"user_id": manager_id, "role": "owner"}])
    people = []
    for n in range(AUTHORS + VOTERS):
        pool = "employee" if n % 5 < 2 else "external"
        people.append(_user(f"b{n}@{'staff' if pool == 'employee' else 'outside'}.example", f"Bench {n}", pool,
                            joined + timedelta(days=n % 300)))
    db.session.execute(insert(User.__table__), people)
    ids = list(db.session.scalars(select(User.id).where(User.email.like("b%@%.example")).order_by(User.id)))
    authors, voters = ids[:AUTHORS], ids[AUTHORS:]
    challenge_id = db.session.execute(insert(Challenge.__table__).returning(Challenge.__table__.c.id), [{
        "title": TITLE, "brief": "", "goal": "", "scope_in": "", "scope_out": "", "rules": "",
        "prize": "", "terms": "", "pool_mode": "blended", "cross_visibility": False, "pool_weight_employee": 0.5,
        "pool_weight_external": 0.5, "voting_policy": "weighted", "voting_policy_version": 1, "budget_k": 5,
        "hide_counts_until_voted": True, "randomise_order": True, "allow_opposition": False,
        "review_capacity": REVIEWS, "reviewers_per_idea": 1, "blind_review": False, "flag_threshold": 3,
        "phase": "review", "opens_at": START - timedelta(days=10), "voting_at": START, "allow_overlap": False,
        "review_at": START + timedelta(days=30), "closes_at": NOW + timedelta(days=60),
        "published_at": START - timedelta(days=10), "created_by_id": manager_id,
        "created_at": START - timedelta(days=20), "updated_at": START}]).scalar_one()
    db.session.execute(insert(ChallengeStaff.__table__), [
        {"challenge_id": challenge_id, "user_id": manager_id, "role": "manager"}])
    db.session.execute(insert(Criterion.__table__), [
        {"challenge_id": challenge_id, "name": "impact", "description": "", "weight": 1, "position": 0}])
    ideas = []
    for n in range(idea_count):
        author = authors[n % AUTHORS]
        at = START - timedelta(days=10) + timedelta(seconds=(n * 37) % (10 * 86400))
        ideas.append({"challenge_id": challenge_id, "author_id": author, "pool": people[n % AUTHORS]["pool"],
                      "title": f"Bench idea {n}", "summary": "", "body": "", "status": "published",
                      "word_count": 120, "comment_count": 0, "revision": 1, "created_at": at, "published_at": at,
                      "updated_at": at})
    for start in range(0, len(ideas), 5_000):
        db.session.execute(insert(Idea.__table__), ideas[start:start + 5_000])
    idea_ids = _ids(Idea, Idea.challenge_id, challenge_id)
    assert idea_ids[-1] - idea_ids[0] + 1 == idea_count and voters[-1] - voters[0] + 1 == VOTERS
    db.session.commit()

    # The votes, set-based: voter v's k-th vote is on idea (v·37 + k·step) mod ideas, distinct
    # for each voter; factors vary with v and k so every discount has a share.
    per_voter = vote_count // VOTERS
    step = max(1, idea_count // per_voter)
    started = time.perf_counter()
    effort = "CASE WHEN (v + k) % 10 < 3 THEN 0.25 WHEN (v + k) % 10 < 6 THEN 0.6 ELSE 1.0 END"
    standing = "CASE WHEN v % 7 = 0 THEN 0.5 ELSE 1.0 END"
    collusion = "CASE WHEN (v * 31 + k) % 50 = 0 THEN 0.1 ELSE 1.0 END"
    db.session.execute(text(f"""
        INSERT INTO votes (challenge_id, idea_id, voter_id, pool, kind, value, reason, created_at, updated_at,
                           viewed_before, idea_word_count, reason_words, reason_near_copy, criteria_rated,
                           identity, account_age_seconds, contributions_90d, is_author, effort, standing,
                           collusion, weight, discounts, collusion_discounts, policy)
        SELECT :challenge, :first_idea + ((v * 37 + k * {step}) % :ideas), :first_voter + v,
               CASE WHEN v % 5 < 2 THEN 'employee' ELSE 'external' END, 'support', 1, '',
               {_at_plus_seconds(f"(CAST(v * {per_voter} + k AS BIGINT) * 2592000 / {vote_count})")},
               {_at_plus_seconds(f"(CAST(v * {per_voter} + k AS BIGINT) * 2592000 / {vote_count})")},
               (v + k) % 2 = 0, 120, 0, false, false, 'employee_verified', 3.0e7, 3, false,
               {effort}, {standing}, {collusion}, ({effort}) * ({standing}) * ({collusion}), '[]', '[]',
               'weighted/1'
        FROM (SELECT n / {per_voter} AS v, n % {per_voter} AS k FROM ({_series(VOTERS * per_voter)}) AS numbers)
             AS pairs
    """), {"challenge": challenge_id, "first_idea": idea_ids[0], "ideas": idea_count, "first_voter": voters[0],
           "start": START.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else START})
    db.session.commit()
    print(f"  {VOTERS * per_voter:,} votes inserted in {time.perf_counter() - started:.1f} s")

    from ideas.voting import services as voting

    started = time.perf_counter()
    clock.set_now(NOW)
    voting.rebuild_scores(db.session.get(Challenge, challenge_id))
    db.session.commit()
    print(f"  stored scores rebuilt in {time.perf_counter() - started:.1f} s")
    _reviews(challenge_id, idea_ids[:REVIEWS], manager_id)
    from ideas.insight import tallies

    started = time.perf_counter()
    kept = tallies.snapshot(challenge_id)
    tallies.recount([challenge_id])
    same = tallies.snapshot(challenge_id) == kept
    db.session.commit()
    print(f"  the dashboards' tallies (kept by triggers while inserting) recounted from the rows in "
          f"{time.perf_counter() - started:.1f} s: {'the same' if same else 'NOT the same'}")
    db.session.commit()
    return challenge_id


def _settle() -> None:
    """What a site's database is like between bursts of writes: the build (or an earlier run's
    write test) left dead row versions that autovacuum would have cleared by now.

    The build writes a million votes in one transaction, so the tallies' triggers rewrote each
    tally row about fifty times inside it: none of those versions could be pruned, and the
    tallies' tables end up fifty times their size (104 MB for 20,000 rows).  On a site votes come
    one per transaction, each page's dead versions are pruned as it is next written, and
    autovacuum (off on the test server) takes the rest.  So, on PostgreSQL: the two tallies are
    compacted (VACUUM FULL, a second: they are small), then everything is VACUUM ANALYZEd, which
    also sets the visibility map that index-only scans need.  On SQLite: ANALYZE (its reads
    never see dead rows)."""
    from ideas.insight.models import ActivityDay, VoteWeightTally

    started = time.perf_counter()
    db.session.commit()
    if db.engine.dialect.name != "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for model in (ActivityDay, VoteWeightTally):
            connection.exec_driver_sql(f"VACUUM FULL {model.__tablename__}")
        connection.exec_driver_sql("VACUUM ANALYZE")
    print(f"settled (tallies compacted, then VACUUM ANALYZE, as autovacuum would) in "
          f"{time.perf_counter() - started:.1f} s")


def _reviews(challenge_id: int, idea_ids: list[int], manager_id: int) -> None:
    """Shortlisted ideas along the path: a fifth still in review (some scorecards overdue),
    the rest decided; of the accepted, handoffs acknowledged, delivered, or overdue."""
    path = ["shortlisted", "in_review", "accepted", "handed_off", "acknowledged", "in_progress", "delivered"]
    reviews, transitions, assignments, handoffs = [], [], [], []
    ends = []
    for n, idea_id in enumerate(idea_ids):
        end = {0: "in_review", 1: "declined", 2: "handed_off", 3: "acknowledged", 4: "delivered"}[n % 5]
        steps = path[:path.index(end) + 1] if end in path else ["shortlisted", "in_review", "declined"]
        ends.append(steps)
        decided = "accepted" in steps or "declined" in steps
        handed = "handed_off" in steps
        reviews.append({"challenge_id": challenge_id, "idea_id": idea_id, "state": steps[-1],
                        "state_since": START + timedelta(days=30 + 2 * (len(steps) - 1)),
                        "decision": ("accepted" if "accepted" in steps else "declined") if decided else None,
                        "decision_reason": "Bench" if decided else "",
                        "decided_at": START + timedelta(days=34) if decided else None,
                        "owner_id": manager_id if handed else None, "handoff_count": 1 if handed else 0,
                        "ack_due_at": START + timedelta(days=43) if handed else None,
                        "closed_at": START + timedelta(days=42) if steps[-1] in ("declined", "delivered") else None,
                        "created_at": START + timedelta(days=30), "created_by_id": manager_id})
    db.session.execute(insert(IdeaReview.__table__), reviews)
    review_ids = _ids(IdeaReview, IdeaReview.challenge_id, challenge_id)
    for review_id, steps in zip(review_ids, ends, strict=True):
        previous = None
        for i, step in enumerate(steps):
            transitions.append({"review_id": review_id, "from_state": previous, "to_state": step,
                                "actor_id": manager_id, "at": START + timedelta(days=30 + 2 * i + review_id % 3),
                                "reason": "", "internal": False, "note": ""})
            previous = step
        assignments.append({"review_id": review_id, "reviewer_id": manager_id,
                            "assigned_at": START + timedelta(days=31), "due_at": START + timedelta(days=41),
                            "submitted_at": None if steps[-1] == "in_review" else START + timedelta(days=34)})
        if "handed_off" in steps:
            acknowledged = "acknowledged" in steps
            handoffs.append({"review_id": review_id, "number": 1, "owner_id": manager_id,
                             "handed_by_id": manager_id, "handed_at": START + timedelta(days=36),
                             "ack_due_at": START + timedelta(days=43),
                             "acknowledged_at": START + timedelta(days=38) if acknowledged else None})
    db.session.execute(insert(ReviewTransition.__table__), transitions)
    db.session.execute(insert(ReviewerAssignment.__table__), assignments)
    db.session.execute(insert(Handoff.__table__), handoffs)
    db.session.commit()


# --- measuring in-process ----------------------------------------------------------------------

def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _timed(action, reads: int) -> tuple[float, float, float, float | None]:
    """p50 and p95 of the wall-clock time, the p50 of this process's CPU time and, on a
    PostgreSQL server on this machine, the mean CPU time of its backend.  The CPU times are
    what a read costs whatever else the machine is doing (the wall clock waits for a core
    too); on SQLite the database works in this process, so its CPU time is all of it.  The
    server's is a mean, not a median: the kernel counts it in ticks of 10 ms."""
    action()
    db.session.rollback()
    samples, cpu, server = [], [], 0.0
    pid = None
    for _ in range(reads):
        pid = server_pid()  # in the read's transaction, before its clock starts
        started, started_cpu, started_server = time.perf_counter(), time.process_time(), server_cpu(pid)
        action()
        db.session.rollback()  # each read in a transaction of its own, as a request's
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        server += server_cpu(pid) - started_server
    return (*_quantiles(samples), statistics.median(cpu), server / reads if pid is not None else None)


def _line(label: str, figures: tuple, one_row: float) -> None:
    p50, p95, cpu, server = figures
    server_text = f"{server * 1e3:>12.2f}" if server is not None else f"{'—':>12}"
    print(f"{label:34}{p50 * 1e3:>9.2f}{p95 * 1e3:>10.2f}{cpu * 1e3:>10.2f}{server_text}{p50 / one_row:>10.0f}")


def in_process(challenge_id: int, reads: int) -> None:
    from ideas.insight import services

    clock.set_now(NOW)
    one_row = _timed(lambda: db.session.execute(select(Idea.title).where(Idea.challenge_id == challenge_id)
                                                .limit(1)).scalar_one(), reads * 5)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nin-process, figures read afresh on every read (charts drawn once), {reads} reads each (ms); "
          f"load average {load} on {os.cpu_count()} cores")
    print(f"{'':34}{'p50':>9}{'p95':>10}{'cpu p50':>10}{'server cpu':>12}   p50 / one-row read")
    _line("baseline: one-row read", one_row, one_row[0])
    challenge = lambda: db.session.get(Challenge, challenge_id)  # noqa: E731
    for slug in services.CHALLENGE_PANELS:
        _line("panel: " + slug, _timed(lambda slug=slug: services.challenge_panel(challenge(), slug, NOW), reads),
              one_row[0])
    _line("whole dashboard (figures + SVG)", _timed(lambda: services.challenge_dashboard(challenge(), NOW), reads),
          one_row[0])
    everything = services.Scope()  # an administrator's site dashboard: every challenge
    for slug in services.SITE_PANELS:
        _line("site panel: " + slug, _timed(lambda slug=slug: services.site_panel(everything, slug, NOW), reads),
              one_row[0])
    _line("whole site dashboard", _timed(lambda: services.site_dashboard(everything, NOW), reads), one_row[0])


def write_cost(challenge_id: int, rows: int = 100_000) -> None:
    """What the tallies cost the writing side: the same bulk rewrite of votes' weights (as a
    recompute does) and the same inserts, with the triggers and without, each rolled back."""
    from ideas.insight import tallies

    ids = db.session.execute(text("SELECT min(id), max(id) FROM votes WHERE challenge_id = :c"),
                             {"c": challenge_id}).one()
    last = ids[0] + rows - 1
    reweigh = text("UPDATE votes SET weight = weight * 0.5, effort = effort * 0.5 WHERE id BETWEEN :a AND :b")
    copy = text(f"INSERT INTO votes ({_VOTE_COPY}) SELECT {_VOTE_COPY.replace('voter_id', 'voter_id + 1')} "
                "FROM votes WHERE id BETWEEN :a AND :b AND voter_id % 2 = 0")
    figures = {}
    for with_triggers in (True, False):
        for label, statement in (("rewrite", reweigh), ("insert", copy)):
            if not with_triggers:
                tallies.uninstall(db.session.connection())
            started = time.process_time()
            db.session.execute(statement, {"a": ids[0], "b": last})
            figures[label, with_triggers] = time.process_time() - started
            db.session.rollback()
    # Put back (pysqlite runs a DROP TRIGGER outside the transaction): the writes measured
    # without them were rolled back, so the tallies still match the votes.
    tallies.install(db.session.connection())
    db.session.commit()
    print(f"\nwrite side (CPU seconds of this process; on PostgreSQL the server's work is not in it): "
          f"{rows:,} votes' weights rewritten in one statement {figures['rewrite', True]:.2f} s with the tallies' "
          f"triggers, {figures['rewrite', False]:.2f} s without; {rows // 2:,} votes inserted "
          f"{figures['insert', True]:.2f} s with, {figures['insert', False]:.2f} s without")


_VOTE_COPY = ("challenge_id, idea_id, voter_id, pool, kind, value, reason, created_at, updated_at, viewed_before, "
              "idea_word_count, reason_words, reason_near_copy, criteria_rated, identity, account_age_seconds, "
              "contributions_90d, is_author, effort, standing, collusion, weight, discounts, collusion_discounts, "
              "policy")


# --- measuring over HTTP -------------------------------------------------------------------------

HELLO = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef hello():\n    return 'Hello, world!'\n"


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _serve(app_spec: str, port: int, env: dict, cwd: str) -> subprocess.Popen:
    if not _free(port):
        raise SystemExit(f"port {port} is taken")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen([gunicorn, "-w", "2", "-t", "180", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                                app_spec],
                               cwd=cwd, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not _free(port):
            return process
        if process.poll() is not None:
            raise SystemExit(f"gunicorn on {port} stopped at once")
        time.sleep(0.2)
    _stop(process)
    raise SystemExit(f"gunicorn on {port} did not start within 60 s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _session_cookie(base: str, email: str) -> str:
    """Sign in through the real form and keep the session cookie."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=120).read().decode()  # a cold worker on a busy machine
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    from urllib.parse import urlencode

    opener.open(f"{base}/login", urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode(),
                timeout=120).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session" not in cookies:
        raise SystemExit("could not sign in as the bench manager")
    return cookies


def _wrk(url: str, seconds: int, connections: int, cookie: str | None) -> dict:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    latency = {m.group(1): _ms(m.group(2), m.group(3)) for m in
               re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    # wrk prints 50/75/90/99: p95 is read between 90 and 99 (linear), which it cannot print itself.
    p95 = (latency["90"] + latency["99"]) / 2 if {"90", "99"} <= latency.keys() else float("nan")
    return {"p50": latency.get("50", float("nan")), "p95": p95, "p99": latency.get("99", float("nan")),
            "rate": float(rate.group(1)) if rate else 0.0, "errors": int(non_2xx.group(1)) if non_2xx else 0}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def _sequential(url: str, seconds: int, cookie: str | None) -> dict:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
        started = time.perf_counter()
        urllib.request.urlopen(request, timeout=30).read()
        samples.append(time.perf_counter() - started)
    p50, p95 = _quantiles(samples)
    return {"p50": p50 * 1e3, "p95": p95 * 1e3, "p99": float("nan"), "rate": len(samples) / seconds, "errors": 0}


def over_http(url: str, challenge_id: int, email: str, args) -> int:
    """Both dashboards over HTTP, twice: as the site runs (its cache on: the figures that do
    not depend on the clock are kept under the challenge's generation, `insight.services._kept`,
    so most reads here, where nothing is written, find them), then with the cache off
    (`IDEAS_CACHE_URL=null`: every read counts everything, as the first read after a vote does)."""
    env = dict(os.environ, IDEAS_ENV="production", IDEAS_SECRET_KEY=SECRET, IDEAS_DATABASE_URL=url,
               IDEAS_HTTPS="0", IDEAS_LAZY_TICK_SECONDS="-1", IDEAS_RATELIMIT_ENABLED="0")
    folder = Path(tempfile.mkdtemp(prefix="ideas-dashboard-http-"))
    env["IDEAS_INSTANCE_PATH"] = str(folder)
    (folder / "hello_world.py").write_text(HELLO)
    hello = None
    tool = shutil.which("wrk")
    how = (f"wrk, {args.connections} connections, {args.seconds} s each" if tool
           else f"no wrk: sequential requests from Python, {args.seconds} s each")
    measure = ((lambda u, c: _wrk(u, args.seconds, args.connections, c)) if tool
               else (lambda u, c: _sequential(u, args.seconds, c)))
    try:
        hello = _serve("hello_world:app", args.port + 1, dict(env, PYTHONPATH=str(folder)), str(folder))
        baseline = measure(f"http://127.0.0.1:{args.port + 1}/", None)
        results = {}
        for mode, cache_url in (("cache on", ""), ("cache off", "null")):
            results[mode] = _measure_site(dict(env, IDEAS_CACHE_URL=cache_url), challenge_id, email, args, measure,
                                          mode)
        print(f"\nover HTTP, gunicorn 2 workers ({how})")
        print(f"{'':42}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'non-2xx':>9}")
        rows = [("hello-world (baseline)", baseline)]
        for mode, (figures, site_wide) in results.items():
            rows += [(f"challenge dashboard ({mode})", figures), (f"site dashboard ({mode})", site_wide)]
        for label, r in rows:
            print(f"{label:42}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['rate']:>9.1f}{r['errors']:>9}")
        outcome = {}
        for mode, (figures, site_wide) in results.items():
            outcome[mode] = all(r["p95"] <= 300 and r["errors"] == 0 for r in (figures, site_wide))
            print(f"{mode}: dashboard / hello-world p50 × {figures['p50'] / baseline['p50']:.0f}; target "
                  f"(dashboards' p95 ≤ 300 ms) {'met' if outcome[mode] else 'NOT met'} "
                  f"(challenge {figures['p95']:.0f} ms, site {site_wide['p95']:.0f} ms)")
        return 0 if outcome["cache on"] else 1
    finally:
        if hello is not None:
            _stop(hello)
        shutil.rmtree(folder, ignore_errors=True)


def _measure_site(env: dict, challenge_id: int, email: str, args, measure, mode: str) -> tuple[dict, dict]:
    site = _serve("wsgi:app", args.port, env, str(ROOT))
    try:
        base = f"http://127.0.0.1:{args.port}"
        cookie = _session_cookie(base, email)
        target = f"{base}/challenges/{challenge_id}/dashboard"
        # A first read in each worker (two at once), so that wrk does not measure imports and connecting.
        from concurrent.futures import ThreadPoolExecutor

        def first_read(_):
            started = time.perf_counter()
            answer = urllib.request.urlopen(urllib.request.Request(target, headers={"Cookie": cookie}), timeout=170)
            if answer.status != 200 or "Bottleneck" not in answer.read().decode():
                raise SystemExit("the dashboard did not answer with its figures")
            return time.perf_counter() - started

        with ThreadPoolExecutor(2) as pool:
            cold = list(pool.map(first_read, range(2)))
        print(f"\nfirst reads over HTTP, {mode} (one per worker): {', '.join(f'{c * 1e3:,.0f} ms' for c in cold)}")
        return measure(target, cookie), measure(f"{base}/dashboard", cookie)
    finally:
        _stop(site)


if __name__ == "__main__":
    sys.exit(main())
