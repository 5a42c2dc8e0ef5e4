"""Ideas through the API: the ideas of a challenge (with the challenge page's filters),
reading, submitting, editing and withdrawing; their comments; flags; follows; search.

Vote counts appear only where voting.services.counts_visible allows them (against
herding); content outside a person's audience is a 404, as on the pages."""
from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from sqlalchemy import or_, select

from ideas import search as search_index
from ideas import text
from ideas.api import bp
from ideas.api.challenges import (
    MAX_ID,
    MAX_LIMIT,
    MAX_OFFSET,
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
    path_param,
    person_json,
    query_param,
)
from ideas.api.core import Operation, current_api_user, documented, schema, token_required
from ideas.api.errors import ApiError
from ideas.api.routes import ERROR
from ideas.challenges import comments as discussion
from ideas.challenges import moderation, policy
from ideas.challenges import services as challenges
from ideas.challenges.models import Comment, Idea, IdeaStatus, IdeaTag, Phase
from ideas.extensions import db
from ideas.notifications import services as notifications
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, Vote

LISTED_STATUSES = ("published", "withdrawn", "merged", "any")


# --- JSON ------------------------------------------------------------------------------

VOTES = schema("VoteCounts", {
    "type": ["object", "null"],
    "description": "Null while the challenge hides counts from you (until you have voted, or voting is over).",
    "required": ["count", "raw", "support"],
    "properties": {
        "count": {"type": "integer", "description": "Votes cast, unweighted."},
        "raw": {"type": "object", "properties": {"employee": {"type": "integer"}, "external": {"type": "integer"}}},
        "support": {"type": "object", "description": "Weighted support per pool.",
                    "properties": {"employee": {"type": "number"}, "external": {"type": "number"}}},
    },
})
_IDEA_SUMMARY_PROPERTIES = {
    "id": {"type": "integer"},
    "challenge_id": {"type": "integer"},
    "title": {"type": "string"},
    "summary": {"type": "string"},
    "status": {"type": "string", "enum": [str(s) for s in IdeaStatus]},
    "pool": {"type": "string", "enum": ["employee", "external"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "author": {"anyOf": [PERSON, {"type": "null"}],
               "description": "Null for the idea's reviewers under blind review."},
    "hidden": {"type": "boolean", "description": "Hidden by moderation (seen only by staff and its authors)."},
    "comment_count": {"type": "integer"},
    "revision": {"type": "integer"},
    "external_ref": {"type": ["string", "null"]},
    "merged_into_id": {"type": ["integer", "null"]},
    "created_at": TIME,
    "published_at": TIME,
    "updated_at": TIME,
    "withdrawn_at": TIME,
    "votes": VOTES,
}
IDEA_SUMMARY = schema("IdeaSummary", {
    "type": "object", "required": list(_IDEA_SUMMARY_PROPERTIES), "properties": _IDEA_SUMMARY_PROPERTIES,
})
IDEA = schema("Idea", {
    "type": "object",
    "required": [*_IDEA_SUMMARY_PROPERTIES, "body", "body_html", "coauthors", "you"],
    "properties": {
        **_IDEA_SUMMARY_PROPERTIES,
        "body": {"type": "string", "description": "Markdown, as written."},
        "body_html": {"type": "string", "description": "The body rendered and sanitized."},
        "coauthors": {"type": "array", "items": PERSON},
        "you": {"type": "object", "properties": {"author": {"type": "boolean"}, "voted": {"type": "boolean"}}},
    },
})
IDEA_PAGE = page_schema("IdeaPage", IDEA_SUMMARY)
IDEA_INPUT = schema("IdeaInput", {
    "type": "object", "required": ["title"], "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": 160},
        "summary": {"type": "string", "maxLength": challenges.MAX_SUMMARY,
                    "description": "One paragraph; required to publish."},
        "body": {"type": "string", "maxLength": challenges.MAX_BODY, "description": "Markdown."},
        "tags": {"type": "array", "items": {"type": "string"}},
        "draft": {"type": "boolean", "default": False, "description": "Save a draft only you see."},
        "accept_terms": {"type": "boolean", "description": "Accept the challenge's own terms (external "
                                                           "participants, before their first submission)."},
    },
})
IDEA_UPDATE = schema("IdeaUpdate", {
    "type": "object", "additionalProperties": False,
    "description": "Fields left out keep their value; the history keeps every version.",
    "properties": {
        "title": {"type": "string", "maxLength": 160},
        "summary": {"type": "string", "maxLength": challenges.MAX_SUMMARY},
        "body": {"type": "string", "maxLength": challenges.MAX_BODY},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string", "description": "What changed, for the history."},
        "publish": {"type": "boolean", "description": "Publish a draft."},
        "accept_terms": {"type": "boolean"},
    },
})
WITHDRAWAL = schema("Withdrawal", {
    "type": "object", "additionalProperties": False,
    "properties": {"reason": {"type": "string", "description": "Kept in the idea's history."}},
})


