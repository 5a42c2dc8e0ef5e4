"""Fixtures for search: challenges in a chosen phase and audience, and ideas submitted through the services.

A test that takes `search_backend` (or a module marked
`pytestmark = pytest.mark.usefixtures("search_backend")`) runs once per backend the
database can serve: Whoosh everywhere, and PostgreSQL's own full-text search too when
the suite runs on PostgreSQL. Both pass the same assertions.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock
from ideas.extensions import db
from tests.api.conftest import api  # noqa: F401  (the API caller, for the API's side of the same searches)

DAY = timedelta(days=1)
ON_POSTGRES = bool(os.environ.get("IDEAS_TEST_DATABASE_URL"))
BACKENDS = ("whoosh", "postgres") if ON_POSTGRES else ("whoosh",)


def pytest_generate_tests(metafunc):
    if "search_backend" in metafunc.fixturenames:
        metafunc.parametrize("search_backend", BACKENDS, indirect=True)


@pytest.fixture
def search_backend(request, app) -> str:
    """The engine that answers this test's searches (set before any idea is written)."""
    app.config["IDEAS_SEARCH_BACKEND"] = request.param
    return request.param


@pytest.fixture
def indexed_count(app) -> Callable[[], int]:
    """indexed_count() -> how many ideas the backend answering searches holds."""
    from ideas import search
    from ideas.search.models import IdeaSearchDocument

    def count() -> int:
        if app.config["IDEAS_SEARCH_BACKEND"] == "postgres":
            return db.session.scalar(select(func.count()).select_from(IdeaSearchDocument))
        return search.ensure_index().doc_count()

    return count


@pytest.fixture
def manager(make_user):
    return make_user(roles=("manager",), name="Mara Manager")


@pytest.fixture
def employee(make_user):
    return make_user(pool="employee", name="Emil Employee")


@pytest.fixture
def external(make_user):
    return make_user(pool="external", name="Xena External")


# Dates that put a freshly published challenge in each phase.
PHASE_DATES = {
    "submission": {"opens_at": -1, "voting_at": 10, "review_at": 20, "closes_at": 30},
    "voting": {"opens_at": -10, "voting_at": -1, "review_at": 20, "closes_at": 30},
    "review": {"opens_at": -20, "voting_at": -10, "review_at": -1, "closes_at": 30},
}


@pytest.fixture
def make_challenge(manager) -> Callable:
    """make_challenge(title=…, pool_mode="blended", cross_visibility=False): published, in submission."""
    from ideas.challenges import services

    def make(title: str = "Cut check-in time in half", pool_mode: str = "blended",
             cross_visibility: bool = False, **values):
        now = clock.now()
        dates = {name: now + days * DAY for name, days in PHASE_DATES["submission"].items()}
        challenge = services.create_challenge(
            manager, title=title, brief="How could we cut check-in time in half?", pool_mode=pool_mode,
            cross_visibility=cross_visibility, **dates, **values,
        )
        services.publish(challenge, manager)
        db.session.commit()
        return challenge

    return make


@pytest.fixture
def move_to_phase(manager) -> Callable:
    """Move a published challenge on to `phase` through its dates (as the scheduler would)."""
    from ideas.challenges import services

    def move(challenge, phase: str):
        now = clock.now()
        for name, days in PHASE_DATES[phase].items():
            setattr(challenge, name, now + days * DAY)
        services.advance_due_phases(challenge, now)
        db.session.commit()
        assert challenge.phase == phase

    return move


@pytest.fixture
def submit() -> Callable:
    """submit(challenge, author, title, summary=…, body=…, tags=…, draft=False): committed."""
    from ideas.challenges import services

    def do(challenge, author, title: str, summary: str | None = None, body: str = "", tags=(),
           draft: bool = False):
        idea = services.submit_idea(
            challenge, author, title=title, summary=summary or f"In short: {title.lower()}.", body=body,
            tags=tags, draft=draft,
        )
        db.session.commit()
        return idea

    return do


@pytest.fixture
def found() -> Callable:
    """found(user, query, **filters) -> the titles search returns (all pages)."""
    from ideas.search import search_ideas

    def titles(user, query: str = "", **filters) -> list[str]:
        result = search_ideas(user, query, per_page=100, **filters)
        return [i.title for i in result.items]

    return titles
