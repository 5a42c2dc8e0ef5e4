"""The API's one contract: each request body, query and response is a pydantic model.

The same model validates what a client sends and writes its part of the OpenAPI
document (openapi.py), so the description cannot drift from what the server checks.
Its field types are declared once in ideas.fields (archives are read with them too):
numbers bounded by what the database holds (PostgreSQL INTEGER), strings by their
columns, lists to sizes a person could mean; text without control characters or lone
surrogates (neither the databases nor the mail can store them)."""

import json
from typing import Any, ClassVar, TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict, ValidationError

from ideas.api.errors import ApiError
from ideas.fields import MAX_INT, Id, Int, Tags, Text, Time
from ideas.sanitising import without_surrogates

__all__ = ["DEFAULT_LIMIT", "MAX_INT", "MAX_LIMIT", "MAX_OFFSET", "Body", "Id", "Int", "Model", "Paging", "Query",
           "Tags", "Text", "Time", "body", "json_value", "problems", "query", "validate"]

MAX_LIMIT = 100
DEFAULT_LIMIT = 30
MAX_OFFSET = 10_000

# The field types (ideas.fields) are the archive's too. Text follows the site's one text
# rule (ideas.sanitising): the pages drop control characters and bidirectional overrides;
# the API refuses them, naming the field. Lone surrogates (JSON's "\ud800") become U+FFFD
# as the body is read; any that reach a model another way are refused.


class Body(BaseModel):
    """A JSON request body: unknown fields are refused, so a misspelt one never silently does nothing."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # How an item of a list field is named in messages: {"criteria": "Criterion"} → "Criterion 2: …".
    item_labels: ClassVar[dict[str, str]] = {}

    def sent(self, name: str) -> bool:
        return name in self.model_fields_set

    def cleared(self, name: str) -> bool:
        """Sent as null: the client asks to clear it."""
        return name in self.model_fields_set and getattr(self, name) is None


class Query(BaseModel):
    """Query parameters, read from the URL's strings; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore")
    item_labels: ClassVar[dict[str, str]] = {}


class Model(BaseModel):
    """A response: declared for the document; the endpoints build the JSON they describe."""

    model_config = ConfigDict(extra="allow")


class Paging(Query):
    limit: Int(1, MAX_LIMIT, description="Items per page.") = DEFAULT_LIMIT
    before: Int(0, MAX_INT, description="Items with a smaller id, newest first (the `next` cursor).") | None = None
    after: Int(0, MAX_INT, description="Items with a larger id, oldest first.") | None = None

    def model_post_init(self, _context) -> None:
        if self.before is not None and self.after is not None:
            raise ApiError(422, "Page with before or after, not both.", {"after": ["Use before or after, not both."]})


# --- reading a request ----------------------------------------------------------------------

B = TypeVar("B", bound=Body)
Q = TypeVar("Q", bound=Query)
M = TypeVar("M", bound=BaseModel)


def json_value() -> Any:
    """The request's JSON: 415 when it is not JSON, 400 when it cannot be read."""
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply to read.", code="malformed_json") from None
    except ValueError:  # includes bodies that are not UTF-8
        raise ApiError(400, "The body is not valid JSON.", code="malformed_json") from None
    # As the site's requests do (ideas.site.hooks): a lone surrogate becomes U+FFFD.
    return without_surrogates(data)


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; JSON has neither


def body(model: type[B], *, optional: bool = False) -> B:
    """The request's JSON object validated by `model`; 422 names each wrong field.
    With `optional`, an empty request is an empty object (actions whose fields are all optional)."""
    if optional and not request.get_data(cache=True):
        return model()
    data = json_value()
    if data is None:
        raise ApiError(400, "The body is null: send a JSON object.", code="malformed_json")
    if not isinstance(data, dict):
        raise ApiError(422, "The body must be a JSON object.")
    return validate(model, data, "Some fields are missing, wrong or not known.")


def query(model: type[Q]) -> Q:
    """The query string validated by `model`; an empty value counts as not given."""
    values = {name: value for name, value in request.args.items() if value != ""}
    return validate(model, values, "Some query parameters are not valid.")


def validate(model: type[M], data: dict, message: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(422, message, problems(error, getattr(model, "item_labels", {}))) from None


# --- messages -----------------------------------------------------------------------------

_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
    "float_type": "Must be a number.",
    "float_parsing": "Must be a number.",
    "finite_number": "Must be a finite number.",
    "string_type": "Must be a string.",
    "string_unicode": "Contains an invalid character (a lone surrogate).",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "list_type": "Must be a list.",
    "dict_type": "Must be an object.",
    "model_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "none_required": "Must be null.",
    "int_range": "Must be a whole number from {low:,} to {high:,}.",
    "less_than_equal": "Must be at most {le:,}.",
    "greater_than_equal": "Must be at least {ge:,}.",
    "less_than": "Must be under {lt:,}.",
    "greater_than": "Must be over {gt:,}.",
    "string_too_long": "Keep it to {max_length:,} characters at most.",
    "string_too_short": "Must not be empty.",
    "too_long": "At most {max_length:,} items.",
    "too_short": "At least {min_length:,} item(s).",
    "literal_error": "Must be one of {expected}.",
    "enum": "Must be one of {expected}.",
}


def _message(error: dict) -> str:
    if error["type"] == "string_too_short" and error.get("ctx", {}).get("min_length", 1) > 1:
        return f"Needs at least {error['ctx']['min_length']} characters."
    template = _MESSAGES.get(error["type"])
    if template is None:
        return error["msg"]
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, ValueError):
        return error["msg"]


def problems(error: ValidationError, labels: dict[str, str]) -> dict[str, list[str]]:
    """{field: [message]} from pydantic's errors: nested errors stay under their top field,
    with the item's number and the inner field in the message."""
    found: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_input=False):
        loc = [part for part in item["loc"] if not (isinstance(part, str) and not part.isidentifier())]
        # union members are reported by type ("int", "str", "list[...]"): not a field of the client's
        loc = [part for part in loc if part not in ("int", "str", "bool", "float", "function-after", "list")]
        field = str(loc[0]) if loc else "body"
        prefix = ""
        rest = loc[1:]
        if rest and isinstance(rest[0], int):
            prefix = f"{labels.get(field, 'Item')} {rest[0] + 1}: "
            rest = rest[1:]
        if rest:
            prefix += ".".join(str(p) for p in rest) + ": "
        message = _message(item)
        if prefix:
            message = prefix + message[0].lower() + message[1:]
        messages = found.setdefault(field, [])
        if message not in messages:
            messages.append(message)
    return found
