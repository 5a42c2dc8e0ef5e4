"""Helpers shared by the page blueprints: safe redirects, permission gates, form errors."""
from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import abort, current_app, has_request_context, redirect, request, url_for
from flask_login import current_user
from wtforms.validators import ValidationError

from ideas.fields import split_tags, tags_problem

if TYPE_CHECKING:  # for the annotations only: accounts' pages import this module
    from ideas.accounts.models import Role


def path_for(endpoint: str, _anchor: str | None = None, **values) -> str:
    """A path on this site, built in a request or without one (the scheduler has none)."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        adapter = current_app.url_map.bind(
            current_app.config.get("SERVER_NAME") or "localhost",
            script_name=current_app.config.get("APPLICATION_ROOT") or "/",
        )
        path = adapter.build(endpoint, values)
    return f"{path}#{_anchor}" if _anchor else path


def safe_next(target: str | None, default: str = "site.home") -> str:
    """Only a path on this site: never another host, scheme or protocol-relative URL."""
    if target:
        target = target.strip()
        parts = urlsplit(target)
        if (
            target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
            and not parts.scheme
            and not parts.netloc
            and all(ord(c) >= 32 for c in target)
        ):
            return target
    return url_for(default)


def redirect_next(default: str = "site.home"):
    return redirect(safe_next(request.args.get("next") or request.form.get("next"), default))


def roles_required(*roles: Role):
    """Signed in and holding one of `roles` (administrators pass every role gate)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if not (current_user.is_admin or any(current_user.has_role(r) for r in roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def attach_error(form, error) -> None:
    """Put a service's refusal next to the field it concerns (or at the top of the form)."""
    field = getattr(form, error.field, None) if getattr(error, "field", None) else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


def valid_tags(form, field) -> None:
    """A WTForms validator for a comma-separated tags field, by the API's own rule
    (ideas.fields.tags_problem): a message next to the field instead of a cut-off tag."""
    problem = tags_problem(split_tags(field.data or ""))
    if problem:
        raise ValidationError(problem)
