"""Administrator pages."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ideas.accounts.models import Role, User
from ideas.extensions import db
from ideas.web import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@roles_required(Role.ADMIN)
def guard():
    return None


@bp.route("/users")
def users():
    people = db.session.scalars(select(User).order_by(User.id).limit(50)).all()
    return render_template("admin/users.html", people=people)
