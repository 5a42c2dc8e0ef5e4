"""The site's clock. Tests replace it so deadlines and phases can be driven."""
from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (None thaws it)."""
    global _frozen
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock takes timezone-aware times")
    _frozen = value


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
