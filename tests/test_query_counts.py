"""No N+1: a list page or API list runs the same number of SQL statements whether it
shows 3 rows or 30.

Two identical worlds are built through the services, one with 3 ideas (each
commented, voted on, shortlisted, assigned to a reviewer and handed to an owner)
and one with 30; every list is read in both as the people who would read it, and
the statements are counted with an SQLAlchemy event listener. A count that grows
with the rows shown means a query per row. The pages the issue sets a speed target
for also keep within a statement budget (BUDGETS), cold and from a warm cache.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from ideas.challenges import comments as comment_services
from ideas.challenges import services as challenges
from ideas.challenges.services import CriterionInput
from ideas.extensions import db
from ideas.review import services as review
from ideas.voting import services as voting
from tests.challenges.factories import open_challenge


@dataclass
class World:
    challenge: object
    manager: object
    reviewer: object
    owner: object
    voter: object
    ideas: list


def _build(make_user, n: int, topic: str) -> World:
    manager = make_user(roles=("manager",))
    reviewer = make_user(roles=("reviewer",))
    owner = make_user(roles=("owner",))
    voter = make_user()
    challenge = open_challenge(manager, phase="submission", review_capacity=100, reviewers_per_idea=1,
                               criteria=[CriterionInput("impact", weight=2)], tags="airports",
                               title=f"Challenge about {topic}")
    authors = [make_user(pool="employee" if i % 2 else "external") for i in range(n)]
    for author in authors:
        if author.pool == "external":
            challenges.accept_challenge_terms(author, challenge)
    # One commit for all of them (each commit also updates the search index).
    ideas = [challenges.submit_idea(challenge, author, title=f"{topic.capitalize()} idea number {i}",
                                    summary=f"A way to improve {topic}.", body="Details follow.",
                                    tags=f"{topic}, idea{i % 3}")
             for i, author in enumerate(authors)]
    for k, idea in enumerate(ideas):
        comment_services.post_comment(idea, voter, f"A thought on {topic} idea {k}.")
        # The first idea carries n comments: its page lists them.
        comment_services.post_comment(ideas[0], authors[k], f"Comment {k} on the first {topic} idea.")
    db.session.commit()
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    for idea in ideas:
        voting.cast_vote(idea, voter, voting.Ballot(reason=f"Because {topic} matters to travellers like me."))
    db.session.commit()
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    reviews = review.shortlist_ideas(challenge, manager, [i.id for i in ideas], "The strongest ideas")
    for item in reviews:
        review.start_review(item, manager)
        review.assign_reviewers(item, manager, [reviewer.id])
        review.decide(item, manager, "accepted", "Worth doing")
        review.hand_off(item, manager, owner, confirm=True)
    db.session.commit()
    return World(challenge, manager, reviewer, owner, voter, ideas)


@contextmanager
def _counting():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _statements(client, path: str, headers: dict | None = None) -> int:
    first = client.get(path, headers=headers or {})  # warms per-process caches
    assert first.status_code == 200, (path, first.status_code, first.get_data(as_text=True)[:300])
    with _counting() as statements:
        response = client.get(path, headers=headers or {})
    assert response.status_code == 200, (path, response.status_code)
    return len(statements)


def _lists(world: World) -> dict[str, tuple[str, str]]:
    """name -> (who reads it, path)."""
    c, first = world.challenge.id, world.ideas[0].id
    return {
        "challenge page": ("voter", f"/challenges/{c}"),
        "challenge page, anonymous": ("anonymous", f"/challenges/{c}"),
        "ranking page": ("voter", f"/challenges/{c}/ranking"),
        "ranking page, manager": ("manager", f"/challenges/{c}/ranking"),
        "idea page with its comments": ("voter", f"/ideas/{first}"),
        "search": ("voter", f"/search?q=idea&challenge={c}"),
        "review dashboard": ("manager", f"/challenges/{c}/review"),
        "review queue": ("reviewer", "/review/queue"),
        "owner's handoffs": ("owner", "/review/handoffs"),
        "API ideas": ("voter-api", f"/api/v1/challenges/{c}/ideas"),
        "API ranking": ("voter-api", f"/api/v1/challenges/{c}/ranking"),
        "API comments": ("voter-api", f"/api/v1/ideas/{first}/comments"),
        "API search": ("voter-api", f"/api/v1/search?q=idea&challenge_id={c}"),
        "API handoffs": ("owner-api", "/api/v1/handoffs"),
    }


@pytest.fixture
def quiet_app(app):
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1  # the scheduler's tick is not the page's cost
    return app


def _reader(app, login, api_token, world: World, who: str):
    person = {"voter": world.voter, "manager": world.manager, "reviewer": world.reviewer,
              "owner": world.owner}.get(who.removesuffix("-api"))
    client = app.test_client()
    if who.endswith("-api"):
        return client, api_token(person)
    if person is not None:
        login(person, target=client)
    return client, {}


def test_list_pages_cost_the_same_for_3_and_30_rows(quiet_app, make_user, login, api_token):
    small = _build(make_user, 3, "kiosks")
    large = _build(make_user, 30, "baggage")
    grew = {}
    for (name, (who, small_path)), (_, (_, large_path)) in zip(_lists(small).items(), _lists(large).items(),
                                                               strict=True):
        counts = []
        for world, path in ((small, small_path), (large, large_path)):
            client, headers = _reader(quiet_app, login, api_token, world, who)
            counts.append(_statements(client, path.replace("q=idea", f"q={world.ideas[0].title.split()[0]}"),
                                      headers))
        if counts[1] != counts[0]:
            grew[name] = f"{counts[0]} statements for 3 rows, {counts[1]} for 30"
    assert not grew, grew


def test_challenge_lists_cost_the_same_for_3_and_30_challenges(quiet_app, make_user, login, api_token):
    manager = make_user(roles=("manager",))
    reader = make_user()
    client = quiet_app.test_client()
    login(reader, target=client)
    headers = api_token(reader)

    def add(count: int) -> None:
        for i in range(count):
            open_challenge(manager, phase=("submission", "voting", "review")[i % 3], title=f"Challenge {i}",
                           tags="airports")

    add(3)
    before = {path: _statements(client, path, headers if "/api/" in path else None)
              for path in ("/challenges", "/", "/api/v1/challenges")}
    add(27)
    after = {path: _statements(client, path, headers if "/api/" in path else None) for path in before}
    assert after == before


# The most the pages the issue sets a speed target for may run, read as the people who read
# them in the 30-row world: with caching off (as in the whole suite, and as for the first
# request after any change), and with the default cache warm (every later request until the
# challenge's generation moves). Lower them when a page gets cheaper; never raise them
# without saying why in the commit.
BUDGETS = {
    "challenge page": (9, 4),  # before the idea cards were kept per generation: (13, 13)
    "challenge page, anonymous": (6, 0),
    # 36 before the vote and the review were read once; (25, 25) before the suspension was read once, the
    # co-authors joined and the tags and attachments kept (this reader's own fresh comment keeps the
    # discussion rendered for them alone: tests/test_caching.py checks the kept one)
    "idea page with its comments": (24, 22),
    "API ranking": (3, 2),  # (17, 7) before the token, the roles and the ranking's ideas were read lean
    "API ideas": (14, 14),
}


def test_the_target_pages_stay_within_their_statement_budgets(quiet_app, make_user, login, api_token, tmp_path):
    from ideas import caching

    world = _build(make_user, 30, "baggage")
    pages = {name: spec for name, spec in _lists(world).items() if name in BUDGETS}
    cold = {name: _statements(*_reader_and_path(quiet_app, login, api_token, world, who, path))
            for name, (who, path) in pages.items()}
    caching.cache.init_app(quiet_app, config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache"),
                                              "CACHE_DEFAULT_TIMEOUT": 300})
    warm = {name: _statements(*_reader_and_path(quiet_app, login, api_token, world, who, path))
            for name, (who, path) in pages.items()}
    found = {name: (cold[name], warm[name]) for name in pages}
    over = {name: f"{found[name]} statements (cold, warm), budget {BUDGETS[name]}" for name in pages
            if found[name][0] > BUDGETS[name][0] or found[name][1] > BUDGETS[name][1]}
    assert not over, over


def _reader_and_path(app, login, api_token, world, who, path):
    client, headers = _reader(app, login, api_token, world, who)
    return client, path, headers


def test_the_idea_page_finds_its_comments_by_an_index(quiet_app, make_user, login, api_token):
    """Read without an index, the replies of a page of conversations cost a scan of every
    comment on the site (300,000 at the large scale): each statement on comments is looked up."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    world = _build(make_user, 3, "kiosks")
    first = world.ideas[0]
    comment_services.reply(_a_comment(first), world.manager, "A reply, so the page reads replies.")
    db.session.commit()
    client, _ = _reader(quiet_app, login, api_token, world, "voter")
    seen: list[tuple[str, tuple]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if " comments" in statement:
            seen.append((statement, parameters))

    client.get(f"/ideas/{first.id}")
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client.get(f"/ideas/{first.id}").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) >= 2, seen  # the conversations and their replies
    with db.engine.connect() as connection:
        scans = {statement: plan for statement, parameters in seen
                 for plan in [[row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                             parameters)]]
                 if any(step.startswith("SCAN comments") for step in plan)}
    assert not scans, scans


