"""Insight use cases: the challenge and site dashboards, results pages, track records.

Each dashboard is a list of panels; a panel is one chart with its figures as a table
(the same figures go into its CSV).  The figures come from `insight.queries`
(aggregate SQL) through `insight.figures` (pure); nothing here loops over ideas or
votes.  Who may see what is decided here (`can_see_dashboard`, `can_see_site_dashboard`);
routes turn a refusal into 403/404.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from ideas import caching, clock
from ideas.accounts.models import Role, User
from ideas.challenges import permissions
from ideas.challenges.models import Challenge, Idea, IdeaStatus, Phase, PoolMode
from ideas.database import seconds_between
from ideas.extensions import db
from ideas.insight import charts, figures, queries
from ideas.insight.figures import Period
from ideas.insight.queries import Scope
from ideas.review import timing, workflow
from ideas.review.models import Handoff, IdeaReview, ProgressUpdate
from ideas.review.workflow import ReviewState
from ideas.voting.services import ranking_page

S = ReviewState


class InsightError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


# --- who sees what --------------------------------------------------------------------------------

def can_see_dashboard(user, challenge: Challenge) -> bool:
    """A challenge's dashboard is for its managers (and administrators) only."""
    return permissions.is_manager(user, challenge)


def can_see_site_dashboard(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_admin or user.has_role(Role.MANAGER)))


def site_scope(user, period: Period | None = None) -> Scope:
    """Administrators see every challenge; an innovation manager the ones they manage."""
    return Scope(manager_id=None if user.is_admin else user.id,
                 start=period.start if period else None, end=period.end if period else None)


# --- panels -----------------------------------------------------------------------------------------

@dataclass
class Panel:
    slug: str
    title: str
    headers: list[str]
    rows: list[list]  # raw values: the CSV and the table
    chart: charts.Chart | None = None
    caption: str = ""  # a sentence above the chart
    summary: str = ""  # the finding in words (the bottleneck, the share discounted)
    empty: str = "Nothing yet."
    display: list[list[str]] = field(default_factory=list)  # the table's cells, formatted
    links: list[int] = field(default_factory=list)  # idea ids, one per row, where rows are ideas

    def csv(self) -> str:
        return figures.csv_text(self.headers, self.rows)


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return f"{value:%d %b %Y}"
    return str(value)


def _finish(panel: Panel) -> Panel:
    if not panel.display:
        panel.display = [[_fmt(v) for v in row] for row in panel.rows]
    return panel


def funnel_panel(rows: list[dict], pools: Sequence[str]) -> Panel:
    steps = figures.FUNNEL_STEPS
    funnel = figures.funnel(rows, pools)
    per_pool = [r for r in funnel if r.pool != "all"]
    chart = charts.horizontal_bars(
        [label for _, label in steps], {r.label: [r.counts[key] for key, _ in steps] for r in per_pool},
        alt="Funnel from submitted to delivered, per pool; the figures are in the table below.")
    headers = ["Pool", *(label for _, label in steps), "Submitted to delivered"]
    table = []
    display = []
    for r in funnel:
        conversion = r.conversion()
        table.append([r.label, *(r.counts[key] for key, _ in steps), round(conversion, 4) if conversion is not None
                      else None])
        display.append([r.label, *(str(r.counts[key]) for key, _ in steps),
                        figures.share(r.counts["delivered"], r.counts["submitted"])])
    total = funnel[-1].counts
    summary = (f"{total['submitted']} ideas submitted, {total['shortlisted']} shortlisted, "
               f"{total['delivered']} delivered.")
    return Panel("funnel", "From idea to delivery", headers, table, chart,
                 "Each step counts the ideas that got at least that far, per pool of their authors.",
                 summary, display=display)


