"""Challenge and idea use cases. Plain values in, the acting user named; they flush, never commit."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy import Select, and_, delete, event, func, or_, select, union_all
from sqlalchemy.orm import Session, defer, joinedload, lazyload

from ideas import clock, events, mail, text
from ideas.accounts.models import Role, User
from ideas.accounts.rules import normalise_email
from ideas.accounts.services import find_by_email, normalise_tag, normalise_tags
from ideas.challenges import permissions
from ideas.challenges.models import (
    Challenge,
    ChallengeRole,
    ChallengeStaff,
    ChallengeTag,
    CoAuthor,
    Criterion,
    Idea,
    IdeaRevision,
    IdeaStatus,
    IdeaTag,
    Phase,
    PhaseEvent,
    PoolMode,
    Suspension,
    TermsAcceptance,
)
from ideas.challenges.permissions import Action
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.sanitising import visible_length

MAX_BODY = 100_000  # characters of Markdown in an idea or a brief
MAX_SUMMARY = 1000
MIN_TITLE = 4  # an idea called "A" tells nobody anything


# --- charter -------------------------------------------------------------------

CHARTER_FIELDS = ("title", "brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms")
SETTINGS_FIELDS = (
    "pool_mode", "cross_visibility", "pool_weight_employee", "pool_weight_external", "voting_policy",
    "budget_k", "hide_counts_until_voted", "randomise_order", "allow_opposition", "review_capacity",
    "reviewers_per_idea", "blind_review", "flag_threshold", "allow_overlap",
)
DATE_FIELDS = ("opens_at", "submission_ends_at", "voting_at", "review_at", "closes_at")
VOTING_POLICIES = ("simple", "weighted", "budget", "pairwise")
# Each voting policy in plain words: what the form offers and what every page shows
# (a vote's "weighted/2" provenance is for machines, never for people).
VOTING_POLICY_WORDS = {
    "weighted": "weighted by effort and standing",
    "simple": "every vote counts one",
    "budget": "a fixed number of supports per voter, weighted by effort and standing",
    "pairwise": "voters choose between two ideas",
}


def voting_policy_words(policy: str) -> str:
    """A policy's plain words, from its name or its stored label (``weighted/2``)."""
    name = str(policy).split("/", 1)[0]
    return VOTING_POLICY_WORDS.get(name, name)


@dataclass
class CriterionInput:
    name: str
    description: str = ""
    weight: int = 1


def can_create_challenge(user) -> bool:
    return bool(user.is_authenticated and (user.is_admin or user.has_role(Role.MANAGER)))


def create_challenge(actor: User, **values) -> Challenge:
    if not can_create_challenge(actor):
        raise ChallengeError("Only innovation managers create challenges.", status=403)
    challenge = Challenge(created_by_id=actor.id, phase=Phase.DRAFT)
    db.session.add(challenge)
    challenge.staff.append(ChallengeStaff(user_id=actor.id, role=ChallengeRole.MANAGER))
    update_challenge(challenge, actor, **values)
    return challenge


