"""What the dashboards compute from aggregated rows: pure functions, no Flask, no database.

The queries (`insight.queries`) hand back a few grouped rows whatever the size of the
challenge; everything here works on those rows only, so its cost does not grow with
the number of ideas or votes, and it is tested without an app.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ideas.review import timing


# The path an idea takes from its author to delivery, in order, with plain labels.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("submitted", "Submitted"),
    ("voted", "Voted on"),
    ("shortlisted", "Shortlisted"),
    ("accepted", "Accepted"),
    ("handed_off", "Handed off"),
    ("acknowledged", "Acknowledged"),
    ("delivered", "Delivered"),
)
POOLS: tuple[str, ...] = ("employee", "external")
POOL_LABELS = {"employee": "Employees", "external": "Externals", "all": "All pools"}

# Review stages where an idea waits for someone (terminal states are where it ends).
STAGE_LABELS: dict[str, str] = {
    "shortlisted": "Shortlisted, review not started",
    "in_review": "In review (scorecards)",
    "accepted": "Accepted, waiting for a handoff",
    "handed_off": "Handed off, waiting for acknowledgement",
    "handoff_declined": "Handoff declined, finding an owner",
    "acknowledged": "Acknowledged, work not started",
    "in_progress": "In progress",
    "parked": "Parked for later",
}
# The same stages in a word or two, for a chart's axis on a phone.
STAGE_SHORT: dict[str, str] = {
    "shortlisted": "Shortlisted", "in_review": "In review", "accepted": "Accepted", "handed_off": "Handed off",
    "handoff_declined": "Finding an owner", "acknowledged": "Acknowledged", "in_progress": "In progress",
    "parked": "Parked",
}
# Parked ideas wait by the manager's choice: shown, but never called the bottleneck.
NOT_A_BOTTLENECK = frozenset({"parked"})

# The causes of a discounted vote, in the words of the explanation each voter sees.
DISCOUNT_CAUSES: tuple[tuple[str, str], ...] = (
    ("effort", "Little effort shown (not read first, no reason, criteria not rated)"),
    ("standing", "New, unverified or little-active accounts"),
    ("collusion", "Coordinated voting (bursts, shared networks, vote rings)"),
    ("own_idea", "Votes on one's own or a co-authored idea"),
    ("other", "Other causes"),
)
CAUSE_SHORT = {"effort": "Little effort", "standing": "New or unverified", "collusion": "Coordinated",
               "own_idea": "Own idea", "other": "Other"}


# --- the funnel --------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelRow:
    pool: str
    counts: Mapping[str, int]

    @property
    def label(self) -> str:
        return POOL_LABELS.get(self.pool, self.pool)

    def conversion(self) -> float | None:
        """Share of submitted ideas that were delivered (None when nothing was submitted)."""
        submitted = self.counts.get("submitted", 0)
        return self.counts.get("delivered", 0) / submitted if submitted else None


def funnel(rows: Iterable[Mapping[str, object]], pools: Sequence[str] = POOLS) -> list[FunnelRow]:
    """One row per pool (every pool listed, zeros where nothing happened) and the total."""
    by_pool = {pool: dict.fromkeys((k for k, _ in FUNNEL_STEPS), 0) for pool in pools}
    for row in rows:
        pool = str(row["pool"])
        target = by_pool.setdefault(pool, dict.fromkeys((k for k, _ in FUNNEL_STEPS), 0))
        for key, _ in FUNNEL_STEPS:
            target[key] += int(row.get(key) or 0)
    total = {key: sum(counts[key] for counts in by_pool.values()) for key, _ in FUNNEL_STEPS}
    return [*(FunnelRow(pool, counts) for pool, counts in by_pool.items()), FunnelRow("all", total)]


def share(part: int | float, whole: int | float) -> str:
    """“40 %”, or “—” when there is nothing to divide by."""
    if not whole:
        return "—"
    return f"{round(100 * part / whole)} %"


# --- participation over time --------------------------------------------------------

@dataclass(frozen=True)
class Series:
    labels: list[str]  # the periods, oldest first
    values: dict[str, list[int]]  # pool → one value per period
    unit: str  # "day" or "week"


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def participation(rows: Iterable[tuple[object, str, int]], pools: Sequence[str] = POOLS,
                  max_days: int = 60) -> Series:
    """People taking part per pool per day, from (day, pool, people) rows; a span longer
    than `max_days` is shown per week (the busiest day of each week would hide the rest,
    so weeks add their days up: a person active on two days counts twice)."""
    per_day: dict[date, dict[str, int]] = {}
    for day, pool, people in rows:
        if day is None:
            continue
        entry = per_day.setdefault(_as_date(day), dict.fromkeys(pools, 0))
        entry[pool] = entry.get(pool, 0) + int(people or 0)
    if not per_day:
        return Series([], {pool: [] for pool in pools}, "day")
    first, last = min(per_day), max(per_day)
    weekly = (last - first).days + 1 > max_days
    step = timedelta(days=7 if weekly else 1)
    start = first - timedelta(days=first.weekday()) if weekly else first
    labels: list[str] = []
    values: dict[str, list[int]] = {pool: [] for pool in pools}
    cursor = start
    while cursor <= last:
        labels.append(cursor.strftime("%d %b") if not weekly else f"week of {cursor:%d %b}")
        for pool in pools:
            values[pool].append(sum(per_day.get(cursor + timedelta(days=i), {}).get(pool, 0)
                                    for i in range(step.days)))
        cursor += step
    return Series(labels, values, "week" if weekly else "day")


# --- time in each review stage -----------------------------------------------------------

@dataclass(frozen=True)
class StageTime:
    state: str
    stays: int  # stays in this stage, ended or still going on
    waiting: int  # ideas in this stage now
    average_seconds: float | None
    longest_seconds: float | None

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.state, self.state.replace("_", " "))

    @property
    def short_label(self) -> str:
        return STAGE_SHORT.get(self.state, self.label)

    @property
    def average_days(self) -> float | None:
        return None if self.average_seconds is None else self.average_seconds / 86400


def stage_times(rows: Iterable[Mapping[str, object]], order: Sequence[str]) -> list[StageTime]:
    """Stage times in path order from the rows of `review.stages.stage_times`, as the
    review dashboard reads them (`review.timing.stage_waits`, the one definition); end
    states and stages nobody went through are left out."""
    return [StageTime(w.state, w.stays, w.waiting, w.average.total_seconds(), w.longest.total_seconds())
            for w in timing.stage_waits(rows, order) if w.state in STAGE_LABELS and w.stays]


def bottleneck(stages: Sequence[StageTime]) -> StageTime | None:
    """The stage where ideas spend longest on average (ongoing stays counted up to now);
    ties go to the earlier stage on the path.  None when no idea has been anywhere yet."""
    candidates = [s for s in stages if s.average_seconds is not None and s.state not in NOT_A_BOTTLENECK]
    if not candidates:
        return None
    return max(candidates, key=lambda s: (s.average_seconds, -stages.index(s)))


def duration(seconds: float | None) -> str:
    """“3.5 days”, “5 hours”, “under an hour”: for people, not machines."""
    if seconds is None:
        return "—"
    hours = seconds / 3600
    if hours < 1:
        return "under an hour"
    if hours < 48:
        n = round(hours)
        return f"{n} hour{'s' if n != 1 else ''}"
    days = hours / 24
    return f"{days:.1f} days"


# --- vote quality ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VoteQuality:
    pool: str
    votes: int
    counted: float  # the sum of the weights
    lost: Mapping[str, float]  # cause → weight lost to it

    @property
    def label(self) -> str:
        return POOL_LABELS.get(self.pool, self.pool)

    @property
    def discounted(self) -> float:
        return max(0.0, self.votes - self.counted)

    def discounted_share(self) -> float | None:
        return self.discounted / self.votes if self.votes else None

    def cause_share(self, cause: str) -> float | None:
        return self.lost.get(cause, 0.0) / self.votes if self.votes else None


def vote_quality(rows: Iterable[Mapping[str, object]], pools: Sequence[str] = POOLS) -> list[VoteQuality]:
    """Per pool and in all: how much of the votes' weight was discounted, and why.

    A weight is effort × standing × collusion (0 on one's own idea), so what a vote
    loses splits exactly, in that order: 1 − effort to effort, effort × (1 − standing)
    to standing, effort × standing × (1 − collusion) to collusion.  The queries sum
    these per pool; here they are only gathered."""
    by_pool = {pool: {"votes": 0, "counted": 0.0, **dict.fromkeys((c for c, _ in DISCOUNT_CAUSES), 0.0)}
               for pool in pools}
    for row in rows:
        target = by_pool.setdefault(str(row["pool"]), {"votes": 0, "counted": 0.0,
                                                       **dict.fromkeys((c for c, _ in DISCOUNT_CAUSES), 0.0)})
        target["votes"] += int(row.get("votes") or 0)
        target["counted"] += float(row.get("counted") or 0.0)
        for cause, _ in DISCOUNT_CAUSES:
            target[cause] += float(row.get(cause) or 0.0)
    out = []
    for pool, values in by_pool.items():
        lost = {c: values[c] for c, _ in DISCOUNT_CAUSES}
        # Whatever the factors do not explain (a policy that weighs otherwise) is still shown.
        explained = sum(v for c, v in lost.items() if c != "other")
        lost["other"] = max(0.0, values["votes"] - values["counted"] - explained)
        if lost["other"] < 1e-9:
            lost["other"] = 0.0
        out.append(VoteQuality(pool, values["votes"], values["counted"], lost))
    total = VoteQuality("all", sum(q.votes for q in out), sum(q.counted for q in out),
                        {c: sum(q.lost[c] for q in out) for c, _ in DISCOUNT_CAUSES})
    return [*out, total]


# --- the period filter -------------------------------------------------------------------------

PRESETS: dict[str, tuple[str, int | None]] = {  # the first is what the form shows when nothing is chosen
    "all": ("All time", None),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "365d": ("Last 12 months", 365),
}


class PeriodError(ValueError):
    """A period that does not parse; the message is fit to show next to the field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive
    label: str
    preset: str = ""
    values: dict[str, str] = field(default_factory=dict)  # what the person typed, for the form

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


def _parse_day(text: str, name: str, field_name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{name} “{text[:40]}” is not a date: write it as YYYY-MM-DD, e.g. 2026-03-31.",
                          field_name) from None


def parse_period(args: Mapping[str, str], now: datetime) -> Period:
    """The period from the query string: a preset (`period=30d|90d|365d|all`) or the days
    `from` and `to` (both included).  Nothing given: all time.  Raises PeriodError."""
    preset = (args.get("period") or "").strip()
    start_text = (args.get("from") or "").strip()
    end_text = (args.get("to") or "").strip()
    values = {"period": preset, "from": start_text, "to": end_text}
    if start_text or end_text:
        start = _parse_day(start_text, "The first day", "from") if start_text else None
        end = _parse_day(end_text, "The last day", "to") if end_text else None
        if start and end and end < start:
            raise PeriodError("The last day comes before the first day.", "to")
        label = f"{start:%d %b %Y}" if start else "the beginning"
        label += f" to {end:%d %b %Y}" if end else " to today"
        return Period(
            datetime.combine(start, time(), UTC) if start else None,
            datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
            label, "", values)
    if not preset:
        return Period(None, None, PRESETS["all"][0], "all", values)
    if preset not in PRESETS:
        raise PeriodError("Choose one of the periods offered, or give the first and last day.", "period")
    label, days = PRESETS[preset]
    return Period(now - timedelta(days=days) if days else None, None, label, preset, values)


# --- CSV ------------------------------------------------------------------------------------------

def csv_text(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV file with its header row, even when there are no rows.  Cells that a
    spreadsheet would run as a formula are quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
