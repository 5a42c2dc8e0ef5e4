"""Review and handoffs through the API: the handoff list an R&D tool pulls, a review as
each person may read it, and the review's actions (shortlist, start, assign reviewers,
scorecard, decide, hand off, acknowledge or decline, progress, close).

Each action checks who may act the way the pages do, then calls the one review
service; a refusal (`ReviewError`) comes back with its status and field.  What a
response holds depends on the reader, with the pages' rules: under blind review an
idea's reviewers get no authors; internal notes, internal reasons and handoff notes
stay on the staff side; individual scores are the managers'.  So an external author
reading their idea's review gets the steps and the reasons given to them, and nothing
else."""
from datetime import datetime
from typing import Any, ClassVar, Literal

from flask import jsonify
from pydantic import Field, create_model
from sqlalchemy.orm import selectinload

from ideas import clock
from ideas.accounts.models import User
from ideas.api.blueprint import bp
from ideas.api.contract import (
    MAX_INT,
    Body,
    Id,
    Int,
    Model,
    Paging,
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
from ideas.api.links import page_url
from ideas.challenges import services as challenges
from ideas.errors import NotFoundError
from ideas.extensions import db
from ideas.integrations import handoffs as handoff_list
from ideas.review import services as review_services
from ideas.review import timing, workflow
from ideas.review.models import Handoff, IdeaReview
from ideas.review.services import Rating
from ideas.review.workflow import ReviewState

S = ReviewState
NAMED_OWNER_STATES = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)
ReasonText = Text(review_services.MAX_TEXT)

# --- JSON ------------------------------------------------------------------------------

State = Literal[tuple(str(s) for s in workflow.ALL_STATES)]


class ReviewedIdea(Model):
    id: int
    title: str
    summary: str = ""
    external_ref: str | None
    url: str = Field(description="The idea's page: absolute, on IDEAS_BASE_URL when the site sets it.")
    tags: list[str] = Field(default_factory=list)
    authors: list[Person] | None = Field(description="Null for the idea's reviewers under blind review.")


class ChallengeRef(Model):
    id: int
    title: str
    external_ref: str | None = None


class ReviewTimelineEntry(Model):
    at: datetime | None
    kind: Literal["step", "update"]
    label: str = Field(description="In the author's words.")
    reason: str | None = Field(None, description="The reason given to the author (authors and staff), or the "
                                                 "update's text.")
    by: str | None = None
    action: str | None = Field(None, description="Staff side only.")
    internal_reason: str | None = Field(None, description="Staff side only.")
    note: str | None = Field(None, description="Staff side only.")


class ReviewYou(Model):
    roles: list[Literal["manager", "reviewer", "owner"]]
    allowed: list[State]
    author: bool


class Review(Model):
    """What the reader may see of an idea's review; staff-side fields are absent for others."""

    id: int
    idea: ReviewedIdea
    challenge: ChallengeRef
    state: State
    label: str
    state_since: datetime | None
    decision: Literal["accepted", "declined", "parked"] | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    owner: Person | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    timeline: list[ReviewTimelineEntry]
    ack_due_at: datetime | None = None
    handoff_count: int = None
    internal_note: str = None
    review_score: float | None = Field(None, description="Staff side: the weighted mean of the reviewers' scores.")
    criteria: list[dict[str, Any]] = None
    handoffs: list[dict[str, Any]] = None
    reviewers: list[dict[str, Any]] = Field(None, description="Managers only.")
    scores: dict[str, Any] = Field(None, description="Managers only: each reviewer's scores, normalised scores and "
                                                     "disagreement.")
    scorecard: dict[str, Any] = Field(None, description="An assigned reviewer's own scorecard.")
    you: ReviewYou


class ReviewList(Model):
    items: list[Review]


class LastUpdate(Model):
    id: int
    at: datetime | None
    body: str