def update_challenge(
    challenge: Challenge,
    actor: User,
    *,
    criteria: Iterable[CriterionInput] | None = None,
    tags: str | Iterable[str] | None = None,
    managers: Iterable[int] | None = None,
    moderators: Iterable[int] | None = None,
    **values,
) -> Challenge:
    if challenge.id is not None and not permissions.can_manage_challenge(actor, challenge):
        raise ChallengeError("Only this challenge's managers may change it.", status=403)
    unknown = set(values) - set(CHARTER_FIELDS) - set(SETTINGS_FIELDS) - set(DATE_FIELDS) - {
        "escalation_contact_id", "external_ref"
    }
    if unknown:
        raise ChallengeError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    merged = {name: values.get(name, getattr(challenge, name)) for name in DATE_FIELDS}
    merged["allow_overlap"] = values.get("allow_overlap", challenge.allow_overlap) or False
    problems = permissions.schedule_problems(permissions.Schedule(**merged))
    if problems:
        field, message = next(iter(problems.items()))
        raise ChallengeError(message, field=field)
    _check_settings(challenge, values)
    if "title" in values and not (values["title"] or "").strip():
        raise ChallengeError("Give the challenge a title.", field="title")
    for name in ("brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms"):
        if len(values.get(name) or "") > MAX_BODY:
            raise ChallengeError(f"Keep this under {MAX_BODY:,} characters.", field=name)
    if values.get("escalation_contact_id") is not None:
        # A new challenge is in the session but not complete yet: no autoflush here,
        # or its empty title would reach the database before it is set.
        with db.session.no_autoflush:
            contact = db.session.get(User, values["escalation_contact_id"])
        if contact is None or not contact.active:
            raise ChallengeError("The escalation contact must be an active person.", field="escalation_contact")
    scoring = ("pool_mode", "pool_weight_employee", "pool_weight_external", "allow_opposition", "voting_policy")
    before = {name: getattr(challenge, name) for name in scoring}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(challenge, name, value)
    if tags is not None:
        wanted = normalise_tags(tags)
        challenge.tag_rows[:] = [r for r in challenge.tag_rows if r.tag in wanted]
        have = set(challenge.tags)
        challenge.tag_rows.extend(ChallengeTag(tag=t) for t in wanted if t not in have)
    if criteria is not None:
        items = list(criteria)
        current = [(c.name, c.weight) for c in challenge.criteria]
        wanted = [(i.name.strip(), int(i.weight)) for i in items if i.name.strip()]
        if challenge.phase in (Phase.REVIEW, Phase.CLOSED) and wanted != current:
            raise ChallengeError("Reviewers score on these criteria now: they can no longer change.",
                                 field="criteria")
        _replace_criteria(challenge, items)
    if managers is not None or moderators is not None:
        _replace_staff(challenge, actor, managers, moderators)
    db.session.flush()
    changed = {n for n in scoring if getattr(challenge, n) != before[n]}
    if challenge.id is not None and changed:
        # Stored scores follow the settings they depend on (voting keeps them).
        events.emit("challenge.scoring_changed", {"challenge": challenge, "changed": frozenset(changed)})
    return challenge


def _check_settings(challenge: Challenge, values: dict) -> None:
    if "pool_mode" in values and values["pool_mode"] not in set(PoolMode):
        raise ChallengeError("Choose who takes part.", field="pool_mode")
    if "voting_policy" in values and values["voting_policy"] not in VOTING_POLICIES:
        raise ChallengeError("Choose a voting policy.", field="voting_policy")
    if "voting_policy" in values and values["voting_policy"] != challenge.voting_policy and challenge.id is not None:
        # Whether votes exist is voting's to know: it refuses the change when they do.
        events.emit("challenge.policy_requested", {"challenge": challenge, "policy": values["voting_policy"]})
    for name in ("pool_weight_employee", "pool_weight_external"):
        if name in values and not (0 <= float(values[name]) <= 1):
            raise ChallengeError("A pool weight lies between 0 and 1.", field=name)
    if "pool_weight_employee" in values or "pool_weight_external" in values:
        e = float(values.get("pool_weight_employee", challenge.pool_weight_employee or 0))
        x = float(values.get("pool_weight_external", challenge.pool_weight_external or 0))
        if abs(e + x - 1) > 1e-6:
            raise ChallengeError(f"The two pool weights must add up to 1; these add up to {round(e + x, 4):g} "
                                 f"({e:g} for employees, {x:g} for externals).", field="pool_weight_external")
    for name, low, high in (("review_capacity", 0, 10_000), ("reviewers_per_idea", 1, 20),
                            ("flag_threshold", 1, 100), ("budget_k", 1, 100)):
        if name in values and not (low <= int(values[name]) <= high):
            raise ChallengeError(f"Choose a number from {low} to {high}.", field=name)


