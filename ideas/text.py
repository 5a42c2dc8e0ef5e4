"""Markdown in, safe HTML out: rendered by markdown-it, then sanitized by nh3.

Rendering first and sanitizing last means no Markdown trick (raw HTML, odd links,
`onerror` attributes) can reach the page: whatever markdown-it emits, nh3 keeps
only the tags and attributes listed here."""
from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
_WORD = re.compile(r"\w+", re.UNICODE)

# Rendering is a pure function of the text, and the same texts (a challenge's charter,
# the ideas of a list, a discussion) are rendered on every request: short ones are kept,
# keyed by the text itself, so an edit is a new key and never a stale page. Bounded in
# count and in length so that a worker's memory stays small.
_MEMO_ENTRIES = 1024
_MEMO_LONGEST = 10_000  # characters (a comment at most); longer texts are rendered every time


def render(source: str | None) -> Markup:
    source = source or ""
    return _render(source) if len(source) <= _MEMO_LONGEST else _render.__wrapped__(source)


@lru_cache(maxsize=_MEMO_ENTRIES)
def _render(source: str) -> Markup:
    html = _md.render(source)
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
    )
    return Markup(clean)


def word_count(*texts: str | None) -> int:
    return sum(len(_WORD.findall(text or "")) for text in texts)


def plain(source: str | None, limit: int = 300) -> str:
    """A short plain-text excerpt (for notifications and search snippets)."""
    source = source or ""
    return _plain(source, limit) if len(source) <= _MEMO_LONGEST else _plain.__wrapped__(source, limit)


@lru_cache(maxsize=_MEMO_ENTRIES)
def _plain(source: str, limit: int) -> str:
    text = nh3.clean(_md.render(source), tags=set())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
