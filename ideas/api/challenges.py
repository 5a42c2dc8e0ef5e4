"""Challenges through the API: list and read for everyone in their audience; create,
update, publish and change phase for managers.

This module also holds what the API's domain endpoints share (ideas.py and voting.py
import it): how a service's refusal becomes an API error, times, paging, JSON bodies
that name unknown fields."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify, request, url_for
from sqlalchemy import select

from ideas import clock
from ideas.api import bp
from ideas.api.core import Operation, current_api_user, documented, json_body, schema, token_required
from ideas.api.errors import ApiError, error_response
from ideas.api.routes import ERROR
from ideas.challenges import policy
from ideas.challenges import services as challenges
from ideas.challenges.models import Challenge, Phase, PoolMode
from ideas.challenges.services import ChallengeError, CriterionInput, NotFound
from ideas.extensions import db

MAX_LIMIT = 100
DEFAULT_LIMIT = 30
MAX_OFFSET = 10_000


# --- shared by the API's domain modules ----------------------------------------------

@bp.errorhandler(ChallengeError)
def refused(error: ChallengeError):
    """A rule refused the request: the same status, the message under its field."""
    db.session.rollback()  # a service may have flushed part of the change
    fields = {error.field: [error.message]} if error.field else {}
    return error_response(error.status, error.message, fields)


@bp.errorhandler(NotFound)
def not_found(_error: NotFound):
    # Outside a person's audience is the same as not there at all, even by a guessed id.
    db.session.rollback()
    return error_response(404, "There is nothing here, or it is not visible to you.")


MAX_ID = 2**63 - 1  # beyond this SQLite cannot even compare: no row has such an id


@bp.url_value_preprocessor
def ids_in_range(_endpoint, values):
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        raise ApiError(404, "There is nothing here, or it is not visible to you.")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, with its zone."""
    return clock.as_utc(value).isoformat() if value is not None else None