def _replace_criteria(challenge: Challenge, items: list[CriterionInput]) -> None:
    names = [i.name.strip() for i in items if i.name.strip()]
    if len({n.lower() for n in names}) != len(names):
        raise ChallengeError("Each criterion needs its own name.", field="criteria")
    if len(names) > 10:
        raise ChallengeError("Use at most ten criteria.", field="criteria")
    by_name = {c.name.lower(): c for c in challenge.criteria}
    keep = []
    for position, item in enumerate(i for i in items if i.name.strip()):
        if not 1 <= int(item.weight) <= 10:
            raise ChallengeError("A criterion's weight is from 1 to 10.", field="criteria")
        row = by_name.get(item.name.strip().lower()) or Criterion(name=item.name.strip()[:60])
        row.description = (item.description or "").strip()[:300]
        row.weight = int(item.weight)
        row.position = position
        keep.append(row)
    challenge.criteria[:] = keep


def _replace_staff(challenge, actor, managers, moderators) -> None:
    wanted: set[tuple[int, str]] = set()
    if managers is not None:
        wanted |= {(int(u), ChallengeRole.MANAGER) for u in managers}
    else:
        wanted |= {(s.user_id, s.role) for s in challenge.staff if s.role == ChallengeRole.MANAGER}
    if moderators is not None:
        wanted |= {(int(u), ChallengeRole.MODERATOR) for u in moderators}
    else:
        wanted |= {(s.user_id, s.role) for s in challenge.staff if s.role == ChallengeRole.MODERATOR}
    if not any(role == ChallengeRole.MANAGER for _, role in wanted):
        raise ChallengeError("A challenge keeps at least one manager.", field="managers")
    found = set(db.session.scalars(select(User.id).where(User.id.in_({u for u, _ in wanted}), User.active)))
    if missing := {u for u, _ in wanted} - found:
        raise ChallengeError(f"No active person with id {sorted(missing)[0]}.", field="managers")
    challenge.staff[:] = [s for s in challenge.staff if (s.user_id, s.role) in wanted]
    have = {(s.user_id, s.role) for s in challenge.staff}
    challenge.staff.extend(ChallengeStaff(user_id=u, role=r) for u, r in sorted(wanted - have))


# --- phases --------------------------------------------------------------------

def publish(challenge: Challenge, actor: User) -> None:
    if not permissions.can_manage_challenge(actor, challenge):
        raise ChallengeError("Only this challenge's managers may publish it.", status=403)
    if challenge.published_at is not None:
        raise ChallengeError("This challenge is already published.")
    missing = [label for name, label in (("opens_at", "when submission opens"), ("voting_at", "when voting opens"),
                                         ("review_at", "when review starts"), ("closes_at", "when it closes"))
               if getattr(challenge, name) is None]
    if missing:
        raise ChallengeError("Before publishing, set " + ", ".join(missing) + ".", field=None)
    if not challenge.brief.strip():
        raise ChallengeError("Before publishing, write the brief.", field="brief")
    challenge.published_at = clock.now()
    advance_due_phases(challenge)


def change_phase(challenge: Challenge, actor: User, target: str, reason: str) -> PhaseEvent:
    """A manager's move by hand: one step forward or back, with a logged reason."""
    if not permissions.can_manage_challenge(actor, challenge):
        raise ChallengeError("Only this challenge's managers may change its phase.", status=403)
    try:
        target_phase = Phase(target)
    except ValueError:
        raise ChallengeError("Choose a phase.", field="phase") from None
    if challenge.published_at is None:
        raise ChallengeError("Publish the challenge before changing its phase.", field="phase")
    if target_phase not in permissions.manual_targets(challenge.phase):
        raise ChallengeError(
            f"A challenge in {challenge.phase} cannot move to {target_phase} by hand.", field="phase"
        )
    reason = (reason or "").strip()
    if not reason:
        raise ChallengeError("Say why the phase changes: participants are told.", field="reason")
    now = clock.now()
    source = Phase(challenge.phase)
    forward = permissions.PHASE_ORDER.index(target_phase) > permissions.PHASE_ORDER.index(source)
    # Keep the dates the truth, so the scheduler agrees with the manager.
    if forward:
        setattr(challenge, permissions.PHASE_DATE[target_phase], now)
        _push_later_dates(challenge, target_phase, now)
    else:
        setattr(challenge, permissions.PHASE_DATE[source], None)
    challenge.phase = target_phase
    event = PhaseEvent(challenge_id=challenge.id, from_phase=source, to_phase=target_phase, at=now,
                       actor_id=actor.id, reason=reason[:2000])
    db.session.add(event)
    db.session.flush()
    _announce_phase(challenge, event)
    return event


