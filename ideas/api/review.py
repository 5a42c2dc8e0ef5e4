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
from __future__ import annotations

from flask import jsonify, request, url_for
from sqlalchemy.orm import selectinload

from ideas import clock
from ideas.accounts.models import User
from ideas.api import bp
from ideas.api.challenges import (
    PAGING,
    PERSON,
    TIME,
    arg_choice,
    arg_int,
    body,
    iso,
    keyset,
    optional_body,
    page_schema,
    paging_args,
    parse_time,
    path_param,
    person_json,
    query_param,
)
from ideas.api.core import (
    Operation,
    current_api_user,
    documented,
    schema,
    token_required,
)
from ideas.api.errors import ApiError
from ideas.api.routes import ERROR
from ideas.challenges import policy
from ideas.challenges import services as challenges
from ideas.challenges.services import NotFound
from ideas.extensions import db
from ideas.integrations import handoffs as handoff_list
from ideas.review import services as review_services
from ideas.review import timing, workflow
from ideas.review.models import Handoff, IdeaReview
from ideas.review.services import Rating, ScorecardError
from ideas.review.workflow import ReviewState

S = ReviewState
NAMED_OWNER_STATES = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)

# --- JSON ------------------------------------------------------------------------------

_STATES = [str(s) for s in workflow.ALL_STATES]
IDEA_REF = schema("ReviewedIdea", {
    "type": "object", "required": ["id", "title", "external_ref", "url", "authors"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "summary": {"type": "string"},
        "external_ref": {"type": ["string", "null"]}, "url": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "authors": {"type": ["array", "null"], "items": PERSON,
                    "description": "Null for the idea's reviewers under blind review."},
    },
})
CHALLENGE_REF = schema("ChallengeRef", {
    "type": "object", "required": ["id", "title"],
    "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                   "external_ref": {"type": ["string", "null"]}},
})
TIMELINE_ENTRY = schema("ReviewTimelineEntry", {
    "type": "object", "required": ["at", "kind", "label"],
    "properties": {
        "at": TIME, "kind": {"type": "string", "enum": ["step", "update"]},
        "label": {"type": "string", "description": "In the author's words."},
        "reason": {"type": ["string", "null"], "description": "The reason given to the author (authors and "
                                                              "staff), or the update's text."},
        "by": {"type": ["string", "null"]},
        "action": {"type": "string", "description": "Staff side only."},
        "internal_reason": {"type": ["string", "null"], "description": "Staff side only."},
        "note": {"type": ["string", "null"], "description": "Staff side only."},
    },
})
REVIEW = schema("Review", {
    "type": "object",
    "required": ["id", "idea", "challenge", "state", "label", "state_since", "timeline", "you"],
    "description": "What the reader may see of an idea's review; staff-side fields are absent for others.",
    "properties": {
        "id": {"type": "integer"}, "idea": IDEA_REF, "challenge": CHALLENGE_REF,
        "state": {"type": "string", "enum": _STATES}, "label": {"type": "string"}, "state_since": TIME,
        "decision": {"type": ["string", "null"], "enum": ["accepted", "declined", "parked", None]},
        "decision_reason": {"type": ["string", "null"]}, "decided_at": TIME,
        "owner": {"oneOf": [{"type": "null"}, PERSON]}, "closed_at": TIME, "close_reason": {"type": ["string", "null"]},
        "timeline": {"type": "array", "items": TIMELINE_ENTRY},
        "ack_due_at": TIME, "handoff_count": {"type": "integer"}, "internal_note": {"type": "string"},
        "review_score": {"type": ["number", "null"], "description": "Staff side: the weighted mean of the "
                                                                    "reviewers' scores."},
        "criteria": {"type": "array", "items": {"type": "object"}},
        "handoffs": {"type": "array", "items": {"type": "object"}},
        "reviewers": {"type": "array", "items": {"type": "object"}, "description": "Managers only."},
        "scores": {"type": "object", "description": "Managers only: each reviewer's scores, normalised "
                                                    "scores and disagreement."},
        "scorecard": {"type": "object", "description": "An assigned reviewer's own scorecard."},
        "you": {"type": "object", "properties": {
            "roles": {"type": "array", "items": {"type": "string", "enum": ["manager", "reviewer", "owner"]}},
            "allowed": {"type": "array", "items": {"type": "string", "enum": _STATES}},
            "author": {"type": "boolean"}}},
    },
})
REVIEW_LIST = schema("ReviewList", {
    "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": REVIEW}},
})
HANDOFF = schema("Handoff", {
    "type": "object",
    "required": ["id", "number", "status", "overdue", "review_id", "idea", "challenge", "owner", "handed_at",
                 "ack_due_at"],
    "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer", "description": "1 for the first owner, 2 after "
                                                                                 "a decline …"},
        "status": {"type": "string", "enum": list(handoff_list.STATUSES)}, "overdue": {"type": "boolean"},
        "review_id": {"type": "integer"}, "review_state": {"type": "string", "enum": _STATES},
        "idea": IDEA_REF, "challenge": CHALLENGE_REF,
        "owner": {"oneOf": [{"type": "null"}, PERSON]}, "handed_by": {"oneOf": [{"type": "null"}, PERSON]},
        "handed_at": TIME, "ack_due_at": TIME, "acknowledged_at": TIME, "declined_at": TIME,
        "decline_reason": {"type": ["string", "null"]}, "note": {"type": ["string", "null"],
                                                                 "description": "The manager to the owner."},
        "decision_reason": {"type": ["string", "null"]}, "review_score": {"type": ["number", "null"]},
        "last_update": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": TIME, "body": {"type": "string"}}}]},
        "closed_at": TIME, "outcome": {"type": ["string", "null"], "enum": ["delivered", "dropped", None]},
        "outcome_reason": {"type": ["string", "null"]},
    },
})
HANDOFF_PAGE = page_schema("HandoffPage", HANDOFF)

