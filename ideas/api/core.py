"""What every API endpoint shares: authentication, documented operations, JSON bodies."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import g, request

from ideas.api.errors import ApiError

# Every endpoint's OpenAPI operation, keyed by (endpoint, method); openapi.json is built from it.
OPERATIONS: dict[tuple[str, str], dict] = {}
SCHEMAS: dict[str, dict] = {}


def schema(name: str, body: dict) -> dict:
    SCHEMAS[name] = body
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass
class Operation:
    summary: str
    auth: bool = True
    request: dict | None = None
    responses: dict[int, tuple[str, dict | None]] = field(default_factory=dict)
    parameters: list[dict] = field(default_factory=list)
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


_TYPES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object",
          float: "a number"}


def json_body(spec: dict[str, tuple[type | tuple[type, ...], bool]]) -> dict[str, Any]:
    """The request's JSON object, checked against {name: (type, required)}.

    Malformed JSON is a 400; a missing or wrong-typed field a 422 naming each field.
    """
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The body is not valid JSON.", code="malformed_json")
    if not isinstance(data, dict):
        raise ApiError(422, "The body must be a JSON object.")
    problems: dict[str, list[str]] = {}
    for name, (kind, required) in spec.items():
        if name not in data or data[name] is None:
            if required:
                problems[name] = ["This field is required."]
            continue
        kinds = kind if isinstance(kind, tuple) else (kind,)
        value = data[name]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            problems[name] = [f"Must be {' or '.join(_TYPES.get(k, k.__name__) for k in kinds)}."]
        elif isinstance(value, str) and _has_control_characters(value):
            problems[name] = ["Contains a control character that is not allowed."]
    if problems:
        raise ApiError(422, "Some fields are missing or of the wrong type.", problems)
    return {k: data.get(k) for k in spec}


def _has_control_characters(value: str) -> bool:
    # The site's one text rule (C0/C1 controls, bidirectional overrides): the pages drop
    # these at the edge; the API refuses them, naming the field.
    from ideas.text import has_untyped

    return has_untyped(value)
