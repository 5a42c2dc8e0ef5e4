"""Voting through the API: your vote on an idea (cast, change, withdraw, read with its
weight explained), a challenge's ranking per pool or blended, and pairwise comparison.

Nobody sees another person's vote here, nor the network hash or the raw signals a vote
was weighed with: a voter sees their own weight, its discounts and what would raise it."""
from datetime import datetime
from typing import Literal

from flask import current_app, jsonify, request
from pydantic import Field

from ideas import caching
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
from ideas.api.core import Error, OffsetPage, Operation, current_api_user, documented, iso, token_required
from ideas.api.errors import ApiError
from ideas.api.shapes import IdeaSummary, PoolSupport, summaries
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.voting import permissions, services
from ideas.voting.models import Vote
from ideas.voting.services import Ballot

RANKING_LIMIT = 50
MAX_RATINGS = 50  # a challenge has at most ten criteria


# --- your vote -------------------------------------------------------------------------

class VoteInput(Body):
    """Casting again changes your vote: there is one vote per person per idea."""

    value: Literal[1, -1] = Field(1, description="-1 only where the challenge allows opposition.")
    reason: Text(services.REASON_LIMIT, description="In your own words: a reasoned vote counts more.") = ""
    # The criteria's range (1–5) is the voting rules' to check, with the criterion named.
    ratings: dict[Text(60), Int(-MAX_INT, MAX_INT)] = Field(
        default_factory=dict, max_length=MAX_RATINGS,
        description="Criterion id (or name) → rating 1–5, on the challenge's criteria.",
        json_schema_extra={"additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5}})


class Rating(Model):
    criterion_id: int
    criterion: str
    rating: int = Field(ge=1, le=5)


class Reason(Model):
    code: str
    text: str


class Suggestion(Model):
    code: str
    text: str
    multiplier: float


class MyVote(Model):
    idea_id: int
    value: Literal[1, -1]
    kind: Literal["support", "reason", "ratings", "pairwise"]
    reason: str
    ratings: list[Rating]
    weight: float = Field(ge=0, le=1, description="What your vote counts, of a full vote.")
    policy: str = Field(description="The challenge's voting policy and its version.")
    discounts: list[Reason] = Field(description="Why it does not count more.")
    suggestions: list[Suggestion] = Field(description="What would raise it, largest first.")
    created_at: datetime | None
    updated_at: datetime | None


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
    request=VoteInput,
    responses={200: ("Your changed vote", MyVote), 201: ("Your new vote", MyVote),
               403: ("Your own or co-authored idea, not your pool, or suspended", Error),
               404: ("No such idea for you", Error),
               409: ("Voting is not open, the idea takes no votes (withdrawn, hidden), the challenge votes "
                     "by pairs, or your supports are used up", Error),
               422: ("A rating outside 1–5, an unknown criterion, an overlong reason, a wrong value", Error)},
    tags=["voting"],
))
def cast_vote(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body(VoteInput)
    ballot = Ballot(value=data.value, reason=data.reason, ratings=data.ratings)
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
    responses={200: ("Your vote", MyVote), 404: ("No such idea for you, or you have not voted on it", Error)},
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
    responses={204: ("Withdrawn", None), 404: ("No such idea for you, or you have not voted on it", Error),
               409: ("Voting is closed", Error)},
    tags=["voting"],
))
def withdraw_vote(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if not services.withdraw_vote(idea, user):
        raise ApiError(404, "You have not voted on this idea.")
    return "", 204


# --- ranking ---------------------------------------------------------------------------

class RankingFlags(Model):
    pools_disagree: bool


class RankedIdea(Model):
    id: int
    external_ref: str | None
    title: str
    score: float = Field(description="Lower confidence bound over weighted support (blended: Σ pool weight × "
                                     "pool score).")
    support: PoolSupport = Field(description="Weighted support per pool.")
    raw_votes: int = Field(description="Votes cast, unweighted.")
    flags: RankingFlags


class Ranking(Model):
    challenge_id: int
    pool: Literal[services.RANKING_POOLS]
    policy: str
    pool_weights: PoolSupport = Field(description="Each pool's published share of the blended score.")
    offset: int
    limit: int
    next_offset: int | None
    ideas: list[RankedIdea] = Field(description="In rank order, best first.")


class RankingQuery(Query):
    pool: Literal[services.RANKING_POOLS] = Field("blended", description="Which ranking.")
    limit: Int(1, MAX_LIMIT, description="Ideas per page.") = RANKING_LIMIT
    offset: Int(0, MAX_OFFSET, description="Ideas to skip.") = 0


@bp.get("/challenges/<int:challenge_id>/ranking")
@token_required
@documented("GET", Operation(
    summary="A challenge's ranking per pool or blended, in rank order",
    query=RankingQuery,
    responses={200: ("The ranking", Ranking), 404: ("No such challenge for you", Error),
               403: ("The ranking is shown once voting is over, so that early votes do not steer later ones",
                     Error)},
    tags=["voting"],
))
def ranking(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not permissions.can_see_ranking(user, challenge):
        raise ApiError(403, "The ranking is shown once voting is over, so that early votes do not steer later ones.")
    args = query(RankingQuery)
    pool, page = args.pool, OffsetPage(args.offset, args.limit)

    def build() -> dict:
        lines = services.ranking_page(challenge, user, pool, limit=page.limit, offset=page.offset)
        return dict(
            challenge_id=challenge.id, pool=pool, policy=services.active_policy(challenge).label,
            pool_weights=services.pool_weights(challenge), offset=page.offset, limit=page.limit,
            next_offset=page.next_offset(len(lines)),
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
    seen = (tuple(challenge_permissions.visible_pools(user, challenge)), challenge_permissions.is_staff(user, challenge))
    # Kept as the JSON text `jsonify` would send: a read of a kept page serialises nothing.
    body = caching.remember(("ranking json", challenge.id, pool, page.limit, page.offset, seen),
                            f"c:{challenge.id}", lambda: jsonify(build()).get_data())
    return current_app.response_class(body, mimetype=current_app.json.mimetype)


# --- pairwise --------------------------------------------------------------------------

class Pair(Model):
    id: int = Field(description="Answer with this id.")
    challenge_id: int
    shown_at: datetime | None
    left: IdeaSummary
    right: IdeaSummary


Answer = Literal["left", "right", "none"]


class PairAnswerInput(Body):
    pair: Id = Field(description="The id of the pair you were shown.")
    answer: Answer = Field(description="The better idea, or none for “can't decide”.")


class PairAnswer(Model):
    id: int
    answer: Answer
    answered_at: datetime | None
    weight: float = Field(ge=0, le=1, description="What your answer counts: less when faster than reading both "
                                                  "ideas, or when you nearly always pick the same side.")


@bp.get("/challenges/<int:challenge_id>/pair")
@token_required
@documented("GET", Operation(
    summary="The pair of ideas to compare now (the same one until you answer it)",
    responses={200: ("Two ideas to compare", Pair), 403: ("Not your pool, or suspended", Error),
               404: ("No such challenge for you", Error),
               409: ("Voting is not open, the challenge does not vote by pairs, or there are not yet two ideas "
                     "for you to compare", Error)},
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
    request=PairAnswerInput,
    responses={200: ("Your answer and its weight", PairAnswer), 404: ("No such challenge for you", Error),
               409: ("A pair not shown to you, already answered, or voting is not open", Error),
               422: ("An answer other than left, right or none", Error)},
    tags=["voting"],
))
def answer_pair(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    data = body(PairAnswerInput)
    pair = services.answer_pair(challenge, user, data.pair, data.answer)
    return jsonify(id=pair.id, answer=pair.answer, answered_at=iso(pair.answered_at), weight=pair.weight)
