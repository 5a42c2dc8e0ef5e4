"""The errors every domain raises and the site turns into a page or a JSON error.

A use case refuses with `ChallengeError` (or a domain's subclass: `VoteError`,
`ReviewError`): the message is shown next to `field` when there is one, with `status`
as the HTTP-like status. `NotFoundError` means "does not exist for this person":
content outside a person's audience is answered exactly as content that is not there.
They live here, below every domain, so that raising or catching them imports no
domain's services. So does the JSON error shape that answers every /api path, whether
the API or the site's own handlers (an unknown path, a database that is down) answer:
{"error": {"code", "message", "fields"}}."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import Forbidden

# The machine-readable code of each status in a JSON error.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


class ChallengeError(ValueError):
    """A request the rules refuse; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class NotFoundError(LookupError):
    """Does not exist for this person (whether or not it exists at all)."""


class NotYetError(Forbidden):
    """Refused for now, whoever asks: the page opens at a time (a phase, a date), and
    no role would open it sooner for this person. The error page says when, and does
    not send them to ask for a role."""


def error_response(status: int, message: str | None, fields: dict | None = None, code: str | None = None):
    """The JSON error answered under /api: `fields` maps a parameter to its messages."""
    body = {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": message or "",
            "fields": fields or {},
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ideas"'
    return response