def participation_panel(rows: list[tuple], pools: Sequence[str]) -> Panel:
    series = figures.participation(rows, pools)
    labels = {pool: figures.POOL_LABELS[pool] for pool in pools}
    chart = charts.lines(series.labels, {labels[p]: series.values[p] for p in pools},
                         alt=f"People taking part per {series.unit} and pool; the figures are in the table below.")
    headers = ["Period", *(labels[p] for p in pools)]
    table = [[label, *(series.values[p][i] for p in pools)] for i, label in enumerate(series.labels)]
    busiest = max(((sum(series.values[p][i] for p in pools), label) for i, label in enumerate(series.labels)),
                  default=None)
    summary = f"Busiest {series.unit}: {busiest[1]}, {busiest[0]} people." if busiest and busiest[0] else ""
    return _finish(Panel("participation", "Participation over time", headers, table, chart,
                         f"People who voted or submitted an idea, per {series.unit} and pool.", summary,
                         "Nobody has taken part yet."))


def _days(seconds: float | None) -> str:
    return timing.in_days(None if seconds is None else timedelta(seconds=seconds))


def stages_panel(rows: list[dict]) -> Panel:
    order = [str(s) for s in workflow.ALL_STATES]
    stages = figures.stage_times(rows, order)
    slowest = figures.bottleneck(stages)
    chart = charts.horizontal_bars(
        [s.short_label for s in stages], {"Average days": [round(s.average_days or 0, 2) for s in stages]},
        alt="Average days spent in each review stage; the figures are in the table below.", value_format="{:.1f}")
    headers = ["Stage", "Ideas through it", "There now", "Average (days)", "Longest (days)"]
    table = [[s.label, s.stays, s.waiting, round(s.average_days, 2) if s.average_days is not None else None,
              round(s.longest_seconds / 86400, 2) if s.longest_seconds is not None else None] for s in stages]
    # The columns are headed in days: the figures are days too ("1.6", not "38 hours").
    display = [[s.label, str(s.stays), str(s.waiting), _days(s.average_seconds), _days(s.longest_seconds)]
               for s in stages]
    summary = (f"Bottleneck: {slowest.label.lower()}, {figures.duration(slowest.average_seconds)} on average."
               if slowest else "")
    return Panel("stages", "Time in each review stage", headers, table, chart,
                 "How long ideas stay in each stage of review and handoff; a stay still going on counts up to now.",
                 summary, "No idea has been shortlisted yet.", display=display)


def reviewers_panel(rows: list[dict]) -> Panel:
    chart = charts.horizontal_bars(
        [r["name"] for r in rows], {"Open": [r["open"] for r in rows], "Overdue": [r["overdue"] for r in rows]},
        alt="Open and overdue scorecards per reviewer; the figures are in the table below.")
    headers = ["Reviewer", "Open scorecards", "Overdue", "Sent"]
    table = [[r["name"], r["open"], r["overdue"], r["sent"]] for r in rows]
    overdue = sum(r["overdue"] for r in rows)
    return _finish(Panel("reviewers", "Reviewer load", headers, table, chart,
                         "Scorecards each reviewer still owes on this challenge's ideas.",
                         f"{overdue} scorecard{'s' if overdue != 1 else ''} overdue." if rows else "",
                         "No reviewer is assigned yet."))


def owners_panel(rows: list[dict]) -> Panel:
    chart = charts.horizontal_bars(
        [r["name"] for r in rows],
        {"Waiting for acknowledgement": [r["waiting"] for r in rows], "Overdue": [r["overdue"] for r in rows],
         "Delivered": [r["delivered"] for r in rows]},
        alt="Handoffs waiting, overdue and delivered per owner; the figures are in the table below.")
    headers = ["Owner", "Handoffs", "Waiting for acknowledgement", "Overdue", "Taken on", "Delivered",
               "Average time to acknowledge (days)"]
    table = [[r["name"], r["handoffs"], r["waiting"], r["overdue"], r["taken_on"], r["delivered"],
              round(float(r["ack_seconds"]) / 86400, 2) if r["ack_seconds"] is not None else None] for r in rows]
    display = [[r["name"], str(r["handoffs"]), str(r["waiting"]), str(r["overdue"]), str(r["taken_on"]),
                str(r["delivered"]), _days(float(r["ack_seconds"]) if r["ack_seconds"] is not None else None)]
               for r in rows]
    overdue = sum(r["overdue"] for r in rows)
    return Panel("owners", "Owner load", headers, table, chart,
                 "Ideas handed to each R&D owner, and how fast they acknowledge them.",
                 f"{overdue} acknowledgement{'s' if overdue != 1 else ''} overdue." if rows else "",
                 "No idea has been handed off yet.", display=display)


