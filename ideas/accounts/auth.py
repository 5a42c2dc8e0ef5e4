"""How a request is tied to a person: the session cookie for pages."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import LoginManager
from sqlalchemy.orm import joinedload

from ideas.accounts.models import User
from ideas.extensions import db

# The roles are read on every page, so they come in the same query; the expertise tags
# only where reviewers are routed. Built once: on SQLite, building a statement's options
# costs more than running it.
_PERSON_LOADS = (joinedload(User.role_rows),)


def init_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to go on."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        # identity is "id:session_version": a password change or deactivation ends
        # every older session and "remember me" cookie.
        try:
            user_id, version = (int(part) for part in identity.split(":", 1))
        except ValueError:
            return None
        user = db.session.get(User, user_id, options=_PERSON_LOADS)
        if user is None or not user.active or user.session_version != version:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
