"""A synthetic archive of a realistic crowd, for the import benchmark and the tests.

`synthetic_archive(votes=10_000, seed=1)` builds an `ideas-archive/1` document as
another platform might export it: employees and externals with accounts of every
age, ideas of varied length, comments, views before (and sometimes after) the
vote, votes with and without reasons and ratings spread over two weeks, people
sharing office networks, copied reasons, and a few rings of fresh accounts
clicking one idea within minutes, and people clicking through ideas seconds apart. Same seed, same document.
"""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ideas.archive.document import FORMAT, format_time

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
WORDS = ("queue desk kiosk bag tag boarding pass staff traveller family terminal morning rush service "
         "contract machine pilot data wait rebooking luggage screen app print scan gate lounge signage "
         "volunteer schedule peak hour cost rent month test measure").split()
PRAISE = "Great idea, I fully support this, it would really help everyone here and we should do it now."


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def synthetic_archive(votes: int = 10_000, seed: int = 1, *, days: int = 14, policy: str = "weighted",
                      ideas: int | None = None) -> dict:
    rng = random.Random(seed)
    n_ideas = ideas or max(5, votes // 40)
    n_people = max(12, votes // 8)
    end = START + timedelta(days=days)
    users = []
    for n in range(n_people):
        pool = "employee" if rng.random() < 0.45 else "external"
        age = rng.choice((400, 120, 30, 10, 3, 1, 0.2))
        users.append({"key": f"u{n}", "name": f"Person {n}", "pool": pool,
                      "email": f"p{n}@{'staff' if pool == 'employee' else 'outside'}.example",
                      "joined_at": format_time(START - timedelta(days=age * (0.5 + rng.random()))),
                      **({} if rng.random() < 0.9 else {"verified": False})})
    rings = max(1, votes // 2000)
    ring_users = []
    for r in range(rings):  # accounts made minutes before striking
        strike = START + timedelta(days=rng.uniform(1, days - 1))
        members = []
        for n in range(10):
            key = f"r{r}-{n}"
            users.append({"key": key, "name": f"Ring {r}.{n}", "email": f"ring{r}.{n}@burner.example",
                          "pool": "external", "joined_at": format_time(strike - timedelta(minutes=30 - n))})
            members.append(key)
        ring_users.append((strike, members))
    idea_list = []
    for n in range(n_ideas):
        author = rng.randrange(n_people)
        co = [f"u{(author + 1) % n_people}"] if rng.random() < 0.1 else []
        idea_list.append({"key": f"idea-{n}", "author": f"u{author}", "co_authors": co,
                          "title": f"Idea {n}: {_text(rng, 5)}"[:150], "summary": _text(rng, 15),
                          "body": _text(rng, rng.randrange(20, 400)), "tags": [rng.choice(WORDS)],
                          "created_at": format_time(START - timedelta(hours=rng.uniform(1, 72)))})
    authors = {i["key"]: {i["author"], *i["co_authors"]} for i in idea_list}
    comments = []
    for _ in range(votes // 10):
        idea = rng.choice(idea_list)
        comments.append({"idea": idea["key"], "author": f"u{rng.randrange(n_people)}",
                         "body": _text(rng, rng.choice((5, 25, 60))),
                         "created_at": format_time(START + timedelta(hours=rng.uniform(-48, days * 24)))})
    networks = [f"net-{n}" for n in range(max(3, n_people // 6))]
    views, vote_list, cast = [], [], set()
    reasons: list[str] = []
    ring_votes = sum(len(m) for _, m in ring_users)
    attempts = 0
    while len(vote_list) < votes - ring_votes and attempts < votes * 20:
        attempts += 1
        voter = f"u{rng.randrange(n_people)}"
        idea = rng.choice(idea_list)
        if voter in authors[idea["key"]] or (voter, idea["key"]) in cast:
            continue
        cast.add((voter, idea["key"]))
        moment = START + timedelta(seconds=rng.uniform(0, days * 86400))
        vote = {"idea": idea["key"], "voter": voter, "at": format_time(moment), "value": 1}
        if rng.random() < 0.65:  # opened the idea first, for a few seconds or a few minutes
            views.append({"idea": idea["key"], "user": voter,
                          "at": format_time(moment - timedelta(seconds=rng.choice((3, 20, 45, 120, 600))))})
        elif rng.random() < 0.1:
            views.append({"idea": idea["key"], "user": voter, "at": format_time(moment + timedelta(minutes=5))})
        roll = rng.random()
        if roll < 0.05 and reasons:
            vote["reason"] = rng.choice(reasons)  # pasted
        elif roll < 0.1:
            vote["reason"] = PRAISE
        elif roll < 0.45:
            vote["reason"] = _text(rng, rng.randrange(6, 45))
            reasons.append(vote["reason"])
        if rng.random() < 0.3:
            vote["ratings"] = {"impact": rng.randint(1, 5), "feasibility": rng.randint(1, 5)}
        if rng.random() < 0.5:
            vote["network"] = rng.choice(networks)
        vote_list.append(vote)
    for n in range(rings):  # someone clicking through ideas a few seconds apart
        clicker, moment = f"c{n}", START + timedelta(days=rng.uniform(0, days))
        users.append({"key": clicker, "name": f"Clicker {n}", "email": f"clicker{n}@outside.example",
                      "pool": "external", "joined_at": format_time(START - timedelta(days=60))})
        for k, idea in enumerate(rng.sample(idea_list, min(6, len(idea_list)))):
            if clicker not in authors[idea["key"]] and (clicker, idea["key"]) not in cast:
                cast.add((clicker, idea["key"]))
                vote_list.append({"idea": idea["key"], "voter": clicker, "value": 1,
                                  "at": format_time(moment + timedelta(seconds=4 * k))})
    for strike, members in ring_users:
        target = rng.choice(idea_list)
        for n, key in enumerate(members):
            vote_list.append({"idea": target["key"], "voter": key, "value": 1,
                              "at": format_time(strike + timedelta(seconds=12 * n)),
                              **({"network": "net-ring"} if n % 2 else {})})
    return {
        "format": FORMAT,
        "challenge": {"key": f"synthetic-{seed}", "title": "Halve check-in time", "brief": "How could we halve it?",
                      "pool_mode": "blended", "pool_weights": {"employee": 0.5, "external": 0.5},
                      "voting_policy": policy,
                      "criteria": [{"name": "impact", "weight": 2}, {"name": "feasibility", "weight": 1}],
                      "phase": "closed", "opens_at": format_time(START - timedelta(days=4)),
                      "closes_at": format_time(end + timedelta(days=7))},
        "users": users, "ideas": idea_list, "comments": comments, "views": views, "votes": vote_list,
    }
