"""Insight pages (blueprint `insight`): the challenge dashboard and the site dashboard
with their CSV downloads, the results of a closed challenge, "How it works", and the
track records on profiles.

Every page works without JavaScript: charts are SVG images drawn on the server, each
with its figures in a table beneath it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from ideas import clock
from ideas.accounts.models import Role
from ideas.challenges import services as challenges
from ideas.challenges.models import Phase
from ideas.insight import figures, services
from ideas.insight.services import InsightError
from ideas.web import roles_required

bp = Blueprint("insight", __name__)


def _managed_challenge(challenge_id: int):
    """The challenge for its managers; 404 for who may not see it, 403 for who may."""
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not services.can_see_dashboard(current_user, challenge):
        abort(403)
    return challenge


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


# --- a challenge's dashboard -----------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/dashboard")
@login_required
def challenge_dashboard(challenge_id: int):
    challenge = _managed_challenge(challenge_id)
    board = services.challenge_dashboard(challenge)
    return render_template("insight/challenge_dashboard.html", challenge=challenge, board=board)


@bp.route("/challenges/<int:challenge_id>/dashboard/<chart>.csv")
@login_required
def challenge_csv(challenge_id: int, chart: str):
    challenge = _managed_challenge(challenge_id)
    try:
        panel = services.challenge_panel(challenge, chart)
    except InsightError:
        abort(404)
    return _csv(panel.csv(), f"challenge-{challenge.id}-{panel.slug}.csv")


# --- the site dashboard -------------------------------------------------------------------------

def _period():
    """The period asked for, or (None, the error) when it does not parse."""
    try:
        return figures.parse_period(request.args, clock.now()), None
    except figures.PeriodError as error:
        return None, error


@bp.route("/dashboard")
@roles_required(Role.MANAGER)
def site_dashboard():
    period, error = _period()
    if error is not None:
        return render_template("insight/site_dashboard.html", board=None, period=None, error=error,
                               values=request.args, presets=figures.PRESETS), 400
    board = services.site_dashboard(services.site_scope(current_user, period))
    return render_template("insight/site_dashboard.html", board=board, period=period, error=None,
                           values=period.values, presets=figures.PRESETS)


@bp.route("/dashboard/<chart>.csv")
@roles_required(Role.MANAGER)
def site_csv(chart: str):
    period, error = _period()
    if error is not None:
        return Response(f"{error}\n", status=400, mimetype="text/plain")
    try:
        panel = services.site_panel(services.site_scope(current_user, period), chart)
    except InsightError:
        abort(404)
    return _csv(panel.csv(), f"dashboard-{panel.slug}.csv")


# --- results, how it works ------------------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/results")
def results(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    return render_template("insight/results.html", challenge=challenge,
                           results=services.results(challenge, current_user))


@bp.route("/how-it-works")
def how_it_works():
    return render_template("insight/how_it_works.html")


# --- on other pages ---------------------------------------------------------------------------------

def _challenge_links(challenge, viewer):
    links = []
    if challenge.published_at is not None and challenge.phase == Phase.CLOSED:
        links.append({"label": "Results", "url": url_for("insight.results", challenge_id=challenge.id)})
    if services.can_see_dashboard(viewer, challenge):
        links.append({"label": "Dashboard", "url": url_for("insight.challenge_dashboard", challenge_id=challenge.id)})
    return links


def _nav():
    items = [{"label": "How it works", "endpoint": "insight.how_it_works"}]
    if services.can_see_site_dashboard(current_user):
        items.append({"label": "Dashboard", "endpoint": "insight.site_dashboard"})
    return items


def _profile(person, viewer):
    return {
        "template": "insight/_track_record.html",
        "contributor": services.contributor_record(person, viewer),
        "owner": services.owner_record(person, viewer),
        "duration": figures.duration,
    }


def _home():
    return {"template": "insight/_home.html"}


@bp.record_once
def _register(state):
    extensions = state.app.extensions
    extensions.setdefault("ideas.challenge_actions", []).append(_challenge_links)
    extensions.setdefault("ideas.nav", []).append(_nav)
    extensions.setdefault("ideas.profile", []).append(_profile)
    extensions.setdefault("ideas.home", []).insert(0, _home)
