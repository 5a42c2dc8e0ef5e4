"""Whole numbers from outside (URLs, query strings, form fields) bounded to what the
database holds: PostgreSQL's INTEGER is 32-bit, and SQLite's 64-bit, so one bound for both.

A number beyond it can never name a stored row nor be a sensible quantity: it is refused
here, at the edge, with a message next to its field (or treated as "not found" where it
is an id), instead of overflowing inside the database driver as a 500."""
from __future__ import annotations

from wtforms import IntegerField as _IntegerField

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
TOO_LARGE = "This number is too large."


def in_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def db_int(raw) -> int:
    """int() for `request.args.get(name, type=db_int)`: a value out of range raises
    ValueError, so werkzeug gives the default instead."""
    text = str(raw).strip()
    if len(text) > 11:  # also spares int() a megabyte of digits
        raise ValueError(TOO_LARGE)
    value = int(text)
    if not in_range(value):
        raise ValueError(TOO_LARGE)
    return value


def id_or_none(raw) -> int | None:
    """A stored row's id (digits only, in range), or None for anything else."""
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or not text.isascii():
        return None
    try:
        return db_int(text)
    except ValueError:
        return None


class IntegerField(_IntegerField):
    """wtforms' IntegerField, refusing what the database cannot hold with a message next
    to the field; what was typed is shown back as typed."""

    def process_formdata(self, valuelist):
        if valuelist and len(str(valuelist[0]).strip()) > 11:
            self.data = None
            raise ValueError(TOO_LARGE)
        super().process_formdata(valuelist)
        if self.data is not None and not in_range(self.data):
            self.data = None
            raise ValueError(TOO_LARGE)
