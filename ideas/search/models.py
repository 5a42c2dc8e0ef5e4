"""The search domain's tables: the queue of index changes (Whoosh), and the search
documents PostgreSQL keeps beside the ideas (docs/search.md, "Search on PostgreSQL")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, Integer, Text, event
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ideas import clock
from ideas.extensions import UTCDateTime, db


class IndexJob(db.Model):
    """A search-index change, written in the same transaction as the change itself and
    drained by one writer after commit, so a rolled-back change never reaches the index
    and a killed worker loses nothing."""

    __tablename__ = "index_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# A text search vector on PostgreSQL; plain text elsewhere (never written there).
SearchVector = TSVECTOR().with_variant(Text(), "sqlite")


class IdeaSearchDocument(db.Model):
    """One published idea's search document on PostgreSQL, written in the same
    transaction as the change. On SQLite the table exists (the schema is the same
    everywhere) and stays empty: the embedded Whoosh index answers there."""

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


# The text search configuration the documents are written in (English stemming and
# stop words, accents folded), made by the migration; also here so that a schema made
# with `db.create_all()` (the benches) has it on PostgreSQL.
TEXT_SEARCH_CONFIGURATION = DDL("""
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'ideas_search') THEN
        CREATE TEXT SEARCH CONFIGURATION ideas_search (COPY = english);
        ALTER TEXT SEARCH CONFIGURATION ideas_search
            ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
    END IF;
END $$
""")
event.listen(IdeaSearchDocument.__table__, "before_create", TEXT_SEARCH_CONFIGURATION.execute_if(dialect="postgresql"))
