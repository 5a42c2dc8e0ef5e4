"""HTTP benchmark: the site's pages under gunicorn and wrk, against two floors in the same run.

    python bench/http_bench.py [--scales medium,large] [--backends sqlite,postgresql]
                               [--cache /tmp/ideas-bench-cache] [--duration 10] [--connections 16]
                               [--threads 2] [--workers 2] [--port 8601] [--only NAME]

For each backend (PostgreSQL only when 127.0.0.1:5432 answers) and scale, it
  1. builds the scale data set once (`ideas demo --scale`, see scale_sites.py) and
     reuses it from the cache folder on later runs;
  2. starts gunicorn (`--workers` sync workers) with a Flask hello-world and a Flask
     route doing one primary-key read through SQLAlchemy on the same database
     (bench/floor_app.py), and drives both with wrk: the two floors;
  3. starts the site with the same gunicorn settings on the data set and drives each
     page with wrk (a second process, `--connections` connections, `--duration`
     seconds each): home, the big challenge's page (first and a deep page, anonymous
     and signed in), its most-voted idea's page, search, similar ideas, the ranking
     API, the vote POST (API, authenticated, every request a new vote by another
     person), the manager's review dashboard and ranking page, the review queue;
  4. checks that no vote was lost: every 201 answer is one stored vote, and the
     stored aggregates of the ideas voted on equal the sum of their votes' weights;
  5. prints req/s, p50/p95/p99, errors, each worker's memory (RSS) and the ratio
     to both floors, with the issue's targets where it sets one; and the workers' CPU
     time per request with its ratio to the hello-world's (`% hello CPU`), which moves
     far less than req/s when other processes share the machine.

wrk is Debian's package: `apt-get update && apt-get install -y wrk`. Only 127.0.0.1;
every server is stopped at the end (also on Ctrl-C). Rate limits are switched off
for the site under test (one address sends thousands of requests a second).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scale_sites  # noqa: E402
from scale_sites import BIN, ROOT, DataSet  # noqa: E402

VOTE_IDEAS = 50

WRK_SCRIPT = r"""
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = {}
local cookie = os.getenv("BENCH_COOKIE") or ""
if #cookie > 0 then headers["Cookie"] = cookie end
local auth = os.getenv("BENCH_AUTH") or ""
if #auth > 0 then headers["Authorization"] = auth end
local tokens, ideas = {}, {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
for i in string.gmatch(os.getenv("BENCH_IDEAS") or "", "[^,]+") do ideas[#ideas + 1] = i end
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
counter = 0
created, changed, other = 0, 0, 0
function request()
  if #tokens > 0 then
    -- Every request a different (voter, idea) pair: a new vote, never a repeat.
    local n = counter * nthreads + tid
    counter = counter + 1
    local voter = n % #tokens
    local idea = math.floor(n / #tokens) % #ideas
    return wrk.format("POST", "/api/v1/ideas/" .. ideas[idea + 1] .. "/vote",
      {["Authorization"] = "Bearer " .. tokens[voter + 1], ["Content-Type"] = "application/json"},
      '{"value": 1}')
  end
  return wrk.format(method, path, headers)
end
if #tokens > 0 then
  function response(status, hdrs, body)
    if status == 201 then created = created + 1 elseif status == 200 then changed = changed + 1
    else other = other + 1 end
  end
end
function done(summary, latency, requests)
  local c, ch, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + (t:get("created") or 0); ch = ch + (t:get("changed") or 0); o = o + (t:get("other") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"created": %d, "changed": %d, "other": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout, c, ch, o))
end
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="medium,large")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--cache", default="/tmp/ideas-bench-cache", type=Path,
                        help="where the data sets are built once and kept")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8601, help="the site; the floors use the next port")
    parser.add_argument("--only", action="append", default=[], help="measure only pages whose name contains this")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    if not 1 <= args.duration <= 120:
        parser.error("--duration takes 1 to 120 seconds")
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in scales if s not in ("small", "medium", "large")]
    if unknown:
        parser.error(f"unknown scale {unknown[0]!r}: choose small, medium or large")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    verdicts: list[str] = []
    for backend in backends:
        if backend == "postgresql" and not scale_sites.postgres_answers():
            print("\nPostgreSQL does not answer on 127.0.0.1:5432: its runs are skipped.")
            continue
        for scale in scales:
            ds = scale_sites.data_set(args.cache, scale, backend)
            scale_sites.ensure(ds)
            verdicts += run(ds, args)
    if verdicts:
        print("\nTargets:")
        for line in verdicts:
            print(f"  {line}")
    return 0


