"""What every API endpoint shares: authentication, its documented operation, the error
shape and how a service's refusal becomes it, times, people, paging by id and by offset."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Annotated

from flask import g, request
from pydantic import BaseModel, Field

from ideas import clock
from ideas.accounts import services as accounts
from ideas.api.blueprint import bp
from ideas.api.contract import MAX_OFFSET, Body, Model, Query
from ideas.api.errors import ApiError, error_response
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import csrf, db
from ideas.review.common import ScorecardError

csrf.exempt(bp)

# Every endpoint's OpenAPI operation, keyed by (endpoint, method); openapi.json is built from it.
OPERATIONS: dict[tuple[str, str], dict] = {}


@dataclass
class Operation:
    """One endpoint and method: its models, and every status it answers with its meaning.

    `responses` maps a status to (meaning, model or None); the statuses every operation
    shares (401, 405, 413, 414, 429, 503, and 400/415/422 where a body or query is read)
    are added by openapi.build. `path` describes path parameters: {name: description} or
    {name: (description, JSON schema)}; ids are bounded integers unless said otherwise."""

    summary: str
    auth: bool = True
    request: type[Body] | None = None
    body_optional: bool = False  # an empty request is the model's defaults
    query: type[Query] | None = None
    responses: dict[int, tuple[str, type[BaseModel] | dict | None]] = field(default_factory=dict)
    path: dict[str, str | tuple[str, dict]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def documented(method: str, op: Operation) -> Callable:
    """Record `op` as the OpenAPI description of this view for `method`."""

    def decorator(view):
        OPERATIONS[(f"api.{view.__name__}", method.upper())] = op.__dict__
        return view

    return decorator


def current_api_user():
    user = g.get("api_user")
    if user is None:
        raise ApiError(401, "Send a valid bearer token: Authorization: Bearer <token>.")
    return user


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        current_api_user()
        return view(*args, **kwargs)

    return wrapped


@bp.before_request
def authenticate():
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "Use the Bearer scheme: Authorization: Bearer <token>.")
        holder = accounts.user_for_token(secret.strip())
        if holder is None:
            raise ApiError(401, "This token is not valid, was revoked, or its account is deactivated.")
        g.api_user = holder.user
        g.api_token_touch = holder.touch_id


@bp.teardown_request
def touch_token(_error):
    token_id = g.pop("api_token_touch", None)
    if token_id is None:
        return
    from sqlalchemy.exc import OperationalError

    try:
        accounts.touch_token(token_id)
        db.session.commit()
    except OperationalError:
        db.session.rollback()  # busy: the time is informational, the next use records it


# --- errors ----------------------------------------------------------------------------

class ErrorDetail(Model):
    code: str = Field(description="bad_request, malformed_json, unauthorized, forbidden, not_found, "
                                  "method_not_allowed, conflict, too_large, unsupported_media_type, invalid, "
                                  "rate_limited …")
    message: str
    fields: dict[str, list[str]] = Field(description="Each wrong field, with what is wrong with it.")


class Error(Model):
    error: ErrorDetail


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return error_response(error.status, error.message, error.fields, error.code)


@bp.errorhandler(ChallengeError)
def refused(error: ChallengeError):
    """A rule refused the request: the same status, the message under its field."""
    db.session.rollback()  # a service may have flushed part of the change
    return error_response(error.status, error.message, refusal_fields(error))


def refusal_fields(error: ChallengeError) -> dict[str, list[str]]:
    """The refused fields under the request's names. A scorecard names each criterion's
    problem as its form does ("rating_3", "comment_3"): here "ratings.3.rating"."""
    if isinstance(error, ScorecardError):
        fields: dict[str, list[str]] = {}
        for name, message in error.errors.items():
            kind, _, criterion = name.partition("_")
            fields.setdefault(f"ratings.{criterion}.{kind}", []).append(message)
        return fields
    return {error.field: [error.message]} if error.field else {}


@bp.errorhandler(NotFoundError)
def not_found(_error: NotFoundError):
    # Outside a person's audience is the same as not there at all, even by a guessed id.
    db.session.rollback()
    return error_response(404, "There is nothing here, or it is not visible to you.")


# --- values ----------------------------------------------------------------------------

def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, with its zone."""
    return clock.as_utc(value).isoformat() if value is not None else None


def person_json(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


class Person(Model):
    id: int
    name: str


# --- paging ----------------------------------------------------------------------------

def keyset(query, column, *, limit: int, before: int | None, after: int | None) -> tuple[list, dict | None]:
    """One page by id: `before` pages back (newest first), `after` forwards (oldest first)."""
    if after is not None:
        query = query.where(column > after).order_by(column.asc())
    else:
        if before is not None:
            query = query.where(column < before)
        query = query.order_by(column.desc())
    rows = list(db.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if not more:
        return rows, None
    return rows, ({"after": rows[-1].id} if after is not None else {"before": rows[-1].id})


class Before(Model):
    before: int


class After(Model):
    after: int


Cursor = Annotated[Before | After | None,
                   Field(description="Pass as a query parameter for the next page; null on the last page.")]


@dataclass(frozen=True)
class OffsetPage:
    """A page by position, for lists in an order of their own (a ranking, what a person
    follows, search results): `limit` items after the first `offset`. Clients page no
    deeper than MAX_OFFSET."""

    offset: int
    limit: int

    @classmethod
    def numbered(cls, page: int, per_page: int) -> OffsetPage:
        """Page `page` (from 1) of `per_page` items; 422 beyond MAX_OFFSET."""
        if (page - 1) * per_page > MAX_OFFSET:
            highest = MAX_OFFSET // per_page + 1
            raise ApiError(422, f"page must be from 1 to {highest:,}.", {"page": [f"Must be from 1 to {highest:,}."]})
        return cls((page - 1) * per_page, per_page)

    @property
    def end(self) -> int:
        """How many items the page needs read, counting those it skips."""
        return self.offset + self.limit

    def of(self, items: Sequence) -> list:
        """This page of a list read (at least) up to `end`."""
        return list(items[self.offset:self.end])

    def next_offset(self, shown: int) -> int | None:
        """Where the next page starts: none after a short page, or beyond MAX_OFFSET."""
        return self.end if shown == self.limit and self.end <= MAX_OFFSET else None
