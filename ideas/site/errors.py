"""Error pages in the site's look, and JSON errors under /api."""
from __future__ import annotations

import logging

from flask import Flask, current_app, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError

from ideas.accounts.models import ROLE_LABELS
from ideas.errors import NotFoundError, NotYetError, error_response
from ideas.extensions import db

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
    503: "Back in a moment",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "This form had expired or came from elsewhere. Please try again."
        return _render(400, message)

    @app.errorhandler(NotFoundError)
    def not_visible(_error: NotFoundError):
        # Content outside a person's audience does not exist for them: a plain 404.
        return _render(404, "There is nothing at this address, or it is not open to you.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def database_unavailable(error: Exception):
        return _unavailable(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        original = getattr(error, "original_exception", None)
        if error.code == 500 and _database_down(original):
            # Raised outside a view (committing after it, say): still the database's absence.
            return _unavailable(original)
        response = _render(error.code or 500, error.description, role_helps=not isinstance(error, NotYetError))
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500, InternalServerError.description)


UNAVAILABLE = "The site cannot reach its database for a moment. Nothing you sent was saved: please try again."
RETRY_AFTER = 10  # seconds


def _database_down(error) -> bool:
    return isinstance(error, OperationalError | InterfaceError | PoolTimeoutError) or bool(
        isinstance(error, DBAPIError) and error.connection_invalidated)


def _unavailable(error: Exception):
    """503, not 500: the database is unreachable or overloaded, which passes. Rendered
    without touching it (no signed-in person, no menu): the page must not fail again."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                str(error).splitlines()[0] if str(error) else type(error).__name__)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 — the connection is already gone; the pool replaces it
        db.session.close()
    if wants_json():
        response = error_response(503, UNAVAILABLE, code="unavailable")
    else:
        # The template environment directly: the context processors would load the menu
        # and the signed-in person, from the database.
        page = current_app.jinja_env.get_template("site/unavailable.html")
        response = make_response(page.render(message=UNAVAILABLE, retry_after=RETRY_AFTER), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(code: int, description: str | None, role_helps: bool = True):
    if wants_json():
        return error_response(code, description)
    title = TITLES.get(code, "Something is not right")
    advice = None
    if code == 403:
        description, advice = _forbidden(description, role_helps)
    try:
        page = render_template("site/error.html", code=code, title=title, description=description, advice=advice)
    except (OperationalError, InterfaceError, PoolTimeoutError) as error:  # the menu needs the database
        return _unavailable(error)
    return make_response(page, code)


def _forbidden(description: str | None, role_helps: bool = True) -> tuple[str, list[str]]:
    """Why a person is refused, and what they can do about it (werkzeug's default text
    says neither). A refusal that only time lifts (`NotYetError`) says nothing of roles."""
    from flask_login import current_user

    if not description or description == Forbidden.description:
        description = ("This page or action belongs to people with another role here: the challenge's managers "
                       "or moderators, an idea's authors, its reviewers or R&D owner, or the administrators.")
    advice: list[str] = []
    if not role_helps:
        return description, advice
    if current_user.is_authenticated:
        roles = ", ".join(_role_names(current_user)) or "no special role"
        advice.append(f"You are signed in as {current_user.email} ({roles}). If this is the wrong account, "
                      f"sign out and sign in with the right one.")
    advice.append("If you need this, ask the challenge's managers or an administrator to give you the role; "
                  "they can see who has which role.")
    return description, advice


def _role_names(user) -> list[str]:
    return sorted(ROLE_LABELS.get(role, str(role)) for role in user.roles)