def parse_time(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(422, "Give dates as ISO 8601 times.", {field: ["Not an ISO 8601 time, e.g. "
                                                                      "2026-05-01T09:00:00Z."]}) from None
    if parsed.tzinfo is None:
        raise ApiError(422, "Give dates with their time zone.", {field: ["Add a time zone, e.g. Z for UTC."]})
    return parsed.astimezone(UTC)


def body(spec: dict, *, nullable: tuple[str, ...] = ()) -> dict:
    """The JSON body checked against `spec`; unknown fields are refused rather than ignored,
    so a misspelt field never silently does nothing. Fields in `nullable` may be sent as
    null to clear them: they come back as None and are listed in `cleared`."""
    data = json_body(spec)
    raw = request.get_json(silent=True)
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        raise ApiError(422, "Some fields are not known.", {name: ["Unknown field."] for name in unknown})
    data["cleared"] = {name for name in nullable if name in raw and raw[name] is None}
    return data


def optional_body(spec: dict) -> dict:
    """Like `body`, but an empty request is an empty object (for actions whose fields are all optional)."""
    if not request.get_data(cache=True):
        return {**dict.fromkeys(spec), "cleared": set()}
    return body(spec)


def arg_int(name: str, default: int | None = None, *, low: int = 0, high: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name} must be a whole number.", {name: ["Must be a whole number."]}) from None
    if value < low or (high is not None and value > high):
        limits = f"from {low} to {high:,}" if high is not None else f"at least {low}"
        raise ApiError(422, f"{name} must be {limits}.", {name: [f"Must be {limits}."]})
    return value


def arg_choice(name: str, choices, default: str | None = None) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        allowed = ", ".join(choices)
        raise ApiError(422, f"{name} must be one of {allowed}.", {name: [f"Must be one of {allowed}."]})
    return raw


def paging_args() -> tuple[int, int | None, int | None]:
    limit = arg_int("limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    before, after = arg_int("before", low=1, high=MAX_ID), arg_int("after", low=0, high=MAX_ID)
    if before is not None and after is not None:
        raise ApiError(422, "Page with before or after, not both.", {"after": ["Use before or after, not both."]})
    return limit, before, after


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


def person_json(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def path_param(name: str, description: str = "") -> dict:
    param = {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
    if description:
        param["description"] = description
    return param


def query_param(name: str, schema_: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema_, "description": description}


PAGING = [
    query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "Items per page."),
    query_param("before", {"type": "integer"}, "Items with a smaller id, newest first (the `next` cursor)."),
    query_param("after", {"type": "integer"}, "Items with a larger id, oldest first."),
]
CURSOR = {
    "oneOf": [
        {"type": "null"},
        {"type": "object", "properties": {"before": {"type": "integer"}}, "required": ["before"]},
        {"type": "object", "properties": {"after": {"type": "integer"}}, "required": ["after"]},
    ],
    "description": "Pass as a query parameter for the next page; null on the last page.",
}
PERSON = schema("Person", {
    "type": "object", "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
})
TIME = {"type": ["string", "null"], "format": "date-time"}


def page_schema(name: str, item: dict) -> dict:
    return schema(name, {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": item}, "next": CURSOR},
    })


# --- JSON ------------------------------------------------------------------------------

DATE_FIELDS = challenges.DATE_FIELDS
TEXT_FIELDS = ("brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms")
BOOL_SETTINGS = ("cross_visibility", "hide_counts_until_voted", "randomise_order", "allow_opposition",
                 "blind_review", "allow_overlap")
INT_SETTINGS = ("budget_k", "review_capacity", "reviewers_per_idea", "flag_threshold")
# How the challenge is run inside: shown to its staff only (the flag threshold, for one,
# would tell a coordinated group exactly how many flags hide an idea).
STAFF_SETTINGS = ("review_capacity", "reviewers_per_idea", "blind_review", "flag_threshold")

CRITERION = schema("Criterion", {
    "type": "object", "required": ["name"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string", "maxLength": 60},
        "description": {"type": "string", "maxLength": 300},
        "weight": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
    },
})
_SUMMARY_PROPERTIES = {
    "id": {"type": "integer"},
    "title": {"type": "string"},
    "goal": {"type": "string"},
    "phase": {"type": "string", "enum": [str(p) for p in Phase]},
    "pool_mode": {"type": "string", "enum": [str(m) for m in PoolMode]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "voting_policy": {"type": "string", "enum": list(challenges.VOTING_POLICIES)},
    "external_ref": {"type": ["string", "null"]},
    "published_at": TIME,
    **{name: TIME for name in DATE_FIELDS},
}
CHALLENGE_SUMMARY = schema("ChallengeSummary", {
    "type": "object", "required": list(_SUMMARY_PROPERTIES), "properties": _SUMMARY_PROPERTIES,
})
CHALLENGE = schema("Challenge", {
    "type": "object",
    "required": [*_SUMMARY_PROPERTIES, *TEXT_FIELDS, "criteria", "managers", "moderators", "actions", "you"],
    "properties": {
        **_SUMMARY_PROPERTIES,
        **{name: {"type": "string", "description": "Markdown" if name == "brief" else ""} for name in TEXT_FIELDS},
        **{name: {"type": "boolean"} for name in BOOL_SETTINGS},
        **{name: {"type": "integer"} for name in INT_SETTINGS},
        **{name: {**({"type": "boolean"} if name in BOOL_SETTINGS else {"type": "integer"}),
                  "description": "Only for the challenge's staff."} for name in STAFF_SETTINGS},
        "pool_weight_employee": {"type": "number"},
        "pool_weight_external": {"type": "number"},
        "voting_policy_version": {"type": "integer"},
        "criteria": {"type": "array", "items": CRITERION},
        "managers": {"type": "array", "items": PERSON},
        "moderators": {"type": "array", "items": PERSON},
        "created_at": TIME,
        "updated_at": TIME,
        "actions": {"type": "array", "items": {"type": "string"},
                    "description": "What participants may do in the current phase."},
        "you": {
            "type": "object",
            "properties": {
                "manager": {"type": "boolean"},
                "staff": {"type": "boolean"},
                "in_audience": {"type": "boolean"},
                "terms_accepted": {"type": "boolean"},
            },
        },
    },
})
CHALLENGE_INPUT = schema("ChallengeInput", {
    "type": "object",
    "description": "Every field is optional when updating; dates are ISO 8601 with a time zone, null clears one.",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": 160},
        **{name: {"type": "string"} for name in TEXT_FIELDS},
        "pool_mode": {"type": "string", "enum": [str(m) for m in PoolMode]},
        "pool_weight_employee": {"type": "number", "minimum": 0, "maximum": 1},
        "pool_weight_external": {"type": "number", "minimum": 0, "maximum": 1},
        "voting_policy": {"type": "string", "enum": list(challenges.VOTING_POLICIES)},
        **{name: {"type": "boolean"} for name in BOOL_SETTINGS},
        **{name: {"type": "integer"} for name in INT_SETTINGS},
        **{name: {"type": ["string", "null"], "format": "date-time"} for name in DATE_FIELDS},
        "external_ref": {"type": ["string", "null"], "maxLength": 120},
        "tags": {"type": "array", "items": {"type": "string"}},
        "criteria": {"type": "array", "items": CRITERION},
        "managers": {"type": "array", "items": {"type": "integer"}, "description": "People's ids."},
        "moderators": {"type": "array", "items": {"type": "integer"}, "description": "People's ids."},
    },
})
PHASE_CHANGE = schema("PhaseChange", {
    "type": "object", "required": ["phase", "reason"], "additionalProperties": False,
    "properties": {"phase": {"type": "string", "enum": [str(p) for p in Phase]},
                   "reason": {"type": "string", "description": "Told to the participants."}},
})
CHALLENGE_PAGE = page_schema("ChallengePage", CHALLENGE_SUMMARY)


def challenge_summary(challenge: Challenge) -> dict:
    return {
        "id": challenge.id,
        "title": challenge.title,
        "goal": challenge.goal,
        "phase": challenge.phase,
        "pool_mode": challenge.pool_mode,
        "tags": challenge.tags,
        "voting_policy": challenge.voting_policy,
        "external_ref": challenge.external_ref,
        "published_at": iso(challenge.published_at),
        **{name: iso(getattr(challenge, name)) for name in DATE_FIELDS},
    }


def challenge_json(challenge: Challenge, viewer) -> dict:
    staff = sorted(challenge.staff, key=lambda s: s.user_id)
    settings = {
        **{name: bool(getattr(challenge, name)) for name in BOOL_SETTINGS},
        **{name: getattr(challenge, name) for name in INT_SETTINGS},
    }
    if not policy.is_staff(viewer, challenge):
        settings = {name: value for name, value in settings.items() if name not in STAFF_SETTINGS}
    return {
        **challenge_summary(challenge),
        **{name: getattr(challenge, name) for name in TEXT_FIELDS},
        **settings,
        "pool_weight_employee": challenge.pool_weight_employee,
        "pool_weight_external": challenge.pool_weight_external,
        "voting_policy_version": challenge.voting_policy_version,
        "criteria": [{"id": c.id, "name": c.name, "description": c.description, "weight": c.weight}
                     for c in challenge.criteria],
        "managers": [person_json(s.user) for s in staff if s.role == "manager"],
        "moderators": [person_json(s.user) for s in staff if s.role == "moderator"],
        "created_at": iso(challenge.created_at),
        "updated_at": iso(challenge.updated_at),
        "actions": sorted(policy.allowed_actions(challenge, clock.now())),
        "you": {
            "manager": policy.is_manager(viewer, challenge),
            "staff": policy.is_staff(viewer, challenge),
            "in_audience": policy.in_audience(viewer, challenge),
            "terms_accepted": challenges.has_accepted_terms(viewer, challenge),
        },
    }


# --- input -----------------------------------------------------------------------------

CHALLENGE_SPEC: dict = {
    "title": (str, False),
    **{name: (str, False) for name in TEXT_FIELDS},
    "pool_mode": (str, False),
    "pool_weight_employee": ((int, float), False),
    "pool_weight_external": ((int, float), False),
    "voting_policy": (str, False),
    **{name: (bool, False) for name in BOOL_SETTINGS},
    **{name: (int, False) for name in INT_SETTINGS},
    **{name: (str, False) for name in DATE_FIELDS},
    "external_ref": (str, False),
    "tags": ((list, str), False),
    "criteria": (list, False),
    "managers": (list, False),
    "moderators": (list, False),
}
NULLABLE = (*DATE_FIELDS, "external_ref")


def challenge_values(data: dict) -> dict:
    """Keyword arguments for create_challenge / update_challenge from a checked body."""
    values: dict = {}
    for name in ("title", *TEXT_FIELDS, "pool_mode", "voting_policy", *BOOL_SETTINGS, *INT_SETTINGS):
        if data[name] is not None:
            values[name] = data[name]
    for name in ("pool_weight_employee", "pool_weight_external"):
        if data[name] is not None:
            values[name] = float(data[name])
    for name in DATE_FIELDS:
        if data[name] is not None:
            values[name] = parse_time(data[name], name)
    if data["external_ref"] is not None:
        values["external_ref"] = data["external_ref"].strip()[:120] or None
    for name in data["cleared"]:
        values[name] = None
    if data["tags"] is not None:
        values["tags"] = _strings(data["tags"], "tags")
    if data["criteria"] is not None:
        values["criteria"] = _criteria(data["criteria"])
    for name in ("managers", "moderators"):
        if data[name] is not None:
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in data[name]):
                raise ApiError(422, "Name people by their ids.", {name: ["Must be a list of people's ids."]})
            values[name] = data[name]
    return values


def _strings(value, field: str):
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise ApiError(422, "Tags are strings.", {field: ["Must be a list of strings."]})
    return value


def _criteria(items: list) -> list[CriterionInput]:
    found = []
    for number, item in enumerate(items, start=1):
        problem = None
        if not isinstance(item, dict):
            problem = "must be an object with a name, a description and a weight"
        elif not isinstance(item.get("name"), str) or not item["name"].strip():
            problem = "needs a name"
        elif len(item["name"].strip()) > 60:
            problem = "keep the name under 60 characters"
        elif not isinstance(item.get("description", ""), str):
            problem = "the description must be a string"
        elif isinstance(item.get("weight", 1), bool) or not isinstance(item.get("weight", 1), int):
            problem = "the weight must be a whole number from 1 to 10"
        elif set(item) - {"name", "description", "weight", "id"}:
            problem = f"unknown fields {', '.join(sorted(set(item) - {'name', 'description', 'weight', 'id'}))}"
        if problem:
            raise ApiError(422, "A criterion is not right.", {"criteria": [f"Criterion {number}: {problem}."]})
        found.append(CriterionInput(name=item["name"], description=item.get("description", ""),
                                    weight=item.get("weight", 1)))
    return found


# --- endpoints -------------------------------------------------------------------------

SCAN_LIMIT = 1_000  # challenges read per list request, at most, to fill one page


@bp.get("/challenges")
@token_required
@documented("GET", Operation(
    summary="Challenges open to you (and those you run), newest first",
    parameters=[*PAGING, query_param("phase", {"type": "string", "enum": [str(p) for p in Phase]},
                                     "Only challenges in this phase.")],
    responses={200: ("One page of challenges", CHALLENGE_PAGE), 422: ("Bad paging or filter", ERROR)},
    tags=["challenges"],
))
def list_challenges():
    user = current_api_user()
    limit, before, after = paging_args()
    phase = arg_choice("phase", [str(p) for p in Phase])
    # Who sees a challenge is policy.can_see_challenge, applied here to each row so the
    # API cannot drift from the pages. Reading is bounded by SCAN_LIMIT rows; when that
    # cuts a page short, the cursor continues from the last row read.
    query = select(Challenge)
    if phase:
        query = query.where(Challenge.phase == phase)
    batch_size = max(limit + 1, 100)
    found: list[Challenge] = []
    cursor, last_read, read, exhausted = (after if after is not None else before), None, 0, False
    while len(found) <= limit and read < SCAN_LIMIT:
        if after is not None:
            step = query.where(Challenge.id > cursor).order_by(Challenge.id.asc())
        else:
            step = (query.where(Challenge.id < cursor) if cursor is not None else query).order_by(Challenge.id.desc())
        batch = list(db.session.scalars(step.limit(batch_size)))
        for challenge in batch:
            read, last_read = read + 1, challenge.id
            if policy.can_see_challenge(user, challenge):
                found.append(challenge)
                if len(found) > limit:
                    break
        if len(batch) < batch_size:
            exhausted = True
            break
        cursor = last_read
    items = found[:limit]
    if len(found) > limit:
        cursor = items[-1].id
    elif not exhausted and last_read is not None:
        cursor = last_read
    else:
        cursor = None
    following = None if cursor is None else ({"after": cursor} if after is not None else {"before": cursor})
    return jsonify(items=[challenge_summary(c) for c in items], next=following)


@bp.get("/challenges/<int:challenge_id>")
@token_required
@documented("GET", Operation(
    summary="A challenge: charter, settings, phase dates and what you may do in it",
    parameters=[path_param("challenge_id")],
    responses={200: ("The challenge", CHALLENGE), 404: ("No such challenge for you", ERROR)},
    tags=["challenges"],
))
def read_challenge(challenge_id: int):
    user = current_api_user()
    return jsonify(challenge_json(challenges.get_challenge(challenge_id, user), user))


@bp.post("/challenges")
@token_required
@documented("POST", Operation(
    summary="Create a challenge as a draft (innovation managers)",
    request=CHALLENGE_INPUT,
    responses={201: ("The new draft; only its managers see it until it is published", CHALLENGE),
               403: ("Only innovation managers create challenges", ERROR),
               422: ("Missing, wrong or inconsistent fields (e.g. dates out of order)", ERROR)},
    tags=["challenges"],
))
def create_challenge():
    user = current_api_user()
    if not challenges.can_create_challenge(user):
        raise ApiError(403, "Only innovation managers create challenges.")
    data = body({**CHALLENGE_SPEC, "title": (str, True)}, nullable=NULLABLE)
    challenge = challenges.create_challenge(user, **challenge_values(data))
    response = jsonify(challenge_json(challenge, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_challenge", challenge_id=challenge.id)
    return response


def _managed(challenge_id: int) -> tuple[Challenge, object]:
    """The challenge, for its managers: 404 to those who cannot see it, 403 to those who can."""
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not policy.is_manager(user, challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    return challenge, user


@bp.patch("/challenges/<int:challenge_id>")
@token_required
@documented("PATCH", Operation(
    summary="Change a challenge's charter, settings, dates or people (its managers)",
    parameters=[path_param("challenge_id")],
    request=CHALLENGE_INPUT,
    responses={200: ("The challenge as saved", CHALLENGE), 403: ("Not one of its managers", ERROR),
               404: ("No such challenge for you", ERROR),
               422: ("Wrong or inconsistent fields (e.g. dates out of order)", ERROR)},
    tags=["challenges"],
))
def update_challenge(challenge_id: int):
    challenge, user = _managed(challenge_id)
    data = body(CHALLENGE_SPEC, nullable=NULLABLE)
    challenges.update_challenge(challenge, user, **challenge_values(data))
    return jsonify(challenge_json(challenge, user))


@bp.post("/challenges/<int:challenge_id>/publish")
@token_required
@documented("POST", Operation(
    summary="Publish a draft challenge: it enters the phase its dates say (its managers)",
    parameters=[path_param("challenge_id")],
    responses={200: ("The published challenge", CHALLENGE), 403: ("Not one of its managers", ERROR),
               404: ("No such challenge for you", ERROR),
               422: ("Already published, or dates or brief missing", ERROR)},
    tags=["challenges"],
))
def publish_challenge(challenge_id: int):
    challenge, user = _managed(challenge_id)
    challenges.publish(challenge, user)
    return jsonify(challenge_json(challenge, user))


@bp.post("/challenges/<int:challenge_id>/phase")
@token_required
@documented("POST", Operation(
    summary="Move a challenge one phase forward or back by hand, with a reason (its managers)",
    parameters=[path_param("challenge_id")],
    request=PHASE_CHANGE,
    responses={200: ("The challenge in its new phase", CHALLENGE), 403: ("Not one of its managers", ERROR),
               404: ("No such challenge for you", ERROR),
               422: ("A move the current phase does not allow, or no reason", ERROR)},
    tags=["challenges"],
))
def change_challenge_phase(challenge_id: int):
    challenge, user = _managed(challenge_id)
    data = body({"phase": (str, True), "reason": (str, True)})
    challenges.change_phase(challenge, user, data["phase"], data["reason"])
    return jsonify(challenge_json(challenge, user))