def _push_later_dates(challenge: Challenge, phase: Phase, now: datetime) -> None:
    index = permissions.PHASE_ORDER.index(phase)
    for later in permissions.PHASE_ORDER[index + 1:]:
        name = permissions.PHASE_DATE[later]
        value = getattr(challenge, name)
        if value is not None and clock.as_utc(value) <= now:
            setattr(challenge, name, None)
    if phase == Phase.VOTING and challenge.submission_ends_at and clock.as_utc(challenge.submission_ends_at) > now \
            and not challenge.allow_overlap:
        challenge.submission_ends_at = now


def advance_due_phases(challenge: Challenge, now: datetime | None = None) -> list[PhaseEvent]:
    """Move the challenge through every phase whose date has passed, logging each step."""
    now = now or clock.now()
    events = []
    for source, target, due in permissions.due_steps(challenge, now):
        challenge.phase = target
        event = PhaseEvent(challenge_id=challenge.id, from_phase=source, to_phase=target, at=due, reason="")
        db.session.add(event)
        events.append(event)
    if events:
        db.session.flush()
        for event in events:
            _announce_phase(challenge, event)
    return events


def tick(now: datetime | None = None) -> int:
    """The scheduler: advance every published challenge whose dates have passed.

    Idempotent and safe from several processes: each challenge row is locked (on
    PostgreSQL) and re-read before it moves, and a phase step can be logged only once.
    """
    now = now or clock.now()
    due = db.session.scalars(
        select(Challenge.id).where(
            Challenge.published_at.is_not(None),
            Challenge.phase != Phase.CLOSED,
            or_(*[and_(Challenge.phase == source, getattr(Challenge, permissions.PHASE_DATE[target]) <= now)
                  for source, target in zip(permissions.PHASE_ORDER, permissions.PHASE_ORDER[1:], strict=False)]),
        )
    ).all()
    moved = 0
    for challenge_id in due:
        challenge = db.session.scalar(
            select(Challenge).where(Challenge.id == challenge_id).with_for_update()
        )
        if challenge is not None and advance_due_phases(challenge, now):
            moved += 1
    return moved


def _announce_phase(challenge: Challenge, event: PhaseEvent) -> None:
    events.emit("phase.changed", {"challenge": challenge, "event": event})


def phase_log(challenge: Challenge) -> list[PhaseEvent]:
    return list(db.session.scalars(
        select(PhaseEvent).where(PhaseEvent.challenge_id == challenge.id).order_by(PhaseEvent.at, PhaseEvent.id)
    ))


# --- audience ------------------------------------------------------------------

def visible_challenge_ids(user, *, limit: int, before: int | None = None, after: int | None = None,
                          phase: str | None = None) -> Select:
    """The ids of at most `limit` challenges per visibility term (permissions.visibility_terms)
    past a cursor, newest first (oldest first after `after`).

    One indexed read of `limit` rows per term (per audience, by pool mode and id), so a
    page costs the same however many challenges the person may not see; the caller
    orders and limits the union."""
    reads = []
    for term in permissions.visibility_terms(user):
        read = select(Challenge.id).where(term)
        if phase:
            read = read.where(Challenge.phase == phase)
        if after is not None:
            read = read.where(Challenge.id > after).order_by(Challenge.id.asc())
        else:
            if before is not None:
                read = read.where(Challenge.id < before)
            read = read.order_by(Challenge.id.desc())
        reads.append(select(read.limit(limit).subquery().c.id))
    return reads[0] if len(reads) == 1 else union_all(*reads)


def visible_challenges(user, *, limit: int = 100) -> list[Challenge]:
    """Published challenges open to this person (plus those they run), newest first."""
    query = select(Challenge).where(Challenge.id.in_(visible_challenge_ids(user, limit=limit)))
    return list(db.session.scalars(query.order_by(Challenge.id.desc()).limit(limit)))