def disagreement_panel(count: int, rows: list[dict]) -> Panel:
    chart = charts.horizontal_bars(
        [r["title"] for r in rows],
        {"Employees' score": [round(r["employee"], 3) for r in rows],
         "Externals' score": [round(r["external"], 3) for r in rows]},
        alt="Employees' and externals' scores of the ideas they disagree on; the figures are in the table below.",
        value_format="{:.2f}")
    headers = ["Idea", "Employees' score", "Externals' score", "Employee votes", "External votes"]
    table = [[r["title"], round(r["employee"], 4), round(r["external"], 4), r["employee_votes"],
              r["external_votes"]] for r in rows]
    summary = (f"The pools disagree on {count} idea{'s' if count != 1 else ''}"
               + (f"; the {len(rows)} widest gaps are shown." if count > len(rows) else ".")) if count else ""
    panel = _finish(Panel("disagreement", "Where the pools disagree", headers, table, chart,
                          "Ideas one pool ranks high and the other low: worth a look before shortlisting.",
                          summary, "The pools agree so far (or one of them has too few votes to tell)."))
    panel.links = [r["idea_id"] for r in rows]
    return panel


def quality_panel(rows: list[dict], pools: Sequence[str]) -> Panel:
    quality = figures.vote_quality(rows, pools)
    per_pool = [q for q in quality if q.pool != "all"]
    causes = [(c, label) for c, label in figures.DISCOUNT_CAUSES]
    chart = charts.horizontal_bars(
        [figures.CAUSE_SHORT[c] for c, _ in causes],
        {q.label: [round(100 * (q.cause_share(c) or 0), 1) for c, _ in causes] for q in per_pool},
        alt="Share of vote weight discounted, by cause and pool; the figures are in the table below.",
        value_format="{:.1f} %")
    headers = ["Pool", "Votes", "Weight counted", "Share discounted", *(label for _, label in causes)]
    table, display = [], []
    for q in quality:
        table.append([q.label, q.votes, round(q.counted, 4),
                      round(q.discounted_share(), 4) if q.votes else None,
                      *(round(q.cause_share(c), 4) if q.votes else None for c, _ in causes)])
        display.append([q.label, str(q.votes), f"{q.counted:.1f}", figures.share(q.discounted, q.votes),
                        *(figures.share(q.lost.get(c, 0), q.votes) for c, _ in causes)])
    total = quality[-1]
    summary = (f"{figures.share(total.discounted, total.votes)} of the weight of {total.votes} votes was "
               "discounted." if total.votes else "")
    return Panel("quality", "Vote quality", headers, table, chart,
                 "How much of the votes' weight was discounted, and why: a share of all votes' full weight.",
                 summary, "No votes yet.", display=display)


CHALLENGE_PANELS = ("funnel", "participation", "stages", "reviewers", "owners", "disagreement", "quality")


def _kept(name: str, key, depends: str, build: Callable[[], object]):
    """Figures that do not depend on the clock (the funnel, participation, vote quality,
    disagreement: the ones that read every idea or a tally), kept in the site's cache under
    the generations they depend on (`caching.remember`): every committed vote, decision,
    moderation, phase or pool change moves the challenge's generation, so the next read
    counts again.  Stage times, loads and overdue items count up to now and are always
    read afresh."""
    return caching.remember(("insight", name, key), depends, build)


