"""The one place that knows the search index; it indexes after commit.

How a change reaches the index, who drains the queue, what is decided at query time
and how the index stays readable: docs/search.md. Other packages call only the names
below (`from ideas import search; search.enqueue(idea.id)`).
"""
from __future__ import annotations

from flask import Flask

from ideas import events
from ideas.challenges.blueprint import SIMILAR_IDEAS
from ideas.search.cli import register_cli
from ideas.search.documents import INDEXED_STATUSES, SCHEMA_VERSION
from ideas.search.models import IdeaSearchDocument, IndexJob
from ideas.search.query import SORTS, RankKey, SearchPage, search_ideas, stored_rank
from ideas.search.queue import (
    DRAIN_BATCH,
    SUBSCRIPTIONS,
    drain,
    drain_after_request,
    enqueue,
    listen,
    pending,
)
from ideas.search.similar import similar_ideas
from ideas.search.store import (
    REBUILDING,
    UNAVAILABLE,
    SearchUnavailableError,
    close,
    ensure_index,
    reindex,
)

__all__ = [
    "DRAIN_BATCH", "INDEXED_STATUSES", "REBUILDING", "SCHEMA_VERSION", "SORTS", "UNAVAILABLE", "IdeaSearchDocument",
    "IndexJob", "RankKey",
    "SearchPage", "SearchUnavailableError", "close", "drain", "enqueue", "ensure_index", "init_app", "pending",
    "register_cli", "register_jobs", "reindex", "search_ideas", "similar_ideas", "stored_rank",
]


def init_app(app: Flask) -> None:
    """Queue the ideas that events change (ideas/events.py); drain after each request
    that committed an index job (the scheduler's "search" job drains on every tick too:
    `register_jobs`)."""
    listen()
    for name, handler in SUBSCRIPTIONS.items():
        events.subscribe(app, name, handler)
    app.teardown_request(drain_after_request)
    app.extensions[SIMILAR_IDEAS] = similar_ideas  # the idea form's suggestions


def register_jobs(app: Flask) -> None:
    from ideas import scheduler

    scheduler.register_job(app, "search", lambda now: drain())
