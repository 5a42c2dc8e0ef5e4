"""Integration pages (blueprint `integrations`): the administrators' webhook pages with
their delivery log, and the managers' CSV exports of the shortlist and the handoffs.

Webhooks hear the review's events through the package's `init_app` (listed in
create_app's `register_subscribers`); this blueprint only adds the exports to the
challenge page's actions, as the other blueprints add theirs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ideas.accounts.forms import EmptyForm
from ideas.accounts.models import Role
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.integrations import exports, webhooks
from ideas.integrations import handoffs as handoff_list
from ideas.integrations.forms import EndpointForm
from ideas.integrations.models import DELIVERY_STATES
from ideas.integrations.webhooks import WebhookError
from ideas.numbers import db_int, in_range
from ideas.review import services as review
from ideas.web import attach_error, roles_required

bp = Blueprint("integrations", __name__)

admin_required = roles_required(Role.ADMIN)


# --- webhooks (administrators) -------------------------------------------------------------

def _endpoint_or_404(endpoint_id: int):
    endpoint = webhooks.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _refuse(form, error: WebhookError) -> int:
    db.session.rollback()
    attach_error(form, error)
    return error.status


def _render_list(form: EndpointForm, status: int = 200):
    return render_template(
        "integrations/webhooks.html", form=form, endpoints=webhooks.list_endpoints(),
        allow_private=webhooks.allow_private(), labels=webhooks.EVENT_LABELS,
    ), status


@bp.route("/admin/webhooks", methods=["GET", "POST"])
@admin_required
def webhook_list():
    if request.method == "GET":
        return _render_list(EndpointForm(formdata=None))
    form = EndpointForm()
    if not form.validate_on_submit():
        return _render_list(form, 422)
    try:
        endpoint, secret = webhooks.create_endpoint(
            current_user, form.url.data or "", form.events.data or [], form.description.data or "",
            active=bool(form.active.data))
    except WebhookError as error:
        return _render_list(form, _refuse(form, error))
    # Shown here once, never put in a flash message (the session cookie is not a safe).
    return render_template("integrations/webhook_secret.html", endpoint=endpoint, secret=secret,
                           created=True), 201


def _render_endpoint(endpoint, form: EndpointForm | None = None, status: int = 200):
    if form is None:
        form = EndpointForm(formdata=None, obj=endpoint)
        form.events.data = endpoint.events
    state = request.args.get("status") if request.args.get("status") in DELIVERY_STATES else None
    before = request.args.get("before", type=db_int)
    page = webhooks.deliveries(endpoint, status=state, before=before if before and before > 0 else None)
    return render_template(
        "integrations/webhook.html", endpoint=endpoint, form=form, page=page, status_filter=state,
        paged=before is not None, button=EmptyForm(formdata=None), allow_private=webhooks.allow_private(),
    ), status


@bp.route("/admin/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@admin_required
def webhook(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if request.method == "GET":
        return _render_endpoint(endpoint)
    form = EndpointForm()
    if not form.validate_on_submit():
        return _render_endpoint(endpoint, form, 422)
    try:
        webhooks.update_endpoint(endpoint, current_user, form.url.data or "", form.events.data or [],
                                 form.description.data or "", active=bool(form.active.data))
    except WebhookError as error:
        status = _refuse(form, error)
        return _render_endpoint(_endpoint_or_404(endpoint_id), form, status)
    flash("The webhook is saved." + ("" if endpoint.active else " It is paused: nothing is queued for it "
                                     "until it is active again."), "success")
    return redirect(url_for("integrations.webhook", endpoint_id=endpoint.id))


def _button_or_400() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


@bp.route("/admin/webhooks/<int:endpoint_id>/secret", methods=["POST"])
@admin_required
def rotate_secret(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    _button_or_400()
    secret = webhooks.rotate_secret(endpoint, current_user)
    return render_template("integrations/webhook_secret.html", endpoint=endpoint, secret=secret, created=False)


@bp.route("/admin/webhooks/<int:endpoint_id>/ping", methods=["POST"])
@admin_required
def ping(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    _button_or_400()
    webhooks.send_ping(endpoint, current_user)
    flash("A test event is queued: it goes out with the next scheduler run (within a minute). "
          "Its attempts appear in the log below.", "success")
    return redirect(url_for("integrations.webhook", endpoint_id=endpoint.id) + "#log")


@bp.route("/admin/webhooks/<int:endpoint_id>/delete", methods=["POST"])
@admin_required
def delete(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    _button_or_400()
    url = endpoint.url
    webhooks.delete_endpoint(endpoint, current_user)
    flash(f"The webhook to {url} is deleted, with its queue and its log.", "success")
    return redirect(url_for("integrations.webhook_list"))


def _delivery_or_404(delivery_id: int):
    delivery = webhooks.get_delivery(delivery_id)
    if delivery is None:
        abort(404)
    return delivery


@bp.route("/admin/webhooks/deliveries/<int:delivery_id>")
@admin_required
def delivery(delivery_id: int):
    found = _delivery_or_404(delivery_id)
    return render_template("integrations/delivery.html", delivery=found, endpoint=found.endpoint,
                           body=webhooks.body_of(found).decode("utf-8"), button=EmptyForm(formdata=None),
                           max_attempts=webhooks.MAX_ATTEMPTS)


@bp.route("/admin/webhooks/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@admin_required
def redeliver(delivery_id: int):
    found = _delivery_or_404(delivery_id)
    _button_or_400()
    again = webhooks.redeliver(found, current_user)
    flash(f"Delivery {found.id} is queued again as delivery {again.id}.", "success")
    return redirect(url_for("integrations.delivery", delivery_id=again.id))


# --- CSV exports (managers) ----------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/review/shortlist.csv")
@login_required
def shortlist_csv(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not review.can_manage(current_user, challenge):
        abort(403)
    return exports.shortlist_csv(challenge)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii():
        abort(400, f"“{name}” must be a number.")
    if len(raw) > 11 or not in_range(int(raw)):
        abort(404, f"There is no {name} number {raw[:20]}.")
    return int(raw)


@bp.route("/review/handoffs.csv")
@login_required
def handoffs_csv():
    if not handoff_list.can_export(current_user):
        abort(403)
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in handoff_list.FILTERS:
        abort(400)
    challenge_id = _int_arg("challenge")
    if challenge_id is not None:
        challenge = challenges.get_challenge(challenge_id, current_user)
        if not review.can_manage(current_user, challenge):
            abort(403)
    filters = handoff_list.HandoffFilter(status=status, owner_id=_int_arg("owner"), challenge_id=challenge_id)
    return exports.handoffs_csv(current_user, filters)


# --- joining the site ------------------------------------------------------------------------

def _challenge_links(challenge, viewer) -> list[dict]:
    if challenge.published_at is None or not review.can_manage(viewer, challenge):
        return []
    if not review.shortlisted_count(challenge):
        return []
    return [
        {"label": "Shortlist (CSV)", "url": url_for("integrations.shortlist_csv", challenge_id=challenge.id)},
        {"label": "Handoffs (CSV)", "url": url_for("integrations.handoffs_csv", challenge=challenge.id)},
    ]


@bp.record_once
def _register(state) -> None:
    state.app.extensions.setdefault("ideas.challenge_actions", []).append(_challenge_links)