def challenge_panel(challenge: Challenge, slug: str, now: datetime | None = None) -> Panel:
    """One panel of a challenge's dashboard (one or two aggregate queries)."""
    now = now or clock.now()
    scope = queries.of_challenge(challenge.id)
    pools = permissions.pools_of(challenge)
    depends = f"c:{challenge.id}"
    builders: dict[str, Callable[[], Panel]] = {
        "funnel": lambda: funnel_panel(_kept("funnel", challenge.id, depends, lambda: queries.funnel(scope)), pools),
        "participation": lambda: participation_panel(
            _kept("participation", challenge.id, depends, lambda: queries.participation(scope)), pools),
        "stages": lambda: stages_panel(queries.stage_times(scope, now)),
        "reviewers": lambda: reviewers_panel(queries.reviewer_load(scope, now)),
        "owners": lambda: owners_panel(queries.owner_load(scope, now)),
        "disagreement": lambda: disagreement_panel(
            *_kept("disagreement", challenge.id, depends, lambda: queries.disagreements(challenge.id))),
        "quality": lambda: quality_panel(_kept("quality", challenge.id, depends, lambda: queries.vote_quality(scope)),
                                         pools),
    }
    if slug not in builders:
        raise InsightError("There is no such chart on this dashboard.", status=404)
    return builders[slug]()


@dataclass
class ChallengeDashboard:
    challenge: Challenge
    panels: list[Panel]
    overdue: list[dict]
    now: datetime


def challenge_dashboard(challenge: Challenge, now: datetime | None = None) -> ChallengeDashboard:
    now = now or clock.now()
    panels = [challenge_panel(challenge, slug, now) for slug in CHALLENGE_PANELS]
    if challenge.pool_mode not in (PoolMode.BLENDED, PoolMode.SEPARATE):
        panels = [p for p in panels if p.slug != "disagreement"]  # one pool cannot disagree with itself
    return ChallengeDashboard(challenge, panels, queries.overdue_items(queries.of_challenge(challenge.id), now), now)


# --- the site dashboard ----------------------------------------------------------------------------

SITE_PANELS = ("funnel", "stages", "conversion", "pools")


def conversion_panel(rows: list[dict]) -> Panel:
    by_challenge: dict[int, dict] = {}
    for r in rows:
        entry = by_challenge.setdefault(r["challenge_id"], {"title": r["title"], "submitted": 0, "shortlisted": 0,
                                                            "accepted": 0, "delivered": 0})
        for key in ("submitted", "shortlisted", "accepted", "delivered"):
            entry[key] += r[key]
    ordered = sorted(by_challenge.values(), key=lambda e: (-e["submitted"], e["title"]))
    top = ordered[:12]
    chart = charts.horizontal_bars(
        [e["title"] for e in top],
        {"Submitted": [e["submitted"] for e in top], "Shortlisted": [e["shortlisted"] for e in top],
         "Delivered": [e["delivered"] for e in top]},
        alt="Ideas submitted, shortlisted and delivered per challenge; the figures are in the table below.")
    headers = ["Challenge", "Submitted", "Shortlisted", "Accepted", "Delivered", "Submitted to delivered"]
    table = [[e["title"], e["submitted"], e["shortlisted"], e["accepted"], e["delivered"],
              round(e["delivered"] / e["submitted"], 4) if e["submitted"] else None] for e in ordered]
    display = [[e["title"], str(e["submitted"]), str(e["shortlisted"]), str(e["accepted"]), str(e["delivered"]),
                figures.share(e["delivered"], e["submitted"])] for e in ordered]
    return Panel("conversion", "Conversion per challenge", headers, table, chart,
                 "From submitted to delivered, challenge by challenge (the twelve largest are charted).", "",
                 "No challenge has ideas in this period.", display=display)


