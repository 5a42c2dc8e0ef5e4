"""Search benchmark: how long indexing, draining, searching and "similar ideas" take.

    python bench/search_bench.py [--ideas 20000] [--challenges 20] [--batch 200]
                                 [--updates 1000] [--runs 50] [--database URL]
                                 [--backend whoosh|postgres] [--keep]

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

With `--backend postgres` (and a PostgreSQL --database) PostgreSQL's own full-text
search answers: "rebuild" rewrites the documents, and instead of draining, an edit's
commit rewrites its idea's document (one edit, and a batch of edits in one commit).

On PostgreSQL the tables are vacuumed and analysed after the writes and before the
searches, as autovacuum would after a bulk load. Each figure is printed in milliseconds and as a ratio to two baselines measured in
the same run on the same database: `SELECT 1` (a round trip) and an ORM read of one
idea by primary key (what a page does for an idea). Each search also gets a third:
the same words as a raw query of the same engine on the same data (Whoosh: the parsed
query on a searcher, top page and count; PostgreSQL: one SQL statement over
`idea_search` with the same tsquery, ranking, page and count), without visibility,
filters or loading the ideas; "p95 × raw" is the search's p95 over the raw query's
(the target is ≤ 1.2). No assertions: numbers only.
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
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text

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


def timed(fn: Callable, runs: int, setup: Callable | None = None) -> list[float]:
    samples = []
    for _ in range(runs):
        if setup is not None:
            setup()  # untimed
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@contextmanager
def counting_statements():
    """[n]: how many SQL statements ran inside the block."""
    count = [0]

    def tally(*_args):
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", tally)
    try:
        yield count
    finally:
        event.remove(db.engine, "before_cursor_execute", tally)


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
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh",
                        help="the engine that answers searches (postgres needs --database)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    instance = Path(tempfile.mkdtemp(prefix="ideas-search-bench-"))
    url = args.database or f"sqlite:///{instance / 'ideas.db'}"
    app = create_app({"IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url,
                      "IDEAS_SEARCH_INDEX": str(instance / "search-index"), "SERVER_NAME": "bench.local",
                      "IDEAS_SEARCH_BACKEND": args.backend})
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

    if db.engine.dialect.name == "postgresql":
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))  # the search configuration too
    else:
        db.create_all()
    on_postgres = args.backend == "postgres"
    print(f"database: {db.engine.dialect.name}, search backend: {args.backend}; filling {args.ideas:,} ideas …",
          flush=True)
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

    if on_postgres:
        rows += postgres_writes(args, rng, ids)
    else:
        rows += whoosh_drains(args, rng, ids)

    # Searches, as an employee (visibility filter and per-idea check included), each
    # like a request's: nothing of the last one left in the session, the person (whom
    # every page loads, searching or not) loaded before the clock starts.
    def fresh_request():
        db.session.rollback()
        reader.pool  # noqa: B018 (reloads the person and their roles)

    if db.engine.dialect.name == "postgresql":
        # Settled as autovacuum leaves a table after a bulk load: without statistics the
        # planner guesses a handful of ideas and walks every one of them to the document
        # (6 ms instead of 0.1 ms for a rare word at 5,000 ideas), for the search and the
        # raw query alike, which would measure the guess rather than the code.
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    raw = raw_query(on_postgres)
    rare = rng.choice(RARE)
    ratios: list[tuple[str, float]] = []
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

        fresh_request()
        with counting_statements() as statements:
            result = search.search_ideas(reader, query, **options)
        searched = summary(timed(one, args.runs, setup=fresh_request))
        rows.append((label, *searched, f"{result.total:,} found, {statements[0]} SQL statements"))
        if query:
            def bare(query=query, options=options):
                raw(query, options.get("page", 1), options.get("sort", "relevance"))

            found = raw(query, options.get("page", 1), options.get("sort", "relevance"))
            direct = summary(timed(bare, args.runs))
            rows.append(("  raw query, same words", *direct, f"{found:,} found"))
            ratios.append((label, searched[1] / direct[1]))

    def similar():
        search.similar_ideas(reader, challenge, sentence(rng, 6), sentence(rng, 25))

    per_challenge = args.ideas // max(1, args.challenges)
    rows.append((f"similar_ideas (challenge of {per_challenge:,})", *summary(timed(similar, args.runs, fresh_request)),
                 "title + summary, at most 5"))

    print()
    print(f"baselines: SELECT 1 = {select_one[0]:.3f} ms, ORM read by id = {orm[0]:.3f} ms (means)")
    print()
    header = f"{'operation':40} {'mean ms':>10} {'p95 ms':>10} {'× SELECT 1':>11} {'× ORM read':>11}  note"
    print(header)
    print("-" * len(header))
    for label, mean, p95, note in rows:
        print(f"{label:40} {mean:10.2f} {p95:10.2f} {mean / select_one[0]:11.0f} {mean / orm[0]:11.1f}  {note}")
    print()
    print(f"search p95 over the raw query's p95 ({args.backend}; target ≤ 1.2):")
    for label, ratio in ratios:
        print(f"  {label:40} {ratio:6.2f} ×{'' if ratio <= 1.2 else '   (over the target)'}")
    return 0


def whoosh_drains(args, rng: random.Random, ids: list[int]) -> list[tuple[str, float, float, str]]:
    """Queued edits drained in batches, one job drained after a submit, opening a searcher."""
    from ideas.challenges.models import Idea
    from ideas.search import IndexJob

    rows = []
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

    def open_searcher():
        ix.searcher().close()

    rows.append(("open a searcher", *summary(timed(open_searcher, args.runs)), ""))
    return rows


def postgres_writes(args, rng: random.Random, ids: list[int]) -> list[tuple[str, float, float, str]]:
    """What an edit's commit costs, with and without rewriting its idea's document."""
    from ideas.challenges.models import Idea

    def edit(idea_ids: list[int], documents: bool) -> None:
        for idea_id in idea_ids:
            db.session.execute(Idea.__table__.update().where(Idea.id == idea_id)
                               .values(title=sentence(rng, 5).capitalize()))
            if documents:
                search.enqueue(idea_id)
        db.session.commit()

    rows = []
    for documents, label in ((False, "edit + commit, no document"), (True, "edit + commit + its document")):
        samples = timed(lambda documents=documents: edit([rng.choice(ids)], documents), args.runs)
        rows.append((label, *summary(samples), "one idea"))
    batches = timed(lambda: edit(rng.sample(ids, args.batch), True), max(1, args.updates // args.batch))
    mean, p95 = summary(batches)
    rows.append((f"{args.batch} edits + their documents, 1 commit", mean, p95, ""))
    rows.append(("document rewrite, per edited idea", mean / args.batch, p95 / args.batch, "in the commit"))
    return rows


def raw_query(on_postgres: bool) -> Callable[[str, int, str], int]:
    """raw(words, page, sort) -> the number found: the engine's own query for one page of
    20 and the count, nothing around it."""
    if on_postgres:
        from ideas.search import postgres

        statement = text(f"""
            SELECT s.idea_id, count(*) OVER () AS total
            FROM idea_search s JOIN ideas i ON i.id = s.idea_id
            WHERE s.document @@ to_tsquery('{postgres.CONFIG}', :q)
            ORDER BY {{order}}
            LIMIT 20 OFFSET :offset
        """)
        by_rank = text(statement.text.format(
            order=f"ts_rank_cd('{postgres.WEIGHTS}', s.document, to_tsquery('{postgres.CONFIG}', :q), "
                  f"{postgres.NORMALIZATION}) DESC, i.id DESC"))
        by_date = text(statement.text.format(order="coalesce(i.published_at, i.created_at) DESC, i.id DESC"))

        def run(words: str, page: int, sort: str) -> int:
            chosen = by_date if sort == "newest" else by_rank
            with db.engine.connect() as connection:
                found = connection.execute(chosen, {"q": postgres.to_tsquery_text(words),
                                                    "offset": (page - 1) * 20}).all()
            return found[0].total if found else 0

        return run

    from whoosh.sorting import FieldFacet

    from ideas.search.query import _parser

    searcher = search.ensure_index().searcher()  # kept open, as each process keeps its own

    def run(words: str, page: int, sort: str) -> int:
        options = {"sortedby": [FieldFacet("published", reverse=True), FieldFacet("num", reverse=True)]} \
            if sort == "newest" else {}
        hits = searcher.search(_parser().parse(words), limit=page * 20, **options)
        [hit["id"] for hit in hits[(page - 1) * 20:page * 20]]
        return len(hits)

    return run


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
