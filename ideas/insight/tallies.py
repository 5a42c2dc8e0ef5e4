"""The dashboards' stored tallies (`insight.models`): kept by triggers, recounted from rows.

Why triggers: votes are written by many paths — one vote cast, changed or withdrawn
(`voting.services`), every weight of a challenge rewritten in bulk by a policy
recompute, an archive imported row by row in Core, a merge moving votes, an account
or idea deleted and its votes going with it by ON DELETE CASCADE.  A call in each of
them would be one more thing each of them must remember, and a cascade runs no
Python at all.  The database runs the same few statements for every row, in the
transaction that writes it, whichever path wrote it; a write that does not change
what a tally reads (a vote's text, its network) fires nothing.  The one exception to
row by row: a policy recompute rewrites every weight of a challenge at once, so the
challenge's weight tallies are set aside before it and counted once after it
(`set_aside_weights`, `count_weights`, on `votes.reweighing` and `votes.reweighed`),
in its transaction. On PostgreSQL the re-weigh trigger is held meanwhile
(`hold_reweigh_trigger`, a transaction-local setting its WHEN tests), so it is not
even called for each rewritten row; on SQLite it fires and finds no row to update.

`recount` builds the tallies again from the rows (`flask --app wsgi ideas recount-tallies`); the
tests compare it with what the triggers kept after votes cast, changed, withdrawn,
moved by a merge, re-weighed by a recompute and imported.

A day is the UTC day, on both backends.
"""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import Date, case, cast, delete, event, func, inspect, select, union_all
from sqlalchemy.engine import Connection

from ideas.challenges.models import Idea, IdeaStatus
from ideas.extensions import db
from ideas.insight.models import ActivityDay, VoteWeightTally
from ideas.voting.models import Vote

# What each vote adds to its idea's row, per column (row is NEW or OLD): its weight,
# and the weight lost to each cause — effort first, then standing, then collusion,
# or all of it to "own idea" when the voter is one of the idea's authors.
_WEIGHT_COLUMNS = ("votes", "counted", "effort", "standing", "collusion", "own_idea")


def _weight_terms(row: str) -> dict[str, str]:
    return {
        "votes": "1",
        "counted": f"{row}.weight",
        "effort": f"CASE WHEN {row}.is_author THEN 0.0 ELSE 1.0 - {row}.effort END",
        "standing": f"CASE WHEN {row}.is_author THEN 0.0 ELSE {row}.effort * (1.0 - {row}.standing) END",
        "collusion": f"CASE WHEN {row}.is_author THEN 0.0 "
                     f"ELSE {row}.effort * {row}.standing * (1.0 - {row}.collusion) END",
        "own_idea": f"CASE WHEN {row}.is_author THEN 1.0 - {row}.weight ELSE 0.0 END",
    }


def _sql_day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"({column} AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def _add_weights(row: str) -> str:
    terms = _weight_terms(row)
    names = ", ".join(_WEIGHT_COLUMNS)
    values = ", ".join(f"({terms[c]})" for c in _WEIGHT_COLUMNS)
    sets = ", ".join(f"{c} = insight_vote_weights.{c} + excluded.{c}" for c in _WEIGHT_COLUMNS)
    return (f"INSERT INTO insight_vote_weights (idea_id, pool, challenge_id, {names}) "
            f"VALUES ({row}.idea_id, {row}.pool, {row}.challenge_id, {values}) "
            f"ON CONFLICT (idea_id, pool) DO UPDATE SET {sets};")


def _reweigh_in_place() -> str:
    """A vote re-weighed on the same idea (a recompute, a collusion judgement): one UPDATE of
    the difference, instead of taking the old vote out and putting the new one in."""
    new, old = _weight_terms("NEW"), _weight_terms("OLD")
    sets = ", ".join(f"{c} = {c} + ({new[c]}) - ({old[c]})" for c in _WEIGHT_COLUMNS if c != "votes")
    return f"UPDATE insight_vote_weights SET {sets} WHERE idea_id = NEW.idea_id AND pool = NEW.pool;"