# --- one data set -----------------------------------------------------------------

def run(ds: DataSet, args) -> list[str]:
    print(f"\n== {ds.backend}, {ds.scale} scale ({ds.folder}) — gunicorn -w {args.workers}, "
          f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s")
    prepared = _prepare(ds)
    targets = prepared["targets"]
    results: dict[str, dict] = {}
    memory: dict[str, int] = {}
    with _Server(ds, "floor_app:app", args.port + 1, args.workers, chdir=ROOT / "bench",
                 extra={"FLOOR_DATABASE_URL": _plain_url(ds.url), "FLOOR_MAX_ID": str(prepared["max_idea"])}) as floor:
        results["hello-world"] = _timed(floor, args, floor.url("/hello"))
        results["one primary-key read"] = _timed(floor, args, floor.url("/read"))
    with _Server(ds, "wsgi:app", args.port, args.workers) as site:
        cookies = {who: _login(site, email) for who, email in (
            ("participant", targets.participant_email), ("manager", targets.manager_email),
            ("reviewer", targets.reviewer_email), ("bigmanager", targets.big_manager_email))}
        for page in scale_sites.pages(targets):
            if args.only and not any(o in page.name for o in args.only):
                continue
            env = {}
            if page.who == "token":
                env["BENCH_AUTH"] = f"Bearer {prepared['token']}"
            elif page.who != "anonymous":
                env["BENCH_COOKIE"] = cookies[page.who]
            _check_page(site, page, env)
            results[page.name] = _timed(site, args, site.url(page.path), env)
            memory[page.name] = site.worker_rss()
        if not args.only or any(o in "vote POST" for o in args.only):
            before = _vote_state(ds, prepared)
            env = {"BENCH_TOKENS": ",".join(prepared["voter_tokens"]),
                   "BENCH_IDEAS": ",".join(map(str, targets.vote_ideas))}
            results["vote POST"] = _timed(site, args, site.url("/"), env)
            memory["vote POST"] = site.worker_rss()
            results["vote POST"]["lost"] = _lost_votes(ds, prepared, before, results["vote POST"],
                                                       args.connections)
    return _report(ds, results, memory)


def _plain_url(url: str) -> str:
    return url


def _prepare(ds: DataSet) -> dict:
    """Targets, an API token for the participant and one for each voter of the vote POST."""
    code = r"""
import json, sys
sys.path.insert(0, "bench")
import scale_sites
from sqlalchemy import func, select
from ideas import create_app
from ideas.accounts import services
from ideas.accounts.models import User
from ideas.challenges.models import Idea
from ideas.extensions import db
app = create_app({"IDEAS_LAZY_TICK_SECONDS": -1})
with app.app_context():
    t = scale_sites.find_targets(db.session)
    # The ranking API as an integrator reads it: a manager's token (participants see a
    # ranking only once voting is over).
    user = db.session.scalar(select(User).where(User.email == t.big_manager_email))
    _, token = services.create_api_token(user, "http bench")
    voter_tokens = []
    for voter_id in t.voters:
        _, secret = services.create_api_token(db.session.get(User, voter_id), "http bench vote")
        voter_tokens.append(secret)
    max_idea = db.session.scalar(select(func.max(Idea.id)))
    db.session.commit()
    print("PREPARED " + json.dumps({"targets": t.__dict__, "token": token, "voter_tokens": voter_tokens,
                                    "max_idea": max_idea}))
"""
    result = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, env=ds.env, capture_output=True,
                            text=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("PREPARED ")), None)
    if line is None:
        raise SystemExit(f"could not prepare the benchmark:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line[len("PREPARED "):])
    data["targets"] = scale_sites.Targets(**data["targets"])
    return data


def _vote_state(ds: DataSet, prepared: dict) -> dict:
    code = r"""
import json, sys
from sqlalchemy import func, select
from ideas import create_app
from ideas.extensions import db
from ideas.voting.models import IdeaScore, Vote
ideas, voters = json.loads(sys.argv[1]), json.loads(sys.argv[2])
app = create_app({"IDEAS_LAZY_TICK_SECONDS": -1})
with app.app_context():
    mine = db.session.scalar(select(func.count(Vote.id)).where(Vote.idea_id.in_(ideas), Vote.voter_id.in_(voters)))
    rows = db.session.execute(select(Vote.idea_id, func.count(Vote.id), func.coalesce(func.sum(Vote.weight), 0.0))
                              .where(Vote.idea_id.in_(ideas), Vote.value > 0).group_by(Vote.idea_id)).all()
    votes = {i: (c, float(w)) for i, c, w in rows}
    stored = {s.idea_id: (s.raw_employee + s.raw_external, s.support_employee + s.support_external)
              for s in db.session.scalars(select(IdeaScore).where(IdeaScore.idea_id.in_(ideas)))}
    bad = [i for i in ideas if abs(stored.get(i, (0, 0.0))[1] - votes.get(i, (0, 0.0))[1]) > 1e-6
           or stored.get(i, (0, 0.0))[0] != votes.get(i, (0, 0.0))[0]]
    print("STATE " + json.dumps({"mine": mine, "mismatched": bad}))
"""
    t = prepared["targets"]
    result = subprocess.run([str(BIN / "python"), "-c", code, json.dumps(t.vote_ideas), json.dumps(t.voters)],
                            cwd=ROOT, env=ds.env, capture_output=True, text=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("STATE ")), None)
    if line is None:
        raise SystemExit(f"could not read the votes:\n{result.stdout}\n{result.stderr}")
    return json.loads(line[len("STATE "):])