def pools_panel(rows: list[dict]) -> Panel:
    funnel = [r for r in figures.funnel(rows) if r.pool != "all"]
    chart = charts.bars(
        [r.label for r in funnel],
        {"Submitted to shortlisted": [round(100 * r.counts["shortlisted"] / r.counts["submitted"], 1)
                                      if r.counts["submitted"] else 0 for r in funnel],
         "Submitted to delivered": [round(100 * (r.conversion() or 0), 1) for r in funnel]},
        alt="Conversion per pool in percent; the figures are in the table below.", value_format="{:.1f} %")
    headers = ["Pool", "Submitted", "Shortlisted", "Delivered", "Submitted to shortlisted", "Submitted to delivered"]
    table = [[r.label, r.counts["submitted"], r.counts["shortlisted"], r.counts["delivered"],
              round(r.counts["shortlisted"] / r.counts["submitted"], 4) if r.counts["submitted"] else None,
              round(r.conversion(), 4) if r.conversion() is not None else None] for r in funnel]
    display = [[r.label, str(r.counts["submitted"]), str(r.counts["shortlisted"]), str(r.counts["delivered"]),
                figures.share(r.counts["shortlisted"], r.counts["submitted"]),
                figures.share(r.counts["delivered"], r.counts["submitted"])] for r in funnel]
    return Panel("pools", "Conversion per pool", headers, table, chart,
                 "Which pool's ideas go further: employees' or externals'.", "", "No ideas in this period.",
                 display=display)


def site_panel(scope: Scope, slug: str, now: datetime | None = None, *,
               by_challenge: list[dict] | None = None) -> Panel:
    """One panel of the site dashboard.  The funnel, conversion and pool panels all read
    the funnel per challenge and pool (`by_challenge`, counted once for the page): the
    per-pool figures are its rows summed (`figures.funnel`)."""
    now = now or clock.now()
    rows = (lambda: by_challenge) if by_challenge is not None else (lambda: _site_funnel(scope))
    builders: dict[str, Callable[[], Panel]] = {
        "funnel": lambda: funnel_panel(rows(), figures.POOLS),
        "stages": lambda: stages_panel(queries.stage_times(scope, now)),
        "conversion": lambda: conversion_panel(rows()),
        "pools": lambda: pools_panel(rows()),
    }
    if slug not in builders:
        raise InsightError("There is no such chart on this dashboard.", status=404)
    return builders[slug]()


@dataclass
class SiteDashboard:
    panels: list[Panel]
    escalation_count: int
    escalations: list[dict]


def _site_funnel(scope: Scope) -> list[dict]:
    # Over every challenge in scope: kept until anything on the site changes (`any`).
    return _kept("funnel_by_challenge", scope, "any", lambda: queries.funnel_by_challenge(scope))


def site_dashboard(scope: Scope, now: datetime | None = None) -> SiteDashboard:
    now = now or clock.now()
    count, escalations = queries.open_escalations(scope)
    by_challenge = _site_funnel(scope)
    return SiteDashboard([site_panel(scope, slug, now, by_challenge=by_challenge) for slug in SITE_PANELS],
                         count, escalations)


# --- results of a closed challenge ---------------------------------------------------------------------

@dataclass
class Outcome:
    idea: Idea
    state: str
    label: str
    decision: str | None
    reason: str  # the public reason only
    owner: str | None
    closed_reason: str
    latest: ProgressUpdate | None


@dataclass
class Results:
    challenge: Challenge
    open: bool  # not closed yet: nothing is published
    rankings: list[tuple[str, str, list]]  # (pool, label, lines)
    outcomes: list[Outcome]


def ranking_pools(challenge: Challenge, viewer) -> list[tuple[str, str]]:
    """The rankings a challenge publishes, as it blends its pools, that this viewer may see."""
    mode = PoolMode(challenge.pool_mode)
    visible = permissions.visible_pools(viewer, challenge)
    if mode == PoolMode.EMPLOYEES_ONLY:
        return [("employee", "Ranking")]
    if mode == PoolMode.EXTERNALS_ONLY:
        return [("external", "Ranking")]
    pools = [(p, f"{figures.POOL_LABELS[p]}' ranking") for p in figures.POOLS if p in visible]
    if mode == PoolMode.BLENDED:
        return [("blended", "Blended ranking"), *pools]
    return pools