def _remove_weights(row: str) -> str:
    terms = _weight_terms(row)
    sets = ", ".join(f"{c} = {c} - ({terms[c]})" for c in _WEIGHT_COLUMNS)
    where = f"idea_id = {row}.idea_id AND pool = {row}.pool"
    # A row whose last vote went is deleted: what is left of its float sums is rounding.
    return (f"UPDATE insight_vote_weights SET {sets} WHERE {where}; "
            f"DELETE FROM insight_vote_weights WHERE {where} AND votes <= 0;")


def _add_act(dialect: str, challenge: str, day: str, pool: str, person: str, only_if: str = "") -> str:
    values = f"{challenge}, {_sql_day(dialect, day)}, {pool}, {person}, 1"
    # INSERT … SELECT … WHERE adds the row only when the condition holds (the WHERE is
    # also what SQLite needs to read ON CONFLICT after a SELECT).
    source = f"SELECT {values} WHERE {only_if}" if only_if else f"VALUES ({values})"
    return (f"INSERT INTO insight_activity (challenge_id, day, pool, person_id, acts) {source} "
            f"ON CONFLICT (challenge_id, day, pool, person_id) DO UPDATE SET acts = insight_activity.acts + 1;")


def _remove_act(dialect: str, challenge: str, day: str, pool: str, person: str, only_if: str = "") -> str:
    where = (f"challenge_id = {challenge} AND day = {_sql_day(dialect, day)} AND pool = {pool} "
             f"AND person_id = {person}{' AND ' + only_if if only_if else ''}")
    return (f"UPDATE insight_activity SET acts = acts - 1 WHERE {where}; "
            f"DELETE FROM insight_activity WHERE {where} AND acts <= 0;")


def _vote_act(dialect: str, row: str, add: bool) -> str:
    fields = (dialect, f"{row}.challenge_id", f"{row}.created_at", f"{row}.pool", f"{row}.voter_id")
    return _add_act(*fields) if add else _remove_act(*fields)


def _idea_fields(dialect: str, row: str) -> tuple[str, ...]:
    return (dialect, f"{row}.challenge_id", f"{row}.published_at", f"{row}.pool", f"{row}.author_id")


def _idea_counts(row: str) -> str:
    # What the participation figure has always counted: an idea once published, whatever became of it.
    return f"{row}.status <> '{IdeaStatus.DRAFT}' AND {row}.published_at IS NOT NULL"


# The columns each tally reads: an UPDATE that touches none of them fires nothing.
_VOTE_PLACE = ("idea_id", "pool", "challenge_id")
_VOTE_FACTORS = ("is_author", "effort", "standing", "collusion", "weight")
_VOTE_ACT_READS = ("challenge_id", "created_at", "pool", "voter_id")
_IDEA_ACT_READS = ("challenge_id", "status", "published_at", "pool", "author_id")

TRIGGERS = {  # (table, trigger) on each backend
    "sqlite": (("votes", "insight_votes_counted"), ("votes", "insight_votes_uncounted"),
               ("votes", "insight_votes_reweighed"), ("votes", "insight_votes_replaced"), ("votes", "insight_votes_moved"),
               ("ideas", "insight_ideas_counted"), ("ideas", "insight_ideas_uncounted"),
               ("ideas", "insight_ideas_changed")),
    "postgresql": (("votes", "insight_votes_weights"), ("votes", "insight_votes_activity"),
                   ("votes", "insight_votes_reweighed"), ("votes", "insight_votes_replaced"),
                   ("votes", "insight_votes_moved"),
                   ("ideas", "insight_ideas_activity"), ("ideas", "insight_ideas_changed")),
}
FUNCTIONS = ("insight_vote_weights_tally", "insight_vote_activity_tally", "insight_idea_activity_tally",
             "insight_vote_reweigh_tally")


def _on_update(table: str, columns: tuple[str, ...], distinct: str, same: tuple[str, ...] = ()) -> tuple[str, str]:
    """The event and condition of an UPDATE trigger that fires only when one of `columns`
    changed (and, with `same`, none of those)."""
    changed = " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)
    if not same:
        return f"UPDATE OF {', '.join(columns)} ON {table}", changed
    equal = " ".join(f"AND OLD.{c} {'IS' if distinct == 'IS NOT' else 'IS NOT DISTINCT FROM'} NEW.{c}" for c in same)
    return f"UPDATE OF {', '.join(columns)} ON {table}", f"({changed}) {equal}"


