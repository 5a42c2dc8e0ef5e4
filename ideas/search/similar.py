"""Similar ideas while writing: "more like this" within one challenge."""
from __future__ import annotations

from whoosh.query import Or, Query, Term

from ideas.challenges import permissions
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db
from ideas.search import postgres, settings
from ideas.search.documents import scoped_words
from ideas.search.query import (
    to_int,
    visibility,
    visibility_groups,
    visible_ideas,
    visible_query,
)
from ideas.search.queue import caller_has_writes, drain, pending
from ideas.search.store import SearchUnavailableError, with_searcher

# Duplicates show in the title and the summary (the long description would multiply the
# postings read for little), compared within the challenge (see `like_title`).
SIMILAR_FIELDS = {"like_title": 3.0, "like_summary": 2.0}
SIMILAR_TERMS = 8  # key terms per field
# In a large challenge, a word found in more than this share of its ideas is left out:
# it tells little about this idea and its postings are the longest to read.
SIMILAR_COMMON_SHARE = 0.1
SIMILAR_COMMON_FROM = 1000  # ideas in the challenge


def similar_ideas(user, challenge: Challenge, title: str, summary: str, *,
                  exclude_id: int | None = None, limit: int = 5) -> list[Idea]:
    """Up to `limit` (at most five) ideas of this challenge that read like this title and
    summary ("more like this": the text's key terms, weighted against the index), best first."""
    limit = max(0, min(to_int(limit) or 5, 5))
    text = f"{title or ''}\n{summary or ''}"[:4000].strip()
    if not text or challenge is None or limit == 0 or not permissions.can_see_challenge(user, challenge):
        return []
    if settings.uses_postgres():
        return _similar_on_postgres(user, challenge, text, exclude_id=exclude_id, limit=limit)
    scope = visibility(user, [challenge])
    if scope is None:
        return []
    if exclude_id is not None:
        scope.masked.append(Term("id", str(exclude_id)))
    if not caller_has_writes() and pending():
        drain()

    def more_like(searcher):
        terms: list[Query] = []
        in_challenge = searcher.doc_frequency("challenge_id", str(challenge.id))
        common = in_challenge * SIMILAR_COMMON_SHARE if in_challenge >= SIMILAR_COMMON_FROM else None
        scoped = scoped_words(challenge.id, text)
        for fieldname, boost in SIMILAR_FIELDS.items():
            kept = 0
            for word, weight in searcher.key_terms_from_text(fieldname, scoped, numterms=SIMILAR_TERMS * 2):
                if common is not None and searcher.doc_frequency(fieldname, word) > common:
                    continue
                terms.append(Term(fieldname, word, boost=boost * weight))
                kept += 1
                if kept == SIMILAR_TERMS:
                    break
        limits = scope.queries(searcher)
        if not terms or limits is None:
            return []
        hits = searcher.search(Or(terms), filter=limits[0], mask=limits[1], limit=limit + 5)
        return [int(hit["id"]) for hit in hits]

    try:
        ids = with_searcher(more_like, wait=0.0)
    except SearchUnavailableError:
        return []
    return [i for i in visible_ideas(user, ids) if i.id != exclude_id][:limit]




def _similar_on_postgres(user, challenge: Challenge, text: str, *, exclude_id: int | None,
                         limit: int) -> list[Idea]:
    groups = visibility_groups(user, [challenge])
    if not groups:
        return []
    visible = visible_query(groups, pool=None, status=None, tag=None)
    if exclude_id is not None:
        visible = visible.where(Idea.id != exclude_id)
    ids = list(db.session.scalars(postgres.similar(visible, text, limit + 5)))
    return [i for i in visible_ideas(user, ids) if i.id != exclude_id][:limit]
