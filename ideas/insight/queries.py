"""The dashboards' figures as aggregate SQL: each function is one grouped query.

Design for size: a challenge may hold 100,000 ideas and a million votes, so nothing
here loads ideas or votes into Python.  Every query groups in the database
(GROUP BY, COUNT … FILTER, SUM, window functions) and returns a handful of rows:
one per pool, per day, per stage, per person.  Lists of items (overdue work, ideas
the pools disagree on) are bounded by LIMIT.  The two figures over every vote
(participation, vote quality) read tallies the database keeps as votes are written
(`insight.tallies`), so they cost the same at a hundred votes or a million.
`insight.figures` turns the rows into what the pages show.

`Scope` says which challenges a query covers: one challenge, or every challenge a
person manages (None: all of them, for administrators), and optionally a period.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ideas.accounts.models import User
from ideas.challenges.models import (
    Challenge,
    ChallengeRole,
    ChallengeStaff,
    Idea,
    IdeaStatus,
)
from ideas.database import seconds_between
from ideas.extensions import UTCDateTime, db
from ideas.insight.models import ActivityDay, VoteWeightTally
from ideas.review import stages
from ideas.review.models import (
    Handoff,
    IdeaReview,
    ReviewerAssignment,
    ReviewEscalation,
)
from ideas.review.workflow import ReviewState
from ideas.voting.models import IdeaScore

S = ReviewState
ACCEPTED_OR_LATER = (S.ACCEPTED, S.HANDED_OFF, S.HANDOFF_DECLINED, S.ACKNOWLEDGED, S.IN_PROGRESS,
                     S.DELIVERED, S.DROPPED)
HANDED_OFF_OR_LATER = (S.HANDED_OFF, S.HANDOFF_DECLINED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)
ACKNOWLEDGED_OR_LATER = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)
REVIEWING = (S.SHORTLISTED, S.IN_REVIEW)
LIST_LIMIT = 20


@dataclass(frozen=True)
class Scope:
    challenge_ids: Sequence[int] | None = None  # None: every challenge
    manager_id: int | None = None  # only the challenges this person manages
    start: datetime | None = None
    end: datetime | None = None

    def challenges(self, column) -> list[ColumnElement]:
        conditions = []
        if self.challenge_ids is not None:
            conditions.append(column.in_(list(self.challenge_ids)))
        if self.manager_id is not None:
            conditions.append(column.in_(
                select(ChallengeStaff.challenge_id).where(ChallengeStaff.user_id == self.manager_id,
                                                          ChallengeStaff.role == ChallengeRole.MANAGER)))
        return conditions

    def within(self, column) -> list[ColumnElement]:
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return conditions


def of_challenge(challenge_id: int) -> Scope:
    return Scope(challenge_ids=(challenge_id,))


def _now(now: datetime):
    return literal(now, UTCDateTime)


def _rows(query) -> list[dict]:
    return [dict(row) for row in db.session.execute(query).mappings()]


# --- the funnel ---------------------------------------------------------------------------

def _funnel_ideas(scope: Scope):
    # Submitted: every idea that was ever published (withdrawn and merged ones too),
    # less what moderation hid; drafts are nobody's business but their author's.
    return [Idea.status != IdeaStatus.DRAFT, Idea.hidden_at.is_(None),
            *scope.challenges(Idea.challenge_id), *scope.within(Idea.published_at)]


def _funnel_rows(scope: Scope, *group) -> list[dict]:
    """Two grouped queries: the ideas (submitted, voted on) and the few shortlisted ones
    (review states), so the reviews are not looked up for every idea of the challenge."""
    keys = [c.key for c in group]
    ideas = (select(*group, func.count(Idea.id).label("submitted"),
                    func.count(Idea.id).filter(or_(IdeaScore.raw_employee > 0, IdeaScore.raw_external > 0))
                    .label("voted"))
             .select_from(Idea).outerjoin(IdeaScore, IdeaScore.idea_id == Idea.id)
             .where(*_funnel_ideas(scope)).group_by(*group))
    state = IdeaReview.state
    reviews = (select(*group, func.count(IdeaReview.id).label("shortlisted"),
                      func.count(IdeaReview.id).filter(state.in_(ACCEPTED_OR_LATER)).label("accepted"),
                      func.count(IdeaReview.id).filter(state.in_(HANDED_OFF_OR_LATER)).label("handed_off"),
                      func.count(IdeaReview.id).filter(state.in_(ACKNOWLEDGED_OR_LATER)).label("acknowledged"),
                      func.count(IdeaReview.id).filter(state == S.DELIVERED).label("delivered"))
               .select_from(IdeaReview).join(Idea, Idea.id == IdeaReview.idea_id)
               .where(*_funnel_ideas(scope)).group_by(*group))
    empty = {"shortlisted": 0, "accepted": 0, "handed_off": 0, "acknowledged": 0, "delivered": 0}
    by_key = {tuple(r[k] for k in keys): {**r, **empty} for r in _rows(ideas)}
    for r in _rows(reviews):
        by_key[tuple(r[k] for k in keys)].update(r)  # a shortlisted idea is a submitted one
    return list(by_key.values())


def funnel(scope: Scope) -> list[dict]:
    """Per pool: ideas submitted, voted on, shortlisted, accepted, handed off,
    acknowledged, delivered (each a subset of the one before)."""
    return _funnel_rows(scope, Idea.pool.label("pool"))


def funnel_by_challenge(scope: Scope) -> list[dict]:
    """The same per challenge and pool, with the challenge's title (site dashboard)."""
    rows = _funnel_rows(scope, Idea.challenge_id.label("challenge_id"), Idea.pool.label("pool"))
    ids = {r["challenge_id"] for r in rows}
    titles = {}
    if ids:
        titles = {cid: title for cid, title in db.session.execute(
            select(Challenge.id, Challenge.title).where(Challenge.id.in_(list(ids))))}
    for r in rows:
        r["title"] = titles.get(r["challenge_id"], "")
    return rows


