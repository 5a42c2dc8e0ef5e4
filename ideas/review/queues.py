"""Queues, the managers' dashboard and an idea's review timeline."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges.models import Challenge, Idea, IdeaStatus
from ideas.extensions import db
from ideas.review import stages, timing, workflow
from ideas.review.access import can_see_internal, review_of
from ideas.review.common import REVIEWING_STATES, S
from ideas.review.handoffs import owner_loads, owners
from ideas.review.models import (
    OWNED_STATES,
    Handoff,
    IdeaReview,
    ReviewerAssignment,
    ReviewEscalation,
)
from ideas.review.reviewers import _reviewers, reviewer_loads
from ideas.review.scorecards import review_scores
from ideas.review.shortlist import SUGGESTION_DEPTH, Suggestion, suggested_shortlist
from ideas.review.workflow import ReviewState
from ideas.voting.models import IdeaScore
from ideas.voting.services import ranking_page, suggested_lines


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
    unranked: list  # (id, title) rows: the published ideas nobody has voted on yet
    suggestions: list[Suggestion]
    reviewer_rows: list[dict]
    owner_rows: list[dict]
    waits: list[timing.StageWait]
    overdue_handoffs: list[IdeaReview]
    escalations: list[ReviewEscalation]
    scores: dict[int, float | None] = field(default_factory=dict)
    pool_positions: dict[int, dict[str, int]] = field(default_factory=dict)  # idea → pool → rank


RANKING_SHOWN = 50  # lines of the ranking on the review dashboard, and of ideas without votes


def _without_votes(challenge: Challenge, shown: set[int]) -> list:
    """Published ideas nobody has voted on yet (no score row, or no vote in either pool
    nor any pair), apart from those `shown` already: each an id and a title, which is
    all the board lists of them."""
    unvoted = or_(IdeaScore.idea_id.is_(None),
                  and_(IdeaScore.raw_employee == 0, IdeaScore.raw_external == 0, IdeaScore.pair_appearances == 0))
    query = (select(Idea.id, Idea.title).outerjoin(IdeaScore, IdeaScore.idea_id == Idea.id)
             .where(Idea.challenge_id == challenge.id, Idea.status == IdeaStatus.PUBLISHED,
                    Idea.hidden_at.is_(None), unvoted))
    if shown:
        query = query.where(Idea.id.not_in(sorted(shown)))
    return list(db.session.execute(query.order_by(Idea.id).limit(RANKING_SHOWN)))


def dashboard(challenge: Challenge, viewer: User, now: datetime | None = None) -> Dashboard:
    now = now or clock.now()
    reviews = list(db.session.scalars(
        select(IdeaReview).where(IdeaReview.challenge_id == challenge.id).order_by(IdeaReview.id)
        .options(selectinload(IdeaReview.owner),
                 selectinload(IdeaReview.assignments).selectinload(ReviewerAssignment.entries))))
    by_state: dict[str, list[IdeaReview]] = {str(s): [] for s in workflow.ALL_STATES}
    for review in reviews:
        by_state[str(review.state)].append(review)
    taken = {r.idea_id for r in reviews}
    # One read of the suggesting ranking, deep enough for the suggestions; the board shows its top.
    suggesting = suggested_lines(challenge, viewer, limit=SUGGESTION_DEPTH)
    # Ideas nobody voted on have no place to show: they are listed apart, as without votes.
    ranking = [line for line in suggesting if line.voted][:RANKING_SHOWN]
    ranked = {line.idea.id for line in ranking}
    # Where each idea stands in each pool's own ranking: the blend can hide a pool's view.
    pool_positions: dict[int, dict[str, int]] = defaultdict(dict)
    if challenge.pool_mode in ("blended", "separate"):
        for pool in ("employee", "external"):
            for line in ranking_page(challenge, viewer, pool, limit=100):
                if line.idea.id in ranked and line.raw[pool]:
                    pool_positions[line.idea.id][pool] = line.position
    unranked = _without_votes(challenge, taken)

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
        suggestions=suggested_shortlist(challenge, viewer, lines=suggesting, taken=taken),
        reviewer_rows=reviewer_rows, owner_rows=owner_rows,
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
    staff_label: str | None = None  # the workflow's action ("start review"), for the API
    staff_line: str | None = None  # the same step in words ("Mani Manager started the review")


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
    # The n-th move to "handed off" is the n-th handoff: it names the owner of that step.
    handed_to = iter(sorted(review.handoffs, key=lambda h: h.number)) if internal else iter(())
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
            owner = None
            if state == S.HANDED_OFF:
                handoff = next(handed_to, None)
                owner = handoff.owner.name if handoff is not None and handoff.owner else None
            entry.staff_line = workflow.done_sentence(entry.staff_label, entry.by, owner)
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
