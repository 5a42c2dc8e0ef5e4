"""Challenges through the API: list and read for everyone in their audience; create,
update, publish and change phase for managers."""
from datetime import datetime
from typing import Annotated, Literal

from flask import jsonify, url_for
from pydantic import Field, create_model
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ideas import clock
from ideas.api.blueprint import bp
from ideas.api.contract import (
    Body,
    Id,
    Int,
    Model,
    Paging,
    Tags,
    Text,
    Time,
    body,
    query,
)
from ideas.api.core import (
    Cursor,
    Error,
    Operation,
    Person,
    current_api_user,
    documented,
    iso,
    keyset,
    person_json,
    token_required,
)
from ideas.api.errors import ApiError
from ideas.challenges import permissions
from ideas.challenges import services as challenges
from ideas.challenges.models import Challenge, Phase, PoolMode
from ideas.fields import TITLE_MAX, CriterionDescription, CriterionName, CriterionWeight

# --- JSON ------------------------------------------------------------------------------

DATE_FIELDS = challenges.DATE_FIELDS
TEXT_FIELDS = ("brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms")
BOOL_SETTINGS = ("cross_visibility", "hide_counts_until_voted", "randomise_order", "allow_opposition",
                 "blind_review", "allow_overlap")
# Each whole-number setting and the range the challenge's rules allow.
INT_SETTINGS = {"budget_k": (1, 100), "review_capacity": (0, 10_000), "reviewers_per_idea": (1, 20),
                "flag_threshold": (1, 100)}
# How the challenge is run inside: shown to its staff only (the flag threshold, for one,
# would tell a coordinated group exactly how many flags hide an idea).
STAFF_SETTINGS = ("review_capacity", "reviewers_per_idea", "blind_review", "flag_threshold")
PHASES = tuple(str(p) for p in Phase)
POOL_MODES = tuple(str(m) for m in PoolMode)
MAX_PEOPLE = 50  # managers or moderators named at once


class Criterion(Model):
    id: int
    name: str = Field(max_length=60)
    description: str = Field(max_length=300)
    weight: int = Field(ge=1, le=10)


class CriterionInput(Body):
    id: Id | None = Field(None, description="Ignored: criteria are matched by name.")
    name: CriterionName
    description: CriterionDescription = ""
    weight: CriterionWeight = 1


def _staff_only(kind):
    return Annotated[kind, Field(description="Only for the challenge's staff.")]


ChallengeSummary = create_model(
    "ChallengeSummary", __base__=Model,
    id=(int, ...), title=(str, ...), goal=(str, ...), phase=(Literal[PHASES], ...),
    pool_mode=(Literal[POOL_MODES], ...), tags=(list[str], ...),
    voting_policy=(Literal[challenges.VOTING_POLICIES], ...), external_ref=(str | None, ...),
    published_at=(datetime | None, ...), **{name: (datetime | None, ...) for name in DATE_FIELDS},
)


class ChallengeYou(Model):
    manager: bool
    staff: bool
    in_audience: bool
    terms_accepted: bool


Challenge_ = create_model(
    "Challenge", __base__=ChallengeSummary,
    **{name: (Annotated[str, Field(description="Markdown")] if name == "brief" else str, ...)
       for name in TEXT_FIELDS},
    **{name: (_staff_only(bool) if name in STAFF_SETTINGS else bool, None) for name in BOOL_SETTINGS},
    **{name: (_staff_only(int) if name in STAFF_SETTINGS else int, None) for name in INT_SETTINGS},
    pool_weight_employee=(float, ...), pool_weight_external=(float, ...), voting_policy_version=(int, ...),
    criteria=(list[Criterion], ...), managers=(list[Person], ...), moderators=(list[Person], ...),
    created_at=(datetime | None, ...), updated_at=(datetime | None, ...),
    actions=(Annotated[list[str], Field(description="What participants may do in the current phase.")], ...),
    you=(ChallengeYou, ...),
)

_INPUT_FIELDS = {
    "title": (Text(TITLE_MAX, min_length=1) | None, None),
    **{name: (Text(challenges.MAX_BODY) | None, None) for name in TEXT_FIELDS},
    "pool_mode": (Literal[POOL_MODES] | None, None),
    "pool_weight_employee": (Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None, None),
    "pool_weight_external": (Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None, None),
    "voting_policy": (Literal[challenges.VOTING_POLICIES] | None, None),
    **{name: (bool | None, None) for name in BOOL_SETTINGS},
    **{name: (Int(low, high) | None, None) for name, (low, high) in INT_SETTINGS.items()},
    **{name: (Annotated[Time | None, Field(description="null clears it")], None) for name in DATE_FIELDS},
    "external_ref": (Annotated[Text(120) | None, Field(description="Your own reference; null clears it")], None),
    "tags": (Tags | None, None),
    "criteria": (Annotated[list[CriterionInput], Field(max_length=10)] | None, None),
    "managers": (Annotated[list[Id], Field(max_length=MAX_PEOPLE, description="People's ids.")] | None, None),
    "moderators": (Annotated[list[Id], Field(max_length=MAX_PEOPLE, description="People's ids.")] | None, None),
}
ChallengeUpdate = create_model(
    "ChallengeUpdate", __base__=Body, __doc__="Fields left out keep their value; dates are ISO 8601 with a time "
                                              "zone, null clears one.", **_INPUT_FIELDS)
ChallengeUpdate.item_labels = {"criteria": "Criterion"}
ChallengeInput = create_model(
    "ChallengeInput", __base__=ChallengeUpdate, __doc__="A new challenge: a title, and whatever else is known.",
    title=(Text(TITLE_MAX, min_length=1), ...))


