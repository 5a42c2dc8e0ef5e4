"""Follows through the API: the challenges, ideas and tags a person follows."""
from datetime import datetime
from typing import Literal

from flask import jsonify
from pydantic import Field

from ideas.api.blueprint import bp
from ideas.api.contract import (
    MAX_INT,
    MAX_LIMIT,
    MAX_OFFSET,
    Body,
    Id,
    Int,
    Model,
    Query,
    Text,
    body,
    query,
)
from ideas.api.core import (
    Error,
    OffsetPage,
    Operation,
    current_api_user,
    documented,
    iso,
    token_required,
)
from ideas.api.errors import ApiError
from ideas.notifications import services as notifications

FollowTarget = Literal[notifications.FOLLOW_TYPES]


class Follow(Model):
    target_type: FollowTarget
    target_key: str = Field(description="A challenge's or idea's id, or the tag itself.")
    label: str | None = None
    created_at: datetime | None


class FollowInput(Body):
    target_type: FollowTarget
    target_key: Id | Text(40, min_length=1) = Field(description="A challenge's or idea's id, or the tag itself.")


class FollowList(Model):
    items: list[Follow]
    offset: int
    limit: int


class FollowPaging(Query):
    limit: Int(1, MAX_LIMIT, description="Items per page.") = MAX_LIMIT
    offset: Int(0, MAX_OFFSET, description="Items to skip.") = 0


def _beyond_ids(target_type: str, key) -> bool:
    """An id no row can have: PostgreSQL would refuse to compare it, so it is simply not there."""
    raw = str(key).strip()
    return target_type in ("challenge", "idea") and raw.isdigit() and int(raw) > MAX_INT


@bp.get("/follows")
@token_required
@documented("GET", Operation(
    summary="What you follow (challenges, ideas, tags) and may still see",
    query=FollowPaging,
    responses={200: ("What you follow", FollowList)},
    tags=["follows"],
))
def list_follows():
    user = current_api_user()
    args = query(FollowPaging)
    page = OffsetPage(args.offset, args.limit)
    # Whether a follow may still be seen is decided per row after reading, so the page is
    # cut from what was read up to its end rather than by the database.
    found = page.of(notifications.followed(user, limit=page.end))
    return jsonify(items=[{"target_type": f.follow.target_type, "target_key": f.follow.target_key,
                           "label": f.label, "created_at": iso(f.follow.created_at)} for f in found],
                   offset=page.offset, limit=page.limit)


@bp.post("/follows")
@token_required
@documented("POST", Operation(
    summary="Follow a challenge, an idea or a tag (following twice is following once)",
    request=FollowInput,
    responses={200: ("You already followed it", Follow), 201: ("You follow it now", Follow),
               404: ("Nothing of that kind you may see", Error)},
    tags=["follows"],
))
def follow():
    user = current_api_user()
    data = body(FollowInput)
    if _beyond_ids(data.target_type, data.target_key):
        raise ApiError(404, "There is nothing here, or it is not visible to you.")
    already = notifications.is_following(user, data.target_type, str(data.target_key).strip())
    row = notifications.follow(user, data.target_type, data.target_key)
    return jsonify(target_type=row.target_type, target_key=row.target_key,
                   created_at=iso(row.created_at)), 200 if already else 201


@bp.delete("/follows/<target_type>/<path:target_key>")
@token_required
@documented("DELETE", Operation(
    summary="Stop following a challenge, an idea or a tag",
    path={"target_type": ("What kind of thing", {"type": "string", "enum": list(notifications.FOLLOW_TYPES)}),
          "target_key": ("The challenge's or idea's id, or the tag.", {"type": "string", "maxLength": 40})},
    responses={204: ("No longer followed", None),
               404: ("You do not follow it, or it does not exist for you", Error)},
    tags=["follows"],
))
def unfollow(target_type: str, target_key: str):
    if _beyond_ids(target_type, target_key) or \
            not notifications.unfollow(current_api_user(), target_type, target_key):
        raise ApiError(404, "You do not follow this.")
    return "", 204