class Handoff_(Model):
    id: int
    number: int = Field(description="1 for the first owner, 2 after a decline …")
    status: Literal[handoff_list.STATUSES]
    overdue: bool
    review_id: int
    review_state: State = None
    idea: ReviewedIdea
    challenge: ChallengeRef
    owner: Person | None
    handed_by: Person | None = None
    handed_at: datetime | None
    ack_due_at: datetime | None
    acknowledged_at: datetime | None = None
    declined_at: datetime | None = None
    decline_reason: str | None = None
    note: str | None = Field(None, description="The manager to the owner.")
    decision_reason: str | None = None
    review_score: float | None = None
    last_update: LastUpdate | None = None
    closed_at: datetime | None = None
    outcome: Literal["delivered", "dropped"] | None = None
    outcome_reason: str | None = None


Handoff_ = create_model("Handoff", __base__=Handoff_)


class HandoffPage(Model):
    items: list[Handoff_]
    next: Cursor


class HandoffList(Paging):
    status: Literal[handoff_list.FILTERS] | None = Field(
        None, description="pending, declined, acknowledged, in_progress, delivered or dropped; overdue (pending "
                          "past the deadline) or open (pending, acknowledged or in progress).")
    owner: Literal["me"] | Int(1, MAX_INT) | None = Field(None, description="Only this owner's (a person's id, "
                                                                            "or me).")
    challenge: Id | None = Field(None, description="Only this challenge's.")


MAX_SHORTLIST = 500  # ideas shortlisted in one request
MAX_REVIEWERS = 20  # as a challenge's reviewers per idea


class ShortlistInput(Body):
    idea_ids: list[Id] = Field(min_length=1, max_length=MAX_SHORTLIST)
    over_capacity_reason: ReasonText | None = Field(None, description="Needed to go beyond the review capacity; "
                                                                      "logged, staff only.")
    start_review: bool = Field(False, description="Send them to review at once.")
    assign_reviewers: bool = Field(False, description="With start_review: assign reviewers by expertise and load.")


class StartReviewInput(Body):
    assign_reviewers: bool = False


class AssignReviewersInput(Body):
    """Name reviewers by id, or leave reviewer_ids out to assign automatically (expertise, load, no conflict of
    interest)."""

    reviewer_ids: list[Id] | None = Field(None, max_length=MAX_REVIEWERS)
    count: Int(1, 10, description="Automatic: how many in all (default: the challenge's reviewers per idea).") \
        | None = None
    due_at: Time | None = None


class ScorecardRating(Body):
    criterion_id: Id
    # The range is the scorecard's to check, with the criterion named.
    rating: Int(-MAX_INT, MAX_INT, json_schema_extra={"minimum": 1, "maximum": 5}) | None = None
    comment: ReasonText = ""


class ScorecardInput(Body):
    ratings: list[ScorecardRating] = Field(max_length=50, description="Every criterion of the challenge, once.")

    item_labels: ClassVar[dict[str, str]] = {"ratings": "Rating"}


class DecisionInput(Body):
    decision: Literal["accepted", "declined", "parked"]
    reason: ReasonText = Field(description="Shown to the author.")
    note: ReasonText = Field("", description="Internal: never shown to the author.")


class HandoffInput(Body):
    owner_id: Id
    confirm: bool = Field(False, description="Hand over even though the owner is at their work-in-progress limit.")
    note: ReasonText = Field("", description="To the owner; staff only.")
    working_days: Int(1, 30, description="Working days the owner has to acknowledge.") = timing.ACK_WORKING_DAYS


class ReasonInput(Body):
    reason: ReasonText


class ProgressInput(Body):
    body: ReasonText = Field(description="Read by the author and the idea's followers.")


class CloseInput(Body):
    outcome: Literal["delivered", "dropped"]
    reason: ReasonText = Field(description="Read by the author and the idea's followers.")


def _idea_ref(idea, *, hide_authors: bool) -> dict:
    authors = None
    if not hide_authors:
        authors = [person_json(idea.author)] if idea.author else []
        authors += [person_json(c.user) for c in idea.coauthors if c.accepted_at and c.user_id]
    return {
        "id": idea.id, "title": idea.title, "summary": idea.summary, "external_ref": idea.external_ref,
        "url": page_url("challenges.idea", idea_id=idea.id), "tags": idea.tags, "authors": authors,
    }