def _sqlite_trigger(name: str, event: str, when: str, *body: str) -> str:
    return (f"CREATE TRIGGER {name} AFTER {event} {'WHEN ' + when if when else ''} "
            f"BEGIN {' '.join(body)} END")


def _sqlite_ddl() -> list[str]:
    d = "sqlite"
    idea_new, idea_old = _idea_fields(d, "NEW"), _idea_fields(d, "OLD")
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for _, name in TRIGGERS[d]),
        _sqlite_trigger("insight_votes_counted", "INSERT ON votes", "",
                        _add_weights("NEW"), _vote_act(d, "NEW", True)),
        _sqlite_trigger("insight_votes_uncounted", "DELETE ON votes", "",
                        _remove_weights("OLD"), _vote_act(d, "OLD", False)),
        _sqlite_trigger("insight_votes_reweighed", *_on_update("votes", _VOTE_FACTORS, "IS NOT", _VOTE_PLACE),
                        _reweigh_in_place()),
        _sqlite_trigger("insight_votes_replaced", *_on_update("votes", _VOTE_PLACE, "IS NOT"),
                        _remove_weights("OLD"), _add_weights("NEW")),
        _sqlite_trigger("insight_votes_moved", *_on_update("votes", _VOTE_ACT_READS, "IS NOT"),
                        _vote_act(d, "OLD", False), _vote_act(d, "NEW", True)),
        _sqlite_trigger("insight_ideas_counted", "INSERT ON ideas", _idea_counts("NEW"), _add_act(*idea_new)),
        _sqlite_trigger("insight_ideas_uncounted", "DELETE ON ideas", _idea_counts("OLD"), _remove_act(*idea_old)),
        _sqlite_trigger("insight_ideas_changed", *_on_update("ideas", _IDEA_ACT_READS, "IS NOT"),
                        _remove_act(*idea_old, only_if=_idea_counts("OLD")),
                        _add_act(*idea_new, only_if=_idea_counts("NEW"))),
    ]


def _plpgsql(name: str, body_old: str, body_new: str, old_if: str = "TRUE", new_if: str = "TRUE") -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN IF {old_if} THEN {body_old} END IF; END IF; "
            f"IF TG_OP IN ('UPDATE', 'INSERT') THEN IF {new_if} THEN {body_new} END IF; END IF; "
            "RETURN NULL; END $$")


def _postgresql_trigger(name: str, event: str, when: str, function: str) -> str:
    return (f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW {'WHEN (' + when + ')' if when else ''} "
            f"EXECUTE FUNCTION {function}()")


# Set (transaction-local) while a recompute rewrites a challenge's weights, whose tallies
# it has set aside and counts once afterwards: the re-weigh trigger would only look for a
# row that is not there, a million times.
RECOMPUTING = "ideas.recompute"


def _reweighed_outside_recompute() -> tuple[str, str]:
    event, changed = _on_update("votes", _VOTE_FACTORS, "IS DISTINCT FROM", _VOTE_PLACE)
    # Tested before the row's columns, and in WHEN rather than in the function: a row it
    # refuses queues no trigger event at all.
    return event, f"current_setting('{RECOMPUTING}', true) IS DISTINCT FROM 'on' AND {changed}"


def _postgresql_ddl() -> list[str]:
    d = "postgresql"
    weights, votes_act, ideas_act, reweigh = FUNCTIONS
    return [
        _plpgsql(weights, _remove_weights("OLD"), _add_weights("NEW")),
        (f"CREATE OR REPLACE FUNCTION {reweigh}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         f"{_reweigh_in_place()} RETURN NULL; END $$"),
        _plpgsql(votes_act, _vote_act(d, "OLD", False), _vote_act(d, "NEW", True)),
        _plpgsql(ideas_act, _remove_act(*_idea_fields(d, "OLD")), _add_act(*_idea_fields(d, "NEW")),
                 _idea_counts("OLD"), _idea_counts("NEW")),
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS[d]),
        _postgresql_trigger("insight_votes_weights", "INSERT OR DELETE ON votes", "", weights),
        _postgresql_trigger("insight_votes_activity", "INSERT OR DELETE ON votes", "", votes_act),
        _postgresql_trigger("insight_votes_reweighed", *_reweighed_outside_recompute(), reweigh),
        _postgresql_trigger("insight_votes_replaced", *_on_update("votes", _VOTE_PLACE, "IS DISTINCT FROM"), weights),
        _postgresql_trigger("insight_votes_moved", *_on_update("votes", _VOTE_ACT_READS, "IS DISTINCT FROM"),
                            votes_act),
        _postgresql_trigger("insight_ideas_activity", "INSERT OR DELETE ON ideas", "", ideas_act),
        _postgresql_trigger("insight_ideas_changed", *_on_update("ideas", _IDEA_ACT_READS, "IS DISTINCT FROM"),
                            ideas_act),
    ]


