"""Which engine answers searches: `IDEAS_SEARCH_BACKEND` (checked at start-up by
`ideas.config`): "whoosh", the embedded index under the instance folder (the default),
or "postgres", PostgreSQL's own full-text search (no index folder at all)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

WHOOSH = "whoosh"
POSTGRES = "postgres"


def uses_postgres() -> bool:
    """Does PostgreSQL answer this app's searches?"""
    return current_app.config.get("IDEAS_SEARCH_BACKEND", WHOOSH) == POSTGRES


def keeps_documents(session: Session) -> bool:
    """Does this session's database keep search documents (PostgreSQL does, whichever
    backend answers, so that switching to it needs no rebuild)?"""
    return session.get_bind().dialect.name == "postgresql"
