"""The site's one rule for text from outside, used by the pages (ideas.site.hooks), the
API (ideas.fields, ideas.api.contract) and archives (ideas.archive.document).

What nobody types, and what some paste to attack: C0 and C1 control characters (NUL
above all, which PostgreSQL refuses; terminal escapes), DEL, and the bidirectional
embedding, override and isolate controls (they make "gnp.exe" read as "exe.png").
Tab and line breaks stay; so do the invisible marks real right-to-left text uses
(U+200E/U+200F). A lone surrogate is half a character: no encoder can write it."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

UNTYPED = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F),
                                   *range(0x2066, 0x206A)) if chr(c) not in "\t\n\r")
_DROP = dict.fromkeys(map(ord, UNTYPED))
SURROGATE = re.compile("[\ud800-\udfff]")
_CHANGED = re.compile(f"[{re.escape(UNTYPED)}\ud800-\udfff]")


def sanitise(value: str) -> str:
    """The characters above dropped, lone surrogates replaced by U+FFFD; everything
    else a person typed is kept as typed."""
    return SURROGATE.sub("\ufffd", value.translate(_DROP))


def sanitise_surrogates(value: str) -> str:
    return SURROGATE.sub("\ufffd", value)


def has_untyped(value: str) -> bool:
    """True where sanitise() would change `value` (for callers that refuse instead)."""
    return _CHANGED.search(value) is not None


def visible_length(value: str) -> int:
    """How many characters of `value` show: format characters (zero-width space and
    joiners, the byte order mark, direction marks) take no room, so "A" followed by three
    zero-width spaces is one character long to whoever reads it."""
    return sum(1 for c in value if unicodedata.category(c) != "Cf")


def without_surrogates(data: Any) -> Any:
    """Decoded JSON with each lone surrogate (JSON may spell one: "\\ud800") replaced by
    U+FFFD, in keys and values. Walked without recursion, so a deeply nested body cannot
    exhaust the stack; lists and objects are changed in place."""
    if isinstance(data, str):
        return sanitise_surrogates(data)
    if not isinstance(data, dict | list):
        return data
    stack = [data]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str):
                node[key] = sanitise_surrogates(value)
            elif isinstance(value, dict | list):
                stack.append(value)
        if isinstance(node, dict) and any(isinstance(k, str) and sanitise_surrogates(k) != k for k in node):
            fixed = {sanitise_surrogates(k): v for k, v in node.items()}
            node.clear()
            node.update(fixed)
    return data
