"""discussion pages of the challenges blueprint."""
from __future__ import annotations

from ideas.challenges.routes import bp  # noqa: F401