def _staff_people() -> tuple:
    """The staff's people come with the challenge, in the same query (every page asks who
    runs it); their own roles and expertise do not, nor the criteria and tags, which load
    when a page shows them."""
    return (joinedload(Challenge.staff).joinedload(ChallengeStaff.user),)


_CHALLENGE_LOADS = _staff_people()  # built once: building them costs more than the read on SQLite


def get_challenge(challenge_id: int, user) -> Challenge:
    challenge = db.session.get(Challenge, challenge_id, options=_CHALLENGE_LOADS)
    if challenge is None or not permissions.can_see_challenge(user, challenge):
        raise NotFoundError()
    return challenge


def _idea_loads() -> tuple:
    """The idea with its author and challenge (and who the challenge's staff are, not their
    accounts: the idea's pages ask only who they are); not the author's roles and expertise,
    nor the idea's tags (the idea page keeps them, see routes.idea) or the challenge's criteria
    and tags, which load when a page shows them (the vote form). The co-authors come in the
    same query (invitations stop at ten; a selectin load of them cost more than the rows), the
    staff in one of their own (joined too, the two would multiply each other's rows)."""
    author = joinedload(Idea.author, innerjoin=True)
    challenge = joinedload(Idea.challenge, innerjoin=True)
    return (author, lazyload(Idea.tag_rows), joinedload(Idea.coauthors),
            challenge.selectinload(Challenge.staff).lazyload(ChallengeStaff.user))


_IDEA_LOADS = _idea_loads()


def get_idea(idea_id: int, user) -> Idea:
    idea = db.session.get(Idea, idea_id, options=_IDEA_LOADS)
    if idea is None or not permissions.can_see_idea(user, idea):
        raise NotFoundError()
    return idea


def visible_ideas_query(user, challenge: Challenge) -> Select:
    """Published (or withdrawn / merged) ideas of a challenge this person may see."""
    conditions = [
        Idea.challenge_id == challenge.id,
        Idea.status != IdeaStatus.DRAFT,
    ]
    if not permissions.is_staff(user, challenge):
        conditions.append(Idea.hidden_at.is_(None))
        conditions.append(Idea.pool.in_(permissions.visible_pools(user, challenge)))
    return select(Idea).where(*conditions)


def idea_card_loads() -> tuple:
    """Loader options for a list of idea cards (templates/challenges/_idea_card.html): the
    author's name in the same query and nothing that hangs off the author or the idea. The
    challenge is already in the session; anything else a caller touches loads when touched."""
    author = joinedload(Idea.author, innerjoin=True)
    return (lazyload(Idea.challenge), author,
            lazyload(Idea.coauthors), lazyload(Idea.tag_rows), defer(Idea.body))


IDEA_POOLS = ("employee", "external")
IDEA_STATES = ("published", "withdrawn", "merged")


@dataclass(frozen=True)
class IdeaFilters:
    """The idea list's filters, on the challenge page and in the API alike."""

    tag: str = ""  # as ideas' tags are written (normalise_tag); empty: any
    pool: str = ""  # one of IDEA_POOLS; anything else: any
    status: str = ""  # one of IDEA_STATES; anything else: any


def idea_filters(*, tag: str | None = None, pool: str | None = None, status: str | None = None) -> IdeaFilters:
    return IdeaFilters(tag=normalise_tag(tag or ""), pool=pool if pool in IDEA_POOLS else "",
                       status=status if status in IDEA_STATES else "")


def filter_ideas(query: Select, filters: IdeaFilters) -> Select:
    if filters.tag:
        query = query.where(Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == filters.tag)))
    if filters.pool:
        query = query.where(Idea.pool == filters.pool)
    if filters.status:
        query = query.where(Idea.status == filters.status)
    return query


def has_accepted_terms(user, challenge: Challenge) -> bool:
    if not challenge.terms.strip() or user.is_employee:
        return True
    return db.session.get(TermsAcceptance, (challenge.id, user.id)) is not None


def accept_challenge_terms(user, challenge: Challenge) -> None:
    if db.session.get(TermsAcceptance, (challenge.id, user.id)) is None:
        db.session.add(TermsAcceptance(challenge_id=challenge.id, user_id=user.id))
        db.session.flush()