def vote_counts(score: IdeaScore | None) -> dict:
    raw = {"employee": score.raw_employee if score else 0, "external": score.raw_external if score else 0}
    return {
        "count": raw["employee"] + raw["external"],
        "raw": raw,
        "support": {"employee": score.support_employee if score else 0.0,
                    "external": score.support_external if score else 0.0},
    }


def counts_for(ideas: list[Idea], viewer) -> dict[int, dict | None]:
    """Each idea's vote counts, or None where counts_visible hides them, in three queries.

    counts_visible shows counts to a voter and to the authors, and otherwise decides per
    challenge; so it is asked once per challenge, about an idea this person neither
    voted on nor wrote, instead of once per idea."""
    if not ideas:
        return {}
    ids = [i.id for i in ideas]
    scores = {s.idea_id: s for s in db.session.scalars(select(IdeaScore).where(IdeaScore.idea_id.in_(ids)))}
    voted = set(db.session.scalars(select(Vote.idea_id).where(Vote.voter_id == viewer.id, Vote.idea_id.in_(ids))))
    by_challenge: dict[int, bool] = {}
    found = {}
    for idea in ideas:
        shown = idea.id in voted or viewer.id in idea.author_ids()
        if not shown:
            if idea.challenge_id not in by_challenge:
                by_challenge[idea.challenge_id] = voting.counts_visible(idea, viewer)
            shown = by_challenge[idea.challenge_id]
        found[idea.id] = vote_counts(scores.get(idea.id)) if shown else None
    return found


def blind_ideas(ideas: list[Idea], viewer) -> set[int]:
    """The ideas whose authors this person may not learn: blind review, and they review it."""
    from ideas.challenges import policy
    from ideas.review.models import IdeaReview, ReviewerAssignment

    ids = [i.id for i in ideas if i.challenge.blind_review and not policy.is_staff(viewer, i.challenge)]
    if not ids or not getattr(viewer, "is_authenticated", False):
        return set()
    return set(db.session.scalars(
        select(IdeaReview.idea_id).join(ReviewerAssignment, ReviewerAssignment.review_id == IdeaReview.id)
        .where(IdeaReview.idea_id.in_(ids), ReviewerAssignment.reviewer_id == viewer.id)))


def idea_summary(idea: Idea, votes: dict | None, blind: bool = False) -> dict:
    return {
        "id": idea.id,
        "challenge_id": idea.challenge_id,
        "title": idea.title,
        "summary": idea.summary,
        "status": idea.status,
        "pool": idea.pool,
        "tags": idea.tags,
        "author": None if blind else person_json(idea.author),
        "hidden": idea.hidden_at is not None,
        "comment_count": idea.comment_count,
        "revision": idea.revision,
        "external_ref": idea.external_ref,
        "merged_into_id": idea.merged_into_id,
        "created_at": iso(idea.created_at),
        "published_at": iso(idea.published_at),
        "updated_at": iso(idea.updated_at),
        "withdrawn_at": iso(idea.withdrawn_at),
        "votes": votes,
    }


def idea_json(idea: Idea, viewer) -> dict:
    votes = vote_counts(voting.scores_of(idea)) if voting.counts_visible(idea, viewer) else None
    blind = bool(blind_ideas([idea], viewer))
    return {
        **idea_summary(idea, votes, blind),
        "body": idea.body,
        "body_html": str(text.render(idea.body)),
        "coauthors": [] if blind else [person_json(c.user) for c in idea.coauthors if c.accepted_at and c.user_id],
        "you": {"author": viewer.id in idea.author_ids(), "voted": voting.my_vote(idea, viewer) is not None},
    }


