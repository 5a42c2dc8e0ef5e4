"""Notification list, follow buttons and the digest setting (blueprint `notifications`).

The blueprint also adds, without touching the app factory, a "Notifications" header link
with the unread count, a "What you follow" section on the home page, and the
`follow_state` template helper used by the follow buttons on other pages."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ideas.errors import ChallengeError
from ideas.extensions import db
from ideas.notifications import services
from ideas.notifications.forms import DigestForm, FollowForm
from ideas.numbers import db_int
from ideas.web import safe_next

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    page = request.args.get("page", 1, type=db_int) or 1
    items, total = services.notifications_for(current_user, page)
    return render_template(
        "notifications/index.html", items=items, total=total, page=max(1, page), per_page=services.PAGE_SIZE,
        unread=services.unread_count(current_user), followed=services.followed(current_user),
        digest_form=DigestForm(formdata=None, digest=current_user.digest, idea_mail=current_user.idea_mail),
    )


@bp.route("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int):
    """Follow a notification's link, marking it read on the way."""
    row = services.mark_read(current_user, notification_id)
    return redirect(safe_next(row.url, "notifications.index"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    services.mark_read(current_user, notification_id)
    return redirect(safe_next(request.form.get("next"), "notifications.index"))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_read():
    count = services.mark_all_read(current_user)
    flash(f"{count} notification{'s' if count != 1 else ''} marked read." if count else "Nothing was unread.", "info")
    return redirect(safe_next(request.form.get("next"), "notifications.index"))


@bp.route("/notifications/digest", methods=["POST"])
@login_required
def digest():
    form = DigestForm()
    try:
        services.set_digest(current_user, form.digest.data or "")
        services.set_idea_mail(current_user, bool(form.idea_mail.data))
    except ChallengeError as error:
        db.session.rollback()
        form.digest.errors = [error.message]
        items, total = services.notifications_for(current_user, 1)
        return render_template(
            "notifications/index.html", items=items, total=total, page=1, per_page=services.PAGE_SIZE,
            unread=services.unread_count(current_user), followed=services.followed(current_user), digest_form=form,
        ), 422
    labels = {"none": "You will get no e-mail digest.", "daily": "You will get a daily e-mail digest.",
              "weekly": "You will get a weekly e-mail digest."}
    flash(labels[current_user.digest] + (" You are e-mailed at once about your own ideas." if current_user.idea_mail
                                         else " You are not e-mailed about your own ideas."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/follow", methods=["POST"])
@login_required
def follow():
    form = FollowForm()
    services.follow(current_user, form.target_type.data or "", form.target_key.data)
    flash("You follow it now: its news will appear in your notifications.", "success")
    return redirect(safe_next(form.next.data, "notifications.index"))


@bp.route("/unfollow", methods=["POST"])
@login_required
def unfollow():
    form = FollowForm()
    services.unfollow(current_user, form.target_type.data or "", form.target_key.data)
    flash("You no longer follow it.", "info")
    return redirect(safe_next(form.next.data, "notifications.index"))


# --- what this blueprint adds to other pages ---------------------------------------

def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    return [{"label": "Notifications", "endpoint": "notifications.index",
             "badge": services.unread_count(current_user) or None}]


def home_section() -> dict | None:
    if not current_user.is_authenticated:
        return None
    items, _ = services.notifications_for(current_user, 1, per_page=5)
    return {"template": "notifications/_home.html", "followed": services.followed(current_user, limit=30),
            "recent": items}


def follow_state(target_type: str, target_key) -> dict | None:
    """For a follow button: None for the anonymous, else whether they follow and where to come back."""
    if not current_user.is_authenticated:
        return None
    known = g.get("follows_known")
    key = (target_type, str(target_key))
    if known is not None and key in known:
        following = key in g.follows_found
    else:
        following = services.is_following(current_user, target_type, target_key)
    return {"following": following, "next": request.full_path.rstrip("?")}


def follow_states(**keys) -> str:
    """Read the state of a page's follow buttons in one query before they are drawn:
    `follow_states(challenge=[challenge.id], tag=challenge.tags)`. Prints nothing."""
    if current_user.is_authenticated:
        wanted = {(target_type, str(k)) for target_type, found in keys.items() for k in found}
        g.follows_found = g.get("follows_found", set()) | services.following_among(current_user, wanted)
        g.follows_known = g.get("follows_known", set()) | wanted
    return ""


@bp.record_once
def _register(state) -> None:
    extensions = state.app.extensions
    extensions.setdefault("ideas.nav", []).append(nav_items)
    extensions.setdefault("ideas.home", []).append(home_section)
    state.app.add_template_global(follow_state, "follow_state")
    state.app.add_template_global(follow_states, "follow_states")
