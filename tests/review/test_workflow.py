"""The full transition matrix of the review workflow, without an app.

The expected table is written out here in plain strings rather than read from
`TRANSITIONS`, so a change to the module's table has to be made twice, on
purpose, to pass.
"""

from __future__ import annotations

import itertools

import pytest

from ideas.review import workflow
from ideas.review.workflow import (
    ALL_STATES,
    CHECK_CONSTRAINT_SQL,
    INITIAL_STATE,
    TRANSITIONS,
    IllegalTransitionError,
    NotAllowedError,
    ReasonRequiredError,
    ReviewState,
    Transition,
    WorkflowError,
    allowed_targets,
    apply,
    author_label,
    check_constraint_sql,
    is_terminal,
)

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

ROLES = ("manager", "reviewer", "owner")
EVERYONE = frozenset(ROLES)

# (from, to) -> (the one role that may make the move, reason required)
EXPECTED: dict[tuple[str, str], tuple[str, bool]] = {
    ("shortlisted", "in_review"): ("manager", False),
    ("in_review", "accepted"): ("manager", True),
    ("in_review", "declined"): ("manager", True),
    ("in_review", "parked"): ("manager", True),
    ("parked", "in_review"): ("manager", False),
    ("accepted", "handed_off"): ("manager", False),
    ("handed_off", "acknowledged"): ("owner", False),
    ("handed_off", "handoff_declined"): ("owner", True),
    ("handoff_declined", "handed_off"): ("manager", False),
    ("handoff_declined", "parked"): ("manager", True),
    ("acknowledged", "in_progress"): ("owner", False),
    ("acknowledged", "delivered"): ("owner", True),
    ("acknowledged", "dropped"): ("owner", True),
    ("in_progress", "delivered"): ("owner", True),
    ("in_progress", "dropped"): ("owner", True),
}
EXPECTED_TERMINAL = {"declined", "delivered", "dropped"}

PAIRS = list(itertools.product(ALL_STATES, ALL_STATES))
ALLOWED = [pair for pair in PAIRS if (pair[0].value, pair[1].value) in EXPECTED]
REFUSED = [pair for pair in PAIRS if (pair[0].value, pair[1].value) not in EXPECTED]
NEEDS_REASON = [pair for pair in ALLOWED if EXPECTED[pair[0].value, pair[1].value][1]]
BLANK_REASONS = [None, "", " ", "\t\n  "]


