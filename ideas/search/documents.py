"""What an index document is: the Whoosh schema, which ideas are indexed, and the
documents read from the database for them."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.support.charset import accent_map

from ideas.challenges.models import Comment, Idea, IdeaStatus, IdeaTag

SCHEMA_VERSION = "3"  # bump when SCHEMA changes: every process then rebuilds once

TEXT_ANALYZER = StemmingAnalyzer() | CharsetFilter(accent_map)  # "cafe" finds "café"

SCHEMA = Schema(
    id=ID(stored=True, unique=True),
    num=NUMERIC(int, bits=64, sortable=True),  # the id again, to break ties in "newest"
    challenge_id=ID,
    pool=ID,
    cpool=ID,  # "12:employee": who may see the idea is decided by challenge and pool together
    status=ID,
    hidden_in=ID,  # the challenge's id, only while moderation hides the idea
    tags=KEYWORD(commas=True, lowercase=True, scorable=True),
    title=TEXT(analyzer=TEXT_ANALYZER),
    summary=TEXT(analyzer=TEXT_ANALYZER),
    body=TEXT(analyzer=TEXT_ANALYZER),
    comments=TEXT(analyzer=TEXT_ANALYZER),  # the bodies of the idea's visible comments
    published=NUMERIC(int, bits=64, sortable=True),  # microseconds since the epoch
    # For "more like this" within one challenge: the title's and the summary's words
    # prefixed with the challenge ("c12_kiosk"), so that each word's postings and
    # statistics are the challenge's own, and the cost follows the challenge's size
    # rather than the whole site's.
    like_title=KEYWORD(scorable=True),
    like_summary=KEYWORD(scorable=True),
)

# What a person may type: words, "phrases", field:word for these fields, AND OR NOT ( ).
# Filter fields (pool, status, hidden …) are not searchable by syntax: they are set by
# the filters and by visibility only.
SEARCH_FIELDS = ("title", "summary", "body", "tags", "comments")
FIELD_BOOSTS = {"title": 3.0, "summary": 2.0, "tags": 2.0}
PARSER_SCHEMA = Schema(**{name: SCHEMA[name] for name in SEARCH_FIELDS})

INDEXED_STATUSES = (IdeaStatus.PUBLISHED, IdeaStatus.WITHDRAWN, IdeaStatus.MERGED)

MAX_COMMENTS_TEXT = 200_000  # characters of comments indexed per idea


def _micros(value: datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value is not None else 0


def documents_for(session: Session, idea_ids: Iterable[int]) -> dict[int, dict]:
    """The index documents of these ideas, read with plain queries; drafts and missing ideas are absent."""
    ids = list(idea_ids)
    rows = session.execute(
        select(Idea.id, Idea.challenge_id, Idea.pool, Idea.status, Idea.hidden_at, Idea.title, Idea.summary,
               Idea.body, Idea.published_at, Idea.created_at)
        .where(Idea.id.in_(ids), Idea.status.in_(INDEXED_STATUSES))
    ).all()
    if not rows:
        return {}
    found = [row.id for row in rows]
    tags: dict[int, list[str]] = {}
    for idea_id, tag in session.execute(
        select(IdeaTag.idea_id, IdeaTag.tag).where(IdeaTag.idea_id.in_(found)).order_by(IdeaTag.tag)
    ):
        tags.setdefault(idea_id, []).append(tag)
    comments: dict[int, list[str]] = {}
    for idea_id, body in session.execute(
        select(Comment.idea_id, Comment.body)
        .where(Comment.idea_id.in_(found), Comment.hidden_at.is_(None))
        .order_by(Comment.idea_id, Comment.id)
    ):
        comments.setdefault(idea_id, []).append(body or "")
    documents = {}
    for row in rows:
        documents[row.id] = {
            "id": str(row.id),
            "num": row.id,
            "challenge_id": str(row.challenge_id),
            "pool": row.pool,
            "cpool": f"{row.challenge_id}:{row.pool}",
            "status": row.status,
            "tags": ",".join(tags.get(row.id, [])),
            "title": row.title or "",
            "summary": row.summary or "",
            "body": row.body or "",
            "comments": "\n".join(comments.get(row.id, []))[:MAX_COMMENTS_TEXT],
            "published": _micros(row.published_at or row.created_at),
            "like_title": scoped_words(row.challenge_id, row.title),
            "like_summary": scoped_words(row.challenge_id, row.summary),
        }
        if row.hidden_at is not None:
            documents[row.id]["hidden_in"] = str(row.challenge_id)
    return documents


def scoped_words(challenge_id: int, text: str | None) -> str:
    """The text's words as search reads them (stemmed, lowercased, no stop words),
    each prefixed with the challenge."""
    return " ".join(f"c{challenge_id}_{token.text}" for token in TEXT_ANALYZER(text or ""))

