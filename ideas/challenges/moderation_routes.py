"""Moderation pages of the challenges blueprint: flagging, and each challenge's moderation queue."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ideas.challenges import moderation as moderation_service
from ideas.challenges import services as challenges
from ideas.challenges.discussion_routes import show_again
from ideas.challenges.forms_discussion import FlagForm, ModerationForm
from ideas.challenges.blueprint import bp
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db


@bp.route("/flags", methods=["POST"])
@login_required
def flag():
    form = FlagForm()
    target_type, target_id, reason = form.target_type.data, form.target_id.data, form.reason.data or ""
    try:
        target = moderation_service.load_target(target_type, target_id)
    except ChallengeError:
        raise NotFoundError() from None
    if not moderation_service.can_see_target(current_user, target):
        raise NotFoundError()
    idea_id, key = target.idea.id, f"{target.type}-{target.id}"
    try:
        moderation_service.flag(target.type, target.id, current_user, reason)
    except ChallengeError as error:
        return show_again(idea_id, error, "flag", key, reason=reason)
    if target.hidden_at is not None and not moderation_service.can_see_target(current_user, target):
        flash("Thank you: enough people flagged it, so it is hidden until a moderator reviews it.", "success")
        if target.type == "idea":
            return redirect(url_for("challenges.detail", challenge_id=target.challenge.id))
    else:
        flash("Thank you: the moderators will look at it.", "success")
    return redirect(target.path())


@bp.route("/challenges/<int:challenge_id>/moderation")
@login_required
def moderation(challenge_id: int):
    challenge = _moderated_challenge(challenge_id)
    return _queue_page(challenge)


@bp.route("/challenges/<int:challenge_id>/moderation", methods=["POST"])
@login_required
def moderate(challenge_id: int):
    challenge = _moderated_challenge(challenge_id)
    form = ModerationForm()
    values = {"action": form.action.data or "", "reason": form.reason.data or ""}
    target_type, target_id = form.target_type.data or "", form.target_id.data
    try:
        row = moderation_service.moderate(challenge, current_user, values["action"], target_type, target_id,
                                          values["reason"])
    except ChallengeError as error:
        db.session.rollback()
        retry = {"key": f"{target_type}-{target_id}", "typed": values, "message": error.message,
                 "field": error.field}
        return _queue_page(challenge, retry=retry, status=error.status)
    done = {"hide": "hidden", "restore": "restored", "warn": "warned", "suspend": "suspended",
            "unsuspend": "no longer suspended"}[row.action]
    flash(f"Done: {done}. The person concerned is told why.", "success")
    return redirect(url_for("challenges.moderation", challenge_id=challenge.id))


def _moderated_challenge(challenge_id: int):
    """404 for those who cannot see the challenge, 403 for those who can but do not moderate it."""
    challenge = challenges.get_challenge(challenge_id, current_user)
    try:
        moderation_service.require_moderator(current_user, challenge)
    except ChallengeError:
        abort(403)
    return challenge


def _queue_page(challenge, retry: dict | None = None, status: int = 200):
    return render_template(
        "challenges/moderation.html", challenge=challenge,
        items=moderation_service.queue(challenge, current_user),
        suspended=moderation_service.suspensions(challenge, current_user),
        log=moderation_service.action_log(challenge, current_user),
        retry=retry, form=ModerationForm(formdata=None),
    ), status
