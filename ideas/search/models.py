"""The search documents PostgreSQL keeps beside the ideas (docs/search.md, "Search on
PostgreSQL"): one row per published idea, written in the same transaction as the change.

On SQLite the table exists (the schema is the same everywhere) and stays empty: the
embedded Whoosh index answers there."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ideas.extensions import db

# A text search vector on PostgreSQL; plain text elsewhere (never written there).
SearchVector = TSVECTOR().with_variant(Text(), "sqlite")


class IdeaSearchDocument(db.Model):
    __tablename__ = "idea_search"
    __table_args__ = (
        Index("ix_idea_search_document", "document", postgresql_using="gin"),
        Index("ix_idea_search_likeness", "likeness", postgresql_using="gin"),
    )

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    # Title (weight A), summary (B), tags (C), description and visible comments (D).
    document: Mapped[str] = mapped_column(SearchVector)
    # Title (A) and summary (B) only: what "similar ideas" compares.
    likeness: Mapped[str] = mapped_column(SearchVector)
