"""Review use cases: shortlist, reviewers and scorecards, decisions, handoffs, progress.

Plain values in, the acting person named; nothing here knows about requests.  Every
service validates everything before it writes, then flushes; the request (or the
scheduler) commits once or rolls back.  Refusals are `ReviewError`s (a
`ChallengeError`), with the form field they concern and an HTTP status.

Every change of state goes through `transition()`: it asks `workflow.apply` whether
the move is allowed for this person, writes the change and its log entry, tells the
author (in the words of `workflow.author_label`, with the reason when the author may
read it) and emits the review events (`ideas.events`).

Event payloads (all carry the common fields below; none carry internal notes,
reasons the author may not read, individual scores, or authors):

    common: review_id, idea_id, challenge_id, idea_title, idea_url, state,
            author_label, at (ISO 8601, UTC), actor_id (None from the scheduler)
    review.transition          + from, to, action, reason (public reason or None)
    review.shortlisted         + over_capacity (bool)
    review.started / review.revisited / review.work_started    (nothing more)
    review.decided             + decision (accepted|declined|parked), reason
    review.handed_off          + owner_id, owner_name, handoff_number, ack_due_at
    review.handoff_declined    + owner_id, handoff_number      (the reason is internal)
    review.acknowledged        + owner_id, owner_name, handoff_number
    review.closed              + outcome (delivered|dropped), reason
    review.reviewers_assigned  + reviewer_ids, automatic
    review.scorecard_submitted + reviewer_id, complete (every active reviewer has sent one)
    review.progress_posted     + update_id, owner_id, body
    review.escalated           + level (reminder|escalation), owner_id, handoff_number, ack_due_at
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ideas import clock, events
from ideas.accounts.models import Role, User, UserRole
from ideas.challenges import policy
from ideas.challenges.models import (
    Challenge,
    ChallengeRole,
    CoAuthor,
    Comment,
    Idea,
    IdeaStatus,
    Phase,
)
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.numbers import in_range
from ideas.review import scoring, stages, timing, workflow
from ideas.review.models import (
    OWNED_STATES,
    Handoff,
    IdeaReview,
    OwnerSettings,
    ProgressUpdate,
    ReviewerAssignment,
    ReviewEscalation,
    ReviewTransition,
    ScorecardEntry,
)
from ideas.review.workflow import ReviewState
from ideas.web import path_for

S = ReviewState

DEFAULT_WIP_LIMIT = 5
MAX_TEXT = 5000  # reasons, notes, comments, progress updates
SHORTLIST_PHASES = (Phase.REVIEW, Phase.CLOSED)
REVIEWING_STATES = (S.SHORTLISTED, S.IN_REVIEW)
LOAD_SLACK = 3  # an expert this many reviews busier than the least busy reviewer waits


class ReviewError(ChallengeError):
    """A review action refused; the message is fit to show the person who tried."""


class ScorecardError(ReviewError):
    """A scorecard with missing or out-of-range ratings; `errors` maps each form field to its message."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, field=None, status=422)
        self.errors = errors


class WipLimitError(ReviewError):
    """The owner is at their work-in-progress limit: the manager must confirm."""

    def __init__(self, message: str, load: int, limit: int):
        super().__init__(message, field="confirm", status=409)
        self.load = load
        self.limit = limit


# --- small helpers -----------------------------------------------------------------

def _path(endpoint: str, _anchor: str | None = None, **values) -> str:
    """A path on this site, in a request or from the scheduler (which has none)."""
    return path_for(endpoint, _anchor, **values)


def _clean(text: str | None, what: str, field: str, *, required: bool = False) -> str:
    value = (text or "").strip()
    if required and not value:
        raise ReviewError(f"Write {what}.", field=field)
    if len(value) > MAX_TEXT:
        raise ReviewError(f"Keep {what} under {MAX_TEXT:,} characters.", field=field)
    return value