def results(challenge: Challenge, viewer, *, limit: int = 10) -> Results:
    """What a closed challenge produced, for its audience: rankings, decisions with the
    reasons given to the authors (never internal notes or internal reasons), handoffs
    with their latest progress.  Ideas the viewer may not see are left out."""
    if challenge.phase != Phase.CLOSED:
        return Results(challenge, True, [], [])
    rankings = [(pool, label, ranking_page(challenge, viewer, pool, limit=limit))
                for pool, label in ranking_pools(challenge, viewer)]
    visible = permissions.visible_pools(viewer, challenge)
    staff = permissions.is_staff(viewer, challenge)
    query = (select(IdeaReview).join(Idea, Idea.id == IdeaReview.idea_id)
             .where(IdeaReview.challenge_id == challenge.id, Idea.pool.in_(visible),
                    Idea.status == IdeaStatus.PUBLISHED)
             .order_by(IdeaReview.decided_at.is_(None), IdeaReview.decided_at, IdeaReview.id).limit(100))
    if not staff:
        query = query.where(Idea.hidden_at.is_(None))
    reviews = list(db.session.scalars(query))
    latest = {}
    if reviews:
        newest = (select(ProgressUpdate.review_id, func.max(ProgressUpdate.id).label("id"))
                  .where(ProgressUpdate.review_id.in_([r.id for r in reviews]))
                  .group_by(ProgressUpdate.review_id).subquery())
        latest = {u.review_id: u for u in db.session.scalars(
            select(ProgressUpdate).join(newest, newest.c.id == ProgressUpdate.id))}
    outcomes = []
    for review in reviews:
        owned = review.state in (S.ACKNOWLEDGED, S.IN_PROGRESS, S.DELIVERED, S.DROPPED)
        outcomes.append(Outcome(
            idea=review.idea, state=str(review.state), label=workflow.author_label(review.state),
            decision=review.decision, reason=review.decision_reason if review.decision else "",
            owner=review.owner.name if owned and review.owner else None,
            closed_reason=review.close_reason if review.state in (S.DELIVERED, S.DROPPED) else "",
            latest=latest.get(review.id)))
    return Results(challenge, False, rankings, outcomes)


# --- track records -------------------------------------------------------------------------------------------

@dataclass
class ContributorRecord:
    ideas: list[tuple[Idea, str]]  # the idea and where it went, newest first
    submitted: int
    shortlisted: int
    accepted: int
    delivered: int


@dataclass
class OwnerRecord:
    taken_on: int
    delivered: int
    in_hand: int
    average_ack_seconds: float | None
    items: list[tuple[Idea, str]]


LISTED_STATUSES = (IdeaStatus.PUBLISHED, IdeaStatus.MERGED, IdeaStatus.WITHDRAWN)


def _visible_challenges(viewer, ids) -> dict[int, Challenge]:
    if not ids:
        return {}
    found = db.session.scalars(select(Challenge).where(Challenge.id.in_(list(ids))))
    return {c.id: c for c in found if permissions.can_see_challenge(viewer, c)}


def _visible_groups(viewer, rows) -> tuple[dict[int, Challenge], set[tuple[int, str]]]:
    """The one rule of a profile's track records: of rows grouped by (challenge id, pool,
    …), the groups whose ideas this viewer may see (the challenge, and that pool in it).
    Counts and lists are both cut by it, so no count reveals an idea the list hides."""
    challenges = _visible_challenges(viewer, {r[0] for r in rows})
    seen = {(cid, pool) for cid, pool, *_ in rows
            if cid in challenges and pool in permissions.visible_pools(viewer, challenges[cid])}
    return challenges, seen


def _sum_visible(rows, seen, width: int) -> list:
    totals = [0] * width
    for cid, pool, *counts in rows:
        if (cid, pool) in seen:
            totals = [a + (b or 0) for a, b in zip(totals, counts, strict=True)]
    return totals