SHORTLIST_INPUT = schema("ShortlistInput", {
    "type": "object", "required": ["idea_ids"], "additionalProperties": False,
    "properties": {
        "idea_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        "over_capacity_reason": {"type": "string", "description": "Needed to go beyond the review capacity; "
                                                                  "logged, staff only."},
        "start_review": {"type": "boolean", "default": False, "description": "Send them to review at once."},
        "assign_reviewers": {"type": "boolean", "default": False,
                             "description": "With start_review: assign reviewers by expertise and load."},
    },
})
START_INPUT = schema("StartReviewInput", {
    "type": "object", "additionalProperties": False,
    "properties": {"assign_reviewers": {"type": "boolean", "default": False}},
})
ASSIGN_INPUT = schema("AssignReviewersInput", {
    "type": "object", "additionalProperties": False,
    "description": "Name reviewers by id, or leave reviewer_ids out to assign automatically (expertise, load, "
                   "no conflict of interest).",
    "properties": {
        "reviewer_ids": {"type": "array", "items": {"type": "integer"}},
        "count": {"type": "integer", "minimum": 1, "maximum": 10,
                  "description": "Automatic: how many in all (default: the challenge's reviewers per idea)."},
        "due_at": {"type": "string", "format": "date-time"},
    },
})
SCORECARD_INPUT = schema("ScorecardInput", {
    "type": "object", "required": ["ratings"], "additionalProperties": False,
    "properties": {"ratings": {"type": "array", "items": {
        "type": "object", "required": ["criterion_id", "rating", "comment"],
        "properties": {"criterion_id": {"type": "integer"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                       "comment": {"type": "string"}}},
        "description": "Every criterion of the challenge, once."}},
})
DECISION_INPUT = schema("DecisionInput", {
    "type": "object", "required": ["decision", "reason"], "additionalProperties": False,
    "properties": {
        "decision": {"type": "string", "enum": ["accepted", "declined", "parked"]},
        "reason": {"type": "string", "description": "Shown to the author."},
        "note": {"type": "string", "description": "Internal: never shown to the author."},
    },
})
HANDOFF_INPUT = schema("HandoffInput", {
    "type": "object", "required": ["owner_id"], "additionalProperties": False,
    "properties": {
        "owner_id": {"type": "integer"},
        "confirm": {"type": "boolean", "default": False,
                    "description": "Hand over even though the owner is at their work-in-progress limit."},
        "note": {"type": "string", "description": "To the owner; staff only."},
        "working_days": {"type": "integer", "minimum": 1, "maximum": 30, "default": timing.ACK_WORKING_DAYS,
                         "description": "Working days the owner has to acknowledge."},
    },
})
REASON_INPUT = schema("ReasonInput", {
    "type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {"reason": {"type": "string"}},
})
PROGRESS_INPUT = schema("ProgressInput", {
    "type": "object", "required": ["body"], "additionalProperties": False,
    "properties": {"body": {"type": "string", "description": "Read by the author and the idea's followers."}},
})
CLOSE_INPUT = schema("CloseInput", {
    "type": "object", "required": ["outcome", "reason"], "additionalProperties": False,
    "properties": {"outcome": {"type": "string", "enum": ["delivered", "dropped"]},
                   "reason": {"type": "string", "description": "Read by the author and the idea's followers."}},
})


def _idea_ref(idea, *, hide_authors: bool) -> dict:
    authors = None
    if not hide_authors:
        authors = [person_json(idea.author)] if idea.author else []
        authors += [person_json(c.user) for c in idea.coauthors if c.accepted_at and c.user_id]
    return {
        "id": idea.id, "title": idea.title, "summary": idea.summary, "external_ref": idea.external_ref,
        "url": url_for("challenges.idea", idea_id=idea.id), "tags": idea.tags, "authors": authors,
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
    if review is None or not (policy.can_see_challenge(user, review.challenge)
                              or review_services.assignment_of(review, user) is not None
                              or review_services.handed_to(review, user)):
        raise NotFound()
    return review, user


def _readable(review: IdeaReview, user) -> bool:
    return (policy.can_see_idea(user, review.idea) or review_services.assignment_of(review, user) is not None
            or review_services.handed_to(review, user))


def _as_manager(review_id: int) -> tuple[IdeaReview, object]:
    review, user = _review(review_id)
    if not review_services.can_manage(user, review.challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    return review, user


def _as_owner(review_id: int) -> tuple[IdeaReview, object]:
    review, user = _review(review_id)
    if review.owner_id != user.id:
        raise ApiError(403, "Only the idea's R&D owner may do this.")
    return review, user


def _ids(value, field: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise ApiError(422, "Name them by their ids.", {field: ["Must be a list of ids."]})
    return value


def _ok(review: IdeaReview, user, status: int = 200):
    response = jsonify(review_json(review, user))
    response.status_code = status
    return response


REVIEW_ID = path_param("review_id", "The review's id (from a shortlist, a handoff, or an idea's review).")
ACTION_ERRORS = {
    403: ("You may not take this step on this review", ERROR),
    404: ("No such review for you", ERROR),
    409: ("The review's state does not allow this step now", ERROR),
    415: ("The body is not JSON", ERROR),
    422: ("Missing, wrong or refused fields (each under its name)", ERROR),
}


# --- reading -----------------------------------------------------------------------------

@bp.get("/handoffs")
@token_required
@documented("GET", Operation(
    summary="Handoffs to R&D owners: your own as an owner, your challenges' as a manager, all as an administrator",
    parameters=[
        *PAGING,
        query_param("status", {"type": "string", "enum": list(handoff_list.FILTERS)},
                    "pending, declined, acknowledged, in_progress, delivered or dropped; overdue (pending past "
                    "the deadline) or open (pending, acknowledged or in progress)."),
        query_param("owner", {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["me"]}]},
                    "Only this owner's (a person's id, or me)."),
        query_param("challenge", {"type": "integer"}, "Only this challenge's."),
    ],
    responses={200: ("One page of handoffs, newest first", HANDOFF_PAGE),
               403: ("Only owners, managers and administrators list handoffs (never outsiders)", ERROR),
               422: ("Bad paging or filter", ERROR)},
    tags=["review"],
))
def list_handoffs():
    user = current_api_user()
    if not handoff_list.can_list(user):
        raise ApiError(403, "Handoffs are listed for R&D owners, challenge managers and administrators.")
    limit, before, after = paging_args()
    status = arg_choice("status", handoff_list.FILTERS)
    owner = request.args.get("owner", "").strip()
    owner_id = user.id if owner == "me" else arg_int("owner", low=1)
    filters = handoff_list.HandoffFilter(status=status, owner_id=owner_id,
                                         challenge_id=arg_int("challenge", low=1))
    now = clock.now()
    # A page of handoffs costs the same few queries whatever its length.
    listed = handoff_list.query(user, filters, now).options(
        selectinload(Handoff.owner), selectinload(Handoff.handed_by),
        selectinload(Handoff.review).selectinload(IdeaReview.challenge))
    rows, cursor = keyset(listed, Handoff.id, limit=limit, before=before, after=after)
    updates = handoff_list.last_updates(sorted({h.review_id for h in rows}))
    scores = review_services.review_scores([h.review for h in rows])
    return jsonify(items=[handoff_json(h, user, updates, now, scores) for h in rows], next=cursor)


@bp.get("/reviews/<int:review_id>")
@token_required
@documented("GET", Operation(
    summary="An idea's review as you may read it: its steps, and on the staff side notes, scores and handoffs",
    parameters=[REVIEW_ID],
    responses={200: ("The review", REVIEW), 404: ("No such review for you", ERROR)},
    tags=["review"],
))
def read_review(review_id: int):
    review, user = _review(review_id)
    if not _readable(review, user):
        raise NotFound()
    return _ok(review, user)


@bp.get("/ideas/<int:idea_id>/review")
@token_required
@documented("GET", Operation(
    summary="The review of an idea you may see (its authors follow it here)",
    parameters=[path_param("idea_id")],
    responses={200: ("The review", REVIEW), 404: ("No such idea for you, or it was never shortlisted", ERROR)},
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
    parameters=[path_param("challenge_id")],
    request=SHORTLIST_INPUT,
    responses={201: ("The new reviews", REVIEW_LIST), 403: ("Not one of its managers", ERROR),
               404: ("No such challenge for you", ERROR),
               409: ("Not the review phase, already shortlisted, or beyond the capacity without a reason", ERROR),
               415: ("The body is not JSON", ERROR), 422: ("Missing or wrong fields", ERROR)},
    tags=["review"],
))
def shortlist_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    if not review_services.can_manage(user, challenge):
        raise ApiError(403, "Only this challenge's managers may do this.")
    data = body({"idea_ids": (list, True), "over_capacity_reason": (str, False), "start_review": (bool, False),
                 "assign_reviewers": (bool, False)})
    reviews = review_services.shortlist_ideas(challenge, user, _ids(data["idea_ids"], "idea_ids"),
                                              data["over_capacity_reason"])
    if data["start_review"]:
        for review in reviews:
            review_services.start_review(review, user)
            if data["assign_reviewers"]:
                review_services.assign_reviewers(review, user)
    return jsonify(items=[review_json(r, user) for r in reviews]), 201


@bp.post("/reviews/<int:review_id>/start")
@token_required
@documented("POST", Operation(
    summary="Send a shortlisted idea to review (its managers); optionally assign reviewers automatically",
    parameters=[REVIEW_ID], request=START_INPUT,
    responses={200: ("The review, in review", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def start_review(review_id: int):
    review, user = _as_manager(review_id)
    data = optional_body({"assign_reviewers": (bool, False)})
    review_services.start_review(review, user)
    if data["assign_reviewers"]:
        review_services.assign_reviewers(review, user)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/reviewers")
@token_required
@documented("POST", Operation(
    summary="Assign reviewers by hand or automatically; conflicts of interest are refused (its managers)",
    parameters=[REVIEW_ID], request=ASSIGN_INPUT,
    responses={200: ("The review with its reviewers", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def assign_reviewers(review_id: int):
    review, user = _as_manager(review_id)
    data = optional_body({"reviewer_ids": (list, False), "count": (int, False), "due_at": (str, False)})
    due = parse_time(data["due_at"], "due_at") if data["due_at"] is not None else None
    if data["count"] is not None and not 1 <= data["count"] <= 10:
        raise ApiError(422, "Assign 1 to 10 reviewers.", {"count": ["Must be from 1 to 10."]})
    ids = _ids(data["reviewer_ids"], "reviewer_ids") if data["reviewer_ids"] is not None else None
    review_services.assign_reviewers(review, user, ids, count=data["count"], due_at=due)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/decide")
@token_required
@documented("POST", Operation(
    summary="Accept, decline or park an idea in review, with a reason the author reads (its managers)",
    parameters=[REVIEW_ID], request=DECISION_INPUT,
    responses={200: ("The decided review", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def decide_review(review_id: int):
    review, user = _as_manager(review_id)
    data = body({"decision": (str, True), "reason": (str, True), "note": (str, False)})
    review_services.decide(review, user, data["decision"], data["reason"], data["note"] or "")
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/handoff")
@token_required
@documented("POST", Operation(
    summary="Hand an accepted idea to an R&D owner, with a deadline to acknowledge (its managers)",
    parameters=[REVIEW_ID], request=HANDOFF_INPUT,
    responses={200: ("The review, handed off", REVIEW), **ACTION_ERRORS,
               409: ("Not accepted (or handed back), or the owner is at their limit: send confirm", ERROR)},
    tags=["review"],
))
def hand_off(review_id: int):
    review, user = _as_manager(review_id)
    data = body({"owner_id": (int, True), "confirm": (bool, False), "note": (str, False),
                 "working_days": (int, False)})
    owner = db.session.get(User, data["owner_id"])
    if owner is None:
        raise ApiError(422, "Nobody has that id.", {"owner_id": ["Nobody has that id."]})
    review_services.hand_off(review, user, owner, confirm=bool(data["confirm"]), note=data["note"] or "",
                             working_days=data["working_days"] if data["working_days"] is not None
                             else timing.ACK_WORKING_DAYS)
    return _ok(review, user)


# --- the reviewer's scorecard ----------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/scorecard")
@token_required
@documented("POST", Operation(
    summary="Send your scorecard: every criterion rated 1–5 with a comment (the idea's reviewers); "
            "sending again replaces it until the decision",
    parameters=[REVIEW_ID], request=SCORECARD_INPUT,
    responses={200: ("The review with your scorecard", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def submit_scorecard(review_id: int):
    review, user = _review(review_id)
    if review_services.assignment_of(review, user) is None:
        raise ApiError(403, "You are not a reviewer of this idea.")
    data = body({"ratings": (list, True)})
    ratings: dict[int, Rating] = {}
    for number, item in enumerate(data["ratings"], start=1):
        if not isinstance(item, dict) or set(item) - {"criterion_id", "rating", "comment"} or \
                isinstance(item.get("criterion_id"), bool) or not isinstance(item.get("criterion_id"), int):
            raise ApiError(422, "Each rating is an object with criterion_id, rating and comment.",
                           {"ratings": [f"Rating {number}: give criterion_id, rating (1–5) and comment."]})
        if item["criterion_id"] in ratings:
            again = f"Rating {number}: criterion {item['criterion_id']} again."
            raise ApiError(422, "Rate each criterion once.", {"ratings": [again]})
        comment = item.get("comment")
        ratings[item["criterion_id"]] = Rating(item.get("rating"), comment if isinstance(comment, str) else "")
    try:
        review_services.submit_scorecard(review, user, ratings)
    except ScorecardError as error:
        db.session.rollback()
        fields: dict[str, list[str]] = {}
        for name, message in error.errors.items():
            kind, _, criterion = name.partition("_")
            fields.setdefault(f"ratings.{criterion}.{kind}", []).append(message)
        raise ApiError(422, error.message, fields) from None
    return _ok(review, user)


# --- the owner's steps ----------------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/acknowledge")
@token_required
@documented("POST", Operation(
    summary="Acknowledge a handoff: the idea is yours, and its author learns who has it (its owner)",
    parameters=[REVIEW_ID],
    responses={200: ("The review, acknowledged", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def acknowledge_handoff(review_id: int):
    review, user = _as_owner(review_id)
    review_services.acknowledge(review, user)
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/decline-handoff")
@token_required
@documented("POST", Operation(
    summary="Hand the idea back to the managers, with a reason they read (its owner)",
    parameters=[REVIEW_ID], request=REASON_INPUT,
    responses={200: ("The review, back with the managers", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def decline_handoff(review_id: int):
    review, user = _as_owner(review_id)
    data = body({"reason": (str, True)})
    review_services.decline_handoff(review, user, data["reason"])
    return _ok(review, user)


@bp.post("/reviews/<int:review_id>/progress")
@token_required
@documented("POST", Operation(
    summary="Report progress to the author and the idea's followers (its owner)",
    parameters=[REVIEW_ID], request=PROGRESS_INPUT,
    responses={201: ("The review with the update on its timeline", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def post_progress(review_id: int):
    review, user = _as_owner(review_id)
    data = body({"body": (str, True)})
    review_services.post_progress(review, user, data["body"])
    return _ok(review, user, 201)


@bp.post("/reviews/<int:review_id>/close")
@token_required
@documented("POST", Operation(
    summary="Close the idea as delivered or dropped, with a reason the author reads (its owner)",
    parameters=[REVIEW_ID], request=CLOSE_INPUT,
    responses={200: ("The closed review", REVIEW), **ACTION_ERRORS}, tags=["review"],
))
def close_review(review_id: int):
    review, user = _as_owner(review_id)
    data = body({"outcome": (str, True), "reason": (str, True)})
    review_services.close(review, user, data["outcome"], data["reason"])
    return _ok(review, user)
