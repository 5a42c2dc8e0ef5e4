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

# What nobody types, and what some paste to attack: C0 and C1 control characters (NUL
# above all, which PostgreSQL refuses; terminal escapes), DEL, and the bidirectional
# embedding, override and isolate controls (they make "gnp.exe" read as "exe.png").
# Tab and line breaks stay; so do the invisible marks real right-to-left text uses
# (U+200E/U+200F).
UNTYPED = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F),
                                   *range(0x2066, 0x206A)) if chr(c) not in "\t\n\r")
_DROP = dict.fromkeys(map(ord, UNTYPED))
# A lone surrogate is half a character: no encoder can write it, so it becomes U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def sanitise(value: str) -> str:
    """The one rule for text from outside: the characters above dropped, lone
    surrogates replaced; everything else a person typed is kept as typed."""
    return _SURROGATE.sub("\ufffd", value.translate(_DROP))


def sanitise_surrogates(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value)


def has_untyped(value: str) -> bool:
    """True where sanitise() would change `value` (for callers that refuse instead)."""
    return sanitise(value) != value


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
