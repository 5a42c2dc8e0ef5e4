"""Working-day deadlines, the escalation ladder and waiting times, without an app."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ideas.review import timing
from ideas.review.timing import (
    ESCALATION,
    REMINDER,
    add_working_days,
    levels_due,
    in_days,
    stage_waits,
)

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

MON = datetime(2031, 3, 3, 9, 30, tzinfo=UTC)
FRI = MON + timedelta(days=4)
SAT = MON + timedelta(days=5)
SUN = MON + timedelta(days=6)


def test_the_calendar_is_what_we_think() -> None:
    assert [d.strftime("%a") for d in (MON, FRI, SAT, SUN)] == ["Mon", "Fri", "Sat", "Sun"]


@pytest.mark.parametrize(("start", "days", "expected"), [
    (MON, 5, MON + timedelta(days=7)),  # Mon → next Mon
    (MON, 4, FRI),
    (FRI, 1, MON + timedelta(days=7)),  # Friday + 1 is Monday
    (FRI, 5, FRI + timedelta(days=7)),  # over one weekend
    (SAT, 5, FRI + timedelta(days=7)),  # made on a Saturday: Mon–Fri of the next week
    (SUN, 1, MON + timedelta(days=7)),
    (MON, 10, MON + timedelta(days=14)),  # two weekends
    (MON, 0, MON),
])
def test_add_working_days_skips_saturdays_and_sundays(start, days, expected) -> None:
    assert add_working_days(start, days) == expected
    assert add_working_days(start, days).time() == start.time()


def test_a_deadline_never_lands_on_a_weekend() -> None:
    for offset in range(14):
        for days in range(1, 8):
            assert timing.is_working_day(add_working_days(MON + timedelta(days=offset), days))


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(MON, -1)


def test_the_ladder_reminds_at_the_deadline_and_escalates_a_working_day_later() -> None:
    due = FRI.replace(hour=17)
    assert levels_due(due, due - timedelta(seconds=1)) == []
    assert levels_due(due, due) == [REMINDER]  # the exact boundary counts
    # A Friday deadline escalates on Monday, not on Saturday.
    assert levels_due(due, SAT.replace(hour=18)) == [REMINDER]
    monday = due + timedelta(days=3)
    assert levels_due(due, monday - timedelta(seconds=1)) == [REMINDER]
    assert levels_due(due, monday) == [REMINDER, ESCALATION]


def test_a_level_once_recorded_is_never_due_again() -> None:
    due = MON
    later = MON + timedelta(days=30)
    assert levels_due(due, later, done=[REMINDER]) == [ESCALATION]
    assert levels_due(due, later, done=[REMINDER, ESCALATION]) == []


def test_stage_waits_read_the_grouped_rows_in_path_order() -> None:
    rows = [{"state": "in_review", "stays": 2, "total_seconds": 10 * 86400.0, "longest_seconds": 7 * 86400.0,
             "finished": 1, "finished_seconds": 3 * 86400.0,
             "longest_finished_seconds": 3 * 86400.0, "waiting": 1, "longest_waiting_seconds": 7 * 86400.0},
            {"state": "shortlisted", "stays": 2, "total_seconds": 4 * 86400.0, "longest_seconds": 3 * 86400.0,
             "finished": 2, "finished_seconds": 4 * 86400.0,
             "longest_finished_seconds": 3 * 86400.0, "waiting": 0, "longest_waiting_seconds": None},
            {"state": "declined", "finished": 0, "waiting": 1}]
    waits = stage_waits(rows, ["shortlisted", "in_review", "accepted", "declined"], terminal=["declined"])
    assert [w.state for w in waits] == ["shortlisted", "in_review", "accepted"]  # "declined" is an end
    shortlisted, in_review, accepted = waits
    assert shortlisted.finished == 2 and shortlisted.average == timedelta(days=2)
    assert shortlisted.longest == timedelta(days=3) and shortlisted.waiting == 0
    assert in_review.finished == 1 and in_review.waiting == 1 and in_review.longest_waiting == timedelta(days=7)
    # The stay still going on counts up to now: a stage where ideas get stuck shows it.
    assert in_review.average == timedelta(days=5) and in_review.longest == timedelta(days=7)
    assert accepted.stays == 0 and accepted.average is None  # nobody went through it


def test_stage_times_read_in_days_under_a_heading_in_days() -> None:
    assert in_days(timedelta(hours=38)) == "1.6" and in_days(timedelta(hours=24)) == "1.0"
    assert in_days(None) == "—"


@pytest.mark.parametrize(("delta", "text"), [
    (None, "—"), (timedelta(minutes=5), "under an hour"), (timedelta(hours=1), "1 hour"),
    (timedelta(hours=30), "30 hours"), (timedelta(days=3, hours=2), "3 days"),
])
def test_waiting_times_read_like_words(delta, text) -> None:
    assert timing.describe(delta) == text