def contributor_record(person: User, viewer, *, limit: int = 20) -> ContributorRecord | None:
    """A person's ideas and where each went, with counts of the ones that went far: only
    ideas the viewer may see are counted or listed."""
    state = IdeaReview.state
    rows = db.session.execute(
        select(Idea.challenge_id, Idea.pool, func.count(Idea.id),
               func.count(IdeaReview.id),
               func.count(IdeaReview.id).filter(state.in_(queries.ACCEPTED_OR_LATER)),
               func.count(IdeaReview.id).filter(state == S.DELIVERED))
        .outerjoin(IdeaReview, IdeaReview.idea_id == Idea.id)
        .where(Idea.author_id == person.id, Idea.status.in_(LISTED_STATUSES), Idea.hidden_at.is_(None))
        .group_by(Idea.challenge_id, Idea.pool)).all()
    challenges, seen = _visible_groups(viewer, rows)
    totals = _sum_visible(rows, seen, 4)
    if not totals[0]:
        return None
    ideas = []
    candidates = db.session.execute(
        select(Idea, IdeaReview.state).outerjoin(IdeaReview, IdeaReview.idea_id == Idea.id)
        .where(Idea.author_id == person.id, Idea.challenge_id.in_(list(challenges)),
               Idea.status.in_(LISTED_STATUSES), Idea.hidden_at.is_(None))
        .order_by(Idea.published_at.desc(), Idea.id.desc()).limit(limit * 2)).all()
    for idea, review_state in candidates:
        if (idea.challenge_id, idea.pool) not in seen:
            continue
        ideas.append((idea, _where_it_went(idea, review_state)))
        if len(ideas) >= limit:
            break
    return ContributorRecord(ideas, *totals)


def _where_it_went(idea: Idea, review_state: str | None) -> str:
    if review_state:
        return workflow.author_label(review_state)
    if idea.status == IdeaStatus.WITHDRAWN:
        return "Withdrawn by its author"
    if idea.status == IdeaStatus.MERGED:
        return "Merged into another idea"
    phase = idea.challenge.phase
    if phase == Phase.REVIEW:
        return "Not shortlisted yet"  # the managers are still choosing
    if phase == Phase.CLOSED:
        return "Not shortlisted"
    return "Open for votes" if phase == Phase.VOTING else "Submitted"


def owner_record(person: User, viewer, *, limit: int = 20) -> OwnerRecord | None:
    """What an R&D owner took on and delivered, and how fast they acknowledge: counted,
    like the contributor's record, over the ideas this viewer may see only."""
    acknowledged = Handoff.acknowledged_at.is_not(None)
    mine = and_(acknowledged, IdeaReview.owner_id == person.id)
    rows = db.session.execute(
        select(Idea.challenge_id, Idea.pool,
               func.count(Handoff.id).filter(acknowledged),
               func.count(Handoff.id).filter(mine, IdeaReview.state == S.DELIVERED),
               func.count(Handoff.id).filter(mine, IdeaReview.state.in_((S.ACKNOWLEDGED, S.IN_PROGRESS))),
               func.sum(seconds_between(Handoff.handed_at, Handoff.acknowledged_at)))
        .join(IdeaReview, IdeaReview.id == Handoff.review_id)
        .join(Idea, Idea.id == IdeaReview.idea_id)
        .where(Handoff.owner_id == person.id, Idea.status.in_(LISTED_STATUSES), Idea.hidden_at.is_(None))
        .group_by(Idea.challenge_id, Idea.pool)).all()
    challenges, seen = _visible_groups(viewer, rows)
    taken, delivered, in_hand, ack_total = _sum_visible(rows, seen, 4)
    if not taken:
        return None
    items = []
    for idea, state in db.session.execute(
            select(Idea, IdeaReview.state).join(IdeaReview, IdeaReview.idea_id == Idea.id)
            .join(Handoff, Handoff.review_id == IdeaReview.id)
            .where(Handoff.owner_id == person.id, acknowledged, Idea.challenge_id.in_(list(challenges)),
                   Idea.status.in_(LISTED_STATUSES), Idea.hidden_at.is_(None))
            .order_by(Handoff.acknowledged_at.desc(), Handoff.id.desc()).limit(limit * 2)):
        if (idea.challenge_id, idea.pool) in seen:
            items.append((idea, workflow.author_label(state)))
        if len(items) >= limit:
            break
    # Only acknowledged handoffs have a time to acknowledge: the average is over those.
    return OwnerRecord(taken, delivered, in_hand, float(ack_total) / taken, items)
