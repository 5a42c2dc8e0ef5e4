"""Search benchmark: how long indexing, draining, searching and "similar ideas" take.

    python bench/search_bench.py [--ideas 20000] [--challenges 20] [--batch 200]
                                 [--updates 1000] [--runs 50] [--database URL] [--keep]

Builds a throwaway site (an SQLite file in a temporary instance folder, or the
PostgreSQL database given with --database, whose tables it creates and fills: use an
empty scratch database), fills it with N published ideas of random text (a Zipf-like
vocabulary, so some words are common and most are rare) spread over C challenges,
then measures:

- rebuild: `ideas reindex` over all N ideas;
- drain: batches of queued changes (edits of random ideas), each batch read from the
  database, written with `compound=False`, committed, and its jobs deleted;
- open: opening a searcher (what each process does after another one committed);
- browse: `search_ideas` without words (newest first, answered by the database);
- search: `search_ideas` for a rare word (in ~1 idea in 500), a mid-frequency word
  (~1 in 6), and very common words (in most ideas: the worst case for Whoosh, which
  scores every match in Python), including the visibility filter and the check of
  every idea found against the rules;
- similar: `similar_ideas` for a random title and summary.

Each figure is printed in milliseconds and as a ratio to two baselines measured in
the same run on the same database: `SELECT 1` (a round trip) and an ORM read of one
idea by primary key (what a page does for an idea). No assertions: numbers only.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from ideas import create_app, search
from ideas.extensions import db
from ideas.search.queue import drain_batch

WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "po", "ru", "sa", "te", "vu", "zo")
         for b in ("ban", "cor", "dil", "fen", "gat", "hum", "jor", "kel", "lum", "mar",
                   "nor", "pel", "quin", "ros", "sul", "tar", "ulm", "ven", "wor", "yel")]
COMMON = ["kiosk", "queue", "boarding", "bags", "security", "lounge", "gate", "family", "coffee", "app"]
RARE = [f"q{a}{b}{c}" for a in "bcdfghjklm" for b in "aeiou" for c in "nprstvwxyz"]  # 500 words, ~1 in 500 ideas each
TAGS = ["kiosk", "queue", "mobile", "bags", "security", "families", "food", "accessibility"]


def sentence(rng: random.Random, length: int) -> str:
    words = []
    for _ in range(length):
        if rng.random() < 0.15:
            words.append(rng.choice(COMMON))
        else:  # Zipf-like: low indexes far more often
            words.append(WORDS[min(len(WORDS) - 1, int(rng.paretovariate(1.2)) - 1)] if rng.random() < 0.6
                         else rng.choice(WORDS))
    return " ".join(words)


def timed(fn: Callable, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.fmean(samples), p95


def fill(n: int, rng: random.Random, challenges: int = 1) -> tuple[int, int, list[int]]:
    from ideas.accounts.models import User
    from ideas.challenges.models import Challenge, ChallengeStaff, Idea, IdeaTag

    now = datetime.now(UTC)
    manager = User(name="Bench Manager", email="manager@staff.example", password_hash="x", pool="employee",
                   pool_source="admin", email_verified_at=now, terms_accepted_at=now)
    reader = User(name="Bench Reader", email="reader@staff.example", password_hash="x", pool="employee",
                  pool_source="admin", email_verified_at=now, terms_accepted_at=now)
    db.session.add_all([manager, reader])
    db.session.flush()
    all_challenges = [
        Challenge(title=f"Bench challenge {k}", brief="b", created_by_id=manager.id, phase="submission",
                  pool_mode="blended", published_at=now, opens_at=now - timedelta(days=1),
                  voting_at=now + timedelta(days=10), review_at=now + timedelta(days=20),
                  closes_at=now + timedelta(days=30))
        for k in range(max(1, challenges))
    ]
    db.session.add_all(all_challenges)
    db.session.flush()
    db.session.add_all([ChallengeStaff(challenge_id=c.id, user_id=manager.id, role="manager") for c in all_challenges])
    db.session.commit()
    challenge = all_challenges[0]
    ids: list[int] = []
    chunk = 2000
    for start in range(0, n, chunk):
        rows = []
        for k in range(start, min(n, start + chunk)):
            at = now - timedelta(minutes=n - k)
            rows.append({
                "challenge_id": all_challenges[k % len(all_challenges)].id, "author_id": manager.id, "pool": rng.choice(("employee", "external")),
                "title": sentence(rng, rng.randint(3, 8)).capitalize(), "summary": sentence(rng, rng.randint(15, 40)),
                "body": f"{sentence(rng, rng.randint(40, 200))} {rng.choice(RARE)}", "status": "published",
                "created_at": at,
                "updated_at": at, "published_at": at, "word_count": 0, "comment_count": 0, "revision": 1,
            })
        new_ids = list(db.session.scalars(insert(Idea).returning(Idea.id), rows))
        tags = [{"idea_id": i, "tag": t} for i in new_ids for t in rng.sample(TAGS, rng.randint(0, 3))]
        if tags:
            db.session.execute(insert(IdeaTag), tags)
        db.session.commit()
        ids.extend(new_ids)
    return challenge.id, reader.id, ids


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ideas", type=int, default=20_000)
    parser.add_argument("--challenges", type=int, default=20, help="ideas are spread evenly over them")
    parser.add_argument("--batch", type=int, default=search.DRAIN_BATCH, help="jobs per drain batch")
    parser.add_argument("--updates", type=int, default=1000, help="queued edits to drain")
    parser.add_argument("--runs", type=int, default=50, help="repetitions of each timed read")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    instance = Path(tempfile.mkdtemp(prefix="ideas-search-bench-"))
    url = args.database or f"sqlite:///{instance / 'ideas.db'}"
    app = create_app({"IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url,
                      "IDEAS_SEARCH_INDEX": str(instance / "search-index"), "SERVER_NAME": "bench.local"})
    try:
        with app.app_context():
            return run(args, rng)
    finally:
        search.close()
        if not args.keep:
            shutil.rmtree(instance, ignore_errors=True)
        else:
            print(f"kept {instance}")


def run(args, rng: random.Random) -> int:
    from ideas.accounts.models import User
    from ideas.challenges.models import Challenge, Idea
    from ideas.search import IndexJob

    db.create_all()
    print(f"database: {db.engine.dialect.name}; filling {args.ideas:,} ideas …", flush=True)
    started = time.perf_counter()
    challenge_id, reader_id, ids = fill(args.ideas, rng, args.challenges)
    print(f"  filled in {time.perf_counter() - started:.1f} s")
    reader = db.session.get(User, reader_id)
    challenge = db.session.get(Challenge, challenge_id)

    rows: list[tuple[str, float, float, str]] = []

    # Baselines, same run, same database.
    with db.engine.connect() as connection:
        select_one = summary(timed(lambda: connection.execute(text("SELECT 1")).scalar(), args.runs * 4))

    def orm_read():
        db.session.expunge_all()
        db.session.get(Idea, rng.choice(ids))

    orm = summary(timed(orm_read, args.runs * 4))
    db.session.rollback()

    # Rebuild.
    started = time.perf_counter()
    count = search.reindex()
    rebuild_ms = (time.perf_counter() - started) * 1000
    rows.append((f"rebuild {count:,} ideas (whole)", rebuild_ms, rebuild_ms, ""))
    rows.append(("rebuild, per idea", rebuild_ms / max(count, 1), rebuild_ms / max(count, 1), ""))

    # Drain: queued edits, in batches.
    edited = rng.sample(ids, min(args.updates, len(ids)))
    for idea_id in edited:
        db.session.execute(Idea.__table__.update().where(Idea.id == idea_id)
                           .values(title=sentence(rng, 5).capitalize()))
        db.session.add(IndexJob(idea_id=idea_id))
    db.session.commit()
    ix = search.ensure_index()
    batch_ms = []
    while True:
        started = time.perf_counter()
        done = drain_batch(ix, args.batch)
        if not done:
            break
        batch_ms.append((time.perf_counter() - started) * 1000)
    mean, p95 = summary(batch_ms)
    rows.append((f"drain batch of {args.batch} edits", mean, p95, f"{len(batch_ms)} batches"))
    rows.append(("drain, per edited idea", mean / args.batch, p95 / args.batch, ""))
    single = []
    for idea_id in rng.sample(ids, 20):
        db.session.add(IndexJob(idea_id=idea_id))
        db.session.commit()
        started = time.perf_counter()
        search.drain()
        single.append((time.perf_counter() - started) * 1000)
    rows.append(("drain of one job (after a submit)", *summary(single), "lock, read, write, commit, delete"))

    # Opening a searcher (after another process committed).
    def open_searcher():
        ix.searcher().close()

    rows.append(("open a searcher", *summary(timed(open_searcher, args.runs)), ""))

    # Searches, as an employee (visibility filter and per-idea check included).
    rare = rng.choice(RARE)
    for label, query, options in (
        ("browse: no words, newest (database)", "", {"sort": "newest"}),
        ("browse: tag filter, newest (database)", "", {"tag": "mobile", "sort": "newest"}),
        ("search: one rare word", rare, {}),
        ("search: a rare and a common word", f"{rare} OR {rng.choice(COMMON)}", {}),
        ("search: mid-frequency word", WORDS[150], {}),
        ("search: two very common words", "kiosk queue", {}),
        ("search: very common word, page 5", "boarding", {"page": 5}),
        ("search: very common word, newest", "boarding", {"sort": "newest"}),
        ("search: mid-frequency word, tag", WORDS[150], {"tag": "mobile"}),
    ):
        def one(query=query, options=options):
            search.search_ideas(reader, query, **options)
            db.session.rollback()

        result = search.search_ideas(reader, query, **options)
        rows.append((label, *summary(timed(one, args.runs)), f"{result.total:,} found"))

    def similar():
        search.similar_ideas(reader, challenge, sentence(rng, 6), sentence(rng, 25))
        db.session.rollback()

    per_challenge = args.ideas // max(1, args.challenges)
    rows.append((f"similar_ideas (challenge of {per_challenge:,})", *summary(timed(similar, args.runs)),
                 "title + summary, at most 5"))

    print()
    print(f"baselines: SELECT 1 = {select_one[0]:.3f} ms, ORM read by id = {orm[0]:.3f} ms (means)")
    print()
    header = f"{'operation':40} {'mean ms':>10} {'p95 ms':>10} {'× SELECT 1':>11} {'× ORM read':>11}  note"
    print(header)
    print("-" * len(header))
    for label, mean, p95, note in rows:
        print(f"{label:40} {mean:10.2f} {p95:10.2f} {mean / select_one[0]:11.0f} {mean / orm[0]:11.1f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
