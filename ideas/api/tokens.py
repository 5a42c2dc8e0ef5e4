"""Tokens and the person they belong to: a token for an e-mail and password, revoking one, /me."""
from __future__ import annotations

from typing import Literal

from flask import jsonify
from pydantic import Field

from ideas.accounts import services
from ideas.accounts.models import User
from ideas.api.blueprint import bp
from ideas.api.contract import Body, Model, Text, body
from ideas.api.core import Error, Operation, current_api_user, documented, token_required
from ideas.api.errors import ApiError
from ideas.extensions import limiter


class Me(Model):
    id: int
    name: str
    email: str = Field(json_schema_extra={"format": "email"})
    pool: Literal["employee", "external"]
    roles: list[str]
    verified: bool
    expertise: list[str] = Field(default_factory=list)


class TokenRequest(Body):
    email: Text(254)
    password: Text(1000)
    name: Text(80, description="A label to tell tokens apart.") | None = None


class Token(Model):
    id: int
    name: str
    token: str = Field(description="Shown once; send as Authorization: Bearer <token>.")


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "pool": user.pool,
        "roles": sorted(str(r) for r in user.roles),
        "verified": user.is_verified,
        "expertise": user.expertise,
    }


@bp.post("/tokens")
@limiter.limit("10 per minute; 50 per hour")
@documented(
    "POST",
    Operation(
        summary="Exchange an e-mail and password for a personal bearer token",
        auth=False,
        request=TokenRequest,
        responses={201: ("The new token, shown once", Token), 401: ("Wrong e-mail or password", Error),
                   429: ("Too many attempts from this address: 10 a minute, 50 an hour", Error)},
        tags=["accounts"],
    ),
)
def create_token():
    data = body(TokenRequest)
    user = services.authenticate(data.email, data.password)
    if user is None:
        raise ApiError(401, "That e-mail and password do not match an active account.")
    row, secret = services.create_api_token(user, data.name or "API")
    return jsonify(id=row.id, name=row.name, token=secret), 201


@bp.delete("/tokens/<int:token_id>")
@token_required
@documented(
    "DELETE",
    Operation(
        summary="Revoke one of your tokens",
        responses={204: ("Revoked", None), 404: ("No such token of yours", Error)},
        tags=["accounts"],
    ),
)
def revoke_token(token_id: int):
    if not services.revoke_api_token(current_api_user(), token_id):
        raise ApiError(404, "You have no token with this id.")
    return "", 204


@bp.get("/me")
@token_required
@documented(
    "GET",
    Operation(summary="The person the token belongs to", responses={200: ("You", Me)}, tags=["accounts"]),
)
def me():
    return jsonify(user_json(current_api_user()))

