"""Every form of the site, posted with hostile values: never a 500, and nothing typed lost.

The forms are found, not listed: every POST route of the site (outside /api, which has
its own contract tests) is taken from the URL map, and the forms that post to it are read
off the site's own pages, as the person of the right role sees them, with the values the
page fills in. Each field then receives, one at a time, huge and negative integers, NUL
and other control characters, a lone surrogate, bidirectional overrides, over-long text and
a repeated value; the rest of the form stays as the page gave it, so the hostile value
reaches as deep as a real one would. A form that no page shows is still posted, with every
field name the site uses.

What must hold: the answer is below 500, and a form shown again with a message keeps what
the person typed (the marker in a text value comes back in the page).
"""
# ruff: noqa: F811  (the fixtures imported below are pytest fixtures, named as arguments)
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from tests.test_authorization import (  # noqa: F401  (fixtures, reused: one app for the module)
    EXPECTED,
    LOGIN,
    app,
    enter_session,
    matrix_app,
    routed,
    sample_url,
    world,
)

MARKER = "Keepme"
# Beyond PostgreSQL's INTEGER (negative, so it passes a digits-only check too), and
# beyond 64 bits (what SQLite can hold).
HUGE = ["-2147483649", "1" + "0" * 30]
HOSTILE_TEXT = f"{MARKER} nul\x00 bell\x07 c1\x85\x9b bidi \u202egnp.exe\u202c \u2066iso\u2069 end"
LONG_TEXT = f"{MARKER} " + "long " * 6_000
# The site's text fields that are not free text a person types (ids, choices, hidden
# state): the marker is not expected back in them.
FREE_TEXT_TYPES = {"text", "textarea", "search", "email", "url"}

# Routes whose "success" ends the session or sends the form elsewhere for good.
SKIPPED = {"/logout"}


