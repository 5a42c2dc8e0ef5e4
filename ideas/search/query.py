"""Searching: what a person may find (decided at query time, docs/search.md), what
they typed turned into a query, one page of ideas in the chosen order."""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import defaultload, selectinload
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, NullQuery, Or, Query, Term
from whoosh.sorting import FieldFacet

from ideas.accounts.services import normalise_tag
from ideas.challenges import permissions
from ideas.challenges.models import Challenge, ChallengeStaff, Idea, IdeaTag, Phase
from ideas.extensions import db
from ideas.numbers import db_int
from ideas.search import postgres, settings
from ideas.search.documents import (
    FIELD_BOOSTS,
    INDEXED_STATUSES,
    PARSER_SCHEMA,
    SEARCH_FIELDS,
)
from ideas.search.queue import SEARCH_DRAIN_WAIT, caller_has_writes, drain, pending
from ideas.search.store import (
    UNAVAILABLE,
    SearchUnavailableError,
    WorkFailed,
    with_searcher,
)
from ideas.voting.models import IdeaScore
from ideas.voting.permissions import (
    can_see_ranking,  # the voting pages' rule, not a copy
)

log = logging.getLogger("ideas.search")

SORTS = ("relevance", "newest", "rank")
MAX_QUERY = 300  # characters; a longer query is cut, with a notice

RANK_WINDOW = 5000  # "rank" orders at most this many best matches


@dataclass
class SearchPage:
    items: list[Idea]
    total: int
    page: int
    pages: int
    error: str | None = None  # a gentle notice about the query, or why search is unavailable
    sort: str = "relevance"  # the order actually used
    notices: list[str] = field(default_factory=list)


RankKey = Callable[[list[int]], dict[int, float]]


def search_ideas(
    user,
    query: str | None,
    *,
    challenge_id: int | None = None,
    pool: str | None = None,
    phase: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    rank_key: RankKey | None = None,
) -> SearchPage:
    """The ideas matching `query` that `user` may see, one page of them.

    `sort="rank"` orders the best `RANK_WINDOW` matches by `rank_key(idea_ids) ->
    {idea_id: score}` (higher first; ideas without a score follow by relevance), by
    default `stored_rank(user)`. Never raises for what a person typed.
    """
    notices: list[str] = []
    text, notes = _tidy(query)
    notices += notes
    page = max(1, min(to_int(page) or 1, 10_000))
    per_page = max(1, min(to_int(per_page) or 20, 100))
    sort = sort if sort in SORTS else "relevance"
    if sort == "rank" and rank_key is None:
        rank_key = stored_rank(user)
    if sort == "relevance" and not text:
        sort = "newest"  # nothing to be relevant to

    wanted_challenge = to_int(challenge_id)
    if challenge_id not in (None, "") and wanted_challenge is None:
        notices.append(f"“{str(challenge_id)[:40]}” is not a challenge number, so every challenge was searched.")
    challenges = _searchable_challenges(user, challenge_id=wanted_challenge, phase=phase)
    if wanted_challenge is not None and not challenges and not phase:
        notices.append(f"There is no challenge number {wanted_challenge} that you can see: pick one from the list.")
    groups = visibility_groups(user, challenges)
    scope = _scope(groups)
    if scope is None:
        return SearchPage([], 0, 1, 0, error=" ".join(notices) or None, sort=sort, notices=notices)
    pool = pool if pool in BOTH_POOLS else None
    status = str(status) if status in INDEXED_STATUSES else None
    tag = normalise_tag(str(tag or "")) or None
    if pool:
        scope.wanted["pool"] = {pool}
    if status:
        scope.wanted["status"] = {status}
    scope.tag = tag

    browsing = not text and sort == "newest"

    on_postgres = settings.uses_postgres()

    def run(page: int) -> tuple[list[int], int, list[str]]:
        if browsing:
            return (*_browse(groups, pool=pool, status=status, tag=tag, page=page, per_page=per_page), [])
        if on_postgres:
            visible = visible_query(groups, pool=pool, status=status, tag=tag)
            return _run_postgres_search(text, visible, sort, page, per_page, rank_key)
        return _run_search(text, scope, sort, page, per_page, rank_key)

    if not browsing and not on_postgres and not caller_has_writes() and pending():
        drain(wait=SEARCH_DRAIN_WAIT)

    try:
        ids, total, notes = run(page)
        if not ids and total and page > 1:  # past the last page: show the last one
            page = math.ceil(total / per_page)
            ids, total, notes = run(page)
    except SearchUnavailableError as problem:
        notices.append(str(problem))
        return SearchPage([], 0, 1, 0, error=" ".join(notices), sort=sort, notices=notices)
    notices += notes
    pages = max(1, math.ceil(total / per_page)) if total else 0
    items = visible_ideas(user, ids)
    total -= len(ids) - len(items)
    return SearchPage(items, max(total, 0), min(page, max(pages, 1)), pages,
                      error=" ".join(notices) or None, sort=sort, notices=notices)


