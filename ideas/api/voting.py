"""Voting through the API: your vote on an idea (cast, change, withdraw, read with its
weight explained), a challenge's ranking per pool or blended, and pairwise comparison.

Nobody sees another person's vote here, nor the network hash or the raw signals a vote
was weighed with: a voter sees their own weight, its discounts and what would raise it."""
from __future__ import annotations

from flask import jsonify, request

from ideas.api import bp
from ideas.api.challenges import (
    MAX_LIMIT,
    MAX_OFFSET,
    TIME,
    arg_choice,
    arg_int,
    body,
    iso,
    path_param,
    query_param,
)
from ideas.api.core import Operation, current_api_user, documented, schema, token_required
from ideas.api.errors import ApiError
from ideas.api.ideas import IDEA_SUMMARY, summaries
from ideas.api.routes import ERROR
from ideas import caching
from ideas.challenges import policy as challenge_policy
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.voting import services
from ideas.voting.models import Vote
from ideas.voting.routes import ranking_visible
from ideas.voting.services import Ballot

RANKING_LIMIT = 50


# --- your vote -------------------------------------------------------------------------

VOTE_INPUT = schema("VoteInput", {
    "type": "object", "additionalProperties": False,
    "description": "Casting again changes your vote: there is one vote per person per idea.",
    "properties": {
        "value": {"type": "integer", "enum": [1, -1], "default": 1,
                  "description": "-1 only where the challenge allows opposition."},
        "reason": {"type": "string", "maxLength": services.REASON_LIMIT,
                   "description": "In your own words: a reasoned vote counts more."},
        "ratings": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
                    "description": "Criterion id (or name) → rating 1–5, on the challenge's criteria."},
    },
})
MY_VOTE = schema("MyVote", {
    "type": "object",
    "required": ["idea_id", "value", "kind", "reason", "ratings", "weight", "policy", "discounts", "suggestions",
                 "created_at", "updated_at"],
    "properties": {
        "idea_id": {"type": "integer"},
        "value": {"type": "integer", "enum": [1, -1]},
        "kind": {"type": "string", "enum": ["support", "reason", "ratings", "pairwise"]},
        "reason": {"type": "string"},
        "ratings": {"type": "array", "items": {
            "type": "object", "required": ["criterion_id", "criterion", "rating"],
            "properties": {"criterion_id": {"type": "integer"}, "criterion": {"type": "string"},
                           "rating": {"type": "integer", "minimum": 1, "maximum": 5}}}},
        "weight": {"type": "number", "minimum": 0, "maximum": 1, "description": "What your vote counts, of a full vote."},
        "policy": {"type": "string", "description": "The challenge's voting policy and its version."},
        "discounts": {"type": "array", "description": "Why it does not count more.", "items": {
            "type": "object", "required": ["code", "text"],
            "properties": {"code": {"type": "string"}, "text": {"type": "string"}}}},
        "suggestions": {"type": "array", "description": "What would raise it, largest first.", "items": {
            "type": "object", "required": ["code", "text", "multiplier"],
            "properties": {"code": {"type": "string"}, "text": {"type": "string"},
                           "multiplier": {"type": "number"}}}},
        "created_at": TIME,
        "updated_at": TIME,
    },
})


def vote_json(vote: Vote, idea: Idea) -> dict:
    explanation = services.explain(vote)
    names = {c.id: c.name for c in idea.challenge.criteria}
    return {
        "idea_id": vote.idea_id,
        "value": vote.value,
        "kind": vote.kind,
        "reason": vote.reason,
        "ratings": [{"criterion_id": r.criterion_id, "criterion": names.get(r.criterion_id, ""), "rating": r.rating}
                    for r in sorted(vote.ratings, key=lambda r: r.criterion_id)],
        "weight": explanation.weight,
        "policy": explanation.policy,
        "discounts": [{"code": code, "text": text} for code, text in explanation.discounts],
        "suggestions": [{"code": s.code, "text": s.text, "multiplier": s.multiplier} for s in explanation.suggestions],
        "created_at": iso(vote.created_at),
        "updated_at": iso(vote.updated_at),
    }


