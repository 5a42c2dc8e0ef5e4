"""The API's refusal: raised by an endpoint, answered in the site's one JSON error shape
(`ideas.errors.error_response`)."""
from __future__ import annotations

from ideas.errors import CODES, error_response

__all__ = ["ApiError", "error_response"]


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, "error")
