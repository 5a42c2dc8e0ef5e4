"""Discussion pages of the challenges blueprint: comments, replies, edits and links to a comment.

A refused comment is never lost: the idea page is shown again, with the message next to
the form and the text as it was typed (see `show_again`).

The idea page's conversations are rendered once per challenge generation for each kind of
reader and kept (`discussion_context`); each viewer's own buttons are put in afterwards."""
from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from flask import current_app, flash, g, make_response, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ideas import caching, clock
from ideas.challenges import comments
from ideas.challenges import services as challenges
from ideas.challenges.forms_discussion import CommentForm
from ideas.challenges.blueprint import bp
from ideas.errors import ChallengeError
from ideas.extensions import db


def discussion_context(idea, viewer, hide_authors: bool, before: int | None = None) -> dict:
    """`discussion` and `threads_html` for templates/challenges/_discussion.html.

    The page of conversations (_discussion_threads.html) is the same for every reader of the
    same kind: whether they see hidden comments (staff), may comment (the reply forms) and
    may flag (the flag forms), and whether the idea's authors are hidden (blind review). So
    it is kept under those, the idea and the page, per challenge generation (ideas/caching.py),
    which every comment, edit, moderation, vote or phase change moves. What differs from one
    viewer to the next is put in afterwards: their form token, and the actions of their own
    comments (no flag) and of those they flagged. A viewer whose page differs in more than
    that, because they see their own hidden comment, may still edit one of theirs, or have a
    refused form to show again, gets the page rendered for them alone."""
    now = clock.now()
    seen = comments.standing(idea, viewer, now)
    anyone = comments.Standing(viewer_id=None, staff=seen.staff, commenting=seen.commenting,
                               flagging=seen.flagging, refusal=None)

    read: list[comments.PageOfComments] = []

    def build() -> dict:
        read.append(comments.read_page(idea, before))
        threads = comments.threads_page(idea, anyone, before, now, read[0])
        return _threads_part(idea, threads, comments.discussion(idea, anyone, threads, set(), before), hide_authors)

    part = None
    if g.get("discussion_retry") is None:
        part = caching.remember(("idea discussion", idea.id, before, seen.staff, seen.commenting, seen.flagging,
                                 hide_authors), f"c:{idea.challenge_id}", build)
        if not _fits(part, seen, now):
            part = None
    if part is None:  # this viewer's own page
        threads = comments.threads_page(idea, seen, before, now, read[0] if read else None)
        flagged = comments.flags_of(seen.viewer_id, idea, threads.ids())
        found = comments.discussion(idea, seen, comments.with_flags(threads, flagged), flagged, before)
        part = _threads_part(idea, threads, found, hide_authors)
        return {"discussion": found, "threads_html": _assemble(part, {})}
    flagged = comments.flags_of(seen.viewer_id, idea, [c[0] for c in part["comments"]])
    found = comments.discussion(idea, seen, comments.Threads([], part["total"], part["older_before"], []),
                                flagged, before)
    found.shown = part["shown"]
    own = {c[0] for c in part["comments"] if c[1] == seen.viewer_id}
    theirs = own | {target for kind, target in flagged if kind == "comment"}
    actions = {}
    if theirs:
        template = current_app.jinja_env.get_template("challenges/_discussion_actions.html")
        for comment_id in theirs & set(part["actions"]):
            view = SimpleNamespace(comment=SimpleNamespace(id=comment_id), can_edit=False, can_flag=False,
                                   flagged=("comment", comment_id) in flagged, by_author=False)
            actions[comment_id] = template.render(v=view, d=found, hide_authors=hide_authors)
    return {"discussion": found, "threads_html": _assemble(part, actions)}


def _fits(part: dict, seen: comments.Standing, now) -> bool:
    """Whether the kept page is this viewer's page but for their form token and buttons."""
    if seen.viewer_id is None:
        return True
    for _id, author_id, posted, hidden in part["comments"]:
        if author_id != seen.viewer_id:
            continue
        if hidden and not seen.staff:
            return False  # they see their own hidden comment; others see a placeholder
        if not hidden and seen.commenting and now - clock.as_utc(posted) <= comments.EDIT_WINDOW:
            return False  # they may still edit it
    return True


def _threads_part(idea, threads: comments.Threads, found: comments.Discussion, hide_authors: bool) -> dict:
    """The rendered conversations cut at each comment's actions, with what the viewer's part needs.

    `slot`, new for each rendering, marks the actions and stands for the form token: nobody
    can know it in advance and write it into a comment."""
    slot = uuid.uuid4().hex
    html = current_app.jinja_env.get_template("challenges/_discussion_threads.html").render(
        discussion=found, hide_authors=hide_authors, slot=slot, csrf_token=lambda: slot)
    return {"parts": re.split(rf"<!--{slot} (\d+)-->(.*?)<!--{slot}-->", html, flags=re.S), "slot": slot,
            "actions": {int(n) for n in re.findall(rf"<!--{slot} (\d+)-->", html)},
            "comments": threads.comments, "total": threads.total, "older_before": threads.older_before,
            "shown": len(threads.threads)}


def _assemble(part: dict, actions: dict[int, str]) -> Markup:
    parts = part["parts"]
    out = [parts[0]]
    for i in range(1, len(parts), 3):
        out.append(actions.get(int(parts[i]), parts[i + 1]))
        out.append(parts[i + 2])
    html = "".join(out)
    if part["slot"] in html:  # a form is shown (never to anonymous readers, whose session stays empty)
        html = html.replace(part["slot"], generate_csrf())
    return Markup(html)  # rendered by our own templates, escaped there


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
