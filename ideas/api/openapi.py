"""The OpenAPI 3.1 document (served at /openapi.json), built from the routes, their
documented operations and the contract's models.

A test checks that every /api/v1 route and method has an operation here, so the
document cannot drift from the code; the models that validate requests are the ones
described, so the description cannot drift from what the server checks."""
from __future__ import annotations

import re

from flask import current_app, jsonify
from pydantic import BaseModel

from ideas.api.blueprint import bp
from ideas.api.contract import MAX_INT
from ideas.api.core import OPERATIONS, Operation, documented

_CONVERTER = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")
_REF = "#/components/schemas/{model}"

# Statuses any operation may answer, described once.
SHARED = {
    "MalformedJson": (400, "The body is not valid JSON, or nested too deeply to read (code malformed_json)"),
    "Unauthorized": (401, "Missing, invalid or revoked token, or a deactivated account"),
    "NotFound": (404, "Nothing here, or it is not visible to you"),
    "MethodNotAllowed": (405, "This path does not take this method; the Allow header lists those it takes"),
    "TooLarge": (413, "The body is larger than the server accepts"),
    "UriTooLong": (414, "The address (with its query string) is longer than the server reads"),
    "UnsupportedMediaType": (415, "The body is not sent as application/json"),
    "Invalid": (422, "Missing, wrong or unknown fields, each named under error.fields"),
    "RateLimited": (429, "Too many requests; try again later"),
    "Unavailable": (503, "The service is briefly unavailable (its database or search); try again"),
}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\2}", rule)


def api_rules():
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule.startswith("/api/v1"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


class _Schemas:
    """components/schemas, filled as operations name their models."""

    def __init__(self):
        self.found: dict[str, dict] = {}

    def ref(self, model: type[BaseModel] | dict) -> dict:
        if isinstance(model, dict):
            return model
        schema = model.model_json_schema(ref_template=_REF)
        self.found.update(schema.pop("$defs", {}))
        self.found[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    def parameters(self, model) -> list[dict]:
        schema = model.model_json_schema(ref_template=_REF)
        self.found.update(schema.pop("$defs", {}))
        found = []
        for name, info in model.model_fields.items():
            prop = dict(schema["properties"][name])
            description = prop.pop("description", "")
            prop.pop("title", None)
            # An absent parameter is the "null" of a query string: describe the value only.
            options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
            if len(options) == 1:
                prop = {**options[0], **prop}
            elif options:
                prop["anyOf"] = options
            description = prop.pop("description", description)
            if prop.get("default", 0) is None:
                del prop["default"]
            param = {"name": name, "in": "query", "required": info.is_required(), "schema": prop}
            if description:
                param["description"] = description
            found.append(param)
        return found


def _path_parameters(rule, op) -> list[dict]:
    found = []
    for converter, name in _CONVERTER.findall(rule.rule):
        described = op["path"].get(name, "")
        description, schema = described if isinstance(described, tuple) else (described, None)
        if schema is None:
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_INT} if converter == "int" else {"type": "string"}
        param = {"name": name, "in": "path", "required": True, "schema": schema}
        if description:
            param["description"] = description
        found.append(param)
    return found


def build() -> dict:
    from ideas.api.core import Error

    schemas = _Schemas()
    error = schemas.ref(Error)
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
        parameters = _path_parameters(rule, op)
        if op["query"] is not None:
            parameters += schemas.parameters(op["query"])
        if parameters:
            operation["parameters"] = parameters
        if op["request"] is not None:
            operation["requestBody"] = {"required": not op["body_optional"],
                                        "content": {"application/json": {"schema": schemas.ref(op["request"])}}}
        operation["security"] = [{"bearer": []}] if op["auth"] else []
        for status, (description, model) in sorted(op["responses"].items()):
            response: dict = {"description": description}
            if model is not None:
                response["content"] = {"application/json": {"schema": schemas.ref(model)}}
            operation["responses"][str(status)] = response
        shared = ["MethodNotAllowed", "UriTooLong", "RateLimited", "Unavailable"]
        if op["auth"]:
            shared.append("Unauthorized")
        if "{" in openapi_path(rule.rule):
            shared.append("NotFound")
        if op["request"] is not None or method in ("POST", "PATCH", "PUT"):
            shared += ["MalformedJson", "TooLarge", "UnsupportedMediaType", "Invalid"]
        if op["query"] is not None:
            shared.append("Invalid")
        for name in shared:
            operation["responses"].setdefault(str(SHARED[name][0]), {"$ref": f"#/components/responses/{name}"})
        operation["responses"] = dict(sorted(operation["responses"].items()))
        paths.setdefault(openapi_path(rule.rule.removeprefix("/api/v1")), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ideas API",
            "version": "1",
            "description": "Challenges, ideas, votes, rankings and handoffs. Errors always have the shape "
            '{"error": {"code", "message", "fields"}}. Ids are whole numbers from 1 to 2,147,483,647. '
            "Links to pages (an idea's `url`) are absolute when the site's IDEAS_BASE_URL is set, "
            "and otherwise absolute on the host the request was sent to.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.found.items())),
            "responses": {name: {"description": description, "content": {"application/json": {"schema": error}}}
                          for name, (_status, description) in SHARED.items()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
@documented(
    "GET",
    Operation(summary="This API's OpenAPI 3.1 description", auth=False,
              responses={200: ("The document", {"type": "object"})}, tags=["meta"]),
)
def openapi():
    return jsonify(build())
