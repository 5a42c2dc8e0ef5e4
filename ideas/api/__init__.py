"""The JSON API under /api/v1: bearer tokens only (never the session cookie, so no CSRF)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from ideas.api import routes  # noqa: E402,F401  (routes attach themselves to bp)
from ideas.api import challenges, ideas, voting  # noqa: E402,F401
from ideas.api import review  # noqa: E402,F401
