"""Search on PostgreSQL's own full-text search (`IDEAS_SEARCH_BACKEND=postgres`).

Each published idea has a row in `idea_search`: a weighted `tsvector` of what it says
(title A, summary B, tags C, description and visible comments D) and one of its title
and summary for "similar ideas", both under GIN indexes. The row is rewritten by the
commit that changes the idea (`refresh`, from the session hook in `queue`), so a
rolled-back change never shows and a committed one is found by every server at once,
with no index folder and nothing to drain. What a person typed becomes a `tsquery`
here, in the same language the Whoosh backend reads (docs/search.md); visibility and
filters are the same database conditions browsing uses.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, Text, bindparam, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from ideas.challenges.models import Idea
from ideas.search.documents import INDEXED_STATUSES, MAX_COMMENTS_TEXT
from ideas.search.models import IdeaSearchDocument

# Made by the migration: English stemming and stop words, accents folded ("cafe" finds "café").
CONFIG = "ideas_search"
# ts_rank_cd's weights for D, C, B, A: the Whoosh backend's field boosts (title 3,
# summary and tags 2, the rest 1), scaled to the title.
WEIGHTS = "{0.33,0.67,0.67,1.0}"
# Rank divided by 1 + log(length): a long description does not win by length alone.
NORMALIZATION = 1
FIELD_WEIGHTS = {"title": "A", "summary": "B", "tags": "C", "body": "D", "comments": "D"}

_STATUSES = ", ".join(f"'{status}'" for status in INDEXED_STATUSES)
_DOCUMENT_SQL = f"""
INSERT INTO idea_search (idea_id, document, likeness)
SELECT i.id,
       setweight(to_tsvector('{CONFIG}', coalesce(i.title, '')), 'A')
       || setweight(to_tsvector('{CONFIG}', coalesce(i.summary, '')), 'B')
       || setweight(to_tsvector('{CONFIG}', coalesce(t.tags, '')), 'C')
       || setweight(to_tsvector('{CONFIG}', coalesce(i.body, '') || E'\\n' || coalesce(c.comments, '')), 'D'),
       setweight(to_tsvector('{CONFIG}', coalesce(i.title, '')), 'A')
       || setweight(to_tsvector('{CONFIG}', coalesce(i.summary, '')), 'B')