# --- participation --------------------------------------------------------------------------

def participation(scope: Scope) -> list[tuple]:
    """(day, pool, people) — the people who voted or submitted an idea that (UTC) day, per
    pool: the rows of the stored tally (`insight.models.ActivityDay`), one per person and
    day, never the votes themselves."""
    query = (select(ActivityDay.day, ActivityDay.pool, func.count())
             .where(*scope.challenges(ActivityDay.challenge_id),
                    *_days_within(scope, ActivityDay.day))
             .group_by(ActivityDay.day, ActivityDay.pool).order_by(ActivityDay.day, ActivityDay.pool))
    return [tuple(row) for row in db.session.execute(query)]


def _days_within(scope: Scope, column) -> list[ColumnElement]:
    # The tally knows days, not moments: a period that starts or ends inside a day keeps that day.
    conditions = []
    if scope.start is not None:
        conditions.append(column >= scope.start.astimezone(UTC).date())
    if scope.end is not None:
        conditions.append(column < _next_day(scope.end))
    return conditions


def _next_day(moment: datetime):
    day = moment.astimezone(UTC)
    return day.date() if day.time() == time() else day.date() + timedelta(days=1)


# --- time in each review stage ---------------------------------------------------------------

def stage_times(scope: Scope, now: datetime) -> list[dict]:
    """Per review state: stays, ideas there now, total and longest time spent (the review
    domain's measure, `review.stages.stage_times`, over this scope)."""
    return stages.stage_times(now, challenges=scope.challenges, start=scope.start, end=scope.end)


# --- who carries the load ----------------------------------------------------------------------

def reviewer_load(scope: Scope, now: datetime) -> list[dict]:
    """Per reviewer of the challenge: open scorecards, overdue ones, scorecards sent."""
    is_open = and_(ReviewerAssignment.submitted_at.is_(None), IdeaReview.state.in_(REVIEWING))
    query = (
        select(User.id.label("user_id"), User.name.label("name"),
               func.count(ReviewerAssignment.id).filter(is_open).label("open"),
               func.count(ReviewerAssignment.id).filter(is_open, ReviewerAssignment.due_at < _now(now))
               .label("overdue"),
               func.count(ReviewerAssignment.id).filter(ReviewerAssignment.submitted_at.is_not(None)).label("sent"))
        .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
        .join(User, User.id == ReviewerAssignment.reviewer_id)
        .where(ReviewerAssignment.conflict_declared_at.is_(None), *scope.challenges(IdeaReview.challenge_id))
        .group_by(User.id, User.name)
        .order_by(func.count(ReviewerAssignment.id).filter(is_open).desc(), User.name)
    )
    return _rows(query)


def _current_pending():
    return and_(Handoff.acknowledged_at.is_(None), Handoff.declined_at.is_(None),
                Handoff.number == IdeaReview.handoff_count, IdeaReview.state == S.HANDED_OFF)


def owner_load(scope: Scope, now: datetime) -> list[dict]:
    """Per owner who was handed ideas of the challenge: handoffs, waiting for their
    acknowledgement, overdue, taken on, delivered, and their average time to acknowledge."""
    pending = _current_pending()
    ack_seconds = seconds_between(Handoff.handed_at, Handoff.acknowledged_at)
    query = (
        select(User.id.label("user_id"), User.name.label("name"),
               func.count(Handoff.id).label("handoffs"),
               func.count(Handoff.id).filter(pending).label("waiting"),
               func.count(Handoff.id).filter(pending, Handoff.ack_due_at < _now(now)).label("overdue"),
               func.count(Handoff.id).filter(Handoff.acknowledged_at.is_not(None)).label("taken_on"),
               func.count(Handoff.id).filter(Handoff.acknowledged_at.is_not(None),
                                             IdeaReview.state == S.DELIVERED).label("delivered"),
               func.avg(case((Handoff.acknowledged_at.is_not(None), ack_seconds))).label("ack_seconds"))
        .join(IdeaReview, IdeaReview.id == Handoff.review_id)
        .join(User, User.id == Handoff.owner_id)
        .where(*scope.challenges(IdeaReview.challenge_id), *scope.within(Handoff.handed_at))
        .group_by(User.id, User.name)
        .order_by(func.count(Handoff.id).filter(pending).desc(), User.name)
    )
    return _rows(query)


