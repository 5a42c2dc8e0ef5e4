"""The review state machine: where a shortlisted idea can go, and who may move it.

Pure on purpose (no Flask, no database): services call `apply()` before they
touch a row, so an illegal move is refused before anything changes half-way,
and the whole matrix is tested without an app.  The model builds its check
constraint from `ALL_STATES`, so the database and this table cannot disagree
about which states exist.

Choices the table encodes:

* Un-shortlisting is not a transition.  The author has already been told the
  idea is shortlisted; quietly taking it back would leave the idea ending
  nowhere visible.  A mistaken shortlist goes into review and is declined or
  parked with a reason the author can read.
* Reviewers score; they never move the state.  Deciding is the manager's.
* A progress update is not a transition, so `in_progress -> in_progress` is
  absent from the table and refused like any other unlisted move.
* After an owner declines a handoff the manager may hand it to someone else
  or, when nobody can take it, park it with a reason, so the idea does not
  sit in a dead end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ReviewState(StrEnum):
    SHORTLISTED = "shortlisted"
    IN_REVIEW = "in_review"
    # The three decisions: "decided" is one of these, never a state of its own.
    ACCEPTED = "accepted"
    DECLINED = "declined"
    PARKED = "parked"
    HANDED_OFF = "handed_off"
    HANDOFF_DECLINED = "handoff_declined"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    DROPPED = "dropped"


class Role(StrEnum):
    """Who acts on the review.  StrEnum, so plain strings in `actor_roles` match."""

    MANAGER = "manager"
    REVIEWER = "reviewer"
    OWNER = "owner"


# Declaration order is the path an idea normally follows; pages and the
# check constraint keep it so they read in the same order.
ALL_STATES: tuple[ReviewState, ...] = tuple(ReviewState)
INITIAL_STATE = ReviewState.SHORTLISTED
DECISIONS: frozenset[ReviewState] = frozenset(
    {ReviewState.ACCEPTED, ReviewState.DECLINED, ReviewState.PARKED}
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed move: what it is called, who may make it, whether it needs a reason."""

    action: str
    roles: frozenset[str]
    reason_required: bool


def _rule(action: str, *roles: Role, reason: bool = False) -> Rule:
    return Rule(action=action, roles=frozenset(roles), reason_required=reason)


S = ReviewState
M, O = Role.MANAGER, Role.OWNER

# (from, to) -> rule.  Anything not listed is refused.
TRANSITIONS: Mapping[tuple[ReviewState, ReviewState], Rule] = MappingProxyType(
    {
        (S.SHORTLISTED, S.IN_REVIEW): _rule("start review", M),
        # Every decision carries a reason: the author is owed one (principle 1).
        (S.IN_REVIEW, S.ACCEPTED): _rule("accept", M, reason=True),
        (S.IN_REVIEW, S.DECLINED): _rule("decline", M, reason=True),
        (S.IN_REVIEW, S.PARKED): _rule("park", M, reason=True),
        (S.PARKED, S.IN_REVIEW): _rule("revisit", M),
        (S.ACCEPTED, S.HANDED_OFF): _rule("hand off", M),
        (S.HANDED_OFF, S.ACKNOWLEDGED): _rule("acknowledge", O),
        # The manager needs to know why, to pick the next owner well.
        (S.HANDED_OFF, S.HANDOFF_DECLINED): _rule("decline handoff", O, reason=True),
        (S.HANDOFF_DECLINED, S.HANDED_OFF): _rule("hand off again", M),
        (S.HANDOFF_DECLINED, S.PARKED): _rule("park", M, reason=True),
        (S.ACKNOWLEDGED, S.IN_PROGRESS): _rule("start work", O),
        # Closing from acknowledged too: small ideas can be done without an update.
        (S.ACKNOWLEDGED, S.DELIVERED): _rule("deliver", O, reason=True),
        (S.ACKNOWLEDGED, S.DROPPED): _rule("drop", O, reason=True),
        (S.IN_PROGRESS, S.DELIVERED): _rule("deliver", O, reason=True),
        (S.IN_PROGRESS, S.DROPPED): _rule("drop", O, reason=True),
    }
)
del S, M, O

TERMINAL_STATES: frozenset[ReviewState] = frozenset(
    state for state in ALL_STATES if not any(src == state for src, _ in TRANSITIONS)
)

# What the author reads on their idea's timeline.  Internal churn (an owner
# turning the handoff down) is staff business, so the author only learns that
# an owner is still being found.
AUTHOR_LABELS: Mapping[ReviewState, str] = MappingProxyType(
    {
        ReviewState.SHORTLISTED: "Shortlisted for review",
        ReviewState.IN_REVIEW: "In review",
        ReviewState.ACCEPTED: "Accepted",
        ReviewState.DECLINED: "Declined",
        ReviewState.PARKED: "Parked for later",
        ReviewState.HANDED_OFF: "Handed to an R&D owner",
        ReviewState.HANDOFF_DECLINED: "Accepted, finding an R&D owner",
        ReviewState.ACKNOWLEDGED: "Taken on by an R&D owner",
        ReviewState.IN_PROGRESS: "In progress",
        ReviewState.DELIVERED: "Delivered",
        ReviewState.DROPPED: "Dropped",
    }
)

