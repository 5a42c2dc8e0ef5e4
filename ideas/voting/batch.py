"""Weights and scores for many votes at once, by the same pure functions as a live vote.

One source of truth: whether a vote is cast on the site, replayed from an archive
or re-weighed after a policy change, its weight and discounts come out of
`weighting.weight_for`, its collusion factor out of `collusion.collusion_factors`
(over the votes `collusion.context_for` picks), an idea's per-pool aggregates out
of `ranking.aggregate` and its scores out of `ranking.pool_score` and
`ranking.blended_score`. Nothing here restates a formula: this module only reads
the inputs those functions take, in bulk, and writes back what they return.

The live path (`services`) builds a vote's signals with `signals_of` and weighs
it with `weigh`, the batch paths (`recompute_challenge`, `rebuild_scores`,
`rescore_blend`, the archive import) do the same over chunks of rows read with a
few set-based queries and write the results back with one executemany per chunk.
"""
from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import Boolean, bindparam, insert, select, update

from ideas import clock
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.voting import ranking, weighting
from ideas.voting.models import IdeaScore, Vote
from ideas.voting.weighting import WEIGHTED, Collusion, Discount, VoteSignals, Weight

# Every cause a discount can name (`Discount.code`): the codes the weighting policy
# puts in plain words, which is what an archive's `discounts` may list (a test checks
# that the rules make no other).
DISCOUNT_CODES = frozenset(weighting.DISCOUNT_LABELS)

# Rows read and written per round trip: large enough that a million votes take a
# few dozen queries, small enough to keep memory flat.
CHUNK = 20_000

# What weighing a stored vote needs: every `VoteSignals` field the votes table stores,
# under its column's name (so a signal added to both flows through every path), then
# the collusion judgement. A Core row of these columns and an ORM `Vote` both answer
# `row.viewed_before` and so on, so `signals_of` takes either.
_RENAMED = {"reason_word_count": "reason_words", "reason_is_near_copy": "reason_near_copy",
            "is_author_or_coauthor": "is_author"}
_SIGNAL_FIELDS = tuple((f.name, _RENAMED.get(f.name, f.name)) for f in dataclasses.fields(VoteSignals)
                       if _RENAMED.get(f.name, f.name) in Vote.__table__.c)
_BOOLEAN_FIELDS = tuple(field for field, column in _SIGNAL_FIELDS
                        if isinstance(Vote.__table__.c[column].type, Boolean))
SIGNAL_COLUMNS = (*(Vote.__table__.c[column] for _, column in _SIGNAL_FIELDS),
                  Vote.__table__.c.collusion, Vote.__table__.c.collusion_discounts)
WEIGHT_COLUMNS = ("effort", "standing", "collusion", "weight", "discounts", "collusion_discounts", "policy")
_WEIGHT = WEIGHT_COLUMNS.index("weight")
SCORE_FIELDS = ("support_employee", "oppose_employee", "raw_employee",
                "support_external", "oppose_external", "raw_external",
                "score_employee", "score_external", "score_blended")


# --- one vote ----------------------------------------------------------------------

def signals_of(vote, has_criteria: bool) -> VoteSignals:
    """The signals a stored vote was cast with, as `weighting.weight_for` takes them."""
    return _signals({field: getattr(vote, column) for field, column in _SIGNAL_FIELDS}, has_criteria)


def _signals(values: dict, has_criteria: bool) -> VoteSignals:
    # A row read through the driver holds SQLite's 0 and 1 for a boolean: the signals hold booleans.
    for field in _BOOLEAN_FIELDS:
        values[field] = bool(values[field])
    if "reason_specificity" in values:  # kept since weighted/2; a vote from before counts as specific
        stored = values["reason_specificity"]
        values["reason_specificity"] = 1.0 if stored is None else min(1.0, max(0.0, stored))
    return VoteSignals(**values, has_criteria=has_criteria)


