"""One OS process of tests/search/test_concurrency.py: submits ideas, or searches until told to stop.

    python concurrency_worker.py submit CONFIG.json AUTHOR_ID CHALLENGE_ID PREFIX COUNT
    python concurrency_worker.py search CONFIG.json USER_ID STOP_FILE

Prints one JSON line with what it did; any exception makes the exit status non-zero.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    began = time.monotonic()
    role, config_path = argv[0], argv[1]
    from ideas import create_app
    from ideas.extensions import db

    app = create_app(json.loads(Path(config_path).read_text()))
    with app.app_context():
        from ideas import search
        from ideas.accounts.models import User
        from ideas.challenges import services
        from ideas.challenges.models import Challenge

        if role == "submit":
            author_id, challenge_id, prefix, count = int(argv[2]), int(argv[3]), argv[4], int(argv[5])
            author = db.session.get(User, author_id)
            challenge = db.session.get(Challenge, challenge_id)
            drained = 0
            ready = time.monotonic() - began
            for n in range(count):
                services.submit_idea(challenge, author, title=f"{prefix} concurrent idea {n}",
                                     summary=f"Idea {n} from {prefix}, about parallel gates.", tags=prefix)
                db.session.commit()
                drained += search.drain()  # what the request's teardown does
            print(json.dumps({"role": role, "submitted": count, "drained": drained, "startup_s": round(ready, 2),
                              "total_s": round(time.monotonic() - began, 2)}))
        else:
            user = db.session.get(User, int(argv[2]))
            stop = Path(argv[3])
            searches, most = 0, 0
            deadline = time.monotonic() + 60
            while not stop.exists() and time.monotonic() < deadline:
                result = search.search_ideas(user, "parallel gates", per_page=5)
                if result.error:
                    raise RuntimeError(result.error)
                most = max(most, result.total)
                searches += 1
                db.session.rollback()
            print(json.dumps({"role": role, "searches": searches, "most_seen": most,
                              "total_s": round(time.monotonic() - began, 2)}))
        db.session.remove()
        db.engine.dispose()
    search.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
