"""CSV exports for the managers: a challenge's shortlist with its scores, and handoffs.

Bounded rather than streamed: a shortlist is as long as the review capacity (and a
logged reason beyond it), and the handoff export stops at MAX_ROWS rows (the response
says so in X-Ideas-Truncated).  Every text cell that a spreadsheet would read as a
formula (starting with = + - @, a tab or a carriage return) is prefixed with a single
quote: an idea's title is written by anyone, and must never run in a manager's Excel.
Numbers the site computes are written as numbers."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Response
from sqlalchemy import select

from ideas import clock
from ideas.challenges.models import Challenge
from ideas.extensions import db
from ideas.integrations import handoffs as handoff_list
from ideas.review import services as review
from ideas.review.models import Handoff, IdeaReview
from ideas.voting.models import IdeaScore

MAX_ROWS = 10_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str | int | float:
    """One CSV cell: text defused against formula injection, numbers and dates as such."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return round(value, 4) if isinstance(value, float) else value
    if isinstance(value, datetime):
        return clock.as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def csv_response(text: str, filename: str, *, truncated: int | None = None) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    if truncated:
        response.headers["X-Ideas-Truncated"] = str(truncated)
    return response


def _authors(idea) -> str:
    names = [idea.author.name] if idea.author else []
    names += [c.user.name for c in idea.coauthors if c.accepted_at and c.user is not None]
    return "; ".join(names)


SHORTLIST_HEADER = (
    "idea_id", "external_ref", "title", "authors", "pool", "review_state", "blended_score", "employee_score",
    "external_score", "pools_disagree", "review_score", "reviewer_count", "reviewers_assigned",
    "reviewer_disagreement", "reviewers_disagree", "decision", "owner", "shortlisted_at",
)


def shortlist_rows(challenge: Challenge) -> list[tuple]:
    """Every shortlisted idea of the challenge, in shortlist order, with the crowd's
    scores (per pool and blended, as the ranking shows them) and the reviewers' (the
    weighted mean, how many scored, how far apart they are).  For the managers, so
    the authors are named even under blind review."""
    reviews = list(db.session.scalars(
        select(IdeaReview).where(IdeaReview.challenge_id == challenge.id).order_by(IdeaReview.id)))
    scores = {s.idea_id: s for s in db.session.scalars(
        select(IdeaScore).where(IdeaScore.idea_id.in_([r.idea_id for r in reviews])))}
    pairwise = challenge.voting_policy == "pairwise"
    rows = []
    for r in reviews:
        idea, crowd = r.idea, scores.get(r.idea_id)
        sheet = review.score_sheet(r).scores
        blended = None
        if crowd is not None:
            blended = crowd.score_pairwise if pairwise else crowd.score_blended
        rows.append((
            idea.id, idea.external_ref, idea.title, _authors(idea), idea.pool, r.state, blended,
            crowd.score_employee if crowd else None, crowd.score_external if crowd else None,
            crowd.disagree if crowd else False, sheet.score, len(sheet.reviewers), len(r.active_assignments()),
            sheet.disagreement if sheet.reviewers else None, sheet.disagree, r.decision,
            r.owner.name if r.owner else None, r.created_at,
        ))
    return rows


def shortlist_csv(challenge: Challenge) -> Response:
    return csv_response(to_csv(SHORTLIST_HEADER, shortlist_rows(challenge)),
                        f"shortlist-challenge-{challenge.id}.csv")


HANDOFF_HEADER = (
    "handoff_id", "handoff_number", "idea_id", "idea_external_ref", "idea_title", "challenge_id",
    "challenge_title", "owner_id", "owner", "status", "handed_off_at", "ack_due_at", "overdue",
    "acknowledged_at", "declined_at", "decline_reason", "last_progress_update_at", "last_progress_update",
    "closed_at", "outcome", "outcome_reason",
)


def handoff_rows(found: list[Handoff], now: datetime) -> list[tuple]:
    updates = handoff_list.last_updates(sorted({h.review_id for h in found}))
    rows = []
    for h in found:
        r = h.review
        status = handoff_list.status_of(h)
        closed = status in ("delivered", "dropped")
        last = updates.get(r.id) if h.acknowledged_at else None
        rows.append((
            h.id, h.number, r.idea_id, r.idea.external_ref, r.idea.title, r.challenge_id, r.challenge.title,
            h.owner_id, h.owner.name if h.owner else None, status, h.handed_at, h.ack_due_at,
            status == "pending" and clock.as_utc(h.ack_due_at) < now, h.acknowledged_at, h.declined_at,
            h.decline_reason or None, last.at if last else None, last.body if last else None,
            r.closed_at if closed else None, status if closed else None, r.close_reason if closed else None,
        ))
    return rows


def handoffs_csv(viewer, filters: handoff_list.HandoffFilter, now: datetime | None = None) -> Response:
    now = now or clock.now()
    found = list(db.session.scalars(
        handoff_list.query(viewer, filters, now, own=False).order_by(Handoff.id).limit(MAX_ROWS + 1)))
    truncated = MAX_ROWS if len(found) > MAX_ROWS else None
    name = "handoffs" + (f"-challenge-{filters.challenge_id}" if filters.challenge_id else "") + ".csv"
    return csv_response(to_csv(HANDOFF_HEADER, handoff_rows(found[:MAX_ROWS], now)), name, truncated=truncated)