# What the staff read in the review's log: "Mani Manager started the review".  Keyed by
# the rule's action, plus "shortlisted" for the first entry; `{owner}` is the person the
# idea was handed to.
DONE: Mapping[str, str] = MappingProxyType(
    {
        "shortlisted": "shortlisted the idea",
        "start review": "started the review",
        "accept": "accepted the idea",
        "decline": "declined the idea",
        "park": "parked the idea",
        "revisit": "took the idea back into review",
        "hand off": "handed it off to {owner}",
        "acknowledge": "acknowledged the handoff",
        "decline handoff": "declined the handoff",
        "hand off again": "handed it off again, to {owner}",
        "start work": "started work",
        "deliver": "closed it as delivered",
        "drop": "closed it as dropped",
    }
)


def done_sentence(action: str, actor: str | None, owner: str | None = None) -> str:
    """One step of the log in plain words, e.g. "Oskar Owner acknowledged the handoff"
    (or "Started work" when nobody is named, a step the scheduler took)."""
    words = DONE.get(action, action).format(owner=owner or "an R&D owner")
    return f"{actor} {words}" if actor else words[:1].upper() + words[1:]


# Staff-facing names for error messages; plain words rather than enum values.
_STAFF_LABELS: Mapping[ReviewState, str] = MappingProxyType(
    {state: state.value.replace("_", " ") for state in ALL_STATES}
)


def check_constraint_sql(column: str = "state") -> str:
    """SQL for a CHECK constraint limiting `column` to the known states."""
    values = ", ".join(f"'{state.value}'" for state in ALL_STATES)
    return f"{column} IN ({values})"


CHECK_CONSTRAINT_SQL = check_constraint_sql()


class WorkflowError(Exception):
    """A move the review workflow refuses; the message is fit to show staff."""

    def __init__(self, message: str, current: str, target: str) -> None:
        super().__init__(message)
        self.current = current
        self.target = target


class IllegalTransitionError(WorkflowError):
    pass


class NotAllowedError(WorkflowError):
    pass


class ReasonRequiredError(WorkflowError):
    pass


@dataclass(frozen=True, slots=True)
class Transition:
    """A move that passed every check, ready to be applied and logged."""

    from_state: ReviewState
    to_state: ReviewState
    reason: str | None


def _label(state: ReviewState | str) -> str:
    try:
        return _STAFF_LABELS[ReviewState(state)]
    except ValueError:
        return repr(state)


def _coerce(state: ReviewState | str, current: object, target: object) -> ReviewState:
    # Values may come straight from a row or a form; an unknown one is an
    # illegal move, not a crash.
    try:
        return ReviewState(state)
    except ValueError:
        raise IllegalTransitionError(
            f"{state!r} is not a review state.", str(current), str(target)
        ) from None


def apply(
    current: ReviewState | str,
    to: ReviewState | str,
    *,
    actor_roles: Iterable[str],
    reason: str | None,
) -> Transition:
    """Check one move against the table and return it, or raise a WorkflowError.

    Legality is checked before the role, and the role before the reason, so
    someone who may not make a move is never asked for a reason for it.
    """
    src = _coerce(current, current, to)
    dst = _coerce(to, current, to)
    rule = TRANSITIONS.get((src, dst))
    if rule is None:
        raise IllegalTransitionError(
            f"An idea cannot go from {_label(src)} to {_label(dst)}.", src, dst
        )
    if rule.roles.isdisjoint(actor_roles):
        who = " or ".join(
            f"{'an' if role[0] in 'aeiou' else 'a'} {role}" for role in sorted(rule.roles)
        )
        raise NotAllowedError(
            f"Only {who} may {rule.action} "
            f"(from {_label(src)} to {_label(dst)}).",
            src,
            dst,
        )
    cleaned = reason.strip() if reason else ""
    if rule.reason_required and not cleaned:
        raise ReasonRequiredError(
            f"Moving an idea from {_label(src)} to {_label(dst)} needs a reason.",
            src,
            dst,
        )
    return Transition(from_state=src, to_state=dst, reason=cleaned or None)


def allowed_targets(
    current: ReviewState | str, actor_roles: Iterable[str]
) -> list[ReviewState]:
    """States these roles may move the idea to, in path order (for buttons)."""
    src = ReviewState(current)
    roles = frozenset(actor_roles)
    return [
        dst
        for dst in ALL_STATES
        if (rule := TRANSITIONS.get((src, dst))) is not None
        and not rule.roles.isdisjoint(roles)
    ]


def rule_for(current: ReviewState | str, to: ReviewState | str) -> Rule | None:
    """The rule for a move, e.g. to know whether a form must ask for a reason."""
    try:
        return TRANSITIONS.get((ReviewState(current), ReviewState(to)))
    except ValueError:
        return None


def is_terminal(state: ReviewState | str) -> bool:
    return ReviewState(state) in TERMINAL_STATES


def author_label(state: ReviewState | str) -> str:
    return AUTHOR_LABELS[ReviewState(state)]