def dump_discounts(discounts: Iterable[Discount]) -> str:
    return json.dumps([list(d) for d in discounts])


def load_discounts(stored: str | None) -> tuple[Discount, ...]:
    return tuple(Discount(code, text) for code, text in json.loads(stored or "[]"))


def stored_collusion(vote) -> Collusion:
    """The collusion judgement kept with a vote: its factor and the causes behind it."""
    return Collusion(float(vote.collusion), load_discounts(vote.collusion_discounts))


@dataclass(frozen=True)
class Weighed:
    """A vote weighed: its factors as the weighted rules measure them (what the collusion
    rules and the explanations read, whatever the policy) and its weight under the policy."""

    factors: Weight
    weight: Weight
    collusion: Collusion

    def columns(self, dump=dump_discounts) -> dict:
        return {"effort": self.factors.effort, "standing": self.factors.standing,
                "collusion": self.factors.collusion, "weight": self.weight.value,
                "discounts": dump(self.weight.discounts),
                "collusion_discounts": dump(self.collusion.discounts),
                "policy": self.weight.policy}


def weigh(signals: VoteSignals, policy: weighting.WeightingPolicy, found: Collusion, *,
          same: bool | None = None) -> Weighed:
    """`weight_for` under the weighted rules (the factors) and under the challenge's policy
    (`same`: whether that policy is the weighted one, when the caller knows already)."""
    factors = weighting.weight_for(signals, WEIGHTED, found)
    if same is None:
        same = policy == WEIGHTED
    weight = factors if same else weighting.weight_for(signals, policy, found)
    return Weighed(factors, weight, found)


class Weigher:
    """`weigh` for many stored votes, returning the columns to write back.

    The functions are pure, so a vote whose stored signals and collusion judgement
    repeat an earlier one's gets the same result: it is reused rather than computed
    and serialised again (exactly equal inputs only, keyed by the stored values)."""

    def __init__(self, policy: weighting.WeightingPolicy, has_criteria: bool):
        self.policy = policy
        self.has_criteria = has_criteria
        self.same = policy == WEIGHTED
        self.weighed = 0  # how many distinct inputs were weighed
        self._seen: dict[tuple, tuple] = {}
        # Far fewer distinct discount lists than inputs: each is read or written out once.
        self._loaded: dict[str, tuple[Discount, ...]] = {}
        self._dumped: dict[tuple[Discount, ...], str] = {}

    def __call__(self, key: tuple) -> tuple:
        """The WEIGHT_COLUMNS values for a stored vote whose SIGNAL_COLUMNS values are `key`."""
        done = self._seen.get(key)
        if done is None:
            if len(self._seen) >= 250_000:  # memory stays bounded: a few hundred bytes an entry
                self._seen.clear()
            signals = _signals(dict(zip(_SIGNAL_NAMES, key, strict=False)), self.has_criteria)
            stored = key[_COLLUSION + 1]
            causes = self._loaded.get(stored)
            if causes is None:
                if len(self._loaded) >= 250_000:
                    self._loaded.clear()
                causes = self._loaded[stored] = load_discounts(stored)
            found = Collusion(float(key[_COLLUSION]), causes)
            columns = weigh(signals, self.policy, found, same=self.same).columns(self._dump)
            done = self._seen[key] = tuple(columns[name] for name in WEIGHT_COLUMNS)
            self.weighed += 1
        return done

    def _dump(self, discounts: Sequence[Discount]) -> str:
        key = tuple(discounts)
        text = self._dumped.get(key)
        if text is None:
            if len(self._dumped) >= 250_000:
                self._dumped.clear()
            text = self._dumped[key] = dump_discounts(key)
        return text


_SIGNAL_NAMES = tuple(field for field, _ in _SIGNAL_FIELDS)
_COLLUSION = len(_SIGNAL_FIELDS)  # where the collusion factor and its causes sit in SIGNAL_COLUMNS


# --- scores ------------------------------------------------------------------------