def is_suspended(user, challenge: Challenge) -> bool:
    """Asked more than once on a page (the discussion, the vote form): the answer is kept by
    the session until it next writes anything (an absent row is not in its identity map)."""
    known = db.session.info.setdefault(_SUSPENSIONS, {})
    key = (challenge.id, user.id)
    if key not in known:
        known[key] = db.session.get(Suspension, key) is not None
    return known[key]


_SUSPENSIONS = "ideas.suspended"


def _forget_suspensions(session, *_args) -> None:
    session.info.pop(_SUSPENSIONS, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if not state.is_select:  # a bulk UPDATE or DELETE (lifting a suspension is one)
        _forget_suspensions(state.session)


for _name in ("after_flush", "after_commit", "after_soft_rollback"):
    event.listen(Session, _name, _forget_suspensions)


def require_participation(user, challenge: Challenge, action: str) -> None:
    """Everything a participant needs before acting in a challenge, with a reason when refused."""
    if not getattr(user, "is_authenticated", False):
        raise ChallengeError("Sign in to take part.", status=401)
    if not permissions.can_see_challenge(user, challenge):
        raise NotFoundError()
    if not permissions.in_audience(user, challenge) and not permissions.is_staff(user, challenge):
        raise ChallengeError("This challenge is not open to your pool.", status=403)
    if not permissions.phase_allows(challenge, action, clock.now()):
        raise ChallengeError(_phase_refusal(challenge, action), status=409)
    if is_suspended(user, challenge):
        raise ChallengeError("You are suspended from this challenge.", status=403)


def _phase_refusal(challenge: Challenge, action: str) -> str:
    verbs = {Action.SUBMIT: "submit ideas", Action.EDIT: "edit ideas", Action.VOTE: "vote",
             Action.COMMENT: "comment", Action.WITHDRAW: "withdraw ideas", Action.FLAG: "flag content"}
    return f"You cannot {verbs.get(action, action)} while the challenge is in its {challenge.phase} phase."


# --- ideas ---------------------------------------------------------------------

def _clean_idea_fields(title: str, summary: str, body: str) -> tuple[str, str, str]:
    title, summary, body = (title or "").strip(), (summary or "").strip(), body or ""
    if not title:
        raise ChallengeError("Give your idea a title.", field="title")
    if visible_length(title) < MIN_TITLE:
        raise ChallengeError(f"Give your idea a title of at least {MIN_TITLE} characters, so others know what "
                             f"it is about.", field="title")
    if len(title) > 160:
        raise ChallengeError("Keep the title under 160 characters.", field="title")
    if len(summary) > MAX_SUMMARY:
        raise ChallengeError(f"Keep the summary to one paragraph (under {MAX_SUMMARY} characters).", field="summary")
    if len(body) > MAX_BODY:
        raise ChallengeError(f"Keep the description under {MAX_BODY:,} characters.", field="body")
    return title, summary, body


def submit_idea(
    challenge: Challenge,
    author: User,
    *,
    title: str,
    summary: str = "",
    body: str = "",
    tags: str | Iterable[str] = (),
    draft: bool = False,
) -> Idea:
    """Save a draft (any time the challenge is visible) or publish (during submission)."""
    if not getattr(author, "is_authenticated", False):
        raise ChallengeError("Sign in to take part.", status=401)
    if not permissions.can_see_challenge(author, challenge):
        raise NotFoundError()
    if not draft:
        require_participation(author, challenge, Action.SUBMIT)
        if not has_accepted_terms(author, challenge):
            raise ChallengeError("Accept this challenge's terms before submitting.", field="accept_terms", status=409)
        if not summary.strip():
            raise ChallengeError("Summarise your idea in one paragraph.", field="summary")
    elif is_suspended(author, challenge):
        raise ChallengeError("You are suspended from this challenge.", status=403)
    title, summary, body = _clean_idea_fields(title, summary, body)
    now = clock.now()
    idea = Idea(
        challenge=challenge, author=author, pool=author.pool, title=title, summary=summary, body=body,
        status=IdeaStatus.DRAFT if draft else IdeaStatus.PUBLISHED, published_at=None if draft else now,
        word_count=text.word_count(title, summary, body), created_at=now, updated_at=now,
    )
    db.session.add(idea)
    _set_tags(idea, tags)
    db.session.flush()
    _record_revision(idea, author, "first version")
    _reindex(idea)
    if not draft:
        _announce_new_idea(idea, author)
    return idea


def publish_draft(idea: Idea, actor: User) -> None:
    if idea.status != IdeaStatus.DRAFT:
        raise ChallengeError("This idea is already published.")
    if actor.id not in idea.author_ids():
        raise NotFoundError()
    require_participation(actor, idea.challenge, Action.SUBMIT)
    if not has_accepted_terms(actor, idea.challenge):
        raise ChallengeError("Accept this challenge's terms before submitting.", field="accept_terms", status=409)
    if not idea.summary.strip():
        raise ChallengeError("Summarise your idea in one paragraph.", field="summary")
    idea.status = IdeaStatus.PUBLISHED
    idea.published_at = idea.updated_at = clock.now()
    _reindex(idea)
    _announce_new_idea(idea, actor)


def edit_idea(idea: Idea, editor: User, *, title: str, summary: str, body: str,
              tags: str | Iterable[str] = (), note: str = "") -> bool:
    """Change an idea's text, keeping the history. Returns False when nothing changed."""
    if not permissions.can_edit_idea(editor, idea):
        raise NotFoundError() if not permissions.can_see_idea(editor, idea) else ChallengeError(
            "Only the idea's authors may edit it.", status=403)
    if idea.status in (IdeaStatus.WITHDRAWN, IdeaStatus.MERGED):
        raise ChallengeError(f"This idea was {idea.status}; it can no longer be edited.", status=409)
    if idea.status != IdeaStatus.DRAFT:
        require_participation(editor, idea.challenge, Action.EDIT)
    title, summary, body = _clean_idea_fields(title, summary, body)
    if idea.status != IdeaStatus.DRAFT and not summary:
        raise ChallengeError("Summarise your idea in one paragraph.", field="summary")
    new_tags = normalise_tags(tags)
    if (title, summary, body, new_tags) == (idea.title, idea.summary, idea.body, idea.tags):
        return False
    idea.title, idea.summary, idea.body = title, summary, body
    idea.word_count = text.word_count(title, summary, body)
    _set_tags(idea, new_tags)
    idea.revision += 1
    idea.updated_at = clock.now()
    _record_revision(idea, editor, note)
    _reindex(idea)
    return True


def withdraw_idea(idea: Idea, actor: User, reason: str = "") -> None:
    if actor.id not in idea.author_ids():
        raise NotFoundError() if not permissions.can_see_idea(actor, idea) else ChallengeError(
            "Only the idea's authors may withdraw it.", status=403)
    if idea.status != IdeaStatus.PUBLISHED:
        raise ChallengeError("Only a published idea can be withdrawn.", status=409)
    require_participation(actor, idea.challenge, Action.WITHDRAW)
    idea.status = IdeaStatus.WITHDRAWN
    idea.withdrawn_at = idea.updated_at = clock.now()
    idea.revision += 1
    _record_revision(idea, actor, f"withdrawn: {reason.strip()}" if reason.strip() else "withdrawn")
    _reindex(idea)


def _set_tags(idea: Idea, tags) -> None:
    wanted = normalise_tags(tags)
    idea.tag_rows[:] = [r for r in idea.tag_rows if r.tag in wanted]
    have = set(idea.tags)
    idea.tag_rows.extend(IdeaTag(tag=t) for t in wanted if t not in have)


def _record_revision(idea: Idea, editor: User | None, note: str) -> None:
    db.session.add(IdeaRevision(
        idea_id=idea.id, number=idea.revision, editor_id=editor.id if editor else None,
        title=idea.title, summary=idea.summary, body=idea.body, tags=", ".join(idea.tags), note=note[:300],
    ))


def _reindex(idea: Idea) -> None:
    events.emit("idea.changed", {"idea": idea})


def _announce_new_idea(idea: Idea, actor: User) -> None:
    events.emit("idea.published", {"idea": idea, "actor": actor})


def revisions(idea: Idea) -> list[IdeaRevision]:
    return list(db.session.scalars(
        select(IdeaRevision).where(IdeaRevision.idea_id == idea.id).order_by(IdeaRevision.number)
    ))


def revision_diff(older: IdeaRevision, newer: IdeaRevision) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per field, the changed lines as (kind, line) with kind in {' ', '-', '+'}."""
    changes = []
    for label, field in (("Title", "title"), ("Summary", "summary"), ("Description", "body"), ("Tags", "tags")):
        before = (getattr(older, field) or "").splitlines()
        after = (getattr(newer, field) or "").splitlines()
        if field == "tags":  # a set: the same tags in another order are no change
            before, after = ([", ".join(sorted(t.strip() for t in lines[0].split(",") if t.strip()))] if lines
                             else [] for lines in (before, after))
        if before == after:
            continue
        lines = [(line[0], line[2:]) for line in difflib.ndiff(before, after) if line[:1] in " -+"]
        changes.append((label, lines))
    return changes


# --- co-authors ----------------------------------------------------------------

def invite_coauthor(idea: Idea, actor: User, email: str) -> CoAuthor:
    if actor.id != idea.author_id:
        raise ChallengeError("Only the idea's author invites co-authors.", status=403)
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise ChallengeError("Enter a valid e-mail address.", field="email")
    if email == actor.email:
        raise ChallengeError("You are already the author.", field="email")
    if any(c.email == email for c in idea.coauthors):
        raise ChallengeError("This person is already invited.", field="email")
    if len(idea.coauthors) >= 10:
        raise ChallengeError("An idea has at most ten co-authors.", field="email")
    invited = find_by_email(email)
    row = CoAuthor(email=email, user_id=invited.id if invited else None)
    idea.coauthors.append(row)
    db.session.flush()
    events.emit("coauthor.invited", {"idea": idea, "invite": row, "actor": actor})
    link = url_for("challenges.idea", idea_id=idea.id, _external=True)
    mail.send_mail(
        email, f"{actor.name} invites you to co-author an idea",
        f"Hello,\n\n{actor.name} invites you to co-author the idea “{idea.title}” in the challenge "
        f"“{idea.challenge.title}”.\n\nOpen it to accept or decline"
        + (" (register with this address first)" if invited is None else "") + f":\n{link}\n",
    )
    return row


def answer_coauthor_invite(idea: Idea, user: User, accept: bool) -> None:
    row = next((c for c in idea.coauthors
                if c.user_id == user.id or (user.is_verified and c.email == user.email)), None)
    if row is None:
        raise NotFoundError()
    if accept:
        row.user_id = user.id
        row.accepted_at = row.accepted_at or clock.now()
    else:
        idea.coauthors.remove(row)
    db.session.flush()


def pending_invites(user: User) -> list[CoAuthor]:
    return list(db.session.scalars(
        select(CoAuthor).where(
            or_(CoAuthor.user_id == user.id, CoAuthor.email == user.email), CoAuthor.accepted_at.is_(None)
        )
    ))


# --- lists ---------------------------------------------------------------------

def my_ideas(user: User, limit: int = 200) -> list[Idea]:
    coauthored = select(CoAuthor.idea_id).where(CoAuthor.user_id == user.id, CoAuthor.accepted_at.is_not(None))
    return list(db.session.scalars(
        select(Idea).where(or_(Idea.author_id == user.id, Idea.id.in_(coauthored)))
        .order_by(Idea.updated_at.desc(), Idea.id.desc()).limit(limit)
    ))


def count_ideas(challenge: Challenge, viewer) -> int:
    """The published ideas this person may read: never the other pool's or hidden ones,
    which would make a header say "1 idea" over an empty list."""
    query = visible_ideas_query(viewer, challenge).where(Idea.status == IdeaStatus.PUBLISHED)
    return db.session.scalar(query.with_only_columns(func.count(Idea.id))) or 0


def delete_draft(idea: Idea, actor: User) -> None:
    if idea.status != IdeaStatus.DRAFT or actor.id != idea.author_id:
        raise NotFoundError()
    db.session.execute(delete(Idea).where(Idea.id == idea.id))
