"""Field types declared once, for every reader of outside data: the API's request models
(ideas.api.contract) and the archive's records (ideas.archive.document).

Each is a pydantic type that validates and describes itself in JSON Schema, so the
OpenAPI document and the checks cannot drift apart. Numbers are bounded by what the
database holds (PostgreSQL INTEGER), strings by their columns; text may not carry the
characters ideas.sanitising names (control characters, bidirectional overrides) or
lone surrogates, which neither the databases nor the mail can store."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ideas.numbers import INT_MAX
from ideas.sanitising import SURROGATE, UNTYPED, has_untyped

MAX_INT = INT_MAX  # PostgreSQL INTEGER: every id and count column


def _storable(value: str) -> str:
    if SURROGATE.search(value):
        raise PydanticCustomError("surrogate", "Contains an invalid character (a lone surrogate).")
    if has_untyped(value):
        raise PydanticCustomError("control_character", "Contains a control character that is not allowed.")
    return value


# The same rule for the document (surrogates cannot be written in a JSON Schema pattern).
def _ranges(characters: str) -> str:
    codes, found = sorted(map(ord, characters)), []
    for code in codes:
        if found and code == found[-1][1] + 1:
            found[-1][1] = code
        else:
            found.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in found)


STORABLE_PATTERN = f"^[^{_ranges(UNTYPED)}]*$"


def Text(max_length: int, *, min_length: int | None = None, **field) -> Any:
    """A string of at most `max_length` characters that the database can store."""
    extra = {"pattern": STORABLE_PATTERN, **field.pop("json_schema_extra", {})}
    return Annotated[str, Field(max_length=max_length, min_length=min_length, json_schema_extra=extra, **field),
                     AfterValidator(_storable)]


def _whole(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer, and so do we; 2.5 stays refused, and so does true.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _within(low: int, high: int):
    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError("int_range", "Must be a whole number from {low:,} to {high:,}.",
                                      {"low": low, "high": high})
        return value

    return check


def Int(low: int = 1, high: int = MAX_INT, **field) -> Any:
    """A whole number from `low` to `high` (not a boolean; 2.0 is read as 2). Both bounds are
    in the one message, so a client (or an archive) learns the range from either mistake."""
    extra = {"minimum": low, "maximum": high, **field.pop("json_schema_extra", {})}
    return Annotated[int, Field(json_schema_extra=extra, **field), BeforeValidator(_whole),
                     AfterValidator(_within(low, high))]


Id = Int(1, MAX_INT)


def _aware_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("time_format", "Not an ISO 8601 time, e.g. 2026-05-01T09:00:00Z.") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise PydanticCustomError("time_zone", "Add a time zone, e.g. Z for UTC.")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError("time_range", "Out of range.") from None
    if not isinstance(value, datetime):
        raise PydanticCustomError("time_type", "Give an ISO 8601 time as a string.")
    return value


# An ISO 8601 time with its zone, read as UTC.
Time = Annotated[datetime, BeforeValidator(_aware_time), WithJsonSchema({"type": "string", "format": "date-time"})]


def split_tags(value: Any) -> Any:
    """Tags as typed: a comma- (or semicolon-) separated string is what the pages send,
    kept for API clients that do the same; a list is taken as it is."""
    if isinstance(value, str):
        return [part for part in value.replace(";", ",").split(",") if part.strip()]
    return value


TAG_MAX = 40
TAGS_MAX = 20


def tags_problem(tags: list[str]) -> str | None:
    """What is wrong with these tags, in words for the person who typed them, or None.
    The pages' forms and the API both refuse by it: nothing is cut off silently."""
    if len(tags) > TAGS_MAX:
        return f"Give at most {TAGS_MAX} tags (there are {len(tags)})."
    for tag in tags:
        shown = " ".join(tag.split())
        if len(shown) > TAG_MAX:
            return f"“{shown[:TAG_MAX]}…” is longer than a tag may be ({TAG_MAX} characters)."
        if not any(c.isalnum() for c in shown):
            return f"“{shown}” is not a tag: a tag needs a letter or a digit."
    return None


def _sound_tags(tags: list[str]) -> list[str]:
    problem = tags_problem(tags)
    if problem:
        raise PydanticCustomError("tags", problem)
    return tags


Tags = Annotated[list[Text(TAG_MAX)], BeforeValidator(split_tags), Field(max_length=TAGS_MAX),
                 AfterValidator(_sound_tags)]

# Fields more than one reader takes, at their columns' lengths (ideas/challenges/models.py,
# ideas/accounts/models.py).
TITLE_MAX = 160  # a challenge's or an idea's title
NAME_MAX = 120  # a person's name
EMAIL_MAX = 254  # an address, as RFC 5321 allows
CriterionName = Text(60, min_length=1)
CriterionDescription = Text(300)
CriterionWeight = Int(1, 10)
