"""Pure rules of challenges: what each phase allows, who sees what, which dates make sense.

No queries here: callers pass the objects (or plain values) and get answers, so the
same rules serve pages, the API, search and notifications, and are tested without an app.
Where a list must be filtered in the database, the rule is also given as a WHERE clause
built from the same parts (`challenge_visibility`), never run here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, true

from ideas.challenges.models import (
    Challenge,
    ChallengeRole,
    ChallengeStaff,
    IdeaStatus,
    Phase,
    PoolMode,
)
from ideas.clock import as_utc

PHASE_ORDER = (Phase.DRAFT, Phase.SUBMISSION, Phase.VOTING, Phase.REVIEW, Phase.CLOSED)

# The date at which each phase begins.
PHASE_DATE = {
    Phase.SUBMISSION: "opens_at",
    Phase.VOTING: "voting_at",
    Phase.REVIEW: "review_at",
    Phase.CLOSED: "closes_at",
}


class Action:
    SUBMIT = "submit"  # create or publish an idea
    EDIT = "edit"  # change an idea's text
    WITHDRAW = "withdraw"
    COMMENT = "comment"
    VOTE = "vote"
    FLAG = "flag"


# What participants may do in each phase (managers act through their own tools).
PHASE_ALLOWS: dict[Phase, frozenset[str]] = {
    Phase.DRAFT: frozenset(),
    Phase.SUBMISSION: frozenset({Action.SUBMIT, Action.EDIT, Action.WITHDRAW, Action.COMMENT, Action.FLAG}),
    Phase.VOTING: frozenset({Action.VOTE, Action.WITHDRAW, Action.COMMENT, Action.FLAG}),
    Phase.REVIEW: frozenset({Action.COMMENT, Action.FLAG}),
    Phase.CLOSED: frozenset(),
}


def as_phase(value) -> Phase:
    return Phase(value)


def next_phase(phase) -> Phase | None:
    index = PHASE_ORDER.index(Phase(phase))
    return PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None


def allowed_actions(challenge, now: datetime) -> frozenset[str]:
    """What participants may do now. Submission may overlap voting when the manager allows it."""
    phase = Phase(challenge.phase)
    actions = set(PHASE_ALLOWS[phase])
    if (
        phase == Phase.VOTING
        and challenge.allow_overlap
        and challenge.submission_ends_at is not None
        and now < _aware(challenge.submission_ends_at)
    ):
        actions |= {Action.SUBMIT, Action.EDIT}
    return frozenset(actions)


def phase_allows(challenge, action: str, now: datetime) -> bool:
    return action in allowed_actions(challenge, now)


def due_steps(challenge, now: datetime) -> list[tuple[Phase, Phase, datetime]]:
    """The phase steps whose dates have passed, in order: (from, to, when it was due).

    Only published challenges move on their own; each step is returned separately so that
    a challenge that slept through several dates is logged passing through each of them.
    """
    if challenge.published_at is None:
        return []
    steps = []
    phase = Phase(challenge.phase)
    while (target := next_phase(phase)) is not None:
        due = getattr(challenge, PHASE_DATE[target])
        if due is None or _aware(due) > now:
            break
        steps.append((phase, target, _aware(due)))
        phase = target
    return steps


def manual_targets(phase) -> tuple[Phase, ...]:
    """A manager may move a challenge one step forward, or reopen the step before."""
    phase = Phase(phase)
    targets = []
    if (forward := next_phase(phase)) is not None:
        targets.append(forward)
    index = PHASE_ORDER.index(phase)
    if index >= 2:  # voting → submission, review → voting, closed → review
        targets.append(PHASE_ORDER[index - 1])
    return tuple(targets)


@dataclass(frozen=True)
class Schedule:
    opens_at: datetime | None
    submission_ends_at: datetime | None
    voting_at: datetime | None
    review_at: datetime | None
    closes_at: datetime | None
    allow_overlap: bool = False


def schedule_problems(s: Schedule) -> dict[str, str]:
    """Dates out of order, keyed by the field to show the message next to."""
    problems: dict[str, str] = {}
    order = [("opens_at", s.opens_at), ("voting_at", s.voting_at), ("review_at", s.review_at),
             ("closes_at", s.closes_at)]
    labels = {"opens_at": "submission opens", "voting_at": "voting opens", "review_at": "review starts",
              "closes_at": "the challenge closes"}
    previous = None
    for name, value in order:
        if value is None:
            continue
        if previous is not None and value <= previous[1]:
            problems[name] = f"Must be after {labels[previous[0]]}."
        previous = (name, value)
    if s.submission_ends_at is not None:
        if s.opens_at is not None and s.submission_ends_at <= s.opens_at:
            problems["submission_ends_at"] = "Must be after submission opens."
        elif s.voting_at is not None and s.submission_ends_at > s.voting_at and not s.allow_overlap:
            problems["submission_ends_at"] = (
                "Submission would still be open when voting starts: allow the overlap, or end it earlier."
            )
        elif s.review_at is not None and s.submission_ends_at > s.review_at:
            problems["submission_ends_at"] = "Must end before review starts."
    return problems


# --- who sees what ------------------------------------------------------------

def is_staff(user, challenge) -> bool:
    """Administrators and the challenge's own managers and moderators."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or user.id in challenge.staff_ids())


