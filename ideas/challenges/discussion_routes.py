"""Discussion pages of the challenges blueprint: comments, replies, edits and links to a comment.

A refused comment is never lost: the idea page is shown again, with the message next to
the form and the text as it was typed (see `show_again`)."""
from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, url_for
from flask_login import current_user, login_required

from ideas.challenges import comments
from ideas.challenges import services as challenges
from ideas.challenges.forms_discussion import CommentForm
from ideas.challenges.blueprint import bp
from ideas.errors import ChallengeError
from ideas.extensions import db


def show_again(idea_id: int, error: ChallengeError, form: str, target=None, **values):
    """The idea page again, with the refused form open, its message and what was typed.

    `comments.page_context` reads the refused form from `g.discussion_retry`."""
    db.session.rollback()
    if error.status == 401:
        return redirect(url_for("accounts.login", next=url_for("challenges.idea", idea_id=idea_id)))
    g.discussion_retry = {"form": form, "target": target, "typed": values, "message": error.message,
                          "field": error.field}
    idea_page = current_app.view_functions["challenges.idea"]
    response = make_response(idea_page(idea_id=idea_id))  # as Flask calls a view: by keyword
    if response.status_code < 300:
        response.status_code = error.status
    return response


@bp.route("/ideas/<int:idea_id>/comments", methods=["POST"])
@login_required
def post_comment(idea_id: int):
    idea = challenges.get_idea(idea_id, current_user)
    body = CommentForm().body.data or ""
    try:
        comment = comments.post_comment(idea, current_user, body)
    except ChallengeError as error:
        return show_again(idea_id, error, "comment", body=body)
    flash("Your comment is posted.", "success")
    return redirect(url_for("challenges.idea", idea_id=idea_id, _anchor=f"comment-{comment.id}"))


@bp.route("/comments/<int:comment_id>/replies", methods=["POST"])
@login_required
def reply_comment(comment_id: int):
    parent = comments.get_comment(comment_id, current_user)
    idea_id, thread_id = parent.idea_id, parent.parent_id or parent.id
    body = CommentForm().body.data or ""
    try:
        comment = comments.reply(parent, current_user, body)
    except ChallengeError as error:
        return show_again(idea_id, error, "reply", thread_id, body=body)
    flash("Your reply is posted.", "success")
    return redirect(url_for("challenges.idea", idea_id=idea_id, _anchor=f"comment-{comment.id}"))


@bp.route("/comments/<int:comment_id>/edit", methods=["POST"])
@login_required
def edit_comment(comment_id: int):
    comment = comments.get_comment(comment_id, current_user)
    idea_id = comment.idea_id
    body = CommentForm().body.data or ""
    try:
        changed = comments.edit_comment(comment, current_user, body)
    except ChallengeError as error:
        return show_again(idea_id, error, "edit", comment_id, body=body)
    flash("Your comment is updated." if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("challenges.idea", idea_id=idea_id, _anchor=f"comment-{comment_id}"))


@bp.route("/comments/<int:comment_id>")
def comment(comment_id: int):
    """A link to one comment: its place on the idea page (404 when it is hidden from you)."""
    found = comments.get_comment(comment_id, current_user)
    return redirect(url_for("challenges.idea", idea_id=found.idea_id, _anchor=f"comment-{found.id}"))


def _register_activity(state) -> None:
    def provider(person):
        return comments.public_activity(person, current_user)

    state.app.extensions.setdefault("ideas.activity", []).append(provider)


bp.record_once(_register_activity)