def summaries(ideas: list[Idea], viewer) -> list[dict]:
    votes = counts_for(ideas, viewer)
    blind = blind_ideas(ideas, viewer)
    return [idea_summary(i, votes[i.id], i.id in blind) for i in ideas]


# --- ideas -----------------------------------------------------------------------------

@bp.get("/challenges/<int:challenge_id>/ideas")
@token_required
@documented("GET", Operation(
    summary="The ideas of a challenge you may see, with the challenge page's filters, newest first",
    parameters=[
        path_param("challenge_id"), *PAGING,
        query_param("tag", {"type": "string"}, "Only ideas with this tag."),
        query_param("pool", {"type": "string", "enum": ["employee", "external"]}, "Only ideas from this pool."),
        query_param("status", {"type": "string", "enum": list(LISTED_STATUSES), "default": "published"},
                    "Published (the default), withdrawn, merged, or any of them."),
    ],
    responses={200: ("One page of ideas", IDEA_PAGE), 404: ("No such challenge for you", ERROR),
               422: ("Bad paging or filter", ERROR)},
    tags=["ideas"],
))
def list_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    limit, before, after = paging_args()
    pool = arg_choice("pool", ("employee", "external"))
    status = arg_choice("status", LISTED_STATUSES, "published")
    tag = " ".join((request.args.get("tag") or "").strip().lower().split())[:40]
    query = challenges.visible_ideas_query(user, challenge)
    if tag:
        query = query.where(Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == tag)))
    if pool:
        query = query.where(Idea.pool == pool)
    if status != "any":
        query = query.where(Idea.status == status)
    ideas, cursor = keyset(query, Idea.id, limit=limit, before=before, after=after)
    return jsonify(items=summaries(ideas, user), next=cursor)


