"""Caches that are never stale: keyed by generations that every committed change moves.

Each cached thing is keyed by the generations of what it shows: `c:<id>` for one
challenge (its ideas, votes, scores, comments, phase, reviews), `site` for
everything else (people, settings …), and `any`, which moves with every change.
After each commit that changed rows, the generations of the challenges touched
(and `site` for other rows) get a new random value, before the response is sent,
so the next request after a vote, an edit or a phase change misses the cache and
reads the database. Random values, not counters: two workers bumping at once can
never land on the same value, and a page rendered before a change is stored under
a generation that is already gone.

Where: Flask-Caching, a folder under the instance path by default (shared by the
workers of one machine), Redis when IDEAS_CACHE_URL is a redis:// URL (shared by
several machines), or `null` to switch caching off.

What: only pages with nothing personal in them (anonymous GETs with no flash message
pending and no form token in the page, so nothing a staff member or a signed-in
person would see), and
the ranking API's payload keyed by what the viewer may see, the challenge page's shared
part for everyone (`challenges.routes._shown_ideas`: the rendered idea cards, the idea
count, the cover, the criteria and the tags, keyed by the pools the reader sees and
whether they are staff), the idea page's tags and attachments and its page of
conversations (`challenges.discussion_routes.discussion_context`: rendered for a kind of
reader, keyed by whether they see hidden comments, may comment, may flag and are kept from
the authors' names, each viewer's form token and own buttons put in afterwards), and the
dashboards' figures that do not depend on the clock (`insight.services._kept`: nothing
personal in them, and only their managers are shown them).
"""
from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, request, session
from flask_caching import Cache
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from ideas.extensions import db

cache = Cache()
log = logging.getLogger(__name__)

PAGE_SECONDS = 300  # a bound on memory use, not on staleness: generations handle that
# Rows written on every read or by background work that no cached page shows.
_QUIET_TABLES = frozenset({
    "idea_views", "api_tokens", "mail_outbox", "index_jobs", "notifications", "one_time_tokens",
    "webhook_deliveries", "webhook_attempts",
})


def init_app(app: Flask) -> None:
    url = app.config.get("IDEAS_CACHE_URL") or ""
    if url == "null" or (app.testing and not url):
        settings = {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}
    elif url.startswith(("redis://", "rediss://", "unix://")):
        settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": "ideas:"}
    else:
        folder = url.removeprefix("filesystem://") or f"{app.config['INSTANCE_PATH']}/cache"
        settings = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": folder, "CACHE_THRESHOLD": 20_000}
    settings["CACHE_DEFAULT_TIMEOUT"] = PAGE_SECONDS
    cache.init_app(app, config=settings)
    _listen()


def enabled() -> bool:
    return current_app.extensions["cache"][cache].__class__.__name__ != "NullCache"


# --- generations ------------------------------------------------------------------

# Entries written before this process started are never read: the cache folder outlives
# the database when one is replaced, and rows written outside the ORM (a restore, bulk
# scale data) move no generation.
_EPOCH = uuid.uuid4().hex


def generations(*names: str) -> tuple:
    """The current value of each generation (created on first use), with this process's epoch."""
    keys = [f"gen:{n}" for n in names]
    values = cache.get_many(*keys)
    missing = {k: uuid.uuid4().hex for k, v in zip(keys, values, strict=True) if v is None}
    if missing:
        # Store only where absent, so two first readers do not undo a concurrent bump.
        for key, value in missing.items():
            cache.add(key, value, timeout=0)
        values = cache.get_many(*keys)
    return (_EPOCH, *values)


def bump(names: Iterable[str]) -> None:
    names = set(names)
    if not names:
        return
    cache.set_many({f"gen:{n}": uuid.uuid4().hex for n in {*names, "any"}}, timeout=0)


def _mapper_of(table: str):
    """The mapper of the class stored in `table`: like the rest of this module, the cache
    knows tables by name and imports no domain."""
    return next(m for m in db.Model.registry.mappers if m.local_table.name == table)


def _touched(session: Session) -> set[str]:
    found: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", "")
        if table in _QUIET_TABLES:
            continue
        if table == "challenges":
            found.add(f"c:{obj.id}")
            continue
        challenge_id = getattr(obj, "challenge_id", None)
        if challenge_id is None and getattr(obj, "idea_id", None) is not None:
            idea = session.identity_map.get(_mapper_of("ideas").identity_key_from_primary_key((obj.idea_id,)))
            challenge_id = getattr(idea, "challenge_id", None)
        found.add(f"c:{challenge_id}" if challenge_id is not None else "site")
    return found


def _after_flush(session: Session, _context) -> None:
    session.info.setdefault("cache_generations", set()).update(_touched(session))


def _after_commit(session: Session) -> None:
    touched = session.info.pop("cache_generations", None)
    if touched:
        try:
            bump(touched)
        except Exception:  # a cache that cannot be told must not serve: drop it all
            log.exception("could not move cache generations; clearing the cache")
            try:
                cache.clear()
            except Exception:
                log.exception("could not clear the cache either")


def _after_rollback(session: Session) -> None:
    session.info.pop("cache_generations", None)


def _listen() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))


# --- public pages -----------------------------------------------------------------

# What an anonymous visitor's session may hold for a page to be shared: the CSRF secret
# (forms create it; a page that renders a form is never stored) and Flask-Login's flag.
_IMPERSONAL_SESSION = frozenset({"csrf_token", "_fresh", "_permanent"})


def _impersonal() -> bool:
    return set(session.keys()) <= _IMPERSONAL_SESSION


def _anonymous_read() -> bool:
    return (request.method == "GET" and not current_user.is_authenticated and _impersonal()
            and "Authorization" not in request.headers)


def public_page(scope: Callable[..., str | None] | None = None):
    """Cache a page for anonymous readers. `scope(**view_args)` names the challenge
    generation the page depends on ("c:<id>"), or None when it cannot be cached;
    without a scope, the page depends on everything (`any`)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            if not enabled() or not _anonymous_read():
                return view(**kwargs)
            depends = scope(**kwargs) if scope else "any"
            if depends is None:
                return view(**kwargs)
            gens = generations("site", depends)
            key = "page:" + hashlib.sha256(f"{request.full_path}|{gens}".encode()).hexdigest()
            hit = cache.get(key)
            if hit is not None:
                body, status, mimetype = hit
                return _conditional(Response(body, status=status, mimetype=mimetype))
            response = current_app.make_response(view(**kwargs))
            # Nothing personal may be in it: a full 200 page, no form token in it, nothing but
            # the CSRF secret in the session (no flash message was pending).
            if response.status_code == 200 and not response.direct_passthrough and _impersonal():
                body = response.get_data()
                if b"csrf_token" not in body:
                    cache.set(key, (body, response.status_code, response.mimetype))
            return _conditional(response)

        return wrapper

    return decorate


def _conditional(response: Response) -> Response:
    response.add_etag()
    return response.make_conditional(request)


def remember(parts: tuple, depends: str, build: Callable[[], object]):
    """A value computed by `build`, cached under `parts` and the generations of `depends`."""
    if not enabled():
        return build()
    gens = generations("site", depends)
    key = "value:" + hashlib.sha256(repr((parts, gens)).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = build()
        cache.set(key, found)
    return found
