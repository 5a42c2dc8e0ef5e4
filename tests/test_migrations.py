"""Every table comes from a migration, and the migrations match the models.

Runs on whichever backend the suite runs on: SQLite by default, PostgreSQL when
IDEAS_TEST_DATABASE_URL names one (each test here then gets a scratch database
of its own, so going down to an empty schema never disturbs the other tests).
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from ideas import create_app
from ideas.accounts import services
from ideas.accounts.models import User
from ideas.demo import ALREADY_LOADED
from ideas.extensions import db
from tests.conftest import _base_overrides
from tests.pg import scratch_database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _model_tables() -> set[str]:
    return set(db.metadata.tables)


@pytest.fixture
def empty_app(tmp_path):
    """An app on a database with no tables at all (not even alembic's)."""
    server = os.environ.get("IDEAS_TEST_DATABASE_URL", "")
    instance = tmp_path / "instance"
    instance.mkdir()
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database(server)) if server else f"sqlite:///{tmp_path / 'fresh.db'}"
        application = create_app(_base_overrides(instance, url))
        with application.app_context():
            yield application
            db.session.remove()
            db.engine.dispose()


def test_migrations_have_a_single_head():
    # Two engineers adding migrations from the same parent leave two heads, and
    # `flask db upgrade` then refuses to run: merge them (`flask db merge heads`).
    heads = _scripts().get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: run `flask --app wsgi db merge heads`"


def test_upgrade_on_an_empty_database_then_down_to_base_and_up_again(empty_app):
    head = _scripts().get_current_head()
    assert _tables() == set()

    result = empty_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert _current_revision() == head
    assert _tables() == _model_tables()

    downgrade(revision="base")
    assert _current_revision() is None
    assert _tables() == set()

    upgrade()
    assert _current_revision() == head
    assert _tables() == _model_tables()


def test_models_and_migrations_agree(app):
    # `app` stands on the suite's database, migrated to head from an empty one.
    assert _current_revision() == _scripts().get_current_head()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        "the models and the migrations differ; write a migration "
        f"(`flask --app wsgi db migrate -m '...'`) and review it:\n{differences!r}"
    )


def _people() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_upgrade_keeps_a_database_holding_the_demo(empty_app):
    cli = empty_app.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    loaded = cli.invoke(args=["ideas", "demo"])
    assert loaded.exit_code == 0, loaded.output + repr(loaded.exception)
    email, password = _first_credentials(loaded.output)
    people = _people()
    assert people >= 6
    db.session.remove()  # an open read would hold the locks that DROP TABLE waits for

    # The newest migration goes down and up again over the demo's rows: a column
    # added without a default, or a table rebuilt badly, fails here and not in the field.
    scripts = _scripts()
    head = scripts.get_revision(scripts.get_current_head())
    if head.down_revision is not None:
        downgrade(revision=head.down_revision)
        db.session.remove()
        upgrade()
        db.session.remove()

    again = cli.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output + repr(again.exception)
    assert _current_revision() == head.revision

    repeat = cli.invoke(args=["ideas", "demo"])
    assert repeat.exit_code == 0
    assert ALREADY_LOADED in repeat.output
    assert password not in repeat.output
    assert _people() == people
    assert services.authenticate(email, password) is not None
    db.session.rollback()


def _first_credentials(printed: str) -> tuple[str, str]:
    for line in printed.splitlines():
        parts = line.split()
        if len(parts) >= 3 and "@" in parts[0] and parts[0] != "e-mail":
            return parts[0], parts[1]
    raise AssertionError(f"no e-mail and password in the demo's output:\n{printed}")