@bp.post("/ideas/<int:idea_id>/vote")
@token_required
@documented("POST", Operation(
    summary="Vote on an idea, or change your vote; the answer explains its weight",
    parameters=[path_param("idea_id")],
    request=VOTE_INPUT,
    responses={200: ("Your changed vote", MY_VOTE), 201: ("Your new vote", MY_VOTE),
               403: ("Your own or co-authored idea, not your pool, or suspended", ERROR),
               404: ("No such idea for you", ERROR),
               409: ("Voting is not open, the idea takes no votes (withdrawn, hidden), the challenge votes "
                     "by pairs, or your supports are used up", ERROR),
               422: ("A rating outside 1–5, an unknown criterion, an overlong reason, a wrong value", ERROR)},
    tags=["voting"],
))
def cast_vote(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body({"value": (int, False), "reason": (str, False), "ratings": (dict, False)})
    ballot = Ballot(value=1 if data["value"] is None else data["value"], reason=data["reason"] or "",
                    ratings=data["ratings"] or {})
    vote = services.cast_vote(idea, user, ballot,
                              network=services.network_of_request(request.remote_addr, request.headers))
    services.observe_vote_address(request.remote_addr, user.id)
    # Read after the vote is applied (under the idea's lock), so that of simultaneous
    # requests by one person exactly the one that created the vote says so.
    created = vote.created_at == vote.updated_at
    return jsonify(vote_json(vote, idea)), 201 if created else 200


@bp.get("/ideas/<int:idea_id>/vote")
@token_required
@documented("GET", Operation(
    summary="Your vote on an idea, with its weight and what would raise it",
    parameters=[path_param("idea_id")],
    responses={200: ("Your vote", MY_VOTE), 404: ("No such idea for you, or you have not voted on it", ERROR)},
    tags=["voting"],
))
def read_my_vote(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    vote = services.my_vote(idea, user)
    if vote is None:
        raise ApiError(404, "You have not voted on this idea.")
    return jsonify(vote_json(vote, idea))


@bp.delete("/ideas/<int:idea_id>/vote")
@token_required
@documented("DELETE", Operation(
    summary="Withdraw your vote (until voting closes)",
    parameters=[path_param("idea_id")],
    responses={204: ("Withdrawn", None), 404: ("No such idea for you, or you have not voted on it", ERROR),
               409: ("Voting is closed", ERROR)},
    tags=["voting"],
))
def withdraw_vote(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if not services.withdraw_vote(idea, user):
        raise ApiError(404, "You have not voted on this idea.")
    return "", 204


# --- ranking ---------------------------------------------------------------------------

RANKING = schema("Ranking", {
    "type": "object",
    "required": ["challenge_id", "pool", "policy", "pool_weights", "offset", "limit", "next_offset", "ideas"],
    "properties": {
        "challenge_id": {"type": "integer"},
        "pool": {"type": "string", "enum": list(services.RANKING_POOLS)},
        "policy": {"type": "string"},
        "pool_weights": {"type": "object", "description": "Each pool's published share of the blended score.",
                         "properties": {"employee": {"type": "number"}, "external": {"type": "number"}}},
        "offset": {"type": "integer"},
        "limit": {"type": "integer"},
        "next_offset": {"type": ["integer", "null"]},
        "ideas": {"type": "array", "description": "In rank order, best first.", "items": {
            "type": "object",
            "required": ["id", "external_ref", "title", "score", "support", "raw_votes", "flags"],
            "properties": {
                "id": {"type": "integer"},
                "external_ref": {"type": ["string", "null"]},
                "title": {"type": "string"},
                "score": {"type": "number", "description": "Lower confidence bound over weighted support "
                                                           "(blended: Σ pool weight × pool score)."},
                "support": {"type": "object", "description": "Weighted support per pool.",
                            "properties": {"employee": {"type": "number"}, "external": {"type": "number"}}},
                "raw_votes": {"type": "integer", "description": "Votes cast, unweighted."},
                "flags": {"type": "object", "required": ["pools_disagree"],
                          "properties": {"pools_disagree": {"type": "boolean"}}},
            },
        }},
    },
})


@bp.get("/challenges/<int:challenge_id>/ranking")
@token_required
@documented("GET", Operation(
    summary="A challenge's ranking per pool or blended, in rank order",
    parameters=[
        path_param("challenge_id"),
        query_param("pool", {"type": "string", "enum": list(services.RANKING_POOLS), "default": "blended"},
                    "Which ranking."),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": RANKING_LIMIT},
                    "Ideas per page."),
        query_param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                    "Ideas to skip."),
    ],
    responses={200: ("The ranking", RANKING), 404: ("No such challenge for you", ERROR),
               403: ("The ranking is shown once voting is over, so that early votes do not steer later ones",
                     ERROR),
               422: ("An unknown pool, or bad paging", ERROR)},
    tags=["voting"],
))
def ranking(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not ranking_visible(challenge, user):
        raise ApiError(403, "The ranking is shown once voting is over, so that early votes do not steer later ones.")
    pool = arg_choice("pool", services.RANKING_POOLS, "blended")
    limit = arg_int("limit", RANKING_LIMIT, low=1, high=MAX_LIMIT)
    offset = arg_int("offset", 0, low=0, high=MAX_OFFSET)

    def build() -> dict:
        lines = services.ranking_page(challenge, user, pool, limit=limit, offset=offset)
        following = offset + limit if len(lines) == limit and offset + limit <= MAX_OFFSET else None
        return dict(
            challenge_id=challenge.id, pool=pool, policy=services.active_policy(challenge).label,
            pool_weights=services.pool_weights(challenge), offset=offset, limit=limit, next_offset=following,
            ideas=[{
                "id": line.idea.id,
                "external_ref": line.idea.external_ref,
                "title": line.idea.title,
                "score": line.score,
                "support": line.support,
                "raw_votes": sum(line.raw.values()),
                "flags": {"pools_disagree": line.disagree},
            } for line in lines],
        )

    # What a ranking page shows depends on the viewer only through the pools they see
    # and whether hidden ideas are shown to them (staff); any vote moves the generation.
    seen = (tuple(challenge_policy.visible_pools(user, challenge)), challenge_policy.is_staff(user, challenge))
    return jsonify(caching.remember(("ranking", challenge.id, pool, limit, offset, seen), f"c:{challenge.id}",
                                    build))


# --- pairwise --------------------------------------------------------------------------

PAIR = schema("Pair", {
    "type": "object", "required": ["id", "challenge_id", "shown_at", "left", "right"],
    "properties": {
        "id": {"type": "integer", "description": "Answer with this id."},
        "challenge_id": {"type": "integer"},
        "shown_at": TIME,
        "left": IDEA_SUMMARY,
        "right": IDEA_SUMMARY,
    },
})
PAIR_ANSWER_INPUT = schema("PairAnswerInput", {
    "type": "object", "required": ["pair", "answer"], "additionalProperties": False,
    "properties": {
        "pair": {"type": "integer", "description": "The id of the pair you were shown."},
        "answer": {"type": "string", "enum": ["left", "right", "none"],
                   "description": "The better idea, or none for “can't decide”."},
    },
})
PAIR_ANSWER = schema("PairAnswer", {
    "type": "object", "required": ["id", "answer", "answered_at", "weight"],
    "properties": {
        "id": {"type": "integer"},
        "answer": {"type": "string", "enum": ["left", "right", "none"]},
        "answered_at": TIME,
        "weight": {"type": "number", "minimum": 0, "maximum": 1,
                   "description": "What your answer counts: less when faster than reading both ideas, or "
                                  "when you nearly always pick the same side."},
    },
})


@bp.get("/challenges/<int:challenge_id>/pair")
@token_required
@documented("GET", Operation(
    summary="The pair of ideas to compare now (the same one until you answer it)",
    parameters=[path_param("challenge_id")],
    responses={200: ("Two ideas to compare", PAIR), 403: ("Not your pool, or suspended", ERROR),
               404: ("No such challenge for you", ERROR),
               409: ("Voting is not open, the challenge does not vote by pairs, or there are not yet two ideas "
                     "for you to compare", ERROR)},
    tags=["voting"],
))
def next_pair(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    pair = services.next_pair(challenge, user)
    left, right = db.session.get(Idea, pair.left_id), db.session.get(Idea, pair.right_id)
    shown = summaries([left, right], user)
    return jsonify(id=pair.id, challenge_id=challenge.id, shown_at=iso(pair.shown_at), left=shown[0], right=shown[1])


@bp.post("/challenges/<int:challenge_id>/pair")
@token_required
@documented("POST", Operation(
    summary="Answer the pair the site showed you",
    parameters=[path_param("challenge_id")],
    request=PAIR_ANSWER_INPUT,
    responses={200: ("Your answer and its weight", PAIR_ANSWER), 404: ("No such challenge for you", ERROR),
               409: ("A pair not shown to you, already answered, or voting is not open", ERROR),
               422: ("An answer other than left, right or none", ERROR)},
    tags=["voting"],
))
def answer_pair(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    data = body({"pair": (int, True), "answer": (str, True)})
    pair = services.answer_pair(challenge, user, data["pair"], data["answer"])
    return jsonify(id=pair.id, answer=pair.answer, answered_at=iso(pair.answered_at), weight=pair.weight)