def to_int(value) -> int | None:
    try:
        return db_int(value) if value not in (None, "") else None
    except (TypeError, ValueError):  # not a number, or beyond any stored id
        return None


def _tidy(query: str | None) -> tuple[str, list[str]]:
    """The query as Whoosh should read it, and what we changed to get there."""
    notes = []
    text = "".join(ch if ch.isprintable() else " " for ch in (query or "")).strip()
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY]
        notes.append(f"Your search was long, so only its first {MAX_QUERY} characters were used.")
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + text[last + 1:]
        notes.append("A quotation mark had no partner, so it was ignored.")
    depth, balanced = 0, True
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        balanced = balanced and depth >= 0
    if depth or not balanced:
        text = text.replace("(", " ").replace(")", " ")
        notes.append("Brackets did not pair up, so they were ignored.")
    return " ".join(text.split()), notes


def _parser() -> MultifieldParser:
    return MultifieldParser(list(SEARCH_FIELDS), PARSER_SCHEMA, fieldboosts=FIELD_BOOSTS)


def _plain_query(text: str) -> Query | None:
    """Just the words, each to be found in some field: the fallback for odd syntax."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    parser = _parser()
    for plugin_name in ("FieldsPlugin", "WildcardPlugin", "RangePlugin", "BoostPlugin", "OperatorsPlugin",
                        "GroupPlugin", "PhrasePlugin", "SingleQuotePlugin", "EveryPlugin"):
        for plugin in list(parser.plugins):
            if type(plugin).__name__ == plugin_name:
                parser.remove_plugin(plugin)
    return parser.parse(" ".join(words))


def _parse(text: str) -> tuple[Query, list[str]]:
    if not text:
        return Every(), []
    try:
        parsed = _parser().parse(text)
    except Exception:  # noqa: BLE001 — an odd query is the person's right, not our error
        parsed = None
    if parsed is None or parsed is NullQuery or isinstance(parsed, type(NullQuery)):
        plain = _plain_query(text)
        if plain is None or isinstance(plain, type(NullQuery)):
            return Every(), ["Your search had no words to look for, so all ideas are listed."]
        return plain, ["Parts of your search could not be read, so only its words were used."]
    return parsed, []


def _run_search(text: str, scope: _Scope, sort: str, page: int, per_page: int,
                rank_key: RankKey | None) -> tuple[list[int], int, list[str]]:
    parsed, notes = _parse(text)
    start = (page - 1) * per_page

    def run(searcher, query):
        limits = scope.queries(searcher)
        if limits is None:
            return [], 0
        within = {"filter": limits[0], "mask": limits[1]}
        if sort == "rank":
            hits = searcher.search(query, limit=RANK_WINDOW, **within)
            return [int(hit["id"]) for hit in hits], -1  # ordered below, outside the index lock
        if sort == "newest":
            hits = searcher.search(query, limit=page * per_page, **within,
                                   sortedby=[FieldFacet("published", reverse=True), FieldFacet("num", reverse=True)])
        else:
            # Scoring every match in one pass costs less than the top page plus a second
            # pass to count them (measured: bench/search_bench.py).
            hits = searcher.search(query, limit=None, **within)
        return [int(hit["id"]) for hit in hits[start:start + per_page]], len(hits)

    try:
        ids, total = with_searcher(lambda searcher: run(searcher, parsed))
    except WorkFailed:
        # The index reads fine but this query does not (say, a range over words): the words alone.
        if isinstance(parsed, Every):
            raise SearchUnavailableError(UNAVAILABLE) from None
        log.info("query %r failed twice; searching for its words", text)
        plain = _plain_query(text) or Every()
        try:
            ids, total = with_searcher(lambda searcher: run(searcher, plain))
        except WorkFailed:
            raise SearchUnavailableError(UNAVAILABLE) from None
        notes = [*notes, "Parts of your search could not be read, so only its words were used."]
    if sort == "rank":
        return _ranked(ids, page, per_page, rank_key, notes)
    return ids, total, notes


def _ranked(ids: list[int], page: int, per_page: int, rank_key: RankKey,
            notes: list[str]) -> tuple[list[int], int, list[str]]:
    """The best matches (in relevance order) ordered by `rank_key`, one page of them."""
    scores = rank_key(ids) or {}
    if len(scores) < len(ids):
        notes = [*notes, ("Ideas without a ranking you may see yet (voting still hides it, or no "
                          "votes) follow the ranked ones, by relevance.")]
    position = {idea_id: n for n, idea_id in enumerate(ids)}
    ids.sort(key=lambda i: (-scores.get(i, float("-inf")), position[i]))
    start = (page - 1) * per_page
    return ids[start:start + per_page], len(ids), notes


def stored_rank(user) -> RankKey:
    """Rank by the scores voting stores per idea, the way this person's ranking page
    orders them: the blended score, the person's own pool's score where pools are
    ranked separately (staff see the blend), the pool's score in one-pool challenges,
    the pairwise score under pairwise voting. Ideas of a challenge whose ranking this
    person may not see yet (voting hides it against herding) get no score."""

    def key(ids: list[int]) -> dict[int, float]:
        scores: dict[int, float] = {}
        shown: dict[int, bool] = {}
        for start in range(0, len(ids), 1000):
            rows = db.session.execute(
                select(IdeaScore, Challenge).join(Challenge, Challenge.id == IdeaScore.challenge_id)
                .where(IdeaScore.idea_id.in_(ids[start:start + 1000]))
            ).all()
            for score, challenge in rows:
                if challenge.id not in shown:
                    shown[challenge.id] = can_see_ranking(user, challenge)
                if shown[challenge.id]:
                    scores[score.idea_id] = getattr(score, _rank_column(user, challenge))
        return scores

    return key


def _rank_column(user, challenge: Challenge) -> str:
    if challenge.voting_policy == "pairwise":
        return "score_pairwise"
    mode = challenge.pool_mode
    if mode == "employees_only":
        return "score_employee"
    if mode == "externals_only":
        return "score_external"
    if mode == "separate" and not permissions.is_staff(user, challenge):
        return f"score_{permissions.user_pool(user)}"
    return "score_blended"



def _searchable_challenges(user, *, challenge_id: int | None = None, phase: str | None = None) -> list[Challenge]:
    """The challenges this person may see (`permissions.challenge_visibility`, the rule
    `visible_challenges` applies), narrowed to the filters, with only what the visibility
    rules read: the staff's ids, not the criteria, tags or the staff's accounts (they
    load when something else asks for them)."""
    query = select(Challenge).where(permissions.challenge_visibility(user)).options(
        selectinload(Challenge.staff).lazyload(ChallengeStaff.user),
    )
    if challenge_id is not None:
        query = query.where(Challenge.id == challenge_id)
    if phase in set(Phase):
        query = query.where(Challenge.phase == phase)
    return list(db.session.scalars(query))


@dataclass
class _Scope:
    """The documents one person may find, as rules; `queries(searcher)` turns them into
    the Whoosh filter and mask that read the fewest postings."""

    pairs: set[str]  # the "challenge:pool" pairs this person may see
    unhidden: set[str]  # challenges whose hidden ideas this person may see (their staff)
    wanted: dict[str, set[str]] = field(default_factory=dict)  # filters chosen: field -> values
    tag: str | None = None
    masked: list[Query] = field(default_factory=list)  # more to leave out (the idea being edited)

    def queries(self, searcher) -> tuple[Query | None, Query | None] | None:
        """(filter, mask) for `searcher.search`, or None when nothing can match.

        Whoosh turns a filter or a mask into the set of documents it names, reading
        their postings: so each rule takes the smaller side, the values allowed or the
        values present in the index but not allowed (a person who sees every challenge
        gets no filter at all; hidden ideas, few, are always a mask)."""
        allow: list[Query] = []
        deny: list[Query] = list(self.masked)
        for fieldname, wanted in (("cpool", self.pairs), *self.wanted.items()):
            present = _present(searcher, fieldname)
            allowed = [v for v in present if v in wanted]
            denied = [v for v in present if v not in wanted]
            if not allowed:
                return None
            if not denied:
                continue
            if _postings(searcher, fieldname, denied) <= _postings(searcher, fieldname, allowed):
                deny.append(_any(fieldname, denied))
            else:
                allow.append(_any(fieldname, allowed))
        if self.tag:
            allow.append(Term("tags", self.tag))
        hidden = [c for c in _present(searcher, "hidden_in") if c not in self.unhidden]
        if hidden:
            deny.append(_any("hidden_in", hidden))
        return _combine(And, allow), _combine(Or, deny)


def _present(searcher, fieldname: str) -> list[str]:
    return list(searcher.reader().field_terms(fieldname))


def _postings(searcher, fieldname: str, values: list[str]) -> int:
    return sum(searcher.doc_frequency(fieldname, v) for v in values)


def visibility(user, challenges: Iterable[Challenge]) -> _Scope | None:
    """Only these challenges, within each only the pools this person may see there, and
    no hidden idea outside the challenges they moderate. None when nothing is visible."""
    return _scope(visibility_groups(user, challenges))


def _scope(groups: dict[tuple[str, ...], list[int]]) -> _Scope | None:
    if not groups:
        return None
    pairs = {f"{cid}:{pool}" for key, ids in groups.items() for cid in ids
             for pool in (BOTH_POOLS if key == STAFF else key)}
    return _Scope(pairs=pairs, unhidden={str(cid) for cid in groups.get(STAFF, [])})


STAFF = ("staff",)
BOTH_POOLS = ("employee", "external")


def visibility_groups(user, challenges: Iterable[Challenge]) -> dict[tuple[str, ...], list[int]]:
    """Visible challenge ids by what this person sees in them: everything (STAFF), or
    the unhidden ideas of these pools."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for challenge in challenges:
        if not permissions.can_see_challenge(user, challenge):
            continue
        key = STAFF if permissions.is_staff(user, challenge) else tuple(sorted(permissions.visible_pools(user, challenge)))
        groups.setdefault(key, []).append(challenge.id)
    return groups


