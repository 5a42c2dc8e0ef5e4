"""How long ideas stay in each review stage: one grouped query over the review log.

The one home of this measure: the review dashboard shows it per challenge, the insight
dashboards per challenge and across challenges, both from `stage_times`, read by one
function (`review.timing.stage_waits`: averages over every stay, ongoing ones included).  LEAD() pairs
each step of a review's log with the next one of the same review, so a stay ends when
the next step starts; a stay still going on counts up to `now`.  Nothing is loaded
into Python but one row per state.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from ideas.database import seconds_between
from ideas.extensions import UTCDateTime, db
from ideas.review.models import IdeaReview, ReviewTransition


def stage_times(now: datetime, *, challenges: Callable[[ColumnElement], Iterable[ColumnElement]] | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """Per review state: `stays` (every stay begun there), `finished` (those that ended)
    with their `finished_seconds` and `longest_finished_seconds`, `waiting` (ideas there
    now) with `longest_waiting_seconds`, and over all stays `total_seconds` and
    `longest_seconds` (ongoing ones counted up to now).

    `challenges(column)` gives the conditions on the review's challenge id (none: every
    challenge); `start`/`end` keep the stays that began in that period, each measured to
    its true end even when that lies after the period."""
    steps = (
        select(ReviewTransition.to_state.label("state"), ReviewTransition.at.label("at"),
               func.lead(ReviewTransition.at).over(partition_by=ReviewTransition.review_id,
                                                   order_by=(ReviewTransition.at, ReviewTransition.id))
               .label("next_at"))
        .join(IdeaReview, IdeaReview.id == ReviewTransition.review_id)
        .where(*(challenges(IdeaReview.challenge_id) if challenges else ()))
        .subquery()
    )
    ended = steps.c.next_at.is_not(None)
    going_on = steps.c.next_at.is_(None)
    spent = seconds_between(steps.c.at, func.coalesce(steps.c.next_at, literal(now, UTCDateTime)))
    period = []
    if start is not None:
        period.append(steps.c.at >= start)
    if end is not None:
        period.append(steps.c.at < end)
    query = (
        select(steps.c.state.label("state"), func.count().label("stays"),
               func.count().filter(ended).label("finished"),
               func.count().filter(going_on).label("waiting"),
               func.sum(spent).label("total_seconds"), func.max(spent).label("longest_seconds"),
               func.sum(spent).filter(ended).label("finished_seconds"),
               func.max(spent).filter(ended).label("longest_finished_seconds"),
               func.max(spent).filter(going_on).label("longest_waiting_seconds"))
        .where(*period)
        .group_by(steps.c.state)
    )
    return [dict(row) for row in db.session.execute(query).mappings()]