class ChallengePage(Model):
    items: list[ChallengeSummary]
    next: Cursor


class PhaseChange(Body):
    phase: Literal[PHASES]
    reason: Text(5000, description="Told to the participants.")


class ChallengeList(Paging):
    phase: Literal[PHASES] | None = Field(None, description="Only challenges in this phase.")


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
    if not permissions.is_staff(viewer, challenge):
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
        "actions": sorted(permissions.allowed_actions(challenge, clock.now())),
        "you": {
            "manager": permissions.is_manager(viewer, challenge),
            "staff": permissions.is_staff(viewer, challenge),
            "in_audience": permissions.in_audience(viewer, challenge),
            "terms_accepted": challenges.has_accepted_terms(viewer, challenge),
        },
    }


# --- input -----------------------------------------------------------------------------

NULLABLE = (*DATE_FIELDS, "external_ref")


def challenge_values(data: ChallengeUpdate) -> dict:
    """Keyword arguments for create_challenge / update_challenge from a checked body."""
    values: dict = {}
    for name in ("title", *TEXT_FIELDS, "pool_mode", "voting_policy", *BOOL_SETTINGS, *INT_SETTINGS,
                 "pool_weight_employee", "pool_weight_external", *DATE_FIELDS, "tags", "managers", "moderators"):
        if getattr(data, name) is not None:
            values[name] = getattr(data, name)
    if data.external_ref is not None:
        values["external_ref"] = data.external_ref.strip() or None
    for name in NULLABLE:
        if data.cleared(name):
            values[name] = None
    if data.criteria is not None:
        values["criteria"] = [challenges.CriterionInput(name=c.name, description=c.description, weight=c.weight)
                              for c in data.criteria]
    return values


# --- endpoints -------------------------------------------------------------------------

@bp.get("/challenges")
@token_required
@documented("GET", Operation(
    summary="Challenges open to you (and those you run), newest first",
    query=ChallengeList,
    responses={200: ("One page of challenges", ChallengePage)},
    tags=["challenges"],
))
def list_challenges():
    user = current_api_user()
    args = query(ChallengeList)
    # The pages' rule (permissions.can_see_challenge), read in SQL a page at a time: a page
    # costs the same however many challenges the person may not see.
    listed = select(Challenge).where(Challenge.id.in_(challenges.visible_challenge_ids(
        user, limit=args.limit + 1, before=args.before, after=args.after, phase=args.phase))
    ).options(selectinload(Challenge.tag_rows))  # each summary names its tags
    items, following = keyset(listed, Challenge.id, limit=args.limit, before=args.before, after=args.after)
    return jsonify(items=[challenge_summary(c) for c in items], next=following)


@bp.get("/challenges/<int:challenge_id>")
@token_required
@documented("GET", Operation(
    summary="A challenge: charter, settings, phase dates and what you may do in it",
    responses={200: ("The challenge", Challenge_), 404: ("No such challenge for you", Error)},
    tags=["challenges"],
))
def read_challenge(challenge_id: int):
    user = current_api_user()
    return jsonify(challenge_json(challenges.get_challenge(challenge_id, user), user))


@bp.post("/challenges")
@token_required
@documented("POST", Operation(
    summary="Create a challenge as a draft (innovation managers)",
    request=ChallengeInput,
    responses={201: ("The new draft; only its managers see it until it is published", Challenge_),
               403: ("Only innovation managers create challenges", Error),
               422: ("Missing, wrong or inconsistent fields (e.g. dates out of order)", Error)},
    tags=["challenges"],
))
def create_challenge():
    user = current_api_user()
    if not challenges.can_create_challenge(user):
        raise ApiError(403, "Only innovation managers create challenges.")
    data = body(ChallengeInput)
    challenge = challenges.create_challenge(user, **challenge_values(data))
    response = jsonify(challenge_json(challenge, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_challenge", challenge_id=challenge.id)
    return response


def _managed(challenge_id: int) -> tuple[Challenge, object]:
    """The challenge, for its managers: 404 to those who cannot see it, 403 to those who can."""
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not permissions.can_manage_challenge(user, challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    return challenge, user


@bp.patch("/challenges/<int:challenge_id>")
@token_required
@documented("PATCH", Operation(
    summary="Change a challenge's charter, settings, dates or people (its managers)",
    request=ChallengeUpdate,
    responses={200: ("The challenge as saved", Challenge_), 403: ("Not one of its managers", Error),
               404: ("No such challenge for you", Error),
               422: ("Wrong or inconsistent fields (e.g. dates out of order)", Error)},
    tags=["challenges"],
))
def update_challenge(challenge_id: int):
    challenge, user = _managed(challenge_id)
    data = body(ChallengeUpdate)
    challenges.update_challenge(challenge, user, **challenge_values(data))
    return jsonify(challenge_json(challenge, user))


@bp.post("/challenges/<int:challenge_id>/publish")
@token_required
@documented("POST", Operation(
    summary="Publish a draft challenge: it enters the phase its dates say (its managers)",
    responses={200: ("The published challenge", Challenge_), 403: ("Not one of its managers", Error),
               404: ("No such challenge for you", Error),
               422: ("Already published, or dates or brief missing", Error)},
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
    request=PhaseChange,
    responses={200: ("The challenge in its new phase", Challenge_), 403: ("Not one of its managers", Error),
               404: ("No such challenge for you", Error),
               422: ("A move the current phase does not allow, or no reason", Error)},
    tags=["challenges"],
))
def change_challenge_phase(challenge_id: int):
    challenge, user = _managed(challenge_id)
    data = body(PhaseChange)
    challenges.change_phase(challenge, user, data.phase, data.reason)
    return jsonify(challenge_json(challenge, user))
