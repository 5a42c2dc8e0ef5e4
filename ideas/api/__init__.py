"""The JSON API under /api/v1: bearer tokens only (never the session cookie, so no CSRF)."""
from __future__ import annotations

from ideas.api.blueprint import bp

# Each module attaches its endpoints to bp; this order is the OpenAPI document's order.
# Follows (ideas/notifications/api.py) and search (ideas/search/api.py) attach theirs
# from their own packages, imported by create_app, so that the API imports neither.
from ideas.api import core  # noqa: E402,F401  (authentication and error handlers)
from ideas.api import tokens, openapi  # noqa: E402,F401
from ideas.api import challenges, ideas, comments, flags, voting  # noqa: E402,F401
from ideas.api import review  # noqa: E402,F401

__all__ = ["bp"]
