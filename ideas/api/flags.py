"""Flags through the API: an idea or a comment flagged for the moderators."""
from datetime import datetime
from typing import Literal

from flask import jsonify
from pydantic import Field

from ideas.api.blueprint import bp
from ideas.api.contract import Body, Id, Model, Text, body
from ideas.api.core import Error, Operation, current_api_user, documented, iso, token_required
from ideas.challenges import moderation


FlagTarget = Literal[moderation.TARGET_TYPES]


class FlagInput(Body):
    target_type: FlagTarget
    target_id: Id
    reason: Text(moderation.MAX_FLAG_REASON, min_length=1,
                 description="What is wrong with it; the moderators read this.")


class Flag(Model):
    id: int
    target_type: FlagTarget
    target_id: int
    created_at: datetime | None
    hidden: bool = Field(description="Enough people flagged it: hidden until a moderator reviews it.")


@bp.post("/flags")
@token_required
@documented("POST", Operation(
    summary="Flag an idea or a comment for the moderators (once per person)",
    request=FlagInput,
    responses={201: ("The flag", Flag), 403: ("Your own content, or suspended", Error),
               404: ("No such idea or comment for you", Error),
               409: ("Already flagged by you, or the phase does not allow flags", Error),
               422: ("Missing reason, or wrong-typed fields", Error)},
    tags=["moderation"],
))
def flag_content():
    user = current_api_user()
    data = body(FlagInput)
    row = moderation.flag(data.target_type, data.target_id, user, data.reason)
    target = moderation.load_target(row.target_type, row.target_id)
    return jsonify(id=row.id, target_type=row.target_type, target_id=row.target_id, created_at=iso(row.created_at),
                   hidden=target.hidden_at is not None), 201


