"""The search backend setting: refused at start-up where the database cannot serve it;
on PostgreSQL, search needs no index folder and no queue, and the documents follow
every commit whichever backend answers."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from ideas import config
from ideas.extensions import db
from ideas.search.models import IdeaSearchDocument, IndexJob
from tests.search.conftest import ON_POSTGRES

on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs the suite on PostgreSQL")
ENV = {"IDEAS_ENV": "testing", "IDEAS_INSTANCE_PATH": "/nonexistent-ideas-instance"}


def test_postgres_search_on_sqlite_is_refused_at_start_up_saying_what_to_do():
    with pytest.raises(config.ConfigError) as refused:
        config.load(env={**ENV, "IDEAS_SEARCH_BACKEND": "postgres",
                         "IDEAS_DATABASE_URL": "sqlite:////tmp/ideas.db"})
    message = str(refused.value)
    assert "IDEAS_SEARCH_BACKEND=postgres needs a PostgreSQL database" in message
    assert "IDEAS_DATABASE_URL" in message and "IDEAS_SEARCH_BACKEND=whoosh" in message


def test_an_unknown_search_backend_is_refused_naming_the_choices():
    with pytest.raises(config.ConfigError, match="IDEAS_SEARCH_BACKEND must be one of whoosh, postgres, not 'solr'"):
        config.load(env={**ENV, "IDEAS_SEARCH_BACKEND": "solr"})


def test_whoosh_is_the_default_and_postgres_is_accepted_on_postgresql():
    assert config.load(env=ENV)["IDEAS_SEARCH_BACKEND"] == "whoosh"
    settings = config.load(env={**ENV, "IDEAS_SEARCH_BACKEND": "postgres",
                                "IDEAS_DATABASE_URL": "postgresql://ideas@db.example/ideas"})
    assert settings["IDEAS_SEARCH_BACKEND"] == "postgres"


def _documents() -> int:
    return db.session.scalar(select(func.count()).select_from(IdeaSearchDocument))


@on_postgres
def test_postgres_search_needs_no_index_folder_and_no_queue(app, make_challenge, submit, employee, found):
    app.config["IDEAS_SEARCH_BACKEND"] = "postgres"
    challenge = make_challenge()
    submit(challenge, employee, "Café near gate nine", summary="Coffee before boarding.")

    assert found(employee, "cafe") == ["Café near gate nine"]
    assert found(employee, "title:café") == ["Café near gate nine"]
    assert db.session.scalar(select(func.count(IndexJob.id))) == 0
    assert not Path(app.config["IDEAS_SEARCH_INDEX"]).exists()


@on_postgres
def test_documents_follow_every_commit_so_switching_backend_needs_no_rebuild(
    app, make_challenge, submit, employee, found
):
    challenge = make_challenge()
    submit(challenge, employee, "Sleeping pods", summary="Pods to nap between flights.")  # Whoosh answers
    assert found(employee, "pods") == ["Sleeping pods"]
    assert _documents() == 1

    app.config["IDEAS_SEARCH_BACKEND"] = "postgres"
    assert found(employee, "nap") == ["Sleeping pods"]


@on_postgres
def test_reindex_rewrites_the_postgresql_documents(app, make_challenge, submit, employee, found):
    app.config["IDEAS_SEARCH_BACKEND"] = "postgres"
    challenge = make_challenge()
    submit(challenge, employee, "Rooftop garden", summary="Plants on the terminal roof.")
    db.session.execute(delete(IdeaSearchDocument))
    db.session.commit()
    assert found(employee, "garden") == []

    result = app.test_cli_runner().invoke(args=["ideas", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt: 1 ideas" in result.output
    assert found(employee, "garden") == ["Rooftop garden"]