class FormParser(HTMLParser):
    """The POST forms of a page: action, and each field's name, kind and value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._form = {"action": a.get("action") or "", "fields": [], "kinds": {}}
                self.forms.append(self._form)
            return
        form = self._form
        if form is None or not a.get("name"):
            if tag == "option" and self._select and self._form is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            form["kinds"].setdefault(name, kind)
            if kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "radio" and not any(n == name for n, _ in form["fields"])):
                    form["fields"].append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                form["fields"].append((name, a.get("value", "")))
        elif tag == "textarea":
            form["kinds"].setdefault(name, "textarea")
            self._textarea = name
            form["fields"].append((name, ""))
        elif tag == "select":
            form["kinds"].setdefault(name, "select")
            self._select, self._select_first = name, None
        elif tag == "button" and a.get("value") is not None:
            form["kinds"].setdefault(name, "button")
            form["fields"].append((name, a["value"]))

    def _option(self, a):
        value = a.get("value", "")
        if self._select_first is None:
            self._select_first = value
            self._form["fields"].append((self._select, value))
        if "selected" in a:
            fields = self._form["fields"]
            for i in range(len(fields) - 1, -1, -1):
                if fields[i][0] == self._select:
                    fields[i] = (self._select, value)
                    break

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            name, value = self._form["fields"][-1]
            self._form["fields"][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _rule_regex(rule: str) -> re.Pattern:
    pattern = re.sub(r"<(?:int:)?[a-z_]+>", "[^/]+", re.escape(rule).replace(r"\<", "<").replace(r"\>", ">"))
    return re.compile(f"^{pattern}$")


def _actor(rule: str) -> str:
    """Who posts: an administrator passes every role gate; author-only forms are posted by
    the author of the sample objects (an external participant)."""
    statuses = EXPECTED.get(("POST", rule), {})
    return "person" if statuses.get("admin") in (403, LOGIN) else "admin"


def _person(world, actor):
    return world["person"] if actor == "person" else world["people"]["admin"]


def _page_forms(client, world, routed) -> list[dict]:
    """Every POST form on every page of the site (GET routes outside /api)."""
    forms = []
    for method, rule in sorted(routed):
        if method != "GET" or rule.startswith("/api/") or rule.endswith(".csv") or "<token>" in rule:
            continue
        url = sample_url(rule, world)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            response.close()
            continue
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            form["page"] = url
            form["action"] = urlsplit(form["action"]).path or urlsplit(url).path
            forms.append(form)
    return forms


def _numeric(name: str, value: str, kind: str) -> bool:
    return bool(re.fullmatch(r"-?\d*", value)) and (value != "" or kind in ("number", "hidden", "select")) \
        or name.endswith(("_id", "_ids", "id", "ids", "count", "limit", "days"))


def _variants(form: dict, field_names: set[str]):
    """(description, data, marker expected back in the page?) for one form."""
    base = [(n, v) for n, v in form["fields"] if n != "csrf_token"]
    values = dict(base)
    names = list(dict.fromkeys(n for n, _ in base))
    kinds = form.get("kinds", {})
    if not names:  # no page shows this form: every name the site uses, all at once
        for value in (*HUGE, HOSTILE_TEXT, LONG_TEXT):
            yield f"every field={value[:14]!r}", [(n, value) for n in sorted(field_names)], False
    text_fields = []
    for name in names:
        others = [(n, v) for n, v in base if n != name]
        kind = kinds.get(name, "text")
        if _numeric(name, values.get(name, ""), kind):
            for value in HUGE:
                yield f"{name}={value[:12]}", [*others, (name, value)], False
        else:
            yield f"{name}={HOSTILE_TEXT[:14]!r}", [*others, (name, HOSTILE_TEXT)], kind in FREE_TEXT_TYPES
            if kind in FREE_TEXT_TYPES:
                text_fields.append(name)
    if text_fields:  # over-long text in every free-text field at once: refused, and kept
        long = [(n, v) for n, v in base if n not in text_fields] + [(n, LONG_TEXT) for n in text_fields]
        yield "every text field over-long", long, True
    repeated = [pair for n in names for pair in ((n, "1"), (n, "2147483648"), (n, f"{MARKER}\x00"))]
    yield "every field repeated", repeated, False
    nested = [*base, *[(f"{n}[0][x]", "2147483648") for n in names[:3]], ("a[b][c][d]", "\x00")]
    yield "nested names", nested, False


def _all_field_names(forms) -> set[str]:
    return {n for form in forms for n, _ in form["fields"] if n != "csrf_token"}


POST_RULES = sorted(rule for (method, rule) in EXPECTED if method == "POST" and not rule.startswith("/api/"))


@pytest.fixture(scope="module")
def discovered(matrix_app, routed):
    """The forms each actor sees, read once per run (actor -> forms)."""
    return {}


@pytest.mark.parametrize("rule", POST_RULES)
def test_hostile_values_in_every_form(rule, routed, client, world, discovered):
    if ("POST", rule) not in routed:
        pytest.skip(f"the site has no route POST {rule}")
    if rule in SKIPPED:
        pytest.skip(f"{rule} takes no input")
    actor = _actor(rule)
    token = enter_session(client, _person(world, actor))
    if actor not in discovered:
        discovered[actor] = _page_forms(client, world, routed)
    forms = discovered[actor]
    pattern = _rule_regex(rule)
    mine = [f for f in forms if pattern.match(f["action"])]
    if not mine:  # no page shows it (yet): post every field name the site uses
        mine = [{"action": sample_url(rule, world), "fields": [], "kinds": {}}]
    seen_actions = set()
    failures = []
    for form in mine:
        key = (form["action"], tuple(sorted(n for n, _ in form["fields"])))
        if key in seen_actions:
            continue
        seen_actions.add(key)
        for what, data, typed in _variants(form, _all_field_names(forms)):
            response = client.post(form["action"], data=MultiDict([("csrf_token", token), *data]))
            body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
            response.close()
            where = f"POST {form['action']} as {actor} with {what}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
            elif typed and response.status_code == 422 and MARKER not in body:
                failures.append(f"{where}: the form came back without what was typed")
    assert not failures, "\n".join(failures[:40]) + (f"\n… and {len(failures) - 40} more" if len(failures) > 40 else "")
