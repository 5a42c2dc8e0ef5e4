"""What one page of challenges costs when most challenges are outside the reader's audience.

    python bench/challenge_list_bench.py [--sizes 100,100000] [--reads 20] [--backend sqlite|postgresql]
                                         [--db postgresql+psycopg://postgres@127.0.0.1:5432/ideas]

For each size, a fresh database holds that many published employees-only challenges
and, oldest, 30 open to everyone; an external participant reads the first page of
GET /api/v1/challenges (30 items) and the /challenges page. Printed: the median time
and the SQL statements of each read, against one primary-key read in the same run,
and the ratio largest / smallest. Visibility is a WHERE clause
(permissions.challenge_visibility), so the page reads 31 rows however many
challenges the reader may not see.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recompute_bench import _median  # noqa: E402  (the same warm-up-then-median timing)


@contextmanager
def database(backend: str, server: str, folder: Path):
    """A fresh database: an SQLite file in `folder`, or a scratch database on `server`."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/bench.db"
        return
    from tests.pg import scratch_database

    with scratch_database(server) as url:
        yield url


def build(size: int, url: str, folder: Path):
    from flask_migrate import upgrade
    from sqlalchemy import event, insert, text

    from ideas import clock, create_app
    from ideas.accounts import services as accounts
    from ideas.accounts.models import PoolSource, User
    from ideas.challenges.models import Challenge, Phase
    from ideas.extensions import db

    app = create_app({"IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": url,
                      "IDEAS_SEARCH_INDEX": str(folder / "index"), "IDEAS_UPLOADS": str(folder / "uploads"),
                      "SERVER_NAME": "ideas.test", "IDEAS_LAZY_TICK_SECONDS": -1, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        now = clock.now()
        manager = User(name="Manager", email="manager@staff.example", password_hash="x", pool="employee",
                       pool_source=PoolSource.ADMIN, email_verified_at=now, terms_accepted_at=now)
        reader = User(name="Reader", email="reader@outside.example", password_hash="x", pool="external",
                      pool_source=PoolSource.ADMIN, email_verified_at=now, terms_accepted_at=now)
        db.session.add_all([manager, reader])
        db.session.flush()
        rows = [{"title": f"Open {n}", "phase": Phase.SUBMISSION, "pool_mode": "blended",
                 "created_by_id": manager.id, "published_at": now} for n in range(30)]
        rows += [{"title": f"Staff only {n}", "phase": Phase.SUBMISSION, "pool_mode": "employees_only",
                  "created_by_id": manager.id, "published_at": now} for n in range(size)]
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(Challenge), rows[start:start + 10_000])
        _, secret = accounts.create_api_token(reader, "bench")
        db.session.commit()
        if url.startswith("postgresql"):
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        reader_id = reader.id
    statements: list[str] = []

    def count(*_args, **_kwargs):
        statements.append("x")

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return app, {"Authorization": f"Bearer {secret}"}, reader_id, statements


def measure(size: int, backend: str, server: str, reads: int) -> dict[str, tuple[float, int]]:
    from ideas.accounts.models import User
    from ideas.extensions import db

    with tempfile.TemporaryDirectory() as folder, database(backend, server, Path(folder)) as url:
        app, headers, reader_id, statements = build(size, url, Path(folder))
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(reader_id)
        found: dict[str, tuple[float, int]] = {}

        def api():
            response = client.get("/api/v1/challenges?limit=30", headers=headers)
            assert response.status_code == 200 and len(response.get_json()["items"]) == 30, response.get_json()

        def page():
            assert client.get("/challenges").status_code == 200

        with app.app_context():
            def pk():
                db.session.get(User, reader_id, populate_existing=True)

            found["one primary-key read"] = (_median(pk, reads), 1)
        for name, action in (("GET /api/v1/challenges", api), ("/challenges page", page)):
            statements.clear()
            action()
            used = len(statements)
            found[name] = (_median(action, reads), used)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/ideas",
                        help="the PostgreSQL server to make scratch databases on")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: measure(size, args.backend, args.db, args.reads) for size in sizes}
    names = list(results[sizes[0]])
    print(f"\none page of challenges for an external reader on {args.backend} (median of {args.reads} reads)")
    print(f"{'read':28}" + "".join(f"{f'{s:,} hidden ms':>20}{'SQL':>6}" for s in sizes) + f"{'ratio':>8}")
    for name in names:
        cells = "".join(f"{results[s][name][0] * 1e3:>20.2f}{results[s][name][1]:>6}" for s in sizes)
        ratio = results[sizes[-1]][name][0] / results[sizes[0]][name][0]
        print(f"{name:28}{cells}{ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
