"""The API's one error shape: {"error": {"code", "message", "fields"}}."""
from __future__ import annotations

from flask import jsonify

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


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, "error")


def error_response(status: int, message: str | None, fields: dict | None = None, code: str | None = None):
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
