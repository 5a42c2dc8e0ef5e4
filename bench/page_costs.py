"""Page costs in process: SQL statements and time per page, at each scale, side by side.

    python bench/page_costs.py [--scales small,large] [--backend sqlite|postgresql]
                               [--cache /tmp/ideas-bench-cache] [--reads 30] [--top 0]
                               [--clock cpu|wall]

The profile to read before changing anything: for every page of the HTTP
benchmark (bench/http_bench.py), the median time of a request through Flask's
test client and the number of SQL statements it ran, on the cached scale data
sets (built once with `ideas demo --scale`, see scale_sites.py), plus the ratio
large / small that the issue bounds at 1.5. `--top N` prints the N costliest
statements of each page at the last scale (normalised text, count, total ms).

`--clock cpu` (the default) times each request by this process's CPU time, which
on SQLite includes the database's work and leaves out the time other processes
hold the cores, so that figures from a loaded machine still compare; `--clock wall`
times by the wall clock (what PostgreSQL's own work needs to be seen).

Baseline in the same run: one primary-key read through SQLAlchemy, in the same
process, on the same database.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scale_sites  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="small,large")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--cache", default="/tmp/ideas-bench-cache", type=Path)
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--clock", default="cpu", choices=("cpu", "wall"))
    args = parser.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    results: dict[str, dict[str, tuple[float, int]]] = {}
    baselines = {}
    for scale in scales:
        ds = scale_sites.data_set(args.cache, scale, args.backend)
        scale_sites.ensure(ds)
        results[scale], baselines[scale], statements = measure(ds, args.reads, clock)
    names = list(results[scales[0]])
    head = "".join(f"{s + ' ms':>12}{'SQL':>6}" for s in scales)
    ratio = f"{scales[-1]}/{scales[0]}" if len(scales) > 1 else ""
    print(f"\nin-process page costs on {args.backend} (median {args.clock} time of {args.reads} requests)")
    print(f"{'page':32}{head}{ratio:>14}")
    print(f"{'one primary-key read':32}" + "".join(f"{baselines[s] * 1e3:>12.2f}{1:>6}" for s in scales))
    worst = 0.0
    for name in names:
        cells = "".join(f"{results[s][name][0] * 1e3:>12.2f}{results[s][name][1]:>6}" for s in scales)
        r = ""
        if len(scales) > 1:
            value = results[scales[-1]][name][0] / results[scales[0]][name][0]
            worst = max(worst, value)
            r = f"{value:>13.2f}{'' if value <= 1.5 else ' !'}"
        print(f"{name:32}{cells}{r}")
    if len(scales) > 1:
        print(f"\ntarget: every page costs at {scales[-1]} at most 1.5 × its cost at {scales[0]}: "
              f"{'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f})")
    if args.top:
        for name, found in statements.items():
            print(f"\n{name}:")
            for sql, (count, total) in sorted(found.items(), key=lambda kv: -kv[1][1])[:args.top]:
                print(f"  {count:3} × {total * 1e3:8.2f} ms  {sql[:150]}")
    return 0


def _median(action, times: int, clock) -> float:
    action()  # warm up: the connection, the statement cache
    samples = []
    for _ in range(times):
        started = clock()
        action()
        samples.append(clock() - started)
    return statistics.median(samples)


def measure(ds, reads: int, clock=time.process_time):
    import os

    from sqlalchemy import event, select

    os.environ.update(ds.env)
    from ideas import create_app
    from ideas.challenges.models import Idea
    from ideas.extensions import db

    # CSRF stays on, as on a real site: each page that carries a form pays for its token.
    app = create_app({"IDEAS_LAZY_TICK_SECONDS": -1, "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": ds.url, "IDEAS_INSTANCE_PATH": str(ds.folder),
                      "IDEAS_SEARCH_INDEX": str(ds.folder / "search-index")})
    with app.app_context():
        targets = scale_sites.find_targets(db.session)
        engine = db.engine
    counted: list[tuple[str, float]] = []
    state = {"on": False}

    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(conn, cursor, statement, parameters, context, executemany):
        if state["on"]:
            counted.append((statement, time.perf_counter() - conn.info.get("started", time.perf_counter())))

    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)

    def one_read():
        with app.app_context():
            db.session.execute(select(Idea.title).where(Idea.id == targets.a_row_id)).scalar_one()

    # Requests run outside any app context of ours: each gets its own, as under a server
    # (a shared one would keep the first signed-in person in `g` for every client).
    baseline = _median(one_read, reads * 5, clock)
    clients = {who: _client(app, who, targets) for who in ("anonymous", "participant", "manager", "reviewer", "bigmanager")}
    token = _token(app, targets)
    found: dict[str, tuple[float, int]] = {}
    statements: dict[str, dict] = {}
    for page in scale_sites.pages(targets):
        client = clients.get(page.who) or clients["anonymous"]
        headers = {"Authorization": f"Bearer {token}"} if page.who == "token" else {}

        def get(page=page, client=client, headers=headers):
            response = client.get(page.path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{page.name}: {page.path} answered {response.status_code}")

        get()
        samples = []
        for _ in range(reads):
            counted.clear()
            state["on"] = True
            started = clock()
            get()
            samples.append(clock() - started)
            state["on"] = False
        per = defaultdict(lambda: [0, 0.0])
        for sql, spent in counted:
            entry = per[re.sub(r"\s+", " ", re.sub(r"\(\?(, \?)*\)|\(__\[POSTCOMPILE_\w+\]\)", "(…)", sql))]
            entry[0] += 1
            entry[1] += spent
        statements[page.name] = dict(per)
        found[page.name] = (statistics.median(samples), len(counted))
    event.remove(engine, "before_cursor_execute", _before)
    event.remove(engine, "after_cursor_execute", _after)
    engine.dispose()
    return found, baseline, statements


def _client(app, who: str, targets):
    client = app.test_client()
    email = {"participant": targets.participant_email, "manager": targets.manager_email,
             "reviewer": targets.reviewer_email, "bigmanager": targets.big_manager_email}.get(who)
    if email:
        from ideas.demo_scale import PASSWORD

        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token.group(1) if token else ""})
        if response.status_code not in (302, 303):
            raise SystemExit(f"signing in as {email} failed ({response.status_code})")
    return client


def _token(app, targets) -> str:
    from ideas.accounts import services
    from ideas.accounts.models import User
    from ideas.extensions import db

    from sqlalchemy import select

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == targets.big_manager_email))
        _, secret = services.create_api_token(user, "page costs bench")
        db.session.commit()
        return secret



if __name__ == "__main__":
    sys.exit(main())
