"""Phase rules, schedules and visibility, tested without an app."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from ideas.challenges import policy
from ideas.challenges.policy import Action

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
    assert policy.phase_allows(challenge(phase), action, NOW) == (action in EXPECTED[phase])


def test_overlap_lets_submission_continue_into_voting():
    c = challenge("voting", allow_overlap=True, submission_ends_at=NOW + timedelta(hours=1))
    assert policy.phase_allows(c, Action.SUBMIT, NOW) and policy.phase_allows(c, Action.VOTE, NOW)
    assert not policy.phase_allows(c, Action.SUBMIT, NOW + timedelta(hours=2))


def test_due_steps_pass_through_every_missed_phase():
    c = challenge("draft", opens_at=NOW - timedelta(days=3), voting_at=NOW - timedelta(days=2),
                  review_at=NOW - timedelta(days=1), closes_at=NOW + timedelta(days=1))
    steps = policy.due_steps(c, NOW)
    assert [(str(a), str(b)) for a, b, _ in steps] == [("draft", "submission"), ("submission", "voting"),
                                                        ("voting", "review")]
    assert policy.due_steps(challenge("draft", published_at=None, opens_at=NOW - timedelta(days=1)), NOW) == []


@pytest.mark.parametrize("phase,targets", [
    ("draft", {"submission"}), ("submission", {"voting"}), ("voting", {"review", "submission"}),
    ("review", {"closed", "voting"}), ("closed", {"review"}),
])
def test_manual_targets(phase, targets):
    assert {str(t) for t in policy.manual_targets(phase)} == targets


def test_schedule_problems():
    d = [NOW + timedelta(days=i) for i in range(6)]
    assert policy.schedule_problems(policy.Schedule(d[0], None, d[1], d[2], d[3])) == {}
    assert "voting_at" in policy.schedule_problems(policy.Schedule(d[2], None, d[1], d[3], d[4]))
    assert "closes_at" in policy.schedule_problems(policy.Schedule(d[0], None, d[1], d[3], d[2]))
    overlap = policy.Schedule(d[0], d[2], d[1], d[3], d[4])
    assert "submission_ends_at" in policy.schedule_problems(overlap)
    assert policy.schedule_problems(policy.Schedule(d[0], d[2], d[1], d[3], d[4], allow_overlap=True)) == {}