def _ids(pair: tuple[ReviewState, ReviewState]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_states_use_the_product_words() -> None:
    assert [s.value for s in ALL_STATES] == [
        "shortlisted",
        "in_review",
        "accepted",
        "declined",
        "parked",
        "handed_off",
        "handoff_declined",
        "acknowledged",
        "in_progress",
        "delivered",
        "dropped",
    ]
    assert INITIAL_STATE is ReviewState.SHORTLISTED


def test_table_matches_the_expected_table() -> None:
    actual = {
        (src.value, dst.value): (set(rule.roles), rule.reason_required)
        for (src, dst), rule in TRANSITIONS.items()
    }
    assert actual == {pair: ({role}, reason) for pair, (role, reason) in EXPECTED.items()}


@pytest.mark.parametrize("pair", ALLOWED, ids=_ids)
def test_allowed_move_succeeds_for_its_role(pair: tuple[ReviewState, ReviewState]) -> None:
    src, dst = pair
    role, _ = EXPECTED[src.value, dst.value]
    transition = apply(src, dst, actor_roles=frozenset({role}), reason="  because  ")
    assert transition == Transition(from_state=src, to_state=dst, reason="because")


@pytest.mark.parametrize("pair", REFUSED, ids=_ids)
def test_every_other_move_is_illegal_even_for_everyone(
    pair: tuple[ReviewState, ReviewState],
) -> None:
    src, dst = pair
    with pytest.raises(IllegalTransitionError) as excinfo:
        apply(src, dst, actor_roles=EVERYONE, reason="a good reason")
    message = str(excinfo.value)
    assert src.value.replace("_", " ") in message
    assert dst.value.replace("_", " ") in message


@pytest.mark.parametrize("pair", NEEDS_REASON, ids=_ids)
@pytest.mark.parametrize("reason", BLANK_REASONS, ids=repr)
def test_blank_reason_is_refused_where_one_is_required(
    pair: tuple[ReviewState, ReviewState], reason: str | None
) -> None:
    src, dst = pair
    with pytest.raises(ReasonRequiredError) as excinfo:
        apply(src, dst, actor_roles=EVERYONE, reason=reason)
    assert "reason" in str(excinfo.value)


@pytest.mark.parametrize(
    "pair", [p for p in ALLOWED if p not in NEEDS_REASON], ids=_ids
)
@pytest.mark.parametrize("reason", BLANK_REASONS, ids=repr)
def test_reason_is_optional_elsewhere_and_blank_becomes_none(
    pair: tuple[ReviewState, ReviewState], reason: str | None
) -> None:
    src, dst = pair
    assert apply(src, dst, actor_roles=EVERYONE, reason=reason).reason is None


@pytest.mark.parametrize(
    ("pair", "role"),
    [
        (pair, role)
        for pair in ALLOWED
        for role in ROLES
        if role != EXPECTED[pair[0].value, pair[1].value][0]
    ],
    ids=lambda v: _ids(v) if isinstance(v, tuple) else v,
)
def test_wrong_role_is_refused(pair: tuple[ReviewState, ReviewState], role: str) -> None:
    src, dst = pair
    with pytest.raises(NotAllowedError):
        apply(src, dst, actor_roles=frozenset({role}), reason="a good reason")


@pytest.mark.parametrize("pair", ALLOWED, ids=_ids)
def test_no_role_is_refused_before_the_reason_is_asked_for(
    pair: tuple[ReviewState, ReviewState],
) -> None:
    src, dst = pair
    with pytest.raises(NotAllowedError):
        apply(src, dst, actor_roles=frozenset(), reason=None)


@pytest.mark.parametrize("state", ALL_STATES, ids=str)
def test_terminal_states_have_no_exits(state: ReviewState) -> None:
    assert is_terminal(state) is (state.value in EXPECTED_TERMINAL)
    if is_terminal(state):
        assert allowed_targets(state, EVERYONE) == []


@pytest.mark.parametrize("state", ALL_STATES, ids=str)
def test_allowed_targets_follow_the_table(state: ReviewState) -> None:
    for role in ROLES:
        expected = [
            dst
            for dst in ALL_STATES
            if EXPECTED.get((state.value, dst.value), ("", False))[0] == role
        ]
        assert allowed_targets(state, frozenset({role})) == expected


def test_every_state_is_reachable_and_every_open_state_can_move_on() -> None:
    # No idea may get stuck out of sight of its author (principle 1).
    reached = {INITIAL_STATE}
    frontier = [INITIAL_STATE]
    while frontier:
        state = frontier.pop()
        for dst in allowed_targets(state, EVERYONE):
            if dst not in reached:
                reached.add(dst)
                frontier.append(dst)
    assert reached == set(ALL_STATES)


def test_progress_update_is_not_a_transition() -> None:
    with pytest.raises(IllegalTransitionError):
        apply(
            ReviewState.IN_PROGRESS,
            ReviewState.IN_PROGRESS,
            actor_roles=EVERYONE,
            reason="half done",
        )


def test_plain_strings_from_the_database_are_accepted() -> None:
    transition = apply("in_review", "declined", actor_roles={"manager"}, reason="Out of scope")
    assert transition.from_state is ReviewState.IN_REVIEW
    assert transition.to_state is ReviewState.DECLINED
    assert transition.reason == "Out of scope"


@pytest.mark.parametrize(("src", "dst"), [("bogus", "in_review"), ("shortlisted", "decided")])
def test_unknown_state_is_an_illegal_move(src: str, dst: str) -> None:
    with pytest.raises(IllegalTransitionError):
        apply(src, dst, actor_roles=EVERYONE, reason="x")


def test_errors_share_one_base_and_a_readable_message() -> None:
    with pytest.raises(WorkflowError) as excinfo:
        apply("handed_off", "acknowledged", actor_roles={"manager"}, reason=None)
    assert str(excinfo.value) == (
        "Only an owner may acknowledge (from handed off to acknowledged)."
    )
    assert excinfo.value.current == "handed_off"
    assert excinfo.value.target == "acknowledged"


def test_transition_is_frozen() -> None:
    transition = apply("shortlisted", "in_review", actor_roles={"manager"}, reason=None)
    with pytest.raises(AttributeError):
        transition.reason = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("state", ALL_STATES, ids=str)
def test_every_state_has_author_wording(state: ReviewState) -> None:
    label = author_label(state)
    assert label and label == label.strip()


def test_author_never_reads_that_an_owner_turned_the_idea_down() -> None:
    assert "declin" not in author_label(ReviewState.HANDOFF_DECLINED).lower()


def test_check_constraint_lists_every_state() -> None:
    assert CHECK_CONSTRAINT_SQL == check_constraint_sql("state")
    assert CHECK_CONSTRAINT_SQL.startswith("state IN (")
    for state in ALL_STATES:
        assert f"'{state.value}'" in CHECK_CONSTRAINT_SQL
    assert check_constraint_sql("review_state").startswith("review_state IN (")


def test_every_move_has_a_sentence_for_the_staffs_log():
    actions = {rule.action for rule in workflow.TRANSITIONS.values()} | {"shortlisted"}
    assert actions <= set(workflow.DONE)
    assert workflow.done_sentence("start review", "Mani Manager") == "Mani Manager started the review"
    assert workflow.done_sentence("hand off", "Mani Manager", "Oskar Owner") == \
        "Mani Manager handed it off to Oskar Owner"
    assert workflow.done_sentence("start work", None) == "Started work"
