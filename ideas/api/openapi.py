"""The OpenAPI 3.1 document, built from the routes and their documented operations.

A test checks that every /api/v1 route and method has an operation here, so the
document cannot drift from the code."""
from __future__ import annotations

import re

from flask import current_app

from ideas.api.core import OPERATIONS, SCHEMAS

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def api_rules():
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule.startswith("/api/v1"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def build() -> dict:
    paths: dict[str, dict] = {}
    for rule, method in api_rules():
        op = OPERATIONS.get((rule.endpoint, method))
        if op is None:
            continue
        operation: dict = {
            "operationId": f"{rule.endpoint.removeprefix('api.')}_{method.lower()}",
            "summary": op["summary"],
            "tags": op["tags"],
            "responses": {},
        }
        if op["parameters"]:
            operation["parameters"] = op["parameters"]
        if op["request"] is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op["request"]}}}
        if op["auth"]:
            operation["security"] = [{"bearer": []}]
            op["responses"].setdefault(401, ("Missing or invalid token", {"$ref": "#/components/schemas/Error"}))
        else:
            operation["security"] = []
        for status, (description, body) in sorted(op["responses"].items()):
            response: dict = {"description": description}
            if body is not None:
                response["content"] = {"application/json": {"schema": body}}
            operation["responses"][str(status)] = response
        paths.setdefault(openapi_path(rule.rule.removeprefix("/api/v1")), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ideas API",
            "version": "1",
            "description": "Challenges, ideas, votes, rankings and handoffs. Errors always have the shape "
            '{"error": {"code", "message", "fields"}}.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(SCHEMAS.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