@bp.get("/ideas/<int:idea_id>")
@token_required
@documented("GET", Operation(
    summary="An idea; reading it counts as opening it before a vote",
    parameters=[path_param("idea_id")],
    responses={200: ("The idea", IDEA), 404: ("No such idea for you", ERROR)},
    tags=["ideas"],
))
def read_idea(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if idea.status == IdeaStatus.PUBLISHED:
        voting.record_view(idea, user)  # the server-measured reading time behind a vote's weight
    return jsonify(idea_json(idea, user))


@bp.post("/challenges/<int:challenge_id>/ideas")
@token_required
@documented("POST", Operation(
    summary="Submit an idea, or save a draft",
    parameters=[path_param("challenge_id")],
    request=IDEA_INPUT,
    responses={201: ("The idea", IDEA), 403: ("Not open to your pool, or suspended", ERROR),
               404: ("No such challenge for you", ERROR),
               409: ("The phase does not take ideas, or the challenge's terms are not accepted", ERROR),
               422: ("Missing, overlong or wrong-typed fields", ERROR)},
    tags=["ideas"],
))
def create_idea(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    data = body({"title": (str, True), "summary": (str, False), "body": (str, False), "tags": ((list, str), False),
                 "draft": (bool, False), "accept_terms": (bool, False)})
    if data["accept_terms"]:
        challenges.accept_challenge_terms(user, challenge)
    idea = challenges.submit_idea(challenge, user, title=data["title"], summary=data["summary"] or "",
                                  body=data["body"] or "", tags=_tags(data["tags"]), draft=bool(data["draft"]))
    response = jsonify(idea_json(idea, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_idea", idea_id=idea.id)
    return response


def _tags(value) -> list[str] | str:
    if value is None:
        return []
    if isinstance(value, list) and not all(isinstance(t, str) for t in value):
        raise ApiError(422, "Tags are strings.", {"tags": ["Must be a list of strings."]})
    return value


def _authored(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if not policy.can_edit_idea(user, idea):
        raise ApiError(403, "Only the idea's authors may change it.")
    return idea, user


@bp.patch("/ideas/<int:idea_id>")
@token_required
@documented("PATCH", Operation(
    summary="Edit your idea (the history keeps each version), or publish your draft",
    parameters=[path_param("idea_id")],
    request=IDEA_UPDATE,
    responses={200: ("The idea as saved", IDEA), 403: ("Not one of its authors", ERROR),
               404: ("No such idea for you", ERROR),
               409: ("The phase does not allow editing, or the idea was withdrawn or merged", ERROR),
               422: ("Overlong or wrong-typed fields", ERROR)},
    tags=["ideas"],
))
def update_idea(idea_id: int):
    idea, user = _authored(idea_id)
    data = body({"title": (str, False), "summary": (str, False), "body": (str, False),
                 "tags": ((list, str), False), "note": (str, False), "publish": (bool, False),
                 "accept_terms": (bool, False)})
    changes = {name: data[name] for name in ("title", "summary", "body") if data[name] is not None}
    if changes or data["tags"] is not None:
        challenges.edit_idea(
            idea, user, title=changes.get("title", idea.title), summary=changes.get("summary", idea.summary),
            body=changes.get("body", idea.body), tags=idea.tags if data["tags"] is None else _tags(data["tags"]),
            note=(data["note"] or "")[:300],
        )
    if data["publish"] and idea.status == IdeaStatus.DRAFT:
        if data["accept_terms"]:
            challenges.accept_challenge_terms(user, idea.challenge)
        challenges.publish_draft(idea, user)
    return jsonify(idea_json(idea, user))


@bp.post("/ideas/<int:idea_id>/withdraw")
@token_required
@documented("POST", Operation(
    summary="Withdraw your published idea: it stays readable and takes no more votes",
    parameters=[path_param("idea_id")],
    request=WITHDRAWAL,
    responses={200: ("The withdrawn idea", IDEA), 403: ("Not one of its authors", ERROR),
               404: ("No such idea for you", ERROR),
               409: ("Not published, or the phase does not allow withdrawing", ERROR)},
    tags=["ideas"],
))
def withdraw_idea(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = optional_body({"reason": (str, False)})
    challenges.withdraw_idea(idea, user, (data["reason"] or "")[:250])
    return jsonify(idea_json(idea, user))


# --- comments --------------------------------------------------------------------------

COMMENT = schema("Comment", {
    "type": "object",
    "required": ["id", "idea_id", "parent_id", "author", "body", "body_html", "by_idea_author", "by_staff",
                 "hidden", "created_at", "edited_at", "editable_until"],
    "properties": {
        "id": {"type": "integer"},
        "idea_id": {"type": "integer"},
        "parent_id": {"type": ["integer", "null"], "description": "The top-level comment this replies to."},
        "author": PERSON,
        "body": {"type": "string", "description": "Markdown, as written."},
        "body_html": {"type": "string", "description": "Rendered and sanitized."},
        "by_idea_author": {"type": "boolean"},
        "by_staff": {"type": "boolean"},
        "hidden": {"type": "boolean", "description": "Hidden by moderation (seen only by staff and its author)."},
        "created_at": TIME,
        "edited_at": TIME,
        "editable_until": TIME,
    },
})
COMMENT_PAGE = page_schema("CommentPage", COMMENT)
COMMENT_INPUT = schema("CommentInput", {
    "type": "object", "required": ["body"], "additionalProperties": False,
    "properties": {
        "body": {"type": "string", "maxLength": discussion.MAX_COMMENT, "description": "Markdown; @name mentions."},
        "parent_id": {"type": "integer", "description": "Reply to this comment (replies stay one level deep)."},
    },
})
COMMENT_EDIT = schema("CommentEdit", {
    "type": "object", "required": ["body"], "additionalProperties": False,
    "properties": {"body": {"type": "string", "maxLength": discussion.MAX_COMMENT}},
})


def comment_json(comment: Comment) -> dict:
    idea = comment.idea
    return {
        "id": comment.id,
        "idea_id": comment.idea_id,
        "parent_id": comment.parent_id,
        "author": person_json(comment.author),
        "body": comment.body,
        "body_html": str(text.render(comment.body)),
        "by_idea_author": comment.author_id in idea.author_ids(),
        "by_staff": comment.author_id in idea.challenge.staff_ids(),
        "hidden": comment.hidden_at is not None,
        "created_at": iso(comment.created_at),
        "edited_at": iso(comment.edited_at),
        "editable_until": iso(comment.created_at + discussion.EDIT_WINDOW) if comment.created_at else None,
    }


@bp.get("/ideas/<int:idea_id>/comments")
@token_required
@documented("GET", Operation(
    summary="The discussion of an idea, newest first (replies carry their parent_id)",
    parameters=[path_param("idea_id"), *PAGING],
    responses={200: ("One page of comments", COMMENT_PAGE), 404: ("No such idea for you", ERROR),
               422: ("Bad paging", ERROR)},
    tags=["comments"],
))
def list_comments(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    limit, before, after = paging_args()
    query = select(Comment).where(Comment.idea_id == idea.id)
    if not policy.is_staff(user, idea.challenge):
        # what discussion.can_see_comment allows, in SQL so that pages come out full
        query = query.where(or_(Comment.hidden_at.is_(None), Comment.author_id == user.id))
    rows, cursor = keyset(query, Comment.id, limit=limit, before=before, after=after)
    return jsonify(items=[comment_json(c) for c in rows if discussion.can_see_comment(user, c)], next=cursor)


@bp.post("/ideas/<int:idea_id>/comments")
@token_required
@documented("POST", Operation(
    summary="Comment on an idea, or reply to a comment",
    parameters=[path_param("idea_id")],
    request=COMMENT_INPUT,
    responses={201: ("The comment", COMMENT), 403: ("Not open to your pool, or suspended", ERROR),
               404: ("No such idea (or comment to reply to) for you", ERROR),
               409: ("The phase or the idea's state takes no comments", ERROR),
               422: ("Empty, overlong or wrong-typed body", ERROR)},
    tags=["comments"],
))
def post_comment(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body({"body": (str, True), "parent_id": (int, False)})
    comment = discussion.post_comment(idea, user, data["body"], parent_id=data["parent_id"])
    response = jsonify(comment_json(comment))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_comment", comment_id=comment.id)
    return response


@bp.get("/comments/<int:comment_id>")
@token_required
@documented("GET", Operation(
    summary="One comment",
    parameters=[path_param("comment_id")],
    responses={200: ("The comment", COMMENT), 404: ("No such comment for you", ERROR)},
    tags=["comments"],
))
def read_comment(comment_id: int):
    return jsonify(comment_json(discussion.get_comment(comment_id, current_api_user())))


@bp.patch("/comments/<int:comment_id>")
@token_required
@documented("PATCH", Operation(
    summary="Correct your comment within its edit window",
    parameters=[path_param("comment_id")],
    request=COMMENT_EDIT,
    responses={200: ("The comment", COMMENT), 403: ("Not its author", ERROR),
               404: ("No such comment for you", ERROR),
               409: ("The edit window is over, or the comment is hidden", ERROR),
               422: ("Empty, overlong or wrong-typed body", ERROR)},
    tags=["comments"],
))
def edit_comment(comment_id: int):
    user = current_api_user()
    comment = discussion.get_comment(comment_id, user)
    if comment.author_id != user.id:
        raise ApiError(403, "Only its author may edit a comment.")
    data = body({"body": (str, True)})
    discussion.edit_comment(comment, user, data["body"])
    return jsonify(comment_json(comment))


# --- flags -----------------------------------------------------------------------------

FLAG_INPUT = schema("FlagInput", {
    "type": "object", "required": ["target_type", "target_id", "reason"], "additionalProperties": False,
    "properties": {
        "target_type": {"type": "string", "enum": list(moderation.TARGET_TYPES)},
        "target_id": {"type": "integer"},
        "reason": {"type": "string", "maxLength": moderation.MAX_FLAG_REASON,
                   "description": "What is wrong with it; the moderators read this."},
    },
})
FLAG = schema("Flag", {
    "type": "object", "required": ["id", "target_type", "target_id", "created_at", "hidden"],
    "properties": {
        "id": {"type": "integer"},
        "target_type": {"type": "string", "enum": list(moderation.TARGET_TYPES)},
        "target_id": {"type": "integer"},
        "created_at": TIME,
        "hidden": {"type": "boolean",
                   "description": "Enough people flagged it: hidden until a moderator reviews it."},
    },
})


@bp.post("/flags")
@token_required
@documented("POST", Operation(
    summary="Flag an idea or a comment for the moderators (once per person)",
    request=FLAG_INPUT,
    responses={201: ("The flag", FLAG), 403: ("Your own content, or suspended", ERROR),
               404: ("No such idea or comment for you", ERROR),
               409: ("Already flagged by you, or the phase does not allow flags", ERROR),
               422: ("Missing reason, or wrong-typed fields", ERROR)},
    tags=["moderation"],
))
def flag_content():
    user = current_api_user()
    data = body({"target_type": (str, True), "target_id": (int, True), "reason": (str, True)})
    row = moderation.flag(data["target_type"], data["target_id"], user, data["reason"])
    target = moderation.load_target(row.target_type, row.target_id)
    return jsonify(id=row.id, target_type=row.target_type, target_id=row.target_id, created_at=iso(row.created_at),
                   hidden=target.hidden_at is not None), 201


# --- follows ---------------------------------------------------------------------------

FOLLOW = schema("Follow", {
    "type": "object", "required": ["target_type", "target_key", "created_at"],
    "properties": {
        "target_type": {"type": "string", "enum": list(notifications.FOLLOW_TYPES)},
        "target_key": {"type": "string", "description": "A challenge's or idea's id, or the tag itself."},
        "label": {"type": "string"},
        "created_at": TIME,
    },
})
FOLLOW_INPUT = schema("FollowInput", {
    "type": "object", "required": ["target_type", "target_key"], "additionalProperties": False,
    "properties": {
        "target_type": {"type": "string", "enum": list(notifications.FOLLOW_TYPES)},
        "target_key": {"type": ["string", "integer"]},
    },
})
FOLLOW_LIST = schema("FollowList", {
    "type": "object", "required": ["items", "offset", "limit"],
    "properties": {"items": {"type": "array", "items": FOLLOW}, "offset": {"type": "integer"},
                   "limit": {"type": "integer"}},
})


@bp.get("/follows")
@token_required
@documented("GET", Operation(
    summary="What you follow (challenges, ideas, tags) and may still see",
    parameters=[
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": MAX_LIMIT},
                    "Items per page."),
        query_param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                    "Items to skip."),
    ],
    responses={200: ("What you follow", FOLLOW_LIST), 422: ("Bad paging", ERROR)},
    tags=["follows"],
))
def list_follows():
    user = current_api_user()
    limit = arg_int("limit", MAX_LIMIT, low=1, high=MAX_LIMIT)
    offset = arg_int("offset", 0, low=0, high=MAX_OFFSET)
    found = notifications.followed(user, limit=offset + limit)[offset:]
    return jsonify(items=[{"target_type": f.follow.target_type, "target_key": f.follow.target_key,
                           "label": f.label, "created_at": iso(f.follow.created_at)} for f in found],
                   offset=offset, limit=limit)


@bp.post("/follows")
@token_required
@documented("POST", Operation(
    summary="Follow a challenge, an idea or a tag (following twice is following once)",
    request=FOLLOW_INPUT,
    responses={200: ("You already followed it", FOLLOW), 201: ("You follow it now", FOLLOW),
               404: ("Nothing of that kind you may see", ERROR), 422: ("Missing or wrong-typed fields", ERROR)},
    tags=["follows"],
))
def follow():
    user = current_api_user()
    data = body({"target_type": (str, True), "target_key": ((str, int), True)})
    already = notifications.is_following(user, data["target_type"], str(data["target_key"]).strip())
    row = notifications.follow(user, data["target_type"], data["target_key"])
    return jsonify(target_type=row.target_type, target_key=row.target_key,
                   created_at=iso(row.created_at)), 200 if already else 201


@bp.delete("/follows/<target_type>/<path:target_key>")
@token_required
@documented("DELETE", Operation(
    summary="Stop following a challenge, an idea or a tag",
    parameters=[
        {"name": "target_type", "in": "path", "required": True,
         "schema": {"type": "string", "enum": list(notifications.FOLLOW_TYPES)}},
        {"name": "target_key", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "The challenge's or idea's id, or the tag."},
    ],
    responses={204: ("No longer followed", None), 404: ("You do not follow it, or it does not exist for you",
                                                        ERROR)},
    tags=["follows"],
))
def unfollow(target_type: str, target_key: str):
    if not notifications.unfollow(current_api_user(), target_type, target_key):
        raise ApiError(404, "You do not follow this.")
    return "", 204


# --- search ----------------------------------------------------------------------------

SEARCH_RESULT = schema("SearchResult", {
    "type": "object", "required": ["items", "total", "page", "pages", "sort", "notices"],
    "properties": {
        "items": {"type": "array", "items": IDEA_SUMMARY},
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "pages": {"type": "integer"},
        "sort": {"type": "string", "enum": list(search_index.SORTS), "description": "The order actually used."},
        "notices": {"type": "array", "items": {"type": "string"},
                    "description": "What was changed in the query to read it, or why search is unavailable."},
    },
})
SIMILAR = schema("SimilarIdeas", {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": IDEA_SUMMARY, "maxItems": 5}},
})


@bp.get("/search")
@token_required
@documented("GET", Operation(
    summary="Full-text search over the ideas you may see (title, summary, body, tags, comments)",
    parameters=[
        query_param("q", {"type": "string", "maxLength": 300}, "Words, \"phrases\", AND / OR / NOT."),
        query_param("challenge", {"type": "integer"}, "Only this challenge."),
        query_param("pool", {"type": "string", "enum": ["employee", "external"]}, "Only ideas from this pool."),
        query_param("phase", {"type": "string", "enum": [str(p) for p in Phase if p != Phase.DRAFT]},
                    "Only challenges in this phase."),
        query_param("status", {"type": "string", "enum": [str(s) for s in search_index.INDEXED_STATUSES]},
                    "Only ideas in this state."),
        query_param("tag", {"type": "string"}, "Only ideas with this tag."),
        query_param("sort", {"type": "string", "enum": list(search_index.SORTS), "default": "relevance"},
                    "Order of the results."),
        query_param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
        query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
                    "Results per page (page × per_page stays within 10,000)."),
    ],
    responses={200: ("One page of results", SEARCH_RESULT), 422: ("A filter or paging value is not valid", ERROR)},
    tags=["search"],
))
def search():
    user = current_api_user()
    per_page = arg_int("per_page", 20, low=1, high=MAX_LIMIT)
    page = arg_int("page", 1, low=1, high=MAX_OFFSET // per_page + 1)
    result = search_index.search_ideas(
        user, request.args.get("q", ""), challenge_id=arg_int("challenge", low=1, high=MAX_ID),
        pool=arg_choice("pool", ("employee", "external")),
        phase=arg_choice("phase", [str(p) for p in Phase if p != Phase.DRAFT]),
        status=arg_choice("status", [str(s) for s in search_index.INDEXED_STATUSES]),
        tag=request.args.get("tag") or None, sort=arg_choice("sort", search_index.SORTS, "relevance"),
        page=page, per_page=per_page, rank_key=current_app.extensions.get("ideas.search_rank"),
    )
    return jsonify(items=summaries(result.items, user), total=result.total, page=result.page, pages=result.pages,
                   sort=result.sort, notices=result.notices)


@bp.get("/challenges/<int:challenge_id>/similar")
@token_required
@documented("GET", Operation(
    summary="Up to five ideas of this challenge like the one being written (to join instead of duplicating)",
    parameters=[
        path_param("challenge_id"),
        query_param("title", {"type": "string", "maxLength": 160}, "The title so far."),
        query_param("summary", {"type": "string", "maxLength": 1000}, "The summary so far."),
        query_param("exclude", {"type": "integer"}, "An idea to leave out (the one being edited)."),
    ],
    responses={200: ("Similar ideas, best first (none until both title and summary are given)", SIMILAR),
               404: ("No such challenge for you", ERROR)},
    tags=["search"],
))
def similar_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    title = request.args.get("title", "")[:160].strip()
    summary = request.args.get("summary", "")[:1000].strip()
    exclude = arg_int("exclude", low=1, high=MAX_ID)
    found = search_index.similar_ideas(user, challenge, title, summary, exclude_id=exclude) \
        if title and summary else []
    return jsonify(items=summaries(found, user))