def pool_values(idea_ids: Iterable[int], aggregates: Mapping[int, Mapping[str, ranking.PoolAggregate]],
                policy: weighting.WeightingPolicy) -> dict[int, dict[str, float]]:
    """Each idea's stored aggregates and pool scores (`ranking.pool_score`) from its
    per-pool aggregates; an idea without any has none."""
    found = {}
    for idea_id in idea_ids:
        values: dict[str, float] = {}
        for pool in ranking.POOLS:
            agg = aggregates.get(idea_id, {}).get(pool, ranking.PoolAggregate())
            support = agg.support_weight if agg.support_weight >= 1e-9 else 0.0  # crumbs of adds and removes
            agg = ranking.PoolAggregate(support, max(0.0, agg.oppose_weight), agg.raw_count)
            values[f"support_{pool}"], values[f"oppose_{pool}"] = agg.support_weight, agg.oppose_weight
            values[f"raw_{pool}"] = agg.raw_count
            values[f"score_{pool}"] = ranking.pool_score(agg, policy)
        found[idea_id] = values
    return found


def write_scores(challenge_id: int, values: Mapping[int, dict[str, float]], pool_weights: Mapping[str, float],
                 scales: Mapping[str, float]) -> None:
    """Write these ideas' score rows (`pool_values`) with their blended scores
    (`ranking.blended_score` on the pools' scales), creating the rows that are missing."""
    now = clock.now()
    existing = set()
    ids = sorted(values)
    for part in _parts(ids):
        existing.update(db.session.scalars(select(IdeaScore.idea_id).where(IdeaScore.idea_id.in_(part))))
    fresh, known = [], []
    for idea_id in ids:
        row = dict(values[idea_id], updated_at=now, score_blended=ranking.blended_score(
            {pool: values[idea_id][f"score_{pool}"] for pool in ranking.POOLS}, pool_weights, scales))
        if idea_id in existing:
            known.append({"b_idea_id": idea_id, **row})
        else:
            fresh.append({"idea_id": idea_id, "challenge_id": challenge_id, **row})
    if fresh:
        _executemany(insert(IdeaScore.__table__), fresh)
    if known:
        update_scores(known)


def update_scores(rows: list[dict]) -> None:
    """Bulk UPDATE of score rows: rows of `b_idea_id` and the columns to set."""
    # The SET clause is made of the keys of the rows (SQLAlchemy's executemany UPDATE).
    _executemany(update(IdeaScore.__table__).where(IdeaScore.__table__.c.idea_id == bindparam("b_idea_id")), rows)
    _expire(IdeaScore)


def write_weights(rows: list[tuple], columns: Sequence[str] = WEIGHT_COLUMNS) -> None:
    """Bulk UPDATE of votes' weights and explanations: tuples of `columns` then the id.

    Straight to the driver: at a million rows SQLAlchemy's per-row parameter
    processing would cost more than the database's work. PostgreSQL gets the rows
    by COPY into a temporary table and one UPDATE joined to it on the primary key;
    SQLite, in process, an executemany."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        _copy_then_update(connection, rows, columns)
    else:
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        sets = ", ".join(f"{name} = {mark}" for name in columns)
        connection.exec_driver_sql(f"UPDATE votes SET {sets} WHERE id = {mark}", rows)
    _expire(Vote)


def update_votes(rows: list[dict]) -> None:
    """UPDATE of a few votes by id (rows of `b_id` and the same columns to set), where
    the session holds none of them: the live path's re-judged votes."""
    if rows:
        _executemany(update(Vote.__table__).where(Vote.__table__.c.id == bindparam("b_id")), rows)