def _lost_votes(ds: DataSet, prepared: dict, before: dict, result: dict, in_flight: int) -> str:
    """Every 201 is a stored vote. wrk stops with up to one request per connection still
    being answered: those are stored too but never counted, so up to `in_flight` more."""
    time.sleep(3)  # let the requests in flight when wrk stopped finish
    after = _vote_state(ds, prepared)
    new = after["mine"] - before["mine"]
    problems = []
    if new < result["created"]:
        problems.append(f"LOST: {result['created']} votes answered 201 but only {new} were stored")
    elif new > result["created"] + in_flight:
        problems.append(f"{result['created']} votes answered 201 but {new} were stored (more than the "
                        f"{in_flight} requests wrk may have left in flight)")
    if after["mismatched"]:
        problems.append(f"stored aggregates differ from the votes on ideas {after['mismatched'][:5]}")
    return "; ".join(problems) or (f"none lost ({result['created']} answered 201, {new} stored, the rest in "
                                   "flight when wrk stopped; every idea's aggregates equal its votes' weights)")


# --- servers ------------------------------------------------------------------------

class _Server:
    def __init__(self, ds: DataSet, app: str, port: int, workers: int, chdir: Path = ROOT,
                 extra: dict | None = None) -> None:
        self.ds, self.app, self.port, self.workers, self.chdir = ds, app, port, workers, chdir
        self.extra = extra or {}
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        env = {**self.ds.env, **self.extra}
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--chdir",
             str(self.chdir), "--timeout", "180", "--log-level", "warning", self.app],
            cwd=self.chdir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"gunicorn {self.app} stopped:\n{self.log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(self.url("/healthz" if self.app == "wsgi:app" else "/hello"),
                                            timeout=2):
                    return self
            except Exception:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise SystemExit(f"gunicorn {self.app} did not answer on port {self.port} within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def _workers(self) -> list[str]:
        pid = self.process.pid
        try:
            return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []

    def worker_cpu(self) -> float:
        """The CPU time (user and system) the workers have used so far, in seconds."""
        total = 0
        for child in self._workers():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def worker_rss(self) -> int:
        """The largest resident memory of the workers, in bytes."""
        largest = 0
        for child in self._workers():
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                largest = max(largest, int(found.group(1)) * 1024)
        return largest


def _login(site: _Server, email: str) -> str:
    from ideas.demo_scale import PASSWORD

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(site.url("/login"), timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    data = urllib.parse.urlencode({"email": email, "password": PASSWORD,
                                   "csrf_token": token.group(1) if token else ""}).encode()
    opener.open(urllib.request.Request(site.url("/login"), data=data), timeout=30).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise SystemExit(f"signing in as {email} failed")
    return cookie


def _check_page(site: _Server, page, env: dict) -> None:
    headers = {}
    if "BENCH_COOKIE" in env:
        headers["Cookie"] = env["BENCH_COOKIE"]
    if "BENCH_AUTH" in env:
        headers["Authorization"] = env["BENCH_AUTH"]
    request = urllib.request.Request(site.url(page.path), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=180) as response:  # a loaded machine is slow
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise SystemExit(f"{page.name}: GET {page.path} answered {status}, not 200")


def _timed(server: _Server, args, url: str, env: dict | None = None) -> dict:
    """wrk's figures, with the server's worker CPU time per request."""
    before = server.worker_cpu()
    data = _wrk(args, url, env)
    data["cpu_ms"] = (server.worker_cpu() - before) * 1e3 / max(data["requests"], 1)
    return data


def _wrk(args, url: str, env: dict | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    try:
        result = subprocess.run(
            ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
             "-s", script.name, f"{parsed.scheme}://{parsed.netloc}"],
            env={**os.environ, "BENCH_PATH": path, "BENCH_THREADS": str(args.threads), **(env or {})},
            capture_output=True, text=True, timeout=args.duration + 60)
    finally:
        os.unlink(script.name)
    line = next((line for line in result.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result for {url}:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line[len("BENCH "):])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return data


# --- the report ---------------------------------------------------------------------

GATES_SQLITE = {"challenge page (first)", "challenge page (deep)", "challenge page (signed in)", "idea page",
                "idea page (signed in)", "ranking API"}


def _report(ds: DataSet, results: dict, memory: dict) -> list[str]:
    hello = results["hello-world"]["rps"]
    read = results["one primary-key read"]["rps"]
    hello_cpu = results["hello-world"]["cpu_ms"]
    print(f"{'endpoint':30}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'% hello':>9}{'% 1-read':>10}{'RSS MB':>8}{'CPU ms':>8}{'% hello CPU':>13}")
    for name, r in results.items():
        rss = memory.get(name)
        print(f"{name:30}{r['rps']:>9.0f}{r['p50_us'] / 1e3:>9.1f}{r['p95_us'] / 1e3:>9.1f}"
              f"{r['p99_us'] / 1e3:>9.1f}{r['errors']:>8}{100 * r['rps'] / hello:>8.1f}%"
              f"{100 * r['rps'] / read:>9.1f}%{(rss or 0) / 2**20:>8.0f}{r['cpu_ms']:>8.2f}"
              f"{100 * hello_cpu / r['cpu_ms'] if r['cpu_ms'] else 0:>12.1f}%")
    if "vote POST" in results:
        print(f"vote POST: {results['vote POST']['lost']}")
    verdicts = []
    tag = f"{ds.backend} {ds.scale}"
    for name, r in results.items():
        if name in GATES_SQLITE:
            if ds.backend == "sqlite":
                share, p95 = r["rps"] / hello, r["p95_us"] / 1e3
                ok = share >= 0.30 and p95 <= 50
                verdicts.append(f"{tag}: {name} ≥ 30 % of hello-world, p95 ≤ 50 ms: {'met' if ok else 'NOT met'} "
                                f"({100 * share:.1f} %, p95 {p95:.1f} ms)")
            else:
                share = r["rps"] / read
                verdicts.append(f"{tag}: {name} ≥ 60 % of the one-read route: {'met' if share >= 0.6 else 'NOT met'}"
                                f" ({100 * share:.1f} %)")
    if "vote POST" in results:
        r = results["vote POST"]
        base, floor = (hello, 0.20) if ds.backend == "sqlite" else (read, 0.60)
        share = r["rps"] / base
        ok = share >= floor and r["lost"].startswith("none lost") and r["other"] == 0
        verdicts.append(f"{tag}: vote POST ≥ {floor:.0%} of {'hello-world' if ds.backend == 'sqlite' else 'one read'}"
                        f", no vote lost: {'met' if ok else 'NOT met'} ({100 * share:.1f} %, {r['other']} refused; "
                        f"{r['lost']})")
    if memory:
        worst = max(memory.values()) / 2**20
        verdicts.append(f"{tag}: each worker ≤ 200 MB: {'met' if worst <= 200 else 'NOT met'} (largest {worst:.0f} MB)")
    return verdicts


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it comes, also into a file
    sys.exit(main())
