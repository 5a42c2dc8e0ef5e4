"""Error pages in the site's look, and JSON errors under /api."""
from __future__ import annotations

import logging

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError

log = logging.getLogger("ideas")

TITLES = {
    400: "This request could not be understood",
    401: "Sign in to go on",
    403: "You may not do this",
    404: "Nothing here",
    405: "Not allowed here",
    413: "That is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "This form had expired or came from elsewhere. Please try again."
        return _render(400, message)

    from ideas.challenges.services import NotFound

    @app.errorhandler(NotFound)
    def not_visible(_error: NotFound):
        # Content outside a person's audience does not exist for them: a plain 404.
        return _render(404, "There is nothing at this address, or it is not open to you.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        response = _render(error.code or 500, error.description)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        from ideas.extensions import db

        db.session.rollback()
        return _render(500, InternalServerError.description)


def _render(code: int, description: str | None):
    if wants_json():
        from ideas.api.errors import error_response

        return error_response(code, description)
    title = TITLES.get(code, "Something is not right")
    advice = None
    if code == 403:
        description, advice = _forbidden(description)
    page = render_template("site/error.html", code=code, title=title, description=description, advice=advice)
    return make_response(page, code)


def _forbidden(description: str | None) -> tuple[str, list[str]]:
    """Why a person is refused, and what they can do about it (werkzeug's default text
    says neither)."""
    from flask_login import current_user

    if not description or description == Forbidden.description:
        description = ("This page or action belongs to people with another role here: the challenge's managers "
                       "or moderators, an idea's authors, its reviewers or R&D owner, or the administrators.")
    advice = []
    if current_user.is_authenticated:
        roles = ", ".join(_role_names(current_user)) or "no special role"
        advice.append(f"You are signed in as {current_user.email} ({roles}). If this is the wrong account, "
                      f"sign out and sign in with the right one.")
    advice.append("If you need this, ask the challenge's managers or an administrator to give you the role; "
                  "they can see who has which role.")
    return description, advice


def _role_names(user) -> list[str]:
    from ideas.accounts.models import ROLE_LABELS

    return sorted(ROLE_LABELS.get(role, str(role)) for role in user.roles)