def _challenge_ref(challenge) -> dict:
    return {"id": challenge.id, "title": challenge.title, "external_ref": challenge.external_ref}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def review_json(review: IdeaReview, viewer) -> dict:
    idea = review.idea
    manager = review_services.can_manage(viewer, review.challenge)
    internal = review_services.can_see_internal(viewer, review)
    author = viewer.id in idea.author_ids()
    reasons = author or internal  # as on the idea's timeline
    roles = review_services.actor_roles(review, viewer)
    named_owner = review.owner if (internal or review.state in NAMED_OWNER_STATES) else None
    data = {
        "id": review.id,
        "idea": _idea_ref(idea, hide_authors=review_services.hides_authors(viewer, review)),
        "challenge": _challenge_ref(review.challenge),
        "state": str(review.state),
        "label": workflow.author_label(review.state),
        "state_since": iso(review.state_since),
        "decision": review.decision,
        "decision_reason": (review.decision_reason or None) if reasons else None,
        "decided_at": iso(review.decided_at),
        "owner": person_json(named_owner),
        "closed_at": iso(review.closed_at),
        "close_reason": (review.close_reason or None) if reasons else None,
        "timeline": [_entry(e, internal) for e in review_services.timeline(review, viewer)],
        "you": {"roles": sorted(str(r) for r in roles), "author": author,
                "allowed": [str(s) for s in workflow.allowed_targets(review.state, roles)]},
    }
    if internal:
        sheet = review_services.score_sheet(review)
        data.update({
            "ack_due_at": iso(review.ack_due_at),
            "handoff_count": review.handoff_count,
            "internal_note": review.internal_note,
            "review_score": _round(sheet.scores.score),
            "criteria": [{"id": c.id, "name": c.name, "description": c.description, "weight": c.weight}
                         for c in review.challenge.criteria],
            "handoffs": [{
                "number": h.number, "owner": person_json(h.owner), "handed_by": person_json(h.handed_by),
                "handed_at": iso(h.handed_at), "ack_due_at": iso(h.ack_due_at),
                "acknowledged_at": iso(h.acknowledged_at), "declined_at": iso(h.declined_at),
                "decline_reason": h.decline_reason or None, "note": h.note or None,
            } for h in review.handoffs],
        })
        if manager and review_services.can_see_scores(viewer, review):
            scores = sheet.scores
            data["reviewers"] = [{
                "reviewer": person_json(a.reviewer), "automatic": a.automatic, "assigned_at": iso(a.assigned_at),
                "due_at": iso(a.due_at), "submitted_at": iso(a.submitted_at),
                "conflict_declared_at": iso(a.conflict_declared_at), "conflict_reason": a.conflict_reason or None,
            } for a in review.assignments]
            data["scores"] = {
                "score": _round(scores.score), "normalised": _round(scores.normalised),
                "disagreement": _round(scores.disagreement), "disagree": scores.disagree,
                "by_criterion": {str(k): _round(v) for k, v in scores.by_criterion.items()},
                "reviewers": [{
                    "reviewer": person_json(sheet.reviewers.get(r.reviewer_id)), "score": _round(r.score),
                    "normalised": _round(r.normalised), "ratings": {str(k): v for k, v in r.ratings.items()},
                    "comments": {str(k): v for k, v in sheet.comments.get(r.reviewer_id, {}).items()},
                } for r in scores.reviewers],
            }
    assignment = review_services.assignment_of(review, viewer)
    if assignment is not None:
        data["scorecard"] = {
            "due_at": iso(assignment.due_at), "submitted_at": iso(assignment.submitted_at),
            "conflict_declared_at": iso(assignment.conflict_declared_at),
            "ratings": [{"criterion_id": e.criterion_id, "rating": e.rating, "comment": e.comment}
                        for e in sorted(assignment.entries, key=lambda e: e.criterion_id)],
        }
    return data


