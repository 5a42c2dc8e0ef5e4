"""Import bench: how long a 10,000-vote archive takes to import, against casting its votes live.

    python bench/import_bench.py [--votes N] [--seed N] [--live-sample N] [--db URL] [--keep]

Builds a synthetic archive (`ideas.archive.synthetic`: about N/8 people of every
account age, N/40 ideas, comments, views, votes over two weeks with reasons,
ratings, shared networks, rings of fresh accounts) and imports it as the command
line does (`import_with_result` on the JSON text, then one commit). Every vote
is replayed with the live weights, in bulk (`voting.replay`).

Baseline, measured in the same run on the same database: the same archive's
challenge imported without votes, then its first `--live-sample` votes (default
300) cast one by one through the live path (`voting.services.record_vote`), as
the import did before. It prints the import's wall and CPU time, the live
path's time per vote, and the ratio of the live path's projected time for all
votes to the bulk import's. The issue's target: 10,000 votes under 30 s.

SQLite by default (a temporary file, removed unless `--keep`); `--db URL` runs on
PostgreSQL in an empty scratch database whose tables are dropped at the end.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, inspect, make_url, select, text

from ideas import create_app
from ideas.accounts.models import Role, User, UserRole
from ideas.archive import import_with_result
from ideas.archive.document import parse_time
from ideas.archive.synthetic import synthetic_archive
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.voting import services as voting
from ideas.voting.models import Vote


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--live-sample", type=int, default=300, help="votes cast live for the baseline (0: none)")
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (an empty database); default SQLite")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.votes < 10:
        parser.error("--votes must be at least 10")
    folder = Path(tempfile.mkdtemp(prefix="ideas-import-bench-"))
    url = args.db or f"sqlite:///{folder / 'bench.db'}"
    app = create_app({
        "IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": url,
        "IDEAS_SEARCH_INDEX": str(folder / "search-index"), "IDEAS_UPLOADS": str(folder / "uploads"),
    })
    created = False
    try:
        with app.app_context():
            if inspect(db.engine).get_table_names():
                print(f"{_safe(url)} is not empty: give the bench an empty database.", file=sys.stderr)
                return 2
            db.create_all()
            created = True
            return run(args, url)
    finally:
        with app.app_context():
            if created and args.db and not args.keep:
                db.session.rollback()
                db.drop_all()
            db.engine.dispose()
        if args.keep:
            print(f"kept: {_safe(url)}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run(args, url: str) -> int:
    backend = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
    admin = User(name="Admin", email="admin@staff.example", pool="employee", pool_source="admin")
    db.session.add(admin)
    db.session.flush()
    db.session.add(UserRole(user_id=admin.id, role=Role.ADMIN))
    db.session.commit()
    document = synthetic_archive(votes=args.votes, seed=args.seed)
    raw = json.dumps(document).encode()
    print(f"Import bench on {backend} ({_safe(url)}), seed {args.seed}: {len(document['votes']):,} votes, "
          f"{len(document['users']):,} people, {len(document['ideas']):,} ideas, "
          f"{len(document['comments']):,} comments, {len(document['views']):,} views ({len(raw) / 1e6:.1f} MB)")
    select_one = _median(lambda: db.session.execute(text("SELECT 1")).scalar_one(), 200)
    print(f"baseline: SELECT 1 round trip {select_one * 1e3:.3f} ms; load average {os.getloadavg()[0]:.1f}")

    started, cpu = time.perf_counter(), time.process_time()
    result = import_with_result(raw)
    db.session.commit()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stored = db.session.scalar(select(func.count(Vote.id)).where(Vote.challenge_id == result.challenge.id))
    print(f"bulk import: {wall:.2f} s wall, {cpu:.2f} s CPU of this process, {stored:,} votes stored "
          f"({stored / wall:,.0f} votes/s, {wall / stored * 1e3:.2f} ms a vote)")

    live = None
    if args.live_sample:
        live = _live_per_vote(document, args.live_sample)
        projected = live * len(document["votes"])
        print(f"live path (record_vote, one by one): {live * 1e3:.1f} ms a vote over the first "
              f"{args.live_sample:,} votes; all {len(document['votes']):,} would take about {projected:,.0f} s, "
              f"{projected / wall:,.1f} × the bulk import")
    verdict = "met" if wall < 30 else "NOT met"
    print(f"target: {args.votes:,}-vote archive imported in under 30 s: {verdict} ({wall:.2f} s; "
          f"load average now {os.getloadavg()[0]:.1f})")
    return 0 if wall < 30 else 1


def _live_per_vote(document: dict, sample: int) -> float:
    """The same challenge without votes, then its first votes cast live at their own times."""
    empty = copy.deepcopy(document)
    empty["votes"], empty["challenge"]["key"] = [], "live-baseline"
    challenge = import_with_result(empty).challenge
    db.session.commit()
    ideas = {i.external_ref: i for i in db.session.scalars(select(Idea).where(Idea.challenge_id == challenge.id))}
    emails = {u["key"]: u["email"] for u in document["users"]}
    users = {u.email: u for u in db.session.scalars(select(User))}
    criteria = {c.name: c.id for c in challenge.criteria}
    ordered = sorted(enumerate(document["votes"]), key=lambda iv: (parse_time(iv[1]["at"], "at"), iv[0]))[:sample]
    started = time.perf_counter()
    for _, entry in ordered:
        ballot = voting.Ballot(value=entry["value"], reason=entry.get("reason", ""),
                               ratings={criteria[k]: v for k, v in entry.get("ratings", {}).items()})
        network = voting.network_hash(entry["network"]) if entry.get("network") else None
        voting.record_vote(ideas[entry["idea"]], users[emails[entry["voter"]]], ballot, network=network,
                           now=parse_time(entry["at"], "at"))
    db.session.commit()
    return (time.perf_counter() - started) / max(1, len(ordered))


def _median(action, times: int) -> float:
    action()
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2]


if __name__ == "__main__":
    sys.exit(main())