FROM ideas i
LEFT JOIN LATERAL (SELECT string_agg(tag, ' ' ORDER BY tag) AS tags FROM idea_tags WHERE idea_id = i.id) t ON true
LEFT JOIN LATERAL (
    SELECT left(string_agg(body, E'\\n' ORDER BY id), {MAX_COMMENTS_TEXT}) AS comments
    FROM comments WHERE idea_id = i.id AND hidden_at IS NULL
) c ON true
WHERE {{ideas}} AND i.status IN ({_STATUSES})
ON CONFLICT (idea_id) DO UPDATE SET document = excluded.document, likeness = excluded.likeness
"""
_REFRESH = text(_DOCUMENT_SQL.format(ideas="i.id = ANY(:ids)"))
_REFRESH_RANGE = text(_DOCUMENT_SQL.format(ideas="i.id > :after AND i.id <= :upto"))
_FORGET = text(f"""
DELETE FROM idea_search s WHERE s.idea_id = ANY(:ids)
AND NOT EXISTS (SELECT 1 FROM ideas i WHERE i.id = s.idea_id AND i.status IN ({_STATUSES}))
""")


def refresh(session: Session, idea_ids: Iterable[int]) -> None:
    """Rewrite these ideas' documents from what the transaction holds now (drafts and
    deleted ideas lose theirs). Two statements, whatever the number of ideas."""
    ids = sorted(set(idea_ids))
    if not ids:
        return
    session.execute(_FORGET, {"ids": ids})
    session.execute(_REFRESH, {"ids": ids})


def rebuild(session: Session, batch: int = 1000) -> int:
    """Rewrite every document, `batch` ideas per statement; returns how many ideas have one."""
    session.execute(text(f"DELETE FROM idea_search WHERE idea_id NOT IN "
                         f"(SELECT id FROM ideas WHERE status IN ({_STATUSES}))"))
    highest = session.scalar(select(func.max(Idea.id))) or 0
    step = max(1, batch)
    for after in range(0, highest, step):
        session.execute(_REFRESH_RANGE, {"after": after, "upto": after + step})
    return session.scalar(select(func.count()).select_from(IdeaSearchDocument)) or 0


# --- what a person typed, as a tsquery ---------------------------------------------

# Words, "phrases", field:word, word*, AND OR NOT, brackets: the Whoosh backend's language.
_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"|(?P<open>\()|(?P<close>\))|(?P<field>[^\W_]+):(?=\S)'
                    r"|(?P<word>[^\W_]+)(?P<star>\*)?")
_LEXEME = re.compile(r"[^\W_]+")
OPERATORS = {"AND", "OR", "NOT"}


def to_tsquery_text(query: str) -> str:
    """`query` in to_tsquery's syntax, every operand a plain word (so PostgreSQL can
    never refuse it); "" when nothing is left to look for."""
    tokens = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup if match.lastgroup != "star" else "word"
        if kind == "word" and match.group("word") in OPERATORS:
            tokens.append(("op", match.group("word")))
        elif kind == "word":
            tokens.append(("word", match.group("word").lower() + (":*" if match.group("star") else "")))
        elif kind == "phrase":
            words = [w.lower() for w in _LEXEME.findall(match.group("phrase"))]
            if words:
                tokens.append(("phrase", words))
        else:
            tokens.append((kind, match.group(kind)))
    parser = _Parser(tokens)
    return parser.expression() or ""


class _Parser:
    """OR of ANDs of (NOT) operands; a missing operand or bracket is skipped, never an error."""

    def __init__(self, tokens: Sequence[tuple[str, object]]):
        self.tokens = list(tokens)
        self.at = 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def expression(self, depth: int = 0) -> str | None:
        parts = []
        while (token := self.peek()) is not None:
            if token == ("close", ")"):
                if depth:
                    break
                self.at += 1
                continue
            if token == ("op", "OR"):
                self.at += 1
                continue
            part = self.conjunction(depth)
            if part:
                parts.append(part)
        return _join(" | ", parts)

    def conjunction(self, depth: int) -> str | None:
        parts = []
        while (token := self.peek()) is not None and token not in (("op", "OR"), ("close", ")")):
            if token == ("op", "AND"):
                self.at += 1
                continue
            part = self.negation(depth)
            if part:
                parts.append(part)
        return _join(" & ", parts)

    def negation(self, depth: int) -> str | None:
        token = self.peek()
        if token == ("op", "NOT"):
            self.at += 1
            inner = self.negation(depth)
            return f"!{inner}" if inner else None
        return self.operand(depth)

    def operand(self, depth: int, weight: str = "") -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, value = token
        self.at += 1
        if kind == "open":
            inner = self.expression(depth + 1)
            if self.peek() == ("close", ")"):
                self.at += 1
            return f"({inner})" if inner else None
        if kind == "field":
            label = FIELD_WEIGHTS.get(str(value).lower())
            following = self.peek()
            if label is None or following is None or following[0] not in ("word", "phrase"):
                # Not a field one can search by (pool:, hidden:, id: …): its name is a word.
                return _lexeme(str(value).lower(), weight)
            return self.operand(depth, label)
        if kind == "word":
            return _lexeme(str(value), weight)
        if kind == "phrase":
            return _join(" <-> ", [_lexeme(w, weight) for w in value])
        return None  # a stray operator where an operand should be


def _lexeme(word: str, weight: str) -> str:
    if not weight:
        return word
    return f"{word}{weight}" if word.endswith(":*") else f"{word}:{weight}"


def _join(operator: str, parts: list[str]) -> str | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"({operator.join(parts)})"


# --- searching ----------------------------------------------------------------------

_WEIGHTS = literal_column(f"'{WEIGHTS}'::real[]")
_CONFIG = literal_column(f"'{CONFIG}'::regconfig")


def tsquery(expression: str):
    return func.to_tsquery(_CONFIG, bindparam("tsquery", expression))


def matches(visible: Select, expression: str, *, sort: str, limit: int | None, offset: int = 0) -> Select:
    """`visible` (a select of idea ids under the person's rules and filters) narrowed to
    the ideas matching `expression`, best (or newest) first, each row with the total."""
    query = tsquery(expression)
    document = IdeaSearchDocument.document
    ordered = (
        [func.coalesce(Idea.published_at, Idea.created_at).desc(), Idea.id.desc()] if sort == "newest"
        else [func.ts_rank_cd(_WEIGHTS, document, query, NORMALIZATION).desc(), Idea.id.desc()]
    )
    statement = (
        visible.add_columns(func.count().over().label("total"))
        .join(IdeaSearchDocument, IdeaSearchDocument.idea_id == Idea.id)
        .where(document.op("@@")(query))
        .order_by(*ordered)
        .offset(offset)
    )
    return statement.limit(limit) if limit is not None else statement


def has_lexemes(session: Session, expression: str) -> bool:
    """Does anything of it survive stemming and stop words?"""
    return bool(session.scalar(select(func.numnode(tsquery(expression)))))


def similar(visible: Select, text_: str, limit: int) -> Select:
    """"More like this": ideas sharing any of the text's words in their title or summary,
    by cover density (more shared words, closer together, in the title first)."""
    words = func.replace(func.plainto_tsquery(_CONFIG, bindparam("likeness", text_)).cast(Text), " & ", " | ")
    query = words.cast(TSQUERY)
    likeness = IdeaSearchDocument.likeness
    return (
        visible.join(IdeaSearchDocument, IdeaSearchDocument.idea_id == Idea.id)
        .where(likeness.op("@@")(query))
        .order_by(func.ts_rank_cd(_WEIGHTS, likeness, query, NORMALIZATION).desc(), Idea.id.desc())
        .limit(limit)
    )

