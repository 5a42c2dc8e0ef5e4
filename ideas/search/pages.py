"""Search's pages, on the challenges blueprint (their addresses and endpoint names are
the challenges'): the search page, and similar ideas while writing. Imported by
create_app before the blueprints are registered.

Both are GET pages that change nothing (no CSRF token needed) and show only what the
person may see: `ideas.search` filters by visibility and checks every idea again.
"""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from ideas.challenges import services
from ideas.challenges.blueprint import bp
from ideas.challenges.models import IdeaStatus, Phase
from ideas.numbers import db_int
from ideas.search.query import search_ideas
from ideas.search.similar import similar_ideas

PER_PAGE = 20
FILTERS = ("q", "challenge", "pool", "phase", "status", "tag", "sort")
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "rank": "Rank"}
STATUS_LABELS = {IdeaStatus.PUBLISHED: "Published", IdeaStatus.WITHDRAWN: "Withdrawn",
                 IdeaStatus.MERGED: "Merged"}
POOL_LABELS = {"employee": "Employees", "external": "External participants"}


@bp.route("/search")
def search():
    values = {name: request.args.get(name, "", type=str).strip() for name in FILTERS}
    page = request.args.get("page", 1, type=db_int) or 1
    result = search_ideas(
        current_user, values["q"], challenge_id=values["challenge"] or None, pool=values["pool"] or None,
        phase=values["phase"] or None, status=values["status"] or None, tag=values["tag"] or None,
        sort=values["sort"] or "relevance", page=page, per_page=PER_PAGE,
    )
    kept = {name: value for name, value in values.items() if value}

    def page_url(number: int) -> str:
        return url_for("challenges.search", **kept, page=number)

    return render_template(
        "challenges/search.html", result=result, values=values, page_url=page_url,
        challenges=services.visible_challenges(current_user, limit=500),
        phases=[p for p in Phase if p != Phase.DRAFT], statuses=STATUS_LABELS, pools=POOL_LABELS,
        sorts=SORT_LABELS, searched=bool(kept), per_page=PER_PAGE,
    )


@bp.route("/challenges/<int:challenge_id>/similar")
def similar(challenge_id: int):
    """Ideas like the one being written: an HTML fragment, or JSON when asked for it."""
    challenge = services.get_challenge(challenge_id, current_user)  # NotFoundError becomes 404
    title = request.args.get("title", "", type=str)[:160].strip()
    summary = request.args.get("summary", "", type=str)[:1000].strip()
    exclude = request.args.get("exclude", None, type=db_int)
    checked = bool(title and summary)
    found = similar_ideas(current_user, challenge, title, summary, exclude_id=exclude) if checked else []
    if _wants_json():
        response = jsonify({
            "challenge_id": challenge.id,
            "ideas": [{"id": i.id, "title": i.title, "summary": i.summary, "status": i.status,
                       "url": url_for("challenges.idea", idea_id=i.id)} for i in found],
        })
    else:
        response = current_app.make_response(
            render_template("challenges/_similar.html", similar=found, checked=checked, challenge=challenge)
        )
    response.vary.add("Accept")
    return response


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _nav():
    return [{"label": "Search", "endpoint": "challenges.search"}]


@bp.record_once
def _register(state):
    state.app.extensions.setdefault("ideas.nav", []).append(_nav)
