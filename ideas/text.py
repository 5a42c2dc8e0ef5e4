"""Markdown in, safe HTML out: rendered by markdown-it, then sanitized by nh3.

Rendering first and sanitizing last means no Markdown trick (raw HTML, odd links,
`onerror` attributes) can reach the page: whatever markdown-it emits, nh3 keeps
only the tags and attributes listed here."""
from __future__ import annotations

import re

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

def render(source: str | None) -> Markup:
    html = _md.render(source or "")
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
    text = nh3.clean(_md.render(source or ""), tags=set())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
