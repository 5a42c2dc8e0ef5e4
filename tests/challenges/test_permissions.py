"""Phase rules, schedules and visibility, tested without an app."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from ideas.challenges import permissions
from ideas.challenges.permissions import Action

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

NOW = datetime(2026, 9, 15, tzinfo=UTC)
ALL_ACTIONS = [Action.SUBMIT, Action.EDIT, Action.WITHDRAW, Action.COMMENT, Action.VOTE, Action.FLAG]
EXPECTED = {
    "draft": set(),
    "submission": {Action.SUBMIT, Action.EDIT, Action.WITHDRAW, Action.COMMENT, Action.FLAG},
    "voting": {Action.VOTE, Action.WITHDRAW, Action.COMMENT, Action.FLAG},
    "review": {Action.COMMENT, Action.FLAG},
    "closed": set(),
}


def challenge(phase="submission", **kw):
    base = dict(phase=phase, allow_overlap=False, submission_ends_at=None, published_at=NOW - timedelta(days=30),
                opens_at=None, voting_at=None, review_at=None, closes_at=None, pool_mode="blended",
                cross_visibility=False, staff_ids=lambda role=None: set())
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("phase", list(EXPECTED))
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_phase_action_matrix(phase, action):
    assert permissions.phase_allows(challenge(phase), action, NOW) == (action in EXPECTED[phase])


def test_overlap_lets_submission_continue_into_voting():
    c = challenge("voting", allow_overlap=True, submission_ends_at=NOW + timedelta(hours=1))
    assert permissions.phase_allows(c, Action.SUBMIT, NOW) and permissions.phase_allows(c, Action.VOTE, NOW)
    assert not permissions.phase_allows(c, Action.SUBMIT, NOW + timedelta(hours=2))


def test_due_steps_pass_through_every_missed_phase():
    c = challenge("draft", opens_at=NOW - timedelta(days=3), voting_at=NOW - timedelta(days=2),
                  review_at=NOW - timedelta(days=1), closes_at=NOW + timedelta(days=1))
    steps = permissions.due_steps(c, NOW)
    assert [(str(a), str(b)) for a, b, _ in steps] == [("draft", "submission"), ("submission", "voting"),
                                                        ("voting", "review")]
    assert permissions.due_steps(challenge("draft", published_at=None, opens_at=NOW - timedelta(days=1)), NOW) == []


@pytest.mark.parametrize("phase,targets", [
    ("draft", {"submission"}), ("submission", {"voting"}), ("voting", {"review", "submission"}),
    ("review", {"closed", "voting"}), ("closed", {"review"}),
])
def test_manual_targets(phase, targets):
    assert {str(t) for t in permissions.manual_targets(phase)} == targets


def test_schedule_problems():
    d = [NOW + timedelta(days=i) for i in range(6)]
    assert permissions.schedule_problems(permissions.Schedule(d[0], None, d[1], d[2], d[3])) == {}
    assert "voting_at" in permissions.schedule_problems(permissions.Schedule(d[2], None, d[1], d[3], d[4]))
    assert "closes_at" in permissions.schedule_problems(permissions.Schedule(d[0], None, d[1], d[3], d[2]))
    overlap = permissions.Schedule(d[0], d[2], d[1], d[3], d[4])
    assert "submission_ends_at" in permissions.schedule_problems(overlap)
    assert permissions.schedule_problems(permissions.Schedule(d[0], d[2], d[1], d[3], d[4], allow_overlap=True)) == {}
