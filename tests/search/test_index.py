"""The index on disk: created on first use, rebuilt when missing or unreadable, by
`flask ideas reindex`, safe when another process holds the writer lock."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from whoosh.query import Every

from ideas import search
from ideas.extensions import db
from ideas.search import store
from ideas.search.models import IndexJob


@pytest.fixture
def indexed(make_challenge, submit, employee, found):
    challenge = make_challenge()
    for title in ("Kiosk for bags", "Kiosk for passports", "Coffee in the queue"):
        submit(challenge, employee, title)
    assert len(found(employee, "kiosk")) == 2
    return challenge


def index_path(app) -> Path:
    return Path(app.config["IDEAS_SEARCH_INDEX"])


def test_first_use_creates_the_index_under_the_instance_folder(app, indexed):
    path = index_path(app)
    assert path.parent == Path(app.instance_path)
    assert (path / "CURRENT").read_text().split()[0].startswith("ideas")


def test_a_missing_index_is_made_at_once_without_waiting_for_a_writer(app, make_challenge, submit, employee,
                                                                      found, monkeypatch):
    """Three tries with pauses are for an index a writer is switching; where there is no
    index at all, a site's first search (or a deleted folder's) makes it straight away."""
    pauses = []
    monkeypatch.setattr(store.time, "sleep", pauses.append)
    submit(make_challenge(), employee, "Kiosk for bags")
    assert len(found(employee, "kiosk")) == 1
    search.close()
    shutil.rmtree(index_path(app))
    assert len(found(employee, "kiosk")) == 1
    assert pauses == []


def test_a_deleted_index_is_rebuilt(app, indexed, employee, found):
    search.close()  # as in a process started after the folder went
    shutil.rmtree(index_path(app))
    assert len(found(employee, "kiosk")) == 2


def test_a_deleted_index_is_rebuilt_under_a_running_process(app, indexed, employee, found):
    shutil.rmtree(index_path(app))
    assert len(found(employee, "kiosk")) == 2


@pytest.mark.parametrize("damage", ["garble_all", "garble_toc", "truncate_segments", "empty_current",
                                    "other_schema", "unknown_name"])
def test_an_unreadable_index_is_rebuilt(app, indexed, employee, found, damage):
    path = index_path(app)
    search.close()
    before = (path / "CURRENT").read_text()
    files = [p for p in path.iterdir() if p.is_file()]
    if damage == "garble_all":
        for p in files:
            p.write_bytes(os.urandom(max(16, p.stat().st_size)))
    elif damage == "garble_toc":
        for p in files:
            if p.suffix == ".toc":
                p.write_bytes(b"\x80\x04not a table of contents" + os.urandom(64))
    elif damage == "truncate_segments":
        for p in files:
            if p.name != "CURRENT" and p.suffix != ".toc":
                p.write_bytes(b"")
    elif damage == "empty_current":
        (path / "CURRENT").write_text("")
    elif damage == "other_schema":
        name = (path / "CURRENT").read_text().split()[0]
        (path / "CURRENT").write_text(f"{name} 0\n")
    elif damage == "unknown_name":
        (path / "CURRENT").write_text(f"ideas1 {search.SCHEMA_VERSION}\n")

    assert len(found(employee, "kiosk")) == 2
    assert search.ensure_index().doc_count() == 3
    assert (path / "CURRENT").read_text() != before  # a new index was built


@pytest.mark.parametrize("running", [False, True], ids=["new process", "running process"])
def test_a_plain_file_where_the_folder_should_be_is_moved_aside_and_rebuilt(app, indexed, employee, found, running,
                                                                          client):
    path = index_path(app)
    if not running:
        search.close()
    shutil.rmtree(path)
    path.write_text("not an index")
    assert len(found(employee, "kiosk")) == 2
    assert path.is_dir()
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.moved-aside-")]
    assert [p.read_text() for p in aside] == ["not an index"]  # kept for whoever put it there
    assert client.get("/search?q=kiosk").status_code == 200


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root, who runs this test")
def test_an_index_without_permission_answers_with_a_degraded_message(app, indexed, employee, client):
    path = index_path(app)
    search.close()
    path.chmod(0)
    try:
        page = search.search_ideas(employee, "kiosk")
        assert page.items == [] and page.error == search.UNAVAILABLE
        response = client.get("/search?q=kiosk")
        assert response.status_code == 200 and search.UNAVAILABLE in response.get_data(as_text=True)
    finally:
        path.chmod(0o755)
    search.close()
    assert search.search_ideas(employee, "kiosk").total == 2  # and it recovers by itself


def test_an_index_that_cannot_be_written_answers_with_a_degraded_message(app, indexed, employee, client,
                                                                         monkeypatch):
    """As with a read-only mount or a full disk (and without permissions, for root too)."""
    search.close()
    shutil.rmtree(index_path(app))

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store, "_make_folder", refuse)
    page = search.search_ideas(employee, "kiosk")
    assert page.items == [] and page.error == search.UNAVAILABLE
    response = client.get("/search?q=kiosk")
    assert response.status_code == 200 and search.UNAVAILABLE in response.get_data(as_text=True)
    monkeypatch.undo()
    assert search.search_ideas(employee, "kiosk").total == 2


def test_reindex_command_rebuilds_from_the_database(app, indexed, employee, found):
    from ideas.commands import ideas_cli

    search.register_cli(ideas_cli)  # ideas/commands.py does this once the line is added
    # The index misses a change whose job was lost: only a rebuild can know.
    from ideas.challenges import services

    services.submit_idea(indexed, employee, title="Kiosk for pets", summary="Pets check in too.")
    db.session.execute(delete(IndexJob))
    db.session.commit()
    assert len(found(employee, "kiosk")) == 2

    result = app.test_cli_runner().invoke(args=["ideas", "reindex", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt: 4 ideas" in result.output
    assert len(found(employee, "kiosk")) == 3
    names = {re.search(r"ideas\d+", p.name).group(0) for p in index_path(app).iterdir() if p.name != "CURRENT"}
    assert len(names) == 1  # the previous index's files are gone


def test_reindex_gives_up_when_another_process_keeps_writing(app, indexed):
    from ideas.commands import ideas_cli

    search.register_cli(ideas_cli)
    holder = store.lock_for(index_path(app))
    assert holder.acquire(blocking=False)
    try:
        with pytest.raises(search.SearchUnavailableError):
            search.reindex(wait=0.1)
        result = app.test_cli_runner().invoke(args=["ideas", "reindex", "--wait", "0.1"])
    finally:
        holder.release()
    assert result.exit_code == 1
    assert "Another process is writing the search index" in result.output


def test_a_drain_leaves_the_work_to_the_process_holding_the_lock(app, indexed, make_challenge, submit,
                                                                  employee, found):
    from ideas.challenges import services

    holder = store.lock_for(index_path(app))
    assert holder.acquire(blocking=False)
    try:
        services.submit_idea(indexed, employee, title="Kiosk for bikes", summary="Bikes too.")
        db.session.commit()
        assert search.drain() == 0  # no LockError: someone else is writing
        result = search.search_ideas(employee, "kiosk")  # waits a moment, then reads what is there
        assert result.total == 2 and result.error is None
    finally:
        holder.release()
    assert search.pending()
    assert len(found(employee, "kiosk")) == 3
    assert not search.pending()


def test_searcher_sees_updates_and_deletions_without_stale_copies(app, indexed, employee, found):
    """whoosh-reloaded's Searcher.refresh() re-adds replaced segments; the cached searcher must not."""
    from ideas.challenges import services

    idea = search.search_ideas(employee, "passports").items[0]
    for n in range(5):
        services.edit_idea(idea, employee, title=f"Kiosk for passports v{n}", summary="Scan it.", body="")
        db.session.commit()
        assert found(employee, "passports") == [f"Kiosk for passports v{n}"]
    ix = search.ensure_index()
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 3
        assert len(list(searcher.search(Every(), limit=None))) == 3


