"""Notification list and follow buttons (blueprint `notifications`)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