STAFF_ROLES = ("manager", "reviewer", "owner")


def is_internal_staff(user) -> bool:
    """Employees who review, own or manage ideas for the organisation: they read every
    published challenge and idea whatever its audience (never drafts or hidden content),
    because ideas from any pool may land in their review queue or on their desk."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pool != "employee":
        return False
    return any(user.has_role(role) for role in STAFF_ROLES)


def is_manager(user, challenge) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or user.id in challenge.staff_ids(ChallengeRole.MANAGER))


def is_moderator(user, challenge) -> bool:
    return is_staff(user, challenge)


def can_manage_challenge(user, challenge) -> bool:
    """Change a challenge's charter, settings, dates and people, publish it, move its
    phase by hand: its managers (and administrators)."""
    return is_manager(user, challenge)


def can_merge_ideas(user, challenge) -> bool:
    """Fold a duplicate idea into another of the same challenge: its managers."""
    return is_manager(user, challenge)


def user_pool(user) -> str:
    """Anonymous visitors read as outsiders."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "external"
    return user.pool


def pools_of(challenge) -> tuple[str, ...]:
    """The pools that take part in a challenge: a one-sided challenge has no other pool
    to show a column, a rank or a "0.0 (from 0)" for."""
    mode = PoolMode(challenge.pool_mode)
    if mode == PoolMode.EMPLOYEES_ONLY:
        return ("employee",)
    if mode == PoolMode.EXTERNALS_ONLY:
        return ("external",)
    return ("employee", "external")


def audience_modes(pool: str) -> tuple[PoolMode, ...]:
    """The pool modes of the challenges a pool takes part in."""
    own = PoolMode.EMPLOYEES_ONLY if pool == "employee" else PoolMode.EXTERNALS_ONLY
    return (PoolMode.SEPARATE, PoolMode.BLENDED, own)


def in_audience(user, challenge) -> bool:
    """May this person take part in a published challenge?"""
    return PoolMode(challenge.pool_mode) in audience_modes(user_pool(user))


def can_see_challenge(user, challenge) -> bool:
    """Its staff always; everybody else once it is published, if in its audience or internal staff.

    `challenge_visibility` is this same rule as a WHERE clause: change both together."""
    if is_staff(user, challenge):
        return True
    if challenge.published_at is None:
        return False
    return in_audience(user, challenge) or is_internal_staff(user)


def visibility_terms(user) -> list[ColumnElement[bool]]:
    """can_see_challenge(user, c) as WHERE terms on challenges, any one of which lets a
    challenge through: the challenges they run, and each audience's published ones."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    if authenticated and user.is_admin:
        return [true()]
    published = Challenge.published_at.is_not(None)
    terms = ([Challenge.id.in_(select(ChallengeStaff.challenge_id).where(ChallengeStaff.user_id == user.id))]
             if authenticated else [])
    if is_internal_staff(user):
        return [*terms, published]
    return [*terms, *(and_(published, Challenge.pool_mode == mode) for mode in audience_modes(user_pool(user)))]


def challenge_visibility(user) -> ColumnElement[bool]:
    """can_see_challenge(user, c) as one WHERE clause on challenges."""
    return or_(*visibility_terms(user))


def can_see_idea(user, idea) -> bool:
    challenge = idea.challenge
    if is_staff(user, challenge):
        return True
    if not can_see_challenge(user, challenge):
        return False
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    own = authenticated and (user.id in idea.author_ids() or _invited(user, idea))
    if own:
        return True
    if idea.status == IdeaStatus.DRAFT or idea.hidden_at is not None:
        return False
    return is_internal_staff(user) or pool_sees(user_pool(user), idea.pool, challenge)


def pool_sees(viewer_pool: str, idea_pool: str, challenge) -> bool:
    if PoolMode(challenge.pool_mode) == PoolMode.SEPARATE and not challenge.cross_visibility:
        return viewer_pool == idea_pool
    return True


def visible_pools(user, challenge) -> tuple[str, ...]:
    """Which pools' ideas this person may see in a published challenge (for queries)."""
    if is_staff(user, challenge) or is_internal_staff(user):
        return ("employee", "external")
    if PoolMode(challenge.pool_mode) == PoolMode.SEPARATE and not challenge.cross_visibility:
        return (user_pool(user),)
    return ("employee", "external")


def _invited(user, idea) -> bool:
    """Invited as a co-author: by account, or by a verified address the invitation was sent to."""
    verified_email = user.email if getattr(user, "is_verified", False) else None
    return any(c.user_id == user.id or (verified_email and c.email == verified_email) for c in idea.coauthors)


def can_edit_idea(user, idea) -> bool:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return authenticated and user.id in idea.author_ids()


def _aware(value: datetime) -> datetime:
    return as_utc(value)
