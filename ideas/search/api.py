"""Search through the API: full text over the ideas a person may see, and the ideas
like one being written."""
from typing import Literal

from flask import jsonify
from pydantic import Field

from ideas.api.blueprint import bp
from ideas.api.contract import MAX_LIMIT, MAX_OFFSET, Id, Int, Model, Query, Text, query
from ideas.api.core import (
    Error,
    OffsetPage,
    Operation,
    current_api_user,
    documented,
    token_required,
)
from ideas.api.shapes import POOLS, IdeaSummary, summaries
from ideas.challenges import services as challenges
from ideas.challenges.models import Phase
from ideas.search.documents import INDEXED_STATUSES
from ideas.search.query import SORTS, search_ideas
from ideas.search.similar import similar_ideas as find_similar

SEARCH_PHASES = tuple(str(p) for p in Phase if p != Phase.DRAFT)


class SearchResult(Model):
    items: list[IdeaSummary]
    total: int
    page: int
    pages: int
    sort: Literal[SORTS] = Field(description="The order actually used.")
    notices: list[str] = Field(description="What was changed in the query to read it, or why search is "
                                           "unavailable.")


class SimilarIdeas(Model):
    items: list[IdeaSummary] = Field(max_length=5)


class SearchQuery(Query):
    q: Text(300, description='Words, "phrases", AND / OR / NOT.') = ""
    challenge: Id | None = Field(None, description="Only this challenge.")
    pool: Literal[POOLS] | None = Field(None, description="Only ideas from this pool.")
    phase: Literal[SEARCH_PHASES] | None = Field(None, description="Only challenges in this phase.")
    status: Literal[tuple(str(s) for s in INDEXED_STATUSES)] | None = Field(
        None, description="Only ideas in this state.")
    tag: Text(200, description="Only ideas with this tag.") | None = None
    sort: Literal[SORTS] = Field("relevance", description="Order of the results.")
    page: Int(1, MAX_OFFSET, description="Page number.") = 1
    per_page: Int(1, MAX_LIMIT, description="Results per page (page × per_page stays within 10,000).") = 20

    def model_post_init(self, _context) -> None:
        OffsetPage.numbered(self.page, self.per_page)  # refuses a page beyond MAX_OFFSET


class SimilarQuery(Query):
    title: Text(160, description="The title so far.") = ""
    summary: Text(challenges.MAX_SUMMARY, description="The summary so far.") = ""
    exclude: Id | None = Field(None, description="An idea to leave out (the one being edited).")


@bp.get("/search")
@token_required
@documented("GET", Operation(
    summary="Full-text search over the ideas you may see (title, summary, body, tags, comments)",
    query=SearchQuery,
    responses={200: ("One page of results", SearchResult)},
    tags=["search"],
))
def search():
    user = current_api_user()
    args = query(SearchQuery)
    result = search_ideas(
        user, args.q, challenge_id=args.challenge, pool=args.pool, phase=args.phase, status=args.status,
        tag=args.tag or None, sort=args.sort, page=args.page, per_page=args.per_page,
    )
    return jsonify(items=summaries(result.items, user), total=result.total, page=result.page, pages=result.pages,
                   sort=result.sort, notices=result.notices)


@bp.get("/challenges/<int:challenge_id>/similar")
@token_required
@documented("GET", Operation(
    summary="Up to five ideas of this challenge like the one being written (to join instead of duplicating)",
    query=SimilarQuery,
    responses={200: ("Similar ideas, best first (none until both title and summary are given)", SimilarIdeas),
               404: ("No such challenge for you", Error)},
    tags=["search"],
))
def similar_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    args = query(SimilarQuery)
    title, summary = args.title.strip(), args.summary.strip()
    found = find_similar(user, challenge, title, summary, exclude_id=args.exclude) \
        if title and summary else []
    return jsonify(items=summaries(found, user))