def _a_comment(idea):
    from sqlalchemy import select

    from ideas.challenges.models import Comment

    return db.session.scalars(select(Comment).where(Comment.idea_id == idea.id, Comment.parent_id.is_(None))).first()


def test_a_vote_through_the_api_costs_the_same_statements_with_3_and_30_votes_before_it(quiet_app, make_user,
                                                                                       api_token):
    """The vote POST reads a bounded context of earlier votes in a fixed number of
    statements (re-judged votes are written in one), and the new vote is written once,
    measured: no UPDATE of its signals after the INSERT."""
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", title="Challenge about trolleys")
    idea = challenges.submit_idea(challenge, make_user(), title="Trolleys that follow you", summary="Hands free.",
                                  body="A trolley that follows its traveller through the terminal.")
    db.session.commit()
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()

    def one_vote() -> tuple[int, list[str]]:
        headers = api_token(make_user())
        with _counting() as statements:
            response = quiet_app.test_client().post(f"/api/v1/ideas/{idea.id}/vote", json={"value": 1},
                                                    headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        return len(statements), [s for s in statements if s.startswith("UPDATE votes") and "identity" in s]

    def earlier(count: int) -> None:
        for _ in range(count):
            voting.cast_vote(idea, make_user(), voting.Ballot(reason="It saves my back on long trips."))
        db.session.commit()

    earlier(3)
    few, rewritten = one_vote()
    assert not rewritten, rewritten
    earlier(27)
    many, rewritten = one_vote()
    assert not rewritten, rewritten
    # One more where the new vote changes earlier votes' weights (their one UPDATE).
    assert many <= few + 1, (few, many)
    assert few <= 34, few