def install(connection: Connection) -> None:
    """Create the triggers (again: replacing what is there) on this connection's database."""
    statements = _postgresql_ddl() if connection.dialect.name == "postgresql" else _sqlite_ddl()
    for statement in statements:
        connection.exec_driver_sql(statement)


def uninstall(connection: Connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for table, name in TRIGGERS["postgresql" if postgresql else "sqlite"]:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for name in FUNCTIONS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def install_if_complete(connection: Connection) -> None:
    """After create_all (benches, scripts): install when every table involved is there."""
    names = set(inspect(connection).get_table_names())
    if {"votes", "ideas", ActivityDay.__tablename__, VoteWeightTally.__tablename__} <= names:
        install(connection)


@event.listens_for(db.metadata, "after_create")
def _keep_tallies(target, connection, **kw) -> None:
    # A database made by create_all (benches, scripts) is kept like a migrated one.
    install_if_complete(connection)


# --- counting again from the rows ------------------------------------------------------------

def utc_day(column, dialect: str):
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _weights_from_votes(challenge_ids):
    own = Vote.is_author.is_(True)
    other = Vote.is_author.is_(False)
    return (
        select(Vote.idea_id, Vote.pool, Vote.challenge_id, func.count(Vote.id),
               func.sum(Vote.weight),
               func.coalesce(func.sum(case((other, 1.0 - Vote.effort), else_=0.0)), 0.0),
               func.coalesce(func.sum(case((other, Vote.effort * (1.0 - Vote.standing)), else_=0.0)), 0.0),
               func.coalesce(func.sum(case((other, Vote.effort * Vote.standing * (1.0 - Vote.collusion)),
                                           else_=0.0)), 0.0),
               func.coalesce(func.sum(case((own, 1.0 - Vote.weight), else_=0.0)), 0.0))
        .where(*_within(Vote.challenge_id, challenge_ids))
        .group_by(Vote.idea_id, Vote.pool, Vote.challenge_id))


def _activity_from_rows(challenge_ids, dialect: str):
    voters = select(Vote.challenge_id.label("challenge_id"), utc_day(Vote.created_at, dialect).label("day"),
                    Vote.pool.label("pool"), Vote.voter_id.label("person_id")
                    ).where(*_within(Vote.challenge_id, challenge_ids))
    authors = select(Idea.challenge_id, utc_day(Idea.published_at, dialect), Idea.pool, Idea.author_id).where(
        Idea.status != IdeaStatus.DRAFT, Idea.published_at.is_not(None), *_within(Idea.challenge_id, challenge_ids))
    both = union_all(voters, authors).subquery()
    return (select(both.c.challenge_id, both.c.day, both.c.pool, both.c.person_id, func.count())
            .group_by(both.c.challenge_id, both.c.day, both.c.pool, both.c.person_id))


def _within(column, challenge_ids) -> list:
    return [] if challenge_ids is None else [column.in_(list(challenge_ids))]


def recount(challenge_ids=None, connection: Connection | None = None) -> None:
    """Build the tallies of these challenges (None: all) again from their votes and ideas,
    in the caller's transaction (the session's, or `connection`'s in a migration): to
    check what the triggers kept, or after rows were restored with triggers off."""
    run = connection.execute if connection is not None else db.session.execute
    dialect = (connection or db.session.connection()).dialect.name
    run(delete(ActivityDay.__table__).where(*_within(ActivityDay.__table__.c.challenge_id, challenge_ids)))
    set_aside_weights(challenge_ids, run)
    count_weights(challenge_ids, run)
    run(ActivityDay.__table__.insert().from_select(
        ["challenge_id", "day", "pool", "person_id", "acts"], _activity_from_rows(challenge_ids, dialect)))
    if connection is None:
        db.session.expire_all()


def set_aside_weights(challenge_ids, run=None) -> None:
    """Delete these challenges' weight tallies, to be counted again by `count_weights`.

    Before every weight of a challenge is rewritten in bulk (`votes.reweighing`): the
    re-weigh trigger then finds no tally row to update for each rewritten vote, and one
    grouped count at the end (`votes.reweighed`) costs far less than a million small
    updates. Both happen in the rewrite's transaction, so no one sees the gap."""
    (run or db.session.execute)(
        delete(VoteWeightTally.__table__).where(*_within(VoteWeightTally.__table__.c.challenge_id, challenge_ids)))


def hold_reweigh_trigger(held: bool) -> None:
    """PostgreSQL: the re-weigh trigger skips every row for the rest of this transaction
    (`held`), or fires again. Around a recompute's rewrite, between `set_aside_weights`
    and `count_weights`; transaction-local, so a rollback releases it too. (SQLite has
    no such setting: its trigger fires and finds no row.)"""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(select(func.set_config(RECOMPUTING, "on" if held else "off", True)))


def count_weights(challenge_ids, run=None) -> None:
    """These challenges' weight tallies from their votes (set aside first)."""
    (run or db.session.execute)(VoteWeightTally.__table__.insert().from_select(
        ["idea_id", "pool", "challenge_id", *_WEIGHT_COLUMNS], _weights_from_votes(challenge_ids)))


def snapshot(challenge_id: int | None) -> tuple[list[tuple], list[tuple]]:
    """A challenge's tallies (None: all) as sorted rows: people per day, weights per idea and pool."""
    activity = [tuple(r) for r in db.session.execute(
        select(ActivityDay.day, ActivityDay.pool, ActivityDay.person_id, ActivityDay.acts)
        .where(*_within(ActivityDay.challenge_id, None if challenge_id is None else [challenge_id]))
        .order_by(ActivityDay.challenge_id, ActivityDay.day, ActivityDay.pool, ActivityDay.person_id))]
    weights = [tuple(r) for r in db.session.execute(
        select(VoteWeightTally.idea_id, VoteWeightTally.pool,
               *(getattr(VoteWeightTally, c) for c in _WEIGHT_COLUMNS))
        .where(*_within(VoteWeightTally.challenge_id, None if challenge_id is None else [challenge_id]))
        .order_by(VoteWeightTally.idea_id, VoteWeightTally.pool))]
    return activity, weights


def _differing(kept: list[tuple], fresh: list[tuple], exact: int) -> int:
    """Rows of one list not in the other, floats compared to a billionth."""
    def key(row):
        return (*row[:exact], *(round(float(x), 9) for x in row[exact:]))
    return len({key(r) for r in kept} ^ {key(r) for r in fresh})


@click.command("recount-tallies")
@click.option("--challenge", "challenge_ids", type=int, multiple=True, help="Only this challenge (repeatable).")
@with_appcontext
def recount_command(challenge_ids: tuple[int, ...]) -> None:
    """Count the dashboards' tallies again from the votes and ideas, and say whether the
    kept ones had drifted (they should not: the triggers keep them)."""
    ids = list(challenge_ids) or None
    started = time.monotonic()
    kept = [snapshot(c) for c in ids] if ids else [snapshot(None)]
    recount(ids)
    fresh = [snapshot(c) for c in ids] if ids else [snapshot(None)]
    db.session.commit()
    drift = sum(_differing(k[0], f[0], 4) + _differing(k[1], f[1], 3) for k, f in zip(kept, fresh, strict=True))
    click.echo(f"Tallies recounted in {time.monotonic() - started:.1f} s: "
               + ("the kept ones matched." if not drift else f"{drift} rows differed and are corrected now."))


def register_cli(group: click.Group) -> None:
    """Add `recount-tallies` to the `ideas` command group."""
    if "recount-tallies" not in group.commands:
        group.add_command(recount_command)