def overdue_items(scope: Scope, now: datetime, limit: int = LIST_LIMIT) -> list[dict]:
    """Scorecards and acknowledgements past their due date, oldest first (bounded)."""
    cards = (
        select(literal("scorecard").label("kind"), IdeaReview.id.label("review_id"), Idea.title.label("title"),
               User.name.label("person"), ReviewerAssignment.due_at.label("due_at"))
        .join(IdeaReview, IdeaReview.id == ReviewerAssignment.review_id)
        .join(Idea, Idea.id == IdeaReview.idea_id)
        .join(User, User.id == ReviewerAssignment.reviewer_id)
        .where(ReviewerAssignment.conflict_declared_at.is_(None), ReviewerAssignment.submitted_at.is_(None),
               IdeaReview.state.in_(REVIEWING), ReviewerAssignment.due_at < _now(now),
               *scope.challenges(IdeaReview.challenge_id))
    )
    acks = (
        select(literal("acknowledgement").label("kind"), IdeaReview.id.label("review_id"),
               Idea.title.label("title"), User.name.label("person"), Handoff.ack_due_at.label("due_at"))
        .join(IdeaReview, IdeaReview.id == Handoff.review_id)
        .join(Idea, Idea.id == IdeaReview.idea_id)
        .join(User, User.id == Handoff.owner_id)
        .where(_current_pending(), Handoff.ack_due_at < _now(now), *scope.challenges(IdeaReview.challenge_id))
    )
    both = cards.union_all(acks).subquery()
    return _rows(select(both).order_by(both.c.due_at, both.c.review_id).limit(limit))


def open_escalations(scope: Scope, limit: int = 50) -> tuple[int, list[dict]]:
    """Handoffs escalated to the managers and still not answered: how many, and the oldest."""
    condition = and_(ReviewEscalation.level == "escalation", _current_pending(),
                     *scope.challenges(IdeaReview.challenge_id), *scope.within(ReviewEscalation.at))
    base = (select(ReviewEscalation.id)
            .join(Handoff, Handoff.id == ReviewEscalation.handoff_id)
            .join(IdeaReview, IdeaReview.id == ReviewEscalation.review_id)
            .where(condition))
    count = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = (
        select(ReviewEscalation.at.label("at"), ReviewEscalation.due_at.label("due_at"),
               IdeaReview.id.label("review_id"), Idea.title.label("title"), Challenge.id.label("challenge_id"),
               Challenge.title.label("challenge"), User.name.label("owner"))
        .join(Handoff, Handoff.id == ReviewEscalation.handoff_id)
        .join(IdeaReview, IdeaReview.id == ReviewEscalation.review_id)
        .join(Idea, Idea.id == IdeaReview.idea_id)
        .join(Challenge, Challenge.id == IdeaReview.challenge_id)
        .outerjoin(User, User.id == Handoff.owner_id)
        .where(condition)
        .order_by(ReviewEscalation.due_at, ReviewEscalation.id)
        .limit(limit)
    )
    return count, _rows(query)


# --- what the crowd said ----------------------------------------------------------------------------

def disagreements(challenge_id: int, limit: int = LIST_LIMIT) -> tuple[int, list[dict]]:
    """Ideas the pools rank far apart (flagged by the ranking), widest gap first."""
    condition = and_(IdeaScore.challenge_id == challenge_id, IdeaScore.disagree.is_(True),
                     Idea.status == IdeaStatus.PUBLISHED, Idea.hidden_at.is_(None))
    count = db.session.scalar(
        select(func.count()).select_from(IdeaScore).join(Idea, Idea.id == IdeaScore.idea_id).where(condition)) or 0
    gap = func.abs(IdeaScore.score_employee - IdeaScore.score_external)
    query = (
        select(Idea.id.label("idea_id"), Idea.title.label("title"), Idea.pool.label("pool"),
               IdeaScore.score_employee.label("employee"), IdeaScore.score_external.label("external"),
               IdeaScore.raw_employee.label("employee_votes"), IdeaScore.raw_external.label("external_votes"))
        .join(Idea, Idea.id == IdeaScore.idea_id)
        .where(condition)
        .order_by(gap.desc(), Idea.id)
        .limit(limit)
    )
    return count, _rows(query)


def vote_quality(scope: Scope) -> list[dict]:
    """Per voter pool: votes, the weight they count for, and the weight lost to each cause
    (see `figures.vote_quality` for how a vote's loss splits between its factors), summed
    from the stored tally (`insight.models.VoteWeightTally`: a row per idea and pool)."""
    t = VoteWeightTally
    query = (
        select(t.pool.label("pool"), func.coalesce(func.sum(t.votes), 0).label("votes"),
               *(func.coalesce(func.sum(getattr(t, c)), 0.0).label(c)
                 for c in ("counted", "effort", "standing", "collusion", "own_idea")))
        .where(*scope.challenges(t.challenge_id))
        .group_by(t.pool)
    )
    return _rows(query)