def _entry(entry, internal: bool) -> dict:
    data = {"at": iso(entry.at), "kind": entry.kind, "label": entry.label, "reason": entry.reason, "by": entry.by}
    if internal:
        data.update({"action": entry.staff_label, "internal_reason": entry.internal_reason, "note": entry.note})
    return data


def handoff_json(handoff: Handoff, viewer, updates: dict, now, scores: dict | None = None) -> dict:
    """`scores`: the review scores (`review_services.review_scores`) when a list read them at once."""
    review = handoff.review
    status = handoff_list.status_of(handoff)
    closed = status in ("delivered", "dropped")
    last = updates.get(review.id) if handoff.acknowledged_at else None
    return {
        "id": handoff.id,
        "number": handoff.number,
        "status": status,
        "overdue": status == "pending" and clock.as_utc(handoff.ack_due_at) < now,
        "review_id": review.id,
        "review_state": str(review.state),
        "idea": _idea_ref(review.idea, hide_authors=review_services.hides_authors(viewer, review)),
        "challenge": _challenge_ref(review.challenge),
        "owner": person_json(handoff.owner),
        "handed_by": person_json(handoff.handed_by),
        "handed_at": iso(handoff.handed_at),
        "ack_due_at": iso(handoff.ack_due_at),
        "acknowledged_at": iso(handoff.acknowledged_at),
        "declined_at": iso(handoff.declined_at),
        "decline_reason": handoff.decline_reason or None,
        "note": handoff.note or None,
        "decision_reason": review.decision_reason or None,
        "review_score": _round(review_services.review_score(review) if scores is None
                               else scores.get(review.id)),
        "last_update": {"id": last.id, "at": iso(last.at), "body": last.body} if last else None,
        "closed_at": iso(review.closed_at) if closed else None,
        "outcome": status if closed else None,
        "outcome_reason": (review.close_reason or None) if closed else None,
    }


# --- who may do what -------------------------------------------------------------------------

def _review(review_id: int) -> tuple[IdeaReview, object]:
    """The review for someone who may know of it (as on the pages), or a 404."""
    user = current_api_user()
    review = db.session.get(IdeaReview, review_id)
    if review is None or not review_services.can_know_of(user, review):
        raise NotFoundError()
    return review, user


