"""Attachments: images and PDFs, recognised by their content, never by their name alone.

Files are stored under the uploads folder by content hash and served with headers
that stop a browser from running anything in them (nosniff, a sandboxing CSP, and
PDFs as downloads)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, select

from ideas.challenges.models import Attachment
from ideas.errors import ChallengeError
from ideas.extensions import db

MAX_SIZE = 5 * 1024 * 1024
MAX_PER_IDEA = 10

# What the bytes say the file is, and the names that may go with it.
KINDS = {
    "image/png": ((b"\x89PNG\r\n\x1a\n",), {".png"}),
    "image/jpeg": ((b"\xff\xd8\xff",), {".jpg", ".jpeg"}),
    "image/gif": ((b"GIF87a", b"GIF89a"), {".gif"}),
    "image/webp": ((), {".webp"}),  # RIFF....WEBP, checked below
    "application/pdf": ((b"%PDF-",), {".pdf"}),
}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for kind, (magics, _) in KINDS.items():
        if any(data.startswith(m) for m in magics):
            return kind
    return None


def check(filename: str, data: bytes, *, images_only: bool = False, field: str = "attachment") -> str:
    """The file's real type, or a ChallengeError saying what is wrong with it."""
    if not data:
        raise ChallengeError("The file is empty.", field=field)
    if len(data) > MAX_SIZE:
        raise ChallengeError(f"The file is larger than {MAX_SIZE // (1024 * 1024)} MB.", field=field)
    kind = sniff(data)
    allowed = IMAGE_TYPES if images_only else set(KINDS)
    if kind is None or kind not in allowed:
        wanted = "an image (PNG, JPEG, GIF or WebP)" if images_only else "an image (PNG, JPEG, GIF, WebP) or a PDF"
        raise ChallengeError(f"This file is not {wanted}.", field=field)
    suffix = Path(filename or "").suffix.lower()
    if suffix not in KINDS[kind][1]:
        raise ChallengeError(
            f"The file is named {suffix or 'without an extension'} but its content is {kind}.", field=field
        )
    return kind


def _store(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(current_app.config["IDEAS_UPLOADS"]) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest


def add_to_idea(idea, uploader, filename: str, data: bytes) -> Attachment:
    kind = check(filename, data)
    count = db.session.scalar(
        select(db.func.count(Attachment.id)).where(Attachment.idea_id == idea.id)
    )
    if count >= MAX_PER_IDEA:
        raise ChallengeError(f"An idea has at most {MAX_PER_IDEA} attachments.", field="attachment")
    row = Attachment(
        challenge_id=idea.challenge_id, idea_id=idea.id, purpose="idea", uploader_id=uploader.id,
        filename=_safe_name(filename), content_type=kind, size=len(data), sha256=_store(data),
    )
    db.session.add(row)
    db.session.flush()
    return row


def set_cover(challenge, uploader, filename: str, data: bytes) -> Attachment:
    kind = check(filename, data, images_only=True, field="cover")
    row = Attachment(
        challenge_id=challenge.id, purpose="cover", uploader_id=uploader.id,
        filename=_safe_name(filename), content_type=kind, size=len(data), sha256=_store(data),
    )
    db.session.add(row)
    db.session.flush()
    return row


def cover_of(challenge) -> Attachment | None:
    return db.session.scalar(
        select(Attachment).where(Attachment.challenge_id == challenge.id, Attachment.purpose == "cover")
        .order_by(Attachment.id.desc()).limit(1)
    )


def of_idea(idea) -> list[dict]:
    """What the idea page lists of each attachment (columns, not whole rows)."""
    return [row._asdict() for row in db.session.execute(_OF_IDEA, {"idea_id": idea.id})]


# Read on every idea page: built once (building costs more than the read on SQLite).
_OF_IDEA = (select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size)
            .where(Attachment.idea_id == bindparam("idea_id")).order_by(Attachment.id))


def path_of(row: Attachment) -> Path:
    return Path(current_app.config["IDEAS_UPLOADS"]) / row.sha256[:2] / row.sha256


def _safe_name(filename: str) -> str:
    name = Path(filename or "file").name
    keep = "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip() or "file"
    return keep[-200:]
