"""Two processes submit at once while a third searches: no lock error anywhere, nothing lost.

Runs on the suite's database (an SQLite file in WAL mode, or PostgreSQL when
IDEAS_TEST_DATABASE_URL is set); every process builds the app on the same database
and the same instance folder, as gunicorn workers do.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ideas import search
from ideas.search import search_ideas

WORKER = Path(__file__).with_name("concurrency_worker.py")
ROOT = Path(__file__).resolve().parents[2]
PER_PROCESS = 20


def test_two_submitters_and_a_searcher(app, tmp_path, make_challenge, make_user):
    challenge = make_challenge("Parallel gates")
    first, second = make_user(pool="employee"), make_user(pool="external")
    reader = make_user(pool="employee")
    keys = ("SQLALCHEMY_DATABASE_URI", "IDEAS_SEARCH_INDEX", "IDEAS_UPLOADS", "SERVER_NAME")
    config = {key: app.config[key] for key in keys}
    config.update(IDEAS_ENV="testing", IDEAS_INSTANCE_PATH=app.instance_path)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def start(*args):
        return subprocess.Popen([sys.executable, "-W", "error::DeprecationWarning", str(WORKER), *map(str, args)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    searcher = start("search", config_file, reader.id, stop)
    submitters = [start("submit", config_file, author.id, challenge.id, prefix, PER_PROCESS)
                  for author, prefix in ((first, "alpha"), (second, "beta"))]
    outputs = []
    try:
        for process in submitters:
            out, err = process.communicate(timeout=60)
            outputs.append((process.returncode, out, err))
    finally:
        stop.touch()
        out, err = searcher.communicate(timeout=60)
        outputs.append((searcher.returncode, out, err))
    for code, _, err in outputs:
        assert code == 0, err[-3000:]
        assert "Traceback" not in err and "LockError" not in err, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outputs]
    assert reports[2]["searches"] > 0

    search.drain()
    result = search_ideas(reader, "parallel gates", per_page=100)
    titles = {i.title for i in result.items}
    assert result.total == 2 * PER_PROCESS, result.error
    assert titles == {f"{p} concurrent idea {n}" for p in ("alpha", "beta") for n in range(PER_PROCESS)}
