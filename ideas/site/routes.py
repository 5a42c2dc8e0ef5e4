"""Home and health."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from sqlalchemy import text

from ideas.caching import public_page
from ideas.extensions import db

bp = Blueprint("site", __name__)


@bp.route("/")
@public_page()  # shows every challenge: any change anywhere is a new page
def home():
    return render_template("site/home.html", sections=home_sections())


def home_sections() -> list:
    """Blocks other domains add to the home page (open challenges, drafts, follows)."""
    from flask import current_app

    return [provider() for provider in current_app.extensions.get("ideas.home", [])]


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for it at the root whatever the page says."""
    return send_from_directory(current_app.static_folder + "/img", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600)
