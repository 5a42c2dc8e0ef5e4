"""The one place that knows the search index (Whoosh, under the instance folder).

A change queues an IndexJob in its own transaction; after commit one writer drains
the queue in batches. So a rolled-back change never reaches the index, a killed
worker loses nothing (the jobs stay queued), and no lock error reaches a person."""
from __future__ import annotations

from ideas.challenges.models import IndexJob
from ideas.extensions import db


def enqueue(idea_id: int) -> None:
    """Queue `idea_id` for (re)indexing in the current transaction."""
    db.session.add(IndexJob(idea_id=idea_id))
