"""What every API endpoint shares: authentication, and its documented operation."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import g
from pydantic import BaseModel

from ideas.api.contract import Body, Query
from ideas.api.errors import ApiError

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