def _copy_then_update(connection, rows: list[tuple], columns: Sequence[str]) -> None:
    """PostgreSQL: the rows COPYed into a temporary table, then one UPDATE joined to it
    on the primary key, bounded by the rows' first and last id.

    Measured at a million votes against the UPDATE … FROM unnest(arrays) of 20,000 rows
    it replaced: the planner made each of those chunks a hash join over a scan of the
    whole votes table (fifty scans), and psycopg builds array parameters in Python.
    Here the rows stream in, and the one join reads the votes once: a hash join for a
    challenge that fills the table, an index range for a small one (the temporary table
    is analysed, so the planner knows which)."""
    types = ", ".join(f"{name} {'float8' if name in _FLOAT_COLUMNS else 'text'}" for name in columns)
    names = ", ".join(columns)
    sets = ", ".join(f"{name} = d.{name}" for name in columns)
    ids = [row[-1] for row in rows]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"CREATE TEMPORARY TABLE reweighed_votes ({types}, id integer) ON COMMIT DROP")
        with cursor.copy(f"COPY reweighed_votes ({names}, id) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("ANALYZE reweighed_votes")
        cursor.execute(f"UPDATE votes AS v SET {sets} FROM reweighed_votes AS d "
                       "WHERE v.id = d.id AND v.id BETWEEN %s AND %s", (min(ids), max(ids)))
        cursor.execute("DROP TABLE reweighed_votes")
    finally:
        cursor.close()


_FLOAT_COLUMNS = frozenset({"effort", "standing", "collusion", "weight"})
# What a policy change alone can change: the weight under the policy and its explanation.
# The factors (the weighted rules' effort, standing and collusion judgement) are the
# same under every policy; they are written only where they differ from the stored ones.
POLICY_COLUMNS = ("weight", "discounts", "policy")
_POLICY = tuple(WEIGHT_COLUMNS.index(name) for name in POLICY_COLUMNS)


def _expire(model) -> None:
    """ORM copies of rows written in bulk are stale: reload them when next read."""
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, model):
            db.session.expire(instance)


