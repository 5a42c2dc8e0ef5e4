"""Comments through the API: an idea's discussion, reading, posting, replying and
correcting within the edit window; hidden comments as on the pages."""
from datetime import datetime

from flask import jsonify, url_for
from pydantic import Field, create_model
from sqlalchemy import or_, select

from ideas import text
from ideas.api.blueprint import bp
from ideas.api.contract import Body, Id, Model, Paging, Text, body, query
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
from ideas.challenges import comments as discussion
from ideas.challenges import services as challenges
from ideas.challenges.models import Comment


class Comment_(Model):
    id: int
    idea_id: int
    parent_id: int | None = Field(description="The top-level comment this replies to.")
    author: Person
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="Rendered and sanitized.")
    by_idea_author: bool
    by_staff: bool
    hidden: bool = Field(description="Hidden by moderation (seen only by staff and its author).")
    created_at: datetime | None
    edited_at: datetime | None
    editable_until: datetime | None


Comment_ = create_model("Comment", __base__=Comment_)


class CommentPage(Model):
    items: list[Comment_]
    next: Cursor


CommentBody = Text(discussion.MAX_COMMENT, min_length=1, description="Markdown; @name mentions.")


class CommentInput(Body):
    body: CommentBody
    parent_id: Id | None = Field(None, description="Reply to this comment (replies stay one level deep).")


class CommentEdit(Body):
    body: CommentBody


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
    query=Paging,
    responses={200: ("One page of comments", CommentPage), 404: ("No such idea for you", Error)},
    tags=["comments"],
))
def list_comments(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    args = query(Paging)
    found = select(Comment).where(Comment.idea_id == idea.id)
    if not discussion.can_see_hidden_comments(user, idea.challenge):
        # what discussion.can_see_comment allows, in SQL so that pages come out full
        found = found.where(or_(Comment.hidden_at.is_(None), Comment.author_id == user.id))
    rows, cursor = keyset(found, Comment.id, limit=args.limit, before=args.before, after=args.after)
    return jsonify(items=[comment_json(c) for c in rows if discussion.can_see_comment(user, c)], next=cursor)


@bp.post("/ideas/<int:idea_id>/comments")
@token_required
@documented("POST", Operation(
    summary="Comment on an idea, or reply to a comment",
    request=CommentInput,
    responses={201: ("The comment", Comment_), 403: ("Not open to your pool, or suspended", Error),
               404: ("No such idea (or comment to reply to) for you", Error),
               409: ("The phase or the idea's state takes no comments", Error),
               422: ("Empty, overlong or wrong-typed body", Error)},
    tags=["comments"],
))
def post_comment(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body(CommentInput)
    comment = discussion.post_comment(idea, user, data.body, parent_id=data.parent_id)
    response = jsonify(comment_json(comment))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_comment", comment_id=comment.id)
    return response


@bp.get("/comments/<int:comment_id>")
@token_required
@documented("GET", Operation(
    summary="One comment",
    responses={200: ("The comment", Comment_), 404: ("No such comment for you", Error)},
    tags=["comments"],
))
def read_comment(comment_id: int):
    return jsonify(comment_json(discussion.get_comment(comment_id, current_api_user())))


@bp.patch("/comments/<int:comment_id>")
@token_required
@documented("PATCH", Operation(
    summary="Correct your comment within its edit window",
    request=CommentEdit,
    responses={200: ("The comment", Comment_), 403: ("Not its author", Error),
               404: ("No such comment for you", Error),
               409: ("The edit window is over, or the comment is hidden", Error),
               422: ("Empty, overlong or wrong-typed body", Error)},
    tags=["comments"],
))
def edit_comment(comment_id: int):
    user = current_api_user()
    comment = discussion.get_comment(comment_id, user)
    if not discussion.can_edit_comment(user, comment):
        raise ApiError(403, "Only its author may edit a comment.")
    data = body(CommentEdit)
    discussion.edit_comment(comment, user, data.body)
    return jsonify(comment_json(comment))