def _as_manager(review_id: int) -> tuple[IdeaReview, object]:
    review, user = _review(review_id)
    if not review_services.can_manage(user, review.challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    return review, user


def _as_owner(review_id: int) -> tuple[IdeaReview, object]:
    review, user = _review(review_id)
    if not review_services.can_act_as_owner(user, review):
        raise ApiError(403, "Only the idea's R&D owner may do this.")
    return review, user


def _ok(review: IdeaReview, user, status: int = 200):
    response = jsonify(review_json(review, user))
    response.status_code = status
    return response


REVIEW_ID = {"review_id": "The review's id (from a shortlist, a handoff, or an idea's review)."}
ACTION_ErrorS = {
    403: ("You may not take this step on this review", Error),
    404: ("No such review for you", Error),
    409: ("The review's state does not allow this step now", Error),
    422: ("Missing, wrong or refused fields (each under its name)", Error),
}


# --- reading -----------------------------------------------------------------------------

@bp.get("/handoffs")
@token_required
@documented("GET", Operation(
    summary="Handoffs to R&D owners: your own as an owner, your challenges' as a manager, all as an administrator",
    query=HandoffList,
    responses={200: ("One page of handoffs, newest first", HandoffPage),
               403: ("Only owners, managers and administrators list handoffs (never outsiders)", Error)},
    tags=["review"],
))
def list_handoffs():
    user = current_api_user()
    if not handoff_list.can_list(user):
        raise ApiError(403, "Handoffs are listed for R&D owners, challenge managers and administrators.")
    args = query(HandoffList)
    filters = handoff_list.HandoffFilter(status=args.status, owner_id=user.id if args.owner == "me" else args.owner,
                                         challenge_id=args.challenge)
    now = clock.now()
    # A page of handoffs costs the same few queries whatever its length.
    listed = handoff_list.query(user, filters, now).options(
        selectinload(Handoff.owner), selectinload(Handoff.handed_by),
        selectinload(Handoff.review).selectinload(IdeaReview.challenge))
    rows, cursor = keyset(listed, Handoff.id, limit=args.limit, before=args.before, after=args.after)
    updates = handoff_list.last_updates(sorted({h.review_id for h in rows}))
    scores = review_services.review_scores([h.review for h in rows])
    return jsonify(items=[handoff_json(h, user, updates, now, scores) for h in rows], next=cursor)


@bp.get("/reviews/<int:review_id>")
@token_required
@documented("GET", Operation(
    summary="An idea's review as you may read it: its steps, and on the staff side notes, scores and handoffs",
    path=REVIEW_ID,
    responses={200: ("The review", Review), 404: ("No such review for you", Error)},
    tags=["review"],
))
def read_review(review_id: int):
    review, user = _review(review_id)
    if not review_services.can_read_review(user, review):
        raise NotFoundError()
    return _ok(review, user)


@bp.get("/ideas/<int:idea_id>/review")
@token_required
@documented("GET", Operation(
    summary="The review of an idea you may see (its authors follow it here)",
    responses={200: ("The review", Review), 404: ("No such idea for you, or it was never shortlisted", Error)},
    tags=["review"],
))
def read_idea_review(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    review = review_services.review_of(idea)
    if review is None:
        raise ApiError(404, "This idea has not been shortlisted.")
    return _ok(review, user)


# --- the manager's steps ---------------------------------------------------------------------

@bp.post("/challenges/<int:challenge_id>/shortlist")
@token_required
@documented("POST", Operation(
    summary="Shortlist ideas for review, within the challenge's review capacity (its managers)",
    request=ShortlistInput,
    responses={201: ("The new reviews", ReviewList), 403: ("Not one of its managers", Error),
               404: ("No such challenge for you", Error),
               409: ("Not the review phase, already shortlisted, or beyond the capacity without a reason", Error),
               422: ("Missing or wrong fields, or an idea that is not this challenge's", Error)},
    tags=["review"],
))
def shortlist_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not review_services.can_manage(user, challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    data = body(ShortlistInput)
    reviews, _unfilled = review_services.shortlist_for_review(challenge, user, data.idea_ids, data.over_capacity_reason,
                                                              start=data.start_review, assign=data.assign_reviewers)
    return jsonify(items=[review_json(r, user) for r in reviews]), 201


@bp.post("/reviews/<int:review_id>/start")
@token_required
@documented("POST", Operation(
    summary="Send a shortlisted idea to review (its managers); optionally assign reviewers automatically",
    path=REVIEW_ID, request=StartReviewInput, body_optional=True,
    responses={200: ("The review, in review", Review), **ACTION_ErrorS}, tags=["review"],
))
def start_review(review_id: int):
    review, user = _as_manager(review_id)
    data = body(StartReviewInput, optional=True)
    review_services.send_to_review(review, user, assign=data.assign_reviewers)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/reviewers")
@token_required
@documented("POST", Operation(
    summary="Assign reviewers by hand or automatically; conflicts of interest are refused (its managers)",
    path=REVIEW_ID, request=AssignReviewersInput, body_optional=True,
    responses={200: ("The review with its reviewers", Review), **ACTION_ErrorS}, tags=["review"],
))
def assign_reviewers(review_id: int):
    review, user = _as_manager(review_id)
    data = body(AssignReviewersInput, optional=True)
    review_services.assign_reviewers(review, user, data.reviewer_ids, count=data.count, due_at=data.due_at)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/decide")
@token_required
@documented("POST", Operation(
    summary="Accept, decline or park an idea in review, with a reason the author reads (its managers)",
    path=REVIEW_ID, request=DecisionInput,
    responses={200: ("The decided review", Review), **ACTION_ErrorS}, tags=["review"],
))
def decide_review(review_id: int):
    review, user = _as_manager(review_id)
    data = body(DecisionInput)
    review_services.decide(review, user, data.decision, data.reason, data.note)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/handoff")
@token_required
@documented("POST", Operation(
    summary="Hand an accepted idea to an R&D owner, with a deadline to acknowledge (its managers)",
    path=REVIEW_ID, request=HandoffInput,
    responses={200: ("The review, handed off", Review), **ACTION_ErrorS,
               409: ("Not accepted (or handed back), or the owner is at their limit: send confirm", Error)},
    tags=["review"],
))
def hand_off(review_id: int):
    review, user = _as_manager(review_id)
    data = body(HandoffInput)
    owner = db.session.get(User, data.owner_id)
    if owner is None:
        raise ApiError(422, "Nobody has that id.", {"owner_id": ["Nobody has that id."]})
    review_services.hand_off(review, user, owner, confirm=data.confirm, note=data.note,
                             working_days=data.working_days)
    return _ok(review, user)


# --- the reviewer's scorecard ----------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/scorecard")
@token_required
@documented("POST", Operation(
    summary="Send your scorecard: every criterion rated 1–5 with a comment (the idea's reviewers); "
            "sending again replaces it until the decision",
    path=REVIEW_ID, request=ScorecardInput,
    responses={200: ("The review with your scorecard", Review), **ACTION_ErrorS}, tags=["review"],
))
def submit_scorecard(review_id: int):
    review, user = _review(review_id)
    if review_services.assignment_of(review, user) is None:
        raise ApiError(403, "You are not a reviewer of this idea.")
    data = body(ScorecardInput)
    ratings: dict[int, Rating] = {}
    for number, item in enumerate(data.ratings, start=1):
        if item.criterion_id in ratings:
            again = f"Rating {number}: criterion {item.criterion_id} again."
            raise ApiError(422, "Rate each criterion once.", {"ratings": [again]})
        ratings[item.criterion_id] = Rating(item.rating, item.comment)
    review_services.submit_scorecard(review, user, ratings)
    return _ok(review, user)


# --- the owner's steps ----------------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/acknowledge")
@token_required
@documented("POST", Operation(
    summary="Acknowledge a handoff: the idea is yours, and its author learns who has it (its owner)",
    path=REVIEW_ID,
    responses={200: ("The review, acknowledged", Review), **ACTION_ErrorS}, tags=["review"],
))
def acknowledge_handoff(review_id: int):
    review, user = _as_owner(review_id)
    review_services.acknowledge(review, user)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/decline-handoff")
@token_required
@documented("POST", Operation(
    summary="Hand the idea back to the managers, with a reason they read (its owner)",
    path=REVIEW_ID, request=ReasonInput,
    responses={200: ("The review, back with the managers", Review), **ACTION_ErrorS}, tags=["review"],
))
def decline_handoff(review_id: int):
    review, user = _as_owner(review_id)
    data = body(ReasonInput)
    review_services.decline_handoff(review, user, data.reason)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/progress")
@token_required
@documented("POST", Operation(
    summary="Report progress to the author and the idea's followers (its owner)",
    path=REVIEW_ID, request=ProgressInput,
    responses={201: ("The review with the update on its timeline", Review), **ACTION_ErrorS}, tags=["review"],
))
def post_progress(review_id: int):
    review, user = _as_owner(review_id)
    data = body(ProgressInput)
    review_services.post_progress(review, user, data.body)
    return _ok(review, user, 201)


@bp.post("/reviews/<int:review_id>/close")
@token_required
@documented("POST", Operation(
    summary="Close the idea as delivered or dropped, with a reason the author reads (its owner)",
    path=REVIEW_ID, request=CloseInput,
    responses={200: ("The closed review", Review), **ACTION_ErrorS}, tags=["review"],
))
def close_review(review_id: int):
    review, user = _as_owner(review_id)
    data = body(CloseInput)
    review_services.close(review, user, data.outcome, data.reason)
    return _ok(review, user)