def _lock(review: IdeaReview) -> IdeaReview:
    """Re-read the review under a row lock (PostgreSQL), so two people acting at once
    are applied one after the other against the state each of them saw last."""
    db.session.flush()
    locked = db.session.scalar(
        select(IdeaReview).where(IdeaReview.id == review.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFoundError()
    return locked


def _notify(user_ids: Iterable[int], kind: str, text: str, url: str, *, idea: Idea | None = None,
            actor_id: int | None = None) -> int:
    from ideas.notifications.services import notify

    # Staff notices (reviewers, owners, managers) name no idea: the person is asked to
    # act on it whether or not the challenge's audience includes them.
    return notify(user_ids, kind, text, url, idea=idea, actor_id=actor_id)


def _followers_of(idea: Idea) -> set[int]:
    from ideas.notifications.services import followers

    return followers("idea", [idea.id])


def manager_ids(challenge: Challenge) -> set[int]:
    return challenge.staff_ids(ChallengeRole.MANAGER)


# --- reading -----------------------------------------------------------------------

def review_of(idea: Idea) -> IdeaReview | None:
    return db.session.scalar(select(IdeaReview).where(IdeaReview.idea_id == idea.id))


def get_review(review_id: int) -> IdeaReview:
    review = db.session.get(IdeaReview, review_id)
    if review is None:
        raise NotFoundError()
    return review


def assignment_of(review: IdeaReview, user) -> ReviewerAssignment | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((a for a in review.assignments if a.reviewer_id == user.id), None)


def handed_to(review: IdeaReview, user) -> bool:
    """Is or was this person an owner of the idea (a declined handoff included)?"""
    if not getattr(user, "is_authenticated", False):
        return False
    return review.owner_id == user.id or any(h.owner_id == user.id for h in review.handoffs)


def actor_roles(review: IdeaReview, user) -> frozenset[str]:
    """The workflow roles this person holds on this review."""
    roles = set()
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if policy.is_manager(user, review.challenge):
        roles.add(workflow.Role.MANAGER)
    if review.owner_id == user.id and user.has_role(Role.OWNER):
        roles.add(workflow.Role.OWNER)
    assignment = assignment_of(review, user)
    if assignment is not None and assignment.conflict_declared_at is None:
        roles.add(workflow.Role.REVIEWER)
    return frozenset(roles)


def can_manage(user, challenge: Challenge) -> bool:
    return policy.is_manager(user, challenge)


def can_see_internal(user, review: IdeaReview) -> bool:
    """Internal notes, internal reasons and the staff's words: challenge staff, the
    idea's reviewers and owners.  Never its authors (unless they are staff), never
    anybody else."""
    if not getattr(user, "is_authenticated", False):
        return False
    if policy.is_staff(user, review.challenge):
        return True
    if user.id in review.idea.author_ids():
        return False
    assignment = assignment_of(review, user)
    return (assignment is not None and assignment.conflict_declared_at is None) or handed_to(review, user)


def can_see_scores(user, review: IdeaReview) -> bool:
    """Individual reviewers' scores are the managers' (and each reviewer their own)."""
    return policy.is_manager(user, review.challenge)


def _blind_for(user, challenge: Challenge) -> bool:
    """Blind review: the idea's reviewers do not learn who wrote it (staff still do)."""
    return (bool(challenge.blind_review) and getattr(user, "is_authenticated", False)
            and not policy.is_staff(user, challenge))


def hides_authors(user, review: IdeaReview) -> bool:
    """The blind review rule for one review whose reviewers are loaded (the review pages)."""
    return _blind_for(user, review.challenge) and assignment_of(review, user) is not None


def blind_ideas(ideas: Iterable[Idea], user) -> set[int]:
    """The blind review rule for a list of ideas, in one query: those whose authors this
    person may not learn, because they review them (the API's idea lists)."""
    ids = [i.id for i in ideas if _blind_for(user, i.challenge)]
    if not ids:
        return set()
    return set(db.session.scalars(
        select(IdeaReview.idea_id).join(ReviewerAssignment, ReviewerAssignment.review_id == IdeaReview.id)
        .where(IdeaReview.idea_id.in_(ids), ReviewerAssignment.reviewer_id == user.id)))


# --- the one way a state changes ---------------------------------------------------

_EVENT_FOR: dict[tuple[ReviewState | None, ReviewState], str] = {
    (None, S.SHORTLISTED): "review.shortlisted",
    (S.SHORTLISTED, S.IN_REVIEW): "review.started",
    (S.PARKED, S.IN_REVIEW): "review.revisited",
    (S.IN_REVIEW, S.ACCEPTED): "review.decided",
    (S.IN_REVIEW, S.DECLINED): "review.decided",
    (S.IN_REVIEW, S.PARKED): "review.decided",
    (S.HANDOFF_DECLINED, S.PARKED): "review.decided",
    (S.ACCEPTED, S.HANDED_OFF): "review.handed_off",
    (S.HANDOFF_DECLINED, S.HANDED_OFF): "review.handed_off",
    (S.HANDED_OFF, S.ACKNOWLEDGED): "review.acknowledged",
    (S.HANDED_OFF, S.HANDOFF_DECLINED): "review.handoff_declined",
    (S.ACKNOWLEDGED, S.IN_PROGRESS): "review.work_started",
    (S.ACKNOWLEDGED, S.DELIVERED): "review.closed",
    (S.ACKNOWLEDGED, S.DROPPED): "review.closed",
    (S.IN_PROGRESS, S.DELIVERED): "review.closed",
    (S.IN_PROGRESS, S.DROPPED): "review.closed",
}


def _refusal(error: workflow.WorkflowError) -> ReviewError:
    if isinstance(error, workflow.ReasonRequiredError):
        return ReviewError(str(error), field="reason", status=422)
    if isinstance(error, workflow.NotAllowedError):
        return ReviewError(str(error), status=403)
    return ReviewError(str(error), status=409)


def check(review: IdeaReview, to: ReviewState | str, actor, reason: str | None = None) -> workflow.Transition:
    """Would this move be allowed?  Raises ReviewError; writes nothing."""
    try:
        return workflow.apply(review.state, to, actor_roles=actor_roles(review, actor), reason=reason)
    except workflow.WorkflowError as error:
        raise _refusal(error) from error


def base_payload(review: IdeaReview, actor_id: int | None, at: datetime) -> dict:
    idea = review.idea
    return {
        "review_id": review.id,
        "idea_id": idea.id,
        "challenge_id": review.challenge_id,
        "idea_title": idea.title,
        "idea_url": _path("challenges.idea", idea_id=idea.id),
        "state": str(review.state),
        "author_label": workflow.author_label(review.state),
        "at": at.isoformat(),
        "actor_id": actor_id,
    }


def transition(review: IdeaReview, to: ReviewState | str, actor: User, reason: str | None = None, *,
               note: str = "", internal: bool = False, changes: Mapping[str, object] | None = None,
               payload: Mapping[str, object] | None = None, now: datetime | None = None) -> ReviewTransition:
    """Move the review to `to`: check, write the change and its log, tell the author, emit.

    `changes` are further attributes of the review set with the move (an owner, a
    decision), applied only once the move is known to be allowed.  `internal` keeps the
    reason on the staff side (the author still sees the step); `note` always stays there."""
    step = check(review, to, actor, reason)
    reason_text = _clean(step.reason, "the reason", "reason")
    note = _clean(note, "the internal note", "note")
    now = now or clock.now()
    for name, value in (changes or {}).items():
        setattr(review, name, value)
    review.state = step.to_state
    review.state_since = now
    return _record(review, step.from_state, step.to_state, actor, reason_text, internal=internal,
                   note=note, payload=payload, now=now, action=workflow.TRANSITIONS[
                       (step.from_state, step.to_state)].action)


def _record(review: IdeaReview, from_state: ReviewState | None, to_state: ReviewState, actor: User | None,
            reason: str, *, internal: bool, note: str, payload: Mapping[str, object] | None,
            now: datetime, action: str) -> ReviewTransition:
    entry = ReviewTransition(
        review=review, from_state=from_state, to_state=to_state, actor_id=actor.id if actor else None,
        at=now, reason=reason, internal=internal, note=note,
    )
    db.session.add(entry)
    db.session.flush()
    public_reason = reason if reason and not internal else None
    _tell_author(review, to_state, public_reason, actor)
    body = base_payload(review, actor.id if actor else None, now)
    events.emit("review.transition", {
        **body, "from": str(from_state) if from_state else None, "to": str(to_state), "action": action,
        "reason": public_reason,
    })
    events.emit(_EVENT_FOR[(from_state, to_state)], {**body, **(payload or {})})
    return entry


def _tell_author(review: IdeaReview, state: ReviewState, public_reason: str | None, actor: User | None) -> None:
    idea = review.idea
    text = f"Your idea “{idea.title}”: {workflow.author_label(state)}."
    if public_reason:
        text += f" {public_reason}"
    people = set(idea.author_ids())
    if state in (S.DELIVERED, S.DROPPED):
        people |= _followers_of(idea)  # the end of the story is for followers too
    _notify(people, "review", text, _path("challenges.idea", idea_id=idea.id, _anchor="review"), idea=idea,
            actor_id=actor.id if actor else None)


# --- shortlist -------------------------------------------------------------------------

def _require_manager(user, challenge: Challenge) -> None:
    if not policy.is_manager(user, challenge):
        raise ReviewError("Only this challenge's managers may do that.", status=403)


def shortlisted_count(challenge: Challenge) -> int:
    return db.session.scalar(
        select(func.count(IdeaReview.id)).where(IdeaReview.challenge_id == challenge.id)
    ) or 0


def shortlist_ideas(challenge: Challenge, manager: User, idea_ids: Iterable[int],
                    over_capacity_reason: str | None = None, *, now: datetime | None = None) -> list[IdeaReview]:
    """Shortlist ideas for review, within the challenge's review capacity.

    Going beyond the capacity needs a reason, logged (staff only) with each idea's
    first step.  All or nothing: one idea that cannot be shortlisted refuses them all."""
    _require_manager(manager, challenge)
    now = now or clock.now()
    ids = list(dict.fromkeys(int(i) for i in idea_ids))
    if not ids:
        raise ReviewError("Choose at least one idea to shortlist.", field="idea_ids")
    if challenge.phase not in SHORTLIST_PHASES:
        raise ReviewError(f"Ideas are shortlisted once voting is over; this challenge is in its "
                          f"{challenge.phase} phase.", field="idea_ids", status=409)
    # One manager at a time per challenge, so two shortlists cannot both fit the last places.
    db.session.scalar(select(Challenge.id).where(Challenge.id == challenge.id).with_for_update())
    storable = [i for i in ids if in_range(i)]  # a larger number names no idea
    found = {i.id: i for i in db.session.scalars(
        select(Idea).where(Idea.id.in_(storable), Idea.challenge_id == challenge.id))}
    taken = set(db.session.scalars(select(IdeaReview.idea_id).where(IdeaReview.idea_id.in_(storable))))
    for idea_id in ids:
        idea = found.get(idea_id)
        if idea is None:
            raise ReviewError(f"Idea {idea_id} is not an idea of this challenge.", field="idea_ids")
        if idea.status != IdeaStatus.PUBLISHED or idea.hidden_at is not None:
            state = "hidden by moderation" if idea.hidden_at else idea.status
            raise ReviewError(f"“{idea.title}” is {state}: only published ideas are shortlisted.",
                              field="idea_ids", status=409)
        if idea_id in taken:
            raise ReviewError(f"“{idea.title}” is already shortlisted.", field="idea_ids", status=409)
    already = shortlisted_count(challenge)
    reason = _clean(over_capacity_reason, "why the shortlist goes beyond the capacity", "over_capacity_reason")
    over = already + len(ids) > challenge.review_capacity
    if over and not reason:
        places = max(challenge.review_capacity - already, 0)
        raise ReviewError(
            f"The reviewers can take {challenge.review_capacity} ideas in this challenge and {already} "
            f"{'is' if already == 1 else 'are'} shortlisted: {places} place{'' if places == 1 else 's'} left "
            f"for the {len(ids)} chosen. Shortlist fewer, or say why the reviewers can take more.",
            field="over_capacity_reason", status=409,
        )
    reviews = []
    for idea_id in ids:
        review = IdeaReview(idea=found[idea_id], challenge_id=challenge.id, state=S.SHORTLISTED,
                            state_since=now, created_at=now, created_by_id=manager.id)
        db.session.add(review)
        reviews.append(review)
    db.session.flush()
    for review in reviews:
        _record(review, None, S.SHORTLISTED, manager, reason if over else "", internal=True, note="",
                payload={"over_capacity": over}, now=now, action="shortlist")
    return reviews


@dataclass
class Suggestion:
    idea: Idea
    position: int | None  # in the blended ranking
    score: float | None
    disagree: bool
    why: list[str]


def suggested_shortlist(challenge: Challenge, viewer, *, depth: int = 100) -> list[Suggestion]:
    """The top of the blended ranking, plus ideas on which the pools disagree, within the
    places left: a third of them (at least one) is kept for disagreement, since it is
    information the blended score averages away."""
    from ideas.voting.services import suggested_lines

    places = max(challenge.review_capacity - shortlisted_count(challenge), 0)
    if not places:
        return []
    # A separate-pools challenge suggests from each pool's own ranking, never a blend.
    lines = suggested_lines(challenge, viewer, limit=depth)
    taken = set(db.session.scalars(select(IdeaReview.idea_id).where(IdeaReview.challenge_id == challenge.id)))
    lines = [line for line in lines if line.idea.id not in taken]
    disagreeing = [line for line in lines if line.disagree]
    reserved = min(len(disagreeing), max(1, places // 3)) if disagreeing else 0
    picked = {line.idea.id: line for line in lines[: places - reserved]}
    for line in disagreeing:
        if len(picked) >= places:
            break
        picked.setdefault(line.idea.id, line)
    for line in lines:  # fewer disagreements than reserved: fill from the top
        if len(picked) >= places:
            break
        picked.setdefault(line.idea.id, line)
    top = {line.idea.id for line in lines[:places]}
    suggestions = []
    for line in sorted(picked.values(), key=lambda ln: ln.position):
        why = []
        if line.idea.id in top:
            why.append(f"#{line.position} in {line.ranking_words}")
        if line.disagree:
            why.append("employees and externals disagree")
        suggestions.append(Suggestion(line.idea, line.position, line.score, line.disagree, why))
    return suggestions


def start_review(review: IdeaReview, manager: User, *, now: datetime | None = None) -> ReviewTransition:
    """A shortlisted idea goes into review (a parked one comes back through `revisit`)."""
    review = _lock(review)
    check(review, S.IN_REVIEW, manager)
    if review.state != S.SHORTLISTED:
        raise ReviewError("Only a shortlisted idea starts its review; a parked one is revisited.", status=409)
    return transition(review, S.IN_REVIEW, manager, now=now)


def send_to_review(review: IdeaReview, manager: User, *, assign: bool = False) -> list[ReviewerAssignment]:
    """Start a shortlisted idea's review and, when asked, assign its reviewers by expertise
    and load; the reviewers assigned."""
    start_review(review, manager)
    return assign_reviewers(review, manager) if assign else []


def shortlist_for_review(challenge: Challenge, manager: User, idea_ids: Iterable[int],
                         over_capacity_reason: str | None = None, *, start: bool = False,
                         assign: bool = False) -> tuple[list[IdeaReview], int]:
    """Shortlist → start → assign, as the dashboard and the API both offer it: the new
    reviews, and the reviewer places left to fill by hand (no reviewer without a conflict)."""
    reviews = shortlist_ideas(challenge, manager, idea_ids, over_capacity_reason)
    unfilled = 0
    if start:
        for review in reviews:
            added = send_to_review(review, manager, assign=assign)
            if assign:
                unfilled += max(0, challenge.reviewers_per_idea - len(added))
    return reviews, unfilled


# --- reviewers and conflicts of interest -----------------------------------------------

def conflicts(idea: Idea, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Why each of these people may not review the idea, in words that follow “they”:
    they wrote it, co-wrote it (or were invited to), voted on it (or compared it in
    pairs), or commented on it."""
    from ideas.voting.models import PairShown, Vote

    ids = set(user_ids)
    found: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return {}
    if idea.author_id in ids:
        found[idea.author_id].append("wrote it")
    # Invited co-authors count too, accepted or not, by account or by the address invited.
    emails = dict(db.session.execute(select(User.email, User.id).where(User.id.in_(ids))).all())
    invited = db.session.execute(select(CoAuthor.user_id, CoAuthor.email).where(
        CoAuthor.idea_id == idea.id, or_(CoAuthor.user_id.in_(ids), CoAuthor.email.in_(list(emails)))))
    for user_id, email in invited:
        person = user_id if user_id in ids else emails.get(email)
        if person is not None and "co-wrote it" not in found[person]:
            found[person].append("co-wrote it")
    for user_id in db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == idea.id, Vote.voter_id.in_(ids))):
        found[user_id].append("voted on it")
    compared = select(PairShown.voter_id).where(
        or_(PairShown.left_id == idea.id, PairShown.right_id == idea.id), PairShown.answered_at.is_not(None),
        PairShown.voter_id.in_(ids)).distinct()
    for user_id in db.session.scalars(compared):
        found[user_id].append("compared it with other ideas")
    commenters = select(Comment.author_id).where(Comment.idea_id == idea.id, Comment.author_id.in_(ids)).distinct()
    for user_id in db.session.scalars(commenters):
        found[user_id].append("commented on it")
    return dict(found)


def _reviewers(ids: Iterable[int] | None = None) -> list[User]:
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == Role.REVIEWER, User.active).order_by(User.id))
    if ids is not None:
        query = query.where(User.id.in_(list(ids)))
    return list(db.session.scalars(query))


def _open_assignment_filter():
    return (ReviewerAssignment.conflict_declared_at.is_(None), ReviewerAssignment.submitted_at.is_(None),
            IdeaReview.state.in_(REVIEWING_STATES))


def reviewer_loads(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> dict[int, dict]:
    """Open reviews per reviewer (site-wide), and how many of them are overdue."""
    now = now or clock.now()
    query = (select(ReviewerAssignment.reviewer_id, ReviewerAssignment.due_at)
             .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
             .where(*_open_assignment_filter()))
    if user_ids is not None:
        query = query.where(ReviewerAssignment.reviewer_id.in_(list(user_ids)))
    loads: dict[int, dict] = defaultdict(lambda: {"open": 0, "overdue": 0})
    for reviewer_id, due in db.session.execute(query):
        loads[reviewer_id]["open"] += 1
        if clock.as_utc(due) < now:
            loads[reviewer_id]["overdue"] += 1
    return dict(loads)


def _rank_reviewers(candidates: list[User], idea: Idea, loads: Mapping[int, int]) -> list[User]:
    """Expertise first (reviewer tags that match the idea's), then the lightest load;
    an expert already LOAD_SLACK reviews busier than the least busy waits their turn."""
    tags = set(idea.tags) | set(idea.challenge.tags)
    lightest = min((loads.get(c.id, 0) for c in candidates), default=0)

    def key(person: User):
        load = loads.get(person.id, 0)
        return (load - lightest >= LOAD_SLACK, -len(tags & set(person.expertise)), load, person.id)

    return sorted(candidates, key=key)


def assign_reviewers(review: IdeaReview, manager: User, reviewer_ids: Iterable[int] | None = None, *,
                     count: int | None = None, due_at: datetime | None = None,
                     now: datetime | None = None) -> list[ReviewerAssignment]:
    """Assign reviewers by hand (`reviewer_ids`), or automatically up to `count`
    (default: the challenge's reviewers per idea) by expertise and balanced load.

    People with a conflict of interest are refused by hand and skipped automatically."""
    review = _lock(review)
    _require_manager(manager, review.challenge)
    now = now or clock.now()
    if review.state not in REVIEWING_STATES:
        raise ReviewError("Reviewers are assigned while an idea is shortlisted or in review.", status=409)
    due = due_at or timing.add_working_days(now, timing.REVIEW_WORKING_DAYS)
    if due <= now:
        raise ReviewError("The review's due date must be in the future.", field="due_at")
    assigned = {a.reviewer_id: a for a in review.assignments}
    idea = review.idea
    automatic = reviewer_ids is None
    if automatic:
        want = count if count is not None else review.challenge.reviewers_per_idea
        need = want - len(review.active_assignments())
        if need <= 0:
            return []
        pool = [p for p in _reviewers() if p.id not in assigned]
        blocked = conflicts(idea, [p.id for p in pool])
        pool = [p for p in pool if p.id not in blocked]
        loads = {k: v["open"] for k, v in reviewer_loads([p.id for p in pool], now).items()}
        chosen = _rank_reviewers(pool, idea, loads)[:need]
    else:
        ids = list(dict.fromkeys(int(i) for i in reviewer_ids))
        if not ids:
            raise ReviewError("Choose at least one reviewer.", field="reviewers")
        storable = [i for i in ids if in_range(i)]  # a larger number names nobody
        people = {p.id: p for p in db.session.scalars(select(User).where(User.id.in_(storable)))}
        blocked = conflicts(idea, storable)
        chosen = []
        for person_id in ids:
            person = people.get(person_id)
            if person is None or not person.active:
                raise ReviewError("Nobody active has that account.", field="reviewers")
            if not person.has_role(Role.REVIEWER):
                raise ReviewError(f"{person.name} is not a reviewer: give them the reviewer role first.",
                                  field="reviewers")
            if person_id in blocked:
                raise ReviewError(f"{person.name} cannot review this idea: they {' and '.join(blocked[person_id])}.",
                                  field="reviewers")
            existing = assigned.get(person_id)
            if existing is not None and existing.conflict_declared_at is not None:
                raise ReviewError(f"{person.name} declared a conflict of interest on this idea.",
                                  field="reviewers")
            if existing is None:
                chosen.append(person)
    rows = [ReviewerAssignment(review=review, reviewer_id=p.id, assigned_by_id=manager.id, assigned_at=now,
                               automatic=automatic, due_at=due) for p in chosen]
    db.session.add_all(rows)
    db.session.flush()
    if rows:
        url = _path("review.scorecard", review_id=review.id)
        _notify([r.reviewer_id for r in rows], "review_assigned",
                f"Please review “{idea.title}” ({review.challenge.title}) by {due:%d %b %Y}.", url,
                actor_id=manager.id)
        events.emit("review.reviewers_assigned", {**base_payload(review, manager.id, now),
                                                  "reviewer_ids": [r.reviewer_id for r in rows],
                                                  "automatic": automatic})
    return rows


def declare_conflict(review: IdeaReview, reviewer: User, reason: str, *,
                     now: datetime | None = None) -> ReviewerAssignment:
    """A reviewer takes themselves off an idea; the managers are asked for someone else."""
    review = _lock(review)
    assignment = assignment_of(review, reviewer)
    if assignment is None:
        raise ReviewError("You are not a reviewer of this idea.", status=403)
    if assignment.conflict_declared_at is not None:
        raise ReviewError("You have already declared a conflict of interest on this idea.", status=409)
    reason = _clean(reason, "the conflict of interest", "reason", required=True)
    now = now or clock.now()
    assignment.conflict_declared_at = now
    assignment.conflict_reason = reason
    db.session.flush()
    _notify(manager_ids(review.challenge), "review_conflict",
            f"{reviewer.name} declared a conflict of interest on “{review.idea.title}” and will not review it. "
            "Assign someone else.", _path("review.detail", review_id=review.id, _anchor="reviewers"),
            actor_id=reviewer.id)
    return assignment


# --- scorecards -------------------------------------------------------------------------

@dataclass
class Rating:
    rating: int | None
    comment: str = ""


def submit_scorecard(review: IdeaReview, reviewer: User, ratings: Mapping[int, Rating], *,
                     now: datetime | None = None) -> ReviewerAssignment:
    """Rate every criterion of the challenge from 1 to 5, each with a comment.  Sending it
    again replaces it, until the manager decides."""
    review = _lock(review)
    assignment = assignment_of(review, reviewer)
    if assignment is None or assignment.conflict_declared_at is not None:
        raise ReviewError("You are not a reviewer of this idea.", status=403)
    blocked = conflicts(review.idea, [reviewer.id]).get(reviewer.id)
    if blocked:
        raise ReviewError(f"You cannot review this idea: you {' and '.join(blocked)}.", status=403)
    if review.state != S.IN_REVIEW:
        raise ReviewError("Scorecards are sent while the idea is in review; it is "
                          f"{str(review.state).replace('_', ' ')}.", status=409)
    criteria = review.challenge.criteria
    if not criteria:
        raise ReviewError("This challenge has no criteria to score: ask its managers to add them.", status=409)
    known = {c.id: c for c in criteria}
    unknown = [key for key in ratings if key not in known]
    if unknown:
        raise ReviewError("Rate this challenge's criteria only.", status=422)
    errors: dict[str, str] = {}
    clean: dict[int, tuple[int, str]] = {}
    for criterion in criteria:
        given = ratings.get(criterion.id)
        value = given.rating if given else None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            errors[f"rating_{criterion.id}"] = (
                f"Rate “{criterion.name}” from 1 to 5." if value is None else
                f"“{criterion.name}”: {value!r} is not a rating from 1 to 5.")
        comment = (given.comment if given else "").strip()
        if not comment:
            errors[f"comment_{criterion.id}"] = f"Say why you rate “{criterion.name}” so."
        elif len(comment) > MAX_TEXT:
            errors[f"comment_{criterion.id}"] = f"Keep the comment under {MAX_TEXT:,} characters."
        if not errors:
            clean[criterion.id] = (value, comment)  # type: ignore[assignment]
    if errors:
        missing = [known[int(k.split("_")[1])].name for k in errors if k.startswith("rating_")]
        message = ("Rate every criterion from 1 to 5, with a comment"
                   + (f": {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not rated." if missing else "."))
        raise ScorecardError(message, errors)
    now = now or clock.now()
    entries = {e.criterion_id: e for e in assignment.entries}
    for criterion_id, (value, comment) in clean.items():
        entry = entries.get(criterion_id)
        if entry is None:
            assignment.entries.append(ScorecardEntry(criterion_id=criterion_id, rating=value, comment=comment,
                                                     updated_at=now))
        else:
            entry.rating, entry.comment, entry.updated_at = value, comment, now
    assignment.submitted_at = now
    db.session.flush()
    active = review.active_assignments()
    complete = bool(active) and all(a.submitted_at for a in active)
    if complete:
        _notify(manager_ids(review.challenge), "review_complete",
                f"Every scorecard is in for “{review.idea.title}”: it is ready for a decision.",
                _path("review.detail", review_id=review.id), actor_id=reviewer.id)
    events.emit("review.scorecard_submitted", {**base_payload(review, reviewer.id, now),
                                               "reviewer_id": reviewer.id, "complete": complete})
    return assignment


@dataclass
class ScoreSheet:
    """What the decision page shows: each reviewer's scores, the idea's, and disagreement."""

    scores: scoring.IdeaScores
    reviewers: dict[int, User]
    comments: dict[int, dict[int, str]]  # reviewer → criterion → comment
    pending: list[ReviewerAssignment]  # assigned, no scorecard yet


def _ratings_in(challenge_id: int, reviewer_ids: Iterable[int]) -> dict[int, dict[int, dict[int, int]]]:
    """reviewer → review → criterion → rating, over every sent scorecard in the challenge."""
    rows = db.session.execute(
        select(ReviewerAssignment.reviewer_id, ReviewerAssignment.review_id, ScorecardEntry.criterion_id,
               ScorecardEntry.rating)
        .join(ScorecardEntry, ScorecardEntry.assignment_id == ReviewerAssignment.id)
        .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
        .where(IdeaReview.challenge_id == challenge_id, ReviewerAssignment.reviewer_id.in_(list(reviewer_ids)),
               ReviewerAssignment.conflict_declared_at.is_(None), ReviewerAssignment.submitted_at.is_not(None))
    )
    found: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for reviewer_id, review_id, criterion_id, rating in rows:
        found[reviewer_id][review_id][criterion_id] = rating
    return found


def score_sheet(review: IdeaReview, everything: Mapping | None = None) -> ScoreSheet:
    """`everything`: the challenge's ratings by reviewer (`_ratings_in`), when a list of
    reviews has read them once for all of its rows."""
    weights = {c.id: c.weight for c in review.challenge.criteria}
    active = review.active_assignments()
    sent = [a for a in active if a.submitted_at is not None]
    if everything is None:
        everything = _ratings_in(review.challenge_id, [a.reviewer_id for a in sent])
    else:
        everything = {a.reviewer_id: everything[a.reviewer_id] for a in sent if a.reviewer_id in everything}
    habits = {}
    for reviewer_id, by_review in everything.items():
        means = [m for m in (scoring.weighted_mean(r, weights) for r in by_review.values()) if m is not None]
        if means:
            habits[reviewer_id] = scoring.habit(means)
    ratings = {a.reviewer_id: {e.criterion_id: e.rating for e in a.entries} for a in sent}
    return ScoreSheet(
        scores=scoring.idea_scores(ratings, weights, habits),
        reviewers={a.reviewer_id: a.reviewer for a in active},
        comments={a.reviewer_id: {e.criterion_id: e.comment for e in a.entries} for a in sent},
        pending=[a for a in active if a.submitted_at is None],
    )


def review_score(review: IdeaReview) -> float | None:
    """The idea's review score alone (what owners and lists may show)."""
    return score_sheet(review).scores.score


def review_scores(reviews: list[IdeaReview]) -> dict[int, float | None]:
    """The review scores of a list of reviews in a few queries, whatever its length."""
    reviews = [r for r in reviews if r.state != S.SHORTLISTED]
    if not reviews:
        return {}
    _with_assignments(reviews)
    by_challenge: dict[int, set[int]] = defaultdict(set)
    for review in reviews:
        by_challenge[review.challenge_id] |= {a.reviewer_id for a in review.active_assignments()
                                             if a.submitted_at is not None}
    ratings = {challenge_id: _ratings_in(challenge_id, ids) if ids else {}
               for challenge_id, ids in by_challenge.items()}
    return {r.id: score_sheet(r, ratings[r.challenge_id]).scores.score for r in reviews}


def _with_assignments(reviews: list[IdeaReview]) -> None:
    """Load the reviews' assignments with their reviewers and scorecard entries at once."""
    ids = [r.id for r in reviews]
    if ids:
        db.session.scalars(select(IdeaReview).where(IdeaReview.id.in_(ids)).options(
            selectinload(IdeaReview.assignments).selectinload(ReviewerAssignment.entries))).all()


# --- decisions ------------------------------------------------------------------------------

def decide(review: IdeaReview, manager: User, decision: str, reason: str, note: str = "", *,
           now: datetime | None = None) -> ReviewTransition:
    """Accept, decline or park, with a reason the author reads and an optional internal note."""
    review = _lock(review)
    try:
        target = ReviewState(decision)
    except ValueError:
        target = None
    if target not in workflow.DECISIONS:
        raise ReviewError("Choose accept, decline or park.", field="decision")
    now = now or clock.now()
    cleaned_reason = _clean(reason, "the reason", "reason")
    cleaned_note = _clean(note, "the internal note", "note")
    return transition(
        review, target, manager, cleaned_reason, note=cleaned_note, now=now,
        changes={"decision": str(target), "decision_reason": cleaned_reason, "decided_at": now,
                 **({"internal_note": cleaned_note} if cleaned_note else {})},
        payload={"decision": str(target), "reason": cleaned_reason},
    )


def revisit(review: IdeaReview, manager: User, *, now: datetime | None = None) -> ReviewTransition:
    """A parked idea goes back into review; its earlier decision stays in the log."""
    review = _lock(review)
    check(review, S.IN_REVIEW, manager)
    if review.state != S.PARKED:
        raise ReviewError("Only a parked idea is revisited; a shortlisted one starts its review.", status=409)
    return transition(review, S.IN_REVIEW, manager, now=now,
                      changes={"decision": None, "decision_reason": "", "decided_at": None})


# --- owners, capacity and handoffs ------------------------------------------------------------

def wip_limit_of(user_id: int) -> int:
    row = db.session.get(OwnerSettings, user_id)
    return row.wip_limit if row is not None else DEFAULT_WIP_LIMIT


def set_wip_limit(owner: User, actor: User, limit: int, *, now: datetime | None = None) -> OwnerSettings:
    if actor.id != owner.id and not actor.is_admin:
        raise ReviewError("Owners set their own work-in-progress limit.", status=403)
    if not owner.has_role(Role.OWNER):
        raise ReviewError(f"{owner.name} is not an R&D owner.", field="wip_limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ReviewError("The limit is a whole number from 1 to 100.", field="wip_limit")
    row = db.session.get(OwnerSettings, owner.id)
    if row is None:
        row = OwnerSettings(user_id=owner.id, wip_limit=limit)
        db.session.add(row)
    row.wip_limit = limit
    row.updated_at = now or clock.now()
    db.session.flush()
    return row


def owner_loads(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> dict[int, dict]:
    """Per owner: ideas held (handed off, acknowledged or in progress), awaiting
    acknowledgement, overdue, and their limit."""
    now = now or clock.now()
    query = select(IdeaReview.owner_id, IdeaReview.state, IdeaReview.ack_due_at).where(
        IdeaReview.state.in_(OWNED_STATES), IdeaReview.owner_id.is_not(None))
    if user_ids is not None:
        query = query.where(IdeaReview.owner_id.in_(list(user_ids)))
    loads: dict[int, dict] = defaultdict(lambda: {"wip": 0, "pending": 0, "overdue": 0})
    for owner_id, state, due in db.session.execute(query):
        loads[owner_id]["wip"] += 1
        if state == S.HANDED_OFF:
            loads[owner_id]["pending"] += 1
            if due is not None and clock.as_utc(due) < now:
                loads[owner_id]["overdue"] += 1
    limits = dict(db.session.execute(select(OwnerSettings.user_id, OwnerSettings.wip_limit)).all())
    ids = set(loads) if user_ids is None else set(user_ids)
    return {i: {**loads.get(i, {"wip": 0, "pending": 0, "overdue": 0}),
                "limit": limits.get(i, DEFAULT_WIP_LIMIT)} for i in ids}


def wip_of(user_id: int) -> int:
    return db.session.scalar(select(func.count(IdeaReview.id)).where(
        IdeaReview.owner_id == user_id, IdeaReview.state.in_(OWNED_STATES))) or 0


def owners() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.OWNER, User.active).order_by(User.name, User.id)
    ))


@dataclass
class OwnerSuggestion:
    owner: User
    matches: list[str]
    load: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.load >= self.limit


def suggested_owners(review: IdeaReview, limit: int = 10) -> list[OwnerSuggestion]:
    """Owners whose expertise fits the idea, the less busy first; those at their limit last."""
    tags = set(review.idea.tags) | set(review.challenge.tags)
    people = [p for p in owners() if p.id not in review.idea.author_ids()]
    loads = owner_loads([p.id for p in people])
    found = [OwnerSuggestion(p, sorted(tags & set(p.expertise)), loads[p.id]["wip"], loads[p.id]["limit"])
             for p in people]
    found.sort(key=lambda s: (s.over_limit, -len(s.matches), s.load / s.limit, s.owner.name, s.owner.id))
    return found[:limit]


def hand_off(review: IdeaReview, manager: User, owner: User | None, *, confirm: bool = False, note: str = "",
             working_days: int = timing.ACK_WORKING_DAYS, now: datetime | None = None) -> Handoff:
    """Hand an accepted idea to an R&D owner, who must acknowledge it within
    `working_days` working days.  An owner at their work-in-progress limit takes it only
    when the manager confirms."""
    review = _lock(review)
    check(review, S.HANDED_OFF, manager)
    if owner is None or not owner.active:
        raise ReviewError("Choose the R&D owner to hand the idea to.", field="owner")
    if not owner.has_role(Role.OWNER):
        raise ReviewError(f"{owner.name} is not an R&D owner: only people with the owner role take handoffs.",
                          field="owner")
    if owner.id in review.idea.author_ids():
        raise ReviewError(f"{owner.name} wrote this idea: hand it to someone else.", field="owner")
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= 30:
        raise ReviewError("Give the owner 1 to 30 working days to acknowledge.", field="working_days")
    note = _clean(note, "the note to the owner", "note")
    load, limit = wip_of(owner.id), wip_limit_of(owner.id)
    if load >= limit and not confirm:
        raise WipLimitError(
            f"{owner.name} already holds {load} idea{'' if load == 1 else 's'} (their limit is {limit}). "
            "Confirm to hand this one over anyway, or choose another owner.", load, limit)
    now = now or clock.now()
    due = timing.add_working_days(now, working_days)
    number = review.handoff_count + 1
    # Everything is checked: the handoff row goes in with the move, so whoever hears
    # `review.handed_off` finds it.
    handoff = Handoff(review=review, number=number, owner_id=owner.id, handed_by_id=manager.id, handed_at=now,
                      ack_due_at=due, over_wip_confirmed=load >= limit, note=note)
    db.session.add(handoff)
    transition(review, S.HANDED_OFF, manager, note=note, now=now,
               changes={"owner_id": owner.id, "ack_due_at": due, "handoff_count": number},
               payload={"owner_id": owner.id, "owner_name": owner.name, "handoff_number": number,
                        "ack_due_at": due.isoformat()})
    _notify([owner.id], "handoff",
            f"{manager.name} hands you “{review.idea.title}” ({review.challenge.title}). "
            f"Please acknowledge it by {due:%A %d %b %Y}.", _path("review.detail", review_id=review.id),
            actor_id=manager.id)
    return handoff


def _pending_handoff(review: IdeaReview) -> Handoff:
    handoff = review.current_handoff
    if handoff is None or not handoff.pending:
        raise ReviewError("This idea is not waiting for an acknowledgement.", status=409)
    return handoff


def acknowledge(review: IdeaReview, owner: User, *, now: datetime | None = None) -> ReviewTransition:
    review = _lock(review)
    check(review, S.ACKNOWLEDGED, owner)
    handoff = _pending_handoff(review)
    now = now or clock.now()
    handoff.acknowledged_at = now
    entry = transition(review, S.ACKNOWLEDGED, owner, now=now, changes={"ack_due_at": None},
                       payload={"owner_id": owner.id, "owner_name": owner.name, "handoff_number": handoff.number})
    _notify(manager_ids(review.challenge), "handoff_acknowledged",
            f"{owner.name} acknowledged “{review.idea.title}”.", _path("review.detail", review_id=review.id),
            actor_id=owner.id)
    return entry


def decline_handoff(review: IdeaReview, owner: User, reason: str, *,
                    now: datetime | None = None) -> ReviewTransition:
    """The owner turns the handoff down, with a reason for the managers (the author
    only learns that an owner is still being found)."""
    review = _lock(review)
    check(review, S.HANDOFF_DECLINED, owner, reason)
    handoff = _pending_handoff(review)
    cleaned = _clean(reason, "the reason", "reason", required=True)
    now = now or clock.now()
    handoff.declined_at = now
    handoff.decline_reason = cleaned
    entry = transition(review, S.HANDOFF_DECLINED, owner, cleaned, internal=True, now=now,
                       changes={"owner_id": None, "ack_due_at": None},
                       payload={"owner_id": owner.id, "handoff_number": handoff.number})
    _notify(manager_ids(review.challenge), "handoff_declined",
            f"{owner.name} declined “{review.idea.title}”: {entry.reason} Hand it to someone else, or park it.",
            _path("review.detail", review_id=review.id, _anchor="handoff"), actor_id=owner.id)
    return entry


def _require_owner(review: IdeaReview, user) -> None:
    if workflow.Role.OWNER not in actor_roles(review, user):
        raise ReviewError("Only the idea's R&D owner may do that.", status=403)


def start_work(review: IdeaReview, owner: User, *, now: datetime | None = None) -> ReviewTransition:
    review = _lock(review)
    return transition(review, S.IN_PROGRESS, owner, now=now)


def post_progress(review: IdeaReview, owner: User, body: str, *, now: datetime | None = None) -> ProgressUpdate:
    """The owner reports progress to the author and the idea's followers.  The first
    update on an acknowledged idea also marks the work as started."""
    review = _lock(review)
    _require_owner(review, owner)
    if review.state not in (S.ACKNOWLEDGED, S.IN_PROGRESS):
        raise ReviewError("Progress is reported once the idea is acknowledged, until it is closed.", status=409)
    text = _clean(body, "the update", "body", required=True)
    now = now or clock.now()
    if review.state == S.ACKNOWLEDGED:
        transition(review, S.IN_PROGRESS, owner, now=now)
    update = ProgressUpdate(review=review, author_id=owner.id, body=text, at=now)
    db.session.add(update)
    db.session.flush()
    idea = review.idea
    people = set(idea.author_ids()) | _followers_of(idea)
    _notify(people, "review_progress", f"Progress on “{idea.title}” from {owner.name}: {text[:300]}",
            _path("challenges.idea", idea_id=idea.id, _anchor=f"update-{update.id}"), idea=idea,
            actor_id=owner.id)
    events.emit("review.progress_posted", {**base_payload(review, owner.id, now), "update_id": update.id,
                                           "owner_id": owner.id, "body": text})
    return update


def close(review: IdeaReview, owner: User, outcome: str, reason: str, *,
          now: datetime | None = None) -> ReviewTransition:
    """Delivered or dropped, with a reason the author and followers read."""
    review = _lock(review)
    if outcome not in (S.DELIVERED, S.DROPPED):
        raise ReviewError("Choose delivered or dropped.", field="outcome")
    now = now or clock.now()
    cleaned = _clean(reason, "the reason", "reason")
    return transition(review, ReviewState(outcome), owner, cleaned, now=now,
                      changes={"close_reason": cleaned, "closed_at": now},
                      payload={"outcome": outcome, "reason": cleaned})


# --- deadlines (the scheduler) ------------------------------------------------------------------

def _record_escalation(handoff: Handoff, level: str, now: datetime) -> ReviewEscalation | None:
    """Write the escalation row first; only the process whose row the database keeps
    sends the notices, so the same miss is never announced twice.

    INSERT … ON CONFLICT DO NOTHING rather than a savepoint: a second tick running at
    the same moment waits on the unique index (PostgreSQL) and then inserts nothing,
    and the row stays in the job's one transaction with the notices it announces."""
    review = handoff.review
    insert = _insert_for(db.session.get_bind().dialect.name)
    row_id = db.session.scalar(
        insert(ReviewEscalation)
        .values(review_id=review.id, handoff_id=handoff.id, challenge_id=review.challenge_id, level=level,
                at=now, due_at=clock.as_utc(handoff.ack_due_at), notified=0)
        .on_conflict_do_nothing(index_elements=["handoff_id", "level"])
        .returning(ReviewEscalation.id)
    )
    if row_id is None:
        return None
    row = db.session.get(ReviewEscalation, row_id)
    idea, owner = review.idea, handoff.owner
    if level == timing.REMINDER:
        sent = _notify([handoff.owner_id], "handoff_reminder",
                       f"Reminder: please acknowledge or decline “{idea.title}”. It was due "
                       f"{clock.as_utc(handoff.ack_due_at):%A %d %b %Y, %H:%M UTC}.",
                       _path("review.detail", review_id=review.id))
    else:
        people = manager_ids(review.challenge)
        if review.challenge.escalation_contact_id:
            people.add(review.challenge.escalation_contact_id)
        sent = _notify(people, "handoff_escalation",
                       f"“{idea.title}” was handed to {owner.name if owner else 'an owner'} on "
                       f"{clock.as_utc(handoff.handed_at):%d %b %Y} and is still not acknowledged "
                       f"(due {clock.as_utc(handoff.ack_due_at):%d %b %Y}).",
                       _path("review.dashboard", challenge_id=review.challenge_id, _anchor="escalations"))
    row.notified = sent
    db.session.flush()
    events.emit("review.escalated", {**base_payload(review, None, now), "level": level,
                                     "owner_id": handoff.owner_id, "handoff_number": handoff.number,
                                     "ack_due_at": clock.as_utc(handoff.ack_due_at).isoformat()})
    return row


def _insert_for(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def due_handoffs(now: datetime) -> list[Handoff]:
    """Pending handoffs (still the idea's current one) whose deadline has passed."""
    return list(db.session.scalars(
        select(Handoff).join(IdeaReview, IdeaReview.id == Handoff.review_id)
        .where(IdeaReview.state == S.HANDED_OFF, Handoff.number == IdeaReview.handoff_count,
               Handoff.acknowledged_at.is_(None), Handoff.declined_at.is_(None), Handoff.ack_due_at <= now)
        .order_by(Handoff.ack_due_at, Handoff.id)
    ))


def escalate(handoffs: Iterable[Handoff], now: datetime) -> int:
    sent = 0
    for handoff in handoffs:
        done = set(db.session.scalars(select(ReviewEscalation.level).where(ReviewEscalation.handoff_id == handoff.id)))
        for level in timing.levels_due(clock.as_utc(handoff.ack_due_at), now, done):
            if _record_escalation(handoff, level, now) is not None:
                sent += 1
    return sent


def run_deadlines(now: datetime | None = None) -> int:
    """The `review deadlines` job: remind owners at their deadline, tell the managers and
    the escalation contact a working day later.  Idempotent; returns the escalations sent."""
    now = now or clock.now()
    return escalate(due_handoffs(now), now)


# --- queues, dashboard, timeline -----------------------------------------------------------------

@dataclass
class ReviewerItem:
    assignment: ReviewerAssignment
    review: IdeaReview
    overdue: bool

    @property
    def idea(self) -> Idea:
        return self.review.idea


def reviewer_queue(reviewer: User, now: datetime | None = None) -> dict[str, list[ReviewerItem]]:
    """The ideas a reviewer is asked to score: to do (due first), and sent."""
    now = now or clock.now()
    rows = db.session.scalars(
        select(ReviewerAssignment).join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
        .where(ReviewerAssignment.reviewer_id == reviewer.id, ReviewerAssignment.conflict_declared_at.is_(None),
               IdeaReview.state.in_(REVIEWING_STATES))
        .order_by(ReviewerAssignment.due_at, ReviewerAssignment.id)
        # One query per kind of row, not per assignment: the queue spans many challenges.
        .options(selectinload(ReviewerAssignment.review).selectinload(IdeaReview.challenge))
    ).all()
    todo, sent = [], []
    for a in rows:
        item = ReviewerItem(a, a.review, a.submitted_at is None and clock.as_utc(a.due_at) < now)
        (sent if a.submitted_at else todo).append(item)
    return {"todo": todo, "sent": sent}


@dataclass
class OwnerItem:
    review: IdeaReview
    handoff: Handoff | None
    overdue: bool

    @property
    def idea(self) -> Idea:
        return self.review.idea


def owner_queue(owner: User, now: datetime | None = None) -> dict[str, list[OwnerItem]]:
    """An owner's handoffs: to acknowledge (overdue first), in hand, and recently closed."""
    now = now or clock.now()
    rows = db.session.scalars(
        select(IdeaReview).where(IdeaReview.owner_id == owner.id, IdeaReview.state.in_(
            [*OWNED_STATES, S.DELIVERED, S.DROPPED])).order_by(IdeaReview.ack_due_at, IdeaReview.id)
        .options(selectinload(IdeaReview.handoffs), selectinload(IdeaReview.updates),
                 selectinload(IdeaReview.challenge))
    ).all()
    queue: dict[str, list[OwnerItem]] = {"pending": [], "active": [], "closed": []}
    for review in rows:
        handoff = review.current_handoff
        overdue = review.state == S.HANDED_OFF and review.ack_due_at is not None and \
            clock.as_utc(review.ack_due_at) < now
        key = {S.HANDED_OFF: "pending", S.ACKNOWLEDGED: "active", S.IN_PROGRESS: "active"}.get(
            ReviewState(review.state), "closed")
        queue[key].append(OwnerItem(review, handoff, overdue))
    queue["closed"] = sorted(queue["closed"], key=lambda i: i.review.closed_at or now, reverse=True)[:20]
    return queue


@dataclass
class Dashboard:
    challenge: Challenge
    reviews: list[IdeaReview]
    by_state: dict[str, list[IdeaReview]]
    capacity: int
    shortlisted: int
    ranking: list
    unranked: list[Idea]
    suggestions: list[Suggestion]
    reviewer_rows: list[dict]
    owner_rows: list[dict]
    waits: list[timing.StageWait]
    overdue_handoffs: list[IdeaReview]
    escalations: list[ReviewEscalation]
    scores: dict[int, float | None] = field(default_factory=dict)
    pool_positions: dict[int, dict[str, int]] = field(default_factory=dict)  # idea → pool → rank


def dashboard(challenge: Challenge, viewer: User, now: datetime | None = None) -> Dashboard:
    from ideas.voting.services import ranking_page, suggested_lines

    now = now or clock.now()
    reviews = list(db.session.scalars(
        select(IdeaReview).where(IdeaReview.challenge_id == challenge.id).order_by(IdeaReview.id)
        .options(selectinload(IdeaReview.owner),
                 selectinload(IdeaReview.assignments).selectinload(ReviewerAssignment.entries))))
    by_state: dict[str, list[IdeaReview]] = {str(s): [] for s in workflow.ALL_STATES}
    for review in reviews:
        by_state[str(review.state)].append(review)
    taken = {r.idea_id for r in reviews}
    ranking = suggested_lines(challenge, viewer, limit=50)
    ranked = {line.idea.id for line in ranking}
    # Where each idea stands in each pool's own ranking: the blend can hide a pool's view.
    pool_positions: dict[int, dict[str, int]] = defaultdict(dict)
    if challenge.pool_mode in ("blended", "separate"):
        for pool in ("employee", "external"):
            for line in ranking_page(challenge, viewer, pool, limit=100):
                if line.idea.id in ranked and line.raw[pool]:
                    pool_positions[line.idea.id][pool] = line.position
    unranked = [i for i in db.session.scalars(
        select(Idea).where(Idea.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED,
                           Idea.hidden_at.is_(None)).order_by(Idea.id).limit(200))
                if i.id not in ranked and i.id not in taken][:50]

    reviewer_people = _reviewers()
    in_challenge = defaultdict(int)
    for review in reviews:
        for a in review.active_assignments():
            if a.submitted_at is None and review.state in REVIEWING_STATES:
                in_challenge[a.reviewer_id] += 1
    loads = reviewer_loads([p.id for p in reviewer_people], now)
    reviewer_rows = [{"person": p, "here": in_challenge.get(p.id, 0), **loads.get(p.id, {"open": 0, "overdue": 0})}
                     for p in reviewer_people]
    reviewer_rows.sort(key=lambda r: (-r["open"], r["person"].name))
    owner_people = owners()
    oloads = owner_loads([p.id for p in owner_people], now)
    owner_rows = sorted(({"person": p, **oloads[p.id]} for p in owner_people),
                        key=lambda r: (-r["wip"], r["person"].name))

    waits = timing.stage_waits(
        stages.stage_times(now, challenges=lambda column: [column == challenge.id]),
        [str(s) for s in workflow.ALL_STATES], terminal=[str(s) for s in workflow.TERMINAL_STATES])
    overdue = [r for r in by_state[S.HANDED_OFF] if r.ack_due_at and clock.as_utc(r.ack_due_at) < now]
    escalations = list(db.session.scalars(
        select(ReviewEscalation).where(ReviewEscalation.challenge_id == challenge.id,
                                       ReviewEscalation.level == timing.ESCALATION)
        .order_by(ReviewEscalation.at.desc()).limit(50)))
    scores = review_scores(reviews)
    return Dashboard(
        challenge=challenge, reviews=reviews, by_state=by_state, capacity=challenge.review_capacity,
        shortlisted=len(reviews), ranking=ranking, unranked=unranked,
        suggestions=suggested_shortlist(challenge, viewer), reviewer_rows=reviewer_rows, owner_rows=owner_rows,
        waits=waits, overdue_handoffs=overdue, escalations=escalations, scores=scores,
        pool_positions=dict(pool_positions),
    )


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "step" or "update"
    label: str
    anchor: str
    reason: str | None = None  # what this viewer may read
    by: str | None = None
    internal_reason: str | None = None  # staff side only
    note: str | None = None  # staff side only
    staff_label: str | None = None


OWNER_STEPS = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)


def timeline(review: IdeaReview, viewer) -> list[TimelineEntry]:
    """Every step of the idea's path, with dates, for this viewer.

    Everyone who may see the idea sees the steps (in the author's words) and the owner's
    progress updates; the authors also read the reasons given to them; the staff side
    also reads internal reasons and notes.  Individual scores are never part of it."""
    internal = can_see_internal(viewer, review)
    authed = getattr(viewer, "is_authenticated", False)
    is_author = authed and viewer.id in review.idea.author_ids()
    entries = []
    for t in review.transitions:
        state = ReviewState(t.to_state)
        entry = TimelineEntry(at=clock.as_utc(t.at), kind="step", label=workflow.author_label(state),
                              anchor=f"step-{t.id}")
        if t.reason and not t.internal and (is_author or internal):
            entry.reason = t.reason
        if state in OWNER_STEPS and t.actor is not None:
            entry.by = t.actor.name  # the author is owed a named owner
        if internal:
            entry.staff_label = ("shortlisted" if t.from_state is None else
                                 workflow.TRANSITIONS[(ReviewState(t.from_state), state)].action)
            entry.by = t.actor.name if t.actor else None
            if t.reason and t.internal:
                entry.internal_reason = t.reason
            entry.note = t.note or None
        entries.append(entry)
    for u in review.updates:
        entries.append(TimelineEntry(at=clock.as_utc(u.at), kind="update", label="Progress update",
                                     anchor=f"update-{u.id}", reason=u.body,
                                     by=u.author.name if u.author else None))
    entries.sort(key=lambda e: (e.at, e.kind != "step"))
    return entries


def stage_of(idea: Idea) -> str | None:
    review = review_of(idea)
    return workflow.author_label(review.state) if review is not None else None
