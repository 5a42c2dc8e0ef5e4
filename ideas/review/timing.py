"""Deadlines in working days, which escalations are due, and how long ideas wait.

Pure (no Flask, no database), so the calendar and the escalation ladder are
tested without an app and the scheduler only has to find rows and record them.
Times are UTC, like every time the site stores; a working day is Monday to Friday.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

ACK_WORKING_DAYS = 5  # an owner's time to acknowledge a handoff
ESCALATION_GRACE_WORKING_DAYS = 1  # after the reminder, before the managers are told
REVIEW_WORKING_DAYS = 10  # a reviewer's time to send a scorecard

REMINDER = "reminder"
ESCALATION = "escalation"
LEVELS = (REMINDER, ESCALATION)


def is_working_day(moment: datetime) -> bool:
    return moment.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start`, at the same time of day.

    Each step moves to the next weekday, so Friday + 1 is Monday and a handoff
    made on a Saturday is due on the Friday after (5 working days: Mon–Fri)."""
    if days < 0:
        raise ValueError("count working days forwards")
    moment = start
    left = days
    while left:
        moment += timedelta(days=1)
        if is_working_day(moment):
            left -= 1
    return moment


def escalation_at(ack_due_at: datetime, grace: int = ESCALATION_GRACE_WORKING_DAYS) -> datetime:
    """When a still-unanswered handoff goes to the managers."""
    return add_working_days(ack_due_at, grace)


def levels_due(ack_due_at: datetime, now: datetime, done: Iterable[str] = ()) -> list[str]:
    """The escalation levels a pending handoff has reached by `now` and not yet had.

    At the deadline itself the owner is reminded; one working day later the
    managers are told.  A level once recorded is never due again."""
    done = set(done)
    due = []
    if now >= ack_due_at:
        due.append(REMINDER)
    if now >= escalation_at(ack_due_at):
        due.append(ESCALATION)
    return [level for level in due if level not in done]


# --- waiting times ---------------------------------------------------------------

@dataclass
class StageWait:
    """How long ideas stay in one review stage: the one definition, for the review
    dashboard and the insight dashboards alike.  A stay still going on counts up to now,
    so a stage where ideas get stuck shows it before any of them leaves."""

    state: str
    stays: int = 0  # stays begun here, ended or still going on
    total: timedelta = timedelta(0)  # over every stay
    longest: timedelta = timedelta(0)  # the longest stay, ended or not
    finished: int = 0  # stays that ended
    finished_total: timedelta = timedelta(0)
    longest_finished: timedelta = timedelta(0)
    waiting: int = 0  # ideas in this state now
    longest_waiting: timedelta = timedelta(0)

    @property
    def average(self) -> timedelta | None:
        return self.total / self.stays if self.stays else None


def stage_waits(rows: Iterable[Mapping[str, object]], states: Sequence[str],
                terminal: Iterable[str] = ()) -> list[StageWait]:
    """Stays per state, in `states` order, from the grouped rows of
    `review.stages.stage_times`.  Terminal states are where ideas end, not where they wait."""
    terminal = set(terminal)
    found = {str(row["state"]): row for row in rows}

    def span(value) -> timedelta:
        return timedelta(seconds=float(value or 0.0))

    waits = []
    for state in states:
        if state in terminal:
            continue
        row = found.get(state, {})
        waits.append(StageWait(state, stays=int(row.get("stays") or 0), total=span(row.get("total_seconds")),
                               longest=span(row.get("longest_seconds")),
                               finished=int(row.get("finished") or 0),
                               finished_total=span(row.get("finished_seconds")),
                               longest_finished=span(row.get("longest_finished_seconds")),
                               waiting=int(row.get("waiting") or 0),
                               longest_waiting=span(row.get("longest_waiting_seconds"))))
    return waits


def in_days(delta: timedelta | None) -> str:
    """“7.6”: a stage time for a column headed in days (both dashboards)."""
    return "—" if delta is None else f"{delta.total_seconds() / 86400:.1f}"


def describe(delta: timedelta | None) -> str:
    """“3 days”, “5 hours”, “under an hour”: waiting times for people, not machines."""
    if delta is None:
        return "—"
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return "under an hour"
    if hours < 48:
        n = int(hours)
        return f"{n} hour{'s' if n != 1 else ''}"
    days = int(hours // 24)
    return f"{days} days"