def test_a_job_for_a_deleted_idea_removes_its_document(app, indexed, employee, found):
    from ideas.challenges.models import Idea

    idea = search.search_ideas(employee, "passports").items[0]
    db.session.execute(delete(Idea).where(Idea.id == idea.id))
    search.enqueue(idea.id)
    db.session.commit()
    assert found(employee, "passports") == []
    assert search.ensure_index().doc_count() == 2


def test_a_new_index_takes_the_jobs_queued_before_it_as_done(app, make_challenge, submit, employee, found):
    """The rebuild reads every idea from the database, which already holds what the queued
    jobs announce: the drain that follows deletes them without writing the index again."""
    challenge = make_challenge()
    submit(challenge, employee, "Kiosk for bags")
    submit(challenge, employee, "Kiosk for passports")
    assert search.pending() and not (index_path(app) / "CURRENT").exists()

    assert search.drain() == 2
    assert not search.pending()
    ix = search.ensure_index()
    assert ix.doc_count() == 2
    assert ix.latest_generation() == 1  # the rebuild's one commit, and no second one for the jobs
    assert sorted(found(employee, "kiosk")) == ["Kiosk for bags", "Kiosk for passports"]


def test_a_change_after_the_rebuild_is_indexed_though_its_job_takes_a_number_used_before(
        app, make_challenge, submit, employee, found):
    """SQLite numbers a job after the highest left, so once the queue is empty the next job
    has the number of one the rebuild took as done: the change it announces is indexed."""
    from ideas.challenges import services

    idea = submit(make_challenge(), employee, "Kiosk for bags")
    covered = db.session.scalar(select(IndexJob.id))
    assert search.drain() == 1
    services.edit_idea(idea, employee, title="Lockers for bags", summary="A locker for each traveller.",
                       body="", tags="")
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(select(IndexJob.id)) == covered
    assert found(employee, "lockers") == ["Lockers for bags"]
    assert found(employee, "kiosk") == []
