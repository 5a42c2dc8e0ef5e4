"""How a webhook request proves it comes from this site, and when it was sent.  Pure.

    X-Ideas-Timestamp: 1794232800
    X-Ideas-Signature: sha256=<hex HMAC-SHA256 of "1794232800." + the raw body, keyed with the secret>

The timestamp is inside the signed material, so a receiver that refuses timestamps
older than a few minutes cannot be fed a recorded request again later; the body
carries the delivery's id, which the receiver uses to ignore a retry it has already
processed.  docs/webhooks.md has the receiver's side."""
from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "sha256"
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signed_material(timestamp: int, body: bytes) -> bytes:
    return str(int(timestamp)).encode("ascii") + b"." + body


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Ideas-Signature header's value."""
    digest = hmac.new(secret.encode("utf-8"), signed_material(timestamp, body), hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify(secret: str, body: bytes, timestamp: str | None, header: str | None, *, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the timestamp is recent and the signature matches (in constant time)."""
    if not timestamp or not header:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header.strip())