def _executemany(statement, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(statement, rows[start:start + CHUNK], execution_options={"synchronize_session": False})


def _parts(ids: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- a whole challenge -------------------------------------------------------------

def stored_votes(challenge_id: int, columns) -> Iterator[Sequence]:
    """Every vote of a challenge, `columns` of the votes table, in chunks of about CHUNK rows.

    Usually idea by idea: one query per chunk of whole ideas by the (idea, time) index,
    whatever the size of the challenge. (Paging the challenge's votes by id would make
    the database scan and sort all of them for every chunk.) But where the challenge's
    votes fill most of the rows between its first and its last (a challenge that was
    most of the site's voting while it ran), SQLite reads them in the table's order, one
    range of ids at a time: a million votes read through an index are a million random
    visits to the table, which cost twice a scan of it. Then an idea's votes come in
    several chunks: callers add up per idea across chunks."""
    sizes = dict(db.session.execute(
        select(IdeaScore.idea_id, IdeaScore.raw_employee + IdeaScore.raw_external)
        .where(IdeaScore.challenge_id == challenge_id)).all())
    if db.session.connection().dialect.name == "sqlite":
        first, last = db.session.execute(select(db.func.min(Vote.id), db.func.max(Vote.id))
                                         .where(Vote.challenge_id == challenge_id)).one()
        if first is not None and 2 * sum(sizes.values()) >= last - first + 1:
            for start in range(first, last + 1, CHUNK):
                yield from _votes_between(challenge_id, start, min(start + CHUNK, last + 1), columns)
            return
    ideas = sorted(db.session.scalars(select(Idea.id).where(Idea.challenge_id == challenge_id)))
    part: list[int] = []
    size = 0
    for idea_id in ideas:
        part.append(idea_id)
        size += sizes.get(idea_id) or 1  # an estimate: stale counts only make chunks uneven
        if size >= CHUNK or len(part) >= 500:
            yield from _votes_of(part, columns)
            part, size = [], 0
    if part:
        yield from _votes_of(part, columns)


def _votes_between(challenge_id: int, start: int, stop: int, columns) -> Iterator[Sequence]:
    """The challenge's votes with ids in [start, stop), by the table's own order (SQLite)."""
    names = ", ".join(column.name for column in columns)
    yield from _fetched(f"SELECT {names} FROM votes NOT INDEXED WHERE id >= ? AND id < ? AND challenge_id = ?",
                        (start, stop, challenge_id))


def _votes_of(idea_ids: list[int], columns) -> Iterator[Sequence]:
    """These ideas' votes, `columns` of the votes table, as the driver's plain tuples.

    Straight from the driver's cursor, in the session's transaction: at a million rows
    SQLAlchemy's result rows cost more than the database's reading. No column is
    converted on the way (SQLite gives its booleans as 0 and 1: `_signals` turns them back)."""
    mark = "?" if db.session.connection().dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(column.name for column in columns)
    yield from _fetched(f"SELECT {names} FROM votes WHERE idea_id IN ({', '.join([mark] * len(idea_ids))})",
                        tuple(idea_ids))


def _fetched(statement: str, parameters: tuple) -> Iterator[Sequence]:
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if rows:
        yield rows


def reweigh_challenge(challenge_id: int, has_criteria: bool, policy: weighting.WeightingPolicy
                      ) -> dict[int, dict[str, ranking.PoolAggregate]]:
    """Every vote of the challenge weighed again from its stored signals and collusion
    judgement under `policy`, written back (weights, factors, discounts, policy label).

    Only the votes whose weighing changed are written, and of those only the weight,
    its discounts and the policy label where the factors stayed what they were (a
    policy change alone). Returns each idea's per-pool aggregates (`ranking.aggregate`)
    of the new weights."""
    aggregates: dict[int, dict[str, ranking.PoolAggregate]] = {}
    weigher = Weigher(policy, has_criteria)
    table = Vote.__table__
    columns = (table.c.id, table.c.idea_id, table.c.pool, *SIGNAL_COLUMNS,
               *(table.c[name] for name in WEIGHT_COLUMNS))
    first, last = 3, 3 + len(SIGNAL_COLUMNS)  # where the signals sit in a row; the stored weighing follows
    value = first + _SIGNAL_NAMES.index("value")
    factors = itemgetter(*(k for k in range(len(WEIGHT_COLUMNS)) if k not in _POLICY))
    policy_part = itemgetter(*_POLICY)
    changed, policy_only = [], []
    entries: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
    for rows in stored_votes(challenge_id, columns):
        for row in rows:
            done = weigher(row[first:last])
            before = row[last:]
            if done != before:  # only what the new weighing changes is written
                if factors(done) == factors(before):
                    policy_only.append((*policy_part(done), row[0]))
                else:
                    changed.append((*done, row[0]))
            entries[row[1]].append((row[2], row[value], done[_WEIGHT]))
    aggregates.update((idea_id, ranking.aggregate(found)) for idea_id, found in entries.items())
    # Written in the table's order, once every chunk is weighed: an idea's votes lie all
    # over the table, and rows rewritten by id in order dirty each page once instead of
    # once a chunk (which, past the database's page cache, is many times the table in I/O).
    write_weights(sorted(changed, key=_last))
    write_weights(sorted(policy_only, key=_last), POLICY_COLUMNS)
    return aggregates


def _last(row: tuple):
    return row[-1]


def stored_aggregates(challenge_id: int) -> dict[int, dict[str, ranking.PoolAggregate]]:
    """Each idea's per-pool aggregates (`ranking.aggregate`) of its stored weights."""
    aggregates: dict[int, dict[str, ranking.PoolAggregate]] = {}
    table = Vote.__table__
    entries: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
    for rows in stored_votes(challenge_id, (table.c.idea_id, table.c.pool, table.c.value, table.c.weight)):
        for idea_id, pool, value, weight in rows:
            entries[idea_id].append((pool, value, weight))
    aggregates.update((idea_id, ranking.aggregate(found)) for idea_id, found in entries.items())
    return aggregates