def visible_query(groups: dict[tuple[str, ...], list[int]], *, pool: str | None, status: str | None,
                   tag: str | None) -> Select:
    """The ids of the published ideas this person may see, under the filters chosen, as
    one database query (browsing, and every search on PostgreSQL)."""
    clauses = []
    for key, ids in groups.items():
        parts = [Idea.challenge_id.in_(ids)]
        if key != STAFF:
            parts.append(Idea.hidden_at.is_(None))
            if key != BOTH_POOLS:
                parts.append(Idea.pool.in_(key))
        clauses.append(and_(*parts))
    query = select(Idea.id).where(or_(*clauses), Idea.status.in_(INDEXED_STATUSES))
    if pool:
        query = query.where(Idea.pool == pool)
    if status:
        query = query.where(Idea.status == status)
    if tag:
        query = query.where(Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == tag)))
    return query


def _browse(groups: dict[tuple[str, ...], list[int]], *, pool: str | None, status: str | None,
            tag: str | None, page: int, per_page: int) -> tuple[list[int], int]:
    """Newest first without words: the same rules as a database query, which needs no
    scoring and no sort over every document (an index on the ideas does the work)."""
    query = visible_query(groups, pool=pool, status=status, tag=tag)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(db.session.scalars(
        query.order_by(Idea.published_at.desc(), Idea.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ))
    return ids, total


def _run_postgres_search(text: str, visible: Select, sort: str, page: int, per_page: int,
                         rank_key: RankKey | None) -> tuple[list[int], int, list[str]]:
    """The same search on PostgreSQL's full-text search: one statement for the page and
    the number of matches (ideas/search/postgres.py)."""
    expression = postgres.to_tsquery_text(text)
    if expression:
        limit, offset = (RANK_WINDOW, 0) if sort == "rank" else (per_page, (page - 1) * per_page)
        rows = db.session.execute(postgres.matches(visible, expression, sort="relevance" if sort == "rank" else sort,
                                                   limit=limit, offset=offset)).all()
        if rows:
            if sort == "rank":
                return _ranked([row.id for row in rows], page, per_page, rank_key, [])
            return [row.id for row in rows], rows[0].total, []
    if expression and postgres.has_lexemes(db.session, expression):
        if page == 1 or sort == "rank":
            return [], 0, []
        # Past the last page: the caller asks again for the last one.
        total = db.session.scalar(select(func.count()).select_from(
            postgres.matches(visible, expression, sort=sort, limit=None).subquery())) or 0
        return [], total, []
    # Nothing left to look for once operators, stop words and punctuation are gone.
    notes = ["Your search had no words to look for, so all ideas are listed."]
    newest = visible.order_by(Idea.published_at.desc(), Idea.id.desc())
    if sort == "rank":
        return _ranked(list(db.session.scalars(newest.limit(RANK_WINDOW))), page, per_page, rank_key, notes)
    total = db.session.scalar(select(func.count()).select_from(visible.subquery())) or 0
    ids = list(db.session.scalars(newest.offset((page - 1) * per_page).limit(per_page)))
    return ids, total, notes


def _any(fieldname: str, values: Iterable) -> Query:
    terms = [Term(fieldname, str(v)) for v in values]
    return terms[0] if len(terms) == 1 else Or(terms)


def _combine(kind, queries: Iterable[Query | None]) -> Query | None:
    present = [q for q in queries if q is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else kind(present)


def visible_ideas(user, ids: list[int]) -> list[Idea]:
    """The ideas in this order, each checked once more against the rules (the index may lag)."""
    if not ids:
        return []
    # Their challenges are those searched, already loaded with what the rules read: the
    # challenges' staff, criteria and tags are not read again (or wait until asked for).
    challenge = defaultload(Idea.challenge)
    found = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(ids)).options(
        challenge.lazyload(Challenge.staff),
    ))}
    return [found[i] for i in ids
            if i in found and found[i].status in INDEXED_STATUSES and permissions.can_see_idea(user, found[i])]


