"""Changes reach the index after commit, never after a rollback; drafts never do.

The tests taking `search_backend` hold for every backend; the others are about the
Whoosh queue (jobs, drains).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ideas import clock, search
from ideas.challenges import services
from ideas.challenges.models import Comment
from ideas.extensions import db
from ideas.search.models import IndexJob


def queued() -> int:
    return db.session.scalar(select(func.count(IndexJob.id)))


@pytest.mark.usefixtures("search_backend")
def test_a_committed_idea_is_found(make_challenge, submit, employee, found):
    challenge = make_challenge()
    submit(challenge, employee, "Self check-in kiosks", body="Print your own boarding pass at a kiosk.")

    assert found(employee, "boarding pass") == ["Self check-in kiosks"]
    assert queued() == 0


@pytest.mark.usefixtures("search_backend")
def test_a_rolled_back_idea_never_reaches_the_index(make_challenge, employee, found, indexed_count):
    challenge = make_challenge()
    services.submit_idea(challenge, employee, title="Robot porters", summary="Robots carry the bags.")
    db.session.rollback()

    assert queued() == 0
    assert found(employee, "robot") == []
    assert indexed_count() == 0


def test_one_job_per_idea_per_transaction(make_challenge, submit, employee):
    challenge = make_challenge()
    idea = submit(challenge, employee, "Bag drop", summary="Drop bags early.")
    search.drain()
    services.edit_idea(idea, employee, title="Bag drop", summary="Drop bags the evening before.", body="")
    services.edit_idea(idea, employee, title="Bag drop", summary="Drop bags the night before.", body="")

    assert queued() == 1
    db.session.commit()


@pytest.mark.usefixtures("search_backend")
def test_drafts_are_never_indexed_until_published(make_challenge, submit, employee, manager, found,
                                                  indexed_count):
    challenge = make_challenge()
    draft = submit(challenge, employee, "Secret draft about lounges", draft=True)

    for person in (employee, manager):
        assert found(person, "lounges") == []
    assert indexed_count() == 0

    services.publish_draft(draft, employee)
    db.session.commit()
    assert found(employee, "lounges") == ["Secret draft about lounges"]


@pytest.mark.usefixtures("search_backend")
def test_edits_withdrawal_and_comments_are_indexed(make_challenge, submit, employee, external, found):
    challenge = make_challenge()
    idea = submit(challenge, employee, "Mobile boarding", summary="Boarding pass on the phone.")

    services.edit_idea(idea, employee, title="Mobile boarding", summary="Boarding pass in the wallet app.",
                       body="", tags="mobile, wallet")
    db.session.commit()
    assert found(employee, "wallet") == ["Mobile boarding"]
    assert found(employee, "phone") == []
    assert found(employee, tag="wallet") == ["Mobile boarding"]

    db.session.add(Comment(idea_id=idea.id, author_id=external.id, body="What about smartwatches?"))
    search.enqueue(idea.id)
    db.session.commit()
    assert found(employee, "smartwatches") == ["Mobile boarding"]

    services.withdraw_idea(idea, employee, "Duplicate")
    db.session.commit()
    assert found(employee, "wallet", status="withdrawn") == ["Mobile boarding"]
    assert found(employee, "wallet", status="published") == []


@pytest.mark.usefixtures("search_backend")
def test_hidden_comments_are_not_searchable(make_challenge, submit, employee, external, found):
    challenge = make_challenge()
    idea = submit(challenge, employee, "Quiet zones")
    comment = Comment(idea_id=idea.id, author_id=external.id, body="offensive zebra remark")
    db.session.add(comment)
    search.enqueue(idea.id)
    db.session.commit()
    assert found(employee, "zebra") == ["Quiet zones"]

    comment.hidden_at = clock.now()
    search.enqueue(idea.id)
    db.session.commit()
    assert found(employee, "zebra") == []


@pytest.mark.usefixtures("search_backend")
def test_submitting_through_the_page_indexes_before_the_next_page(
    client, login, post_form, make_challenge, employee, indexed_count
):
    challenge = make_challenge()
    login(employee)
    page = f"/challenges/{challenge.id}/ideas/new"
    response = post_form(page, {"title": "Fast lane for families", "summary": "Families board first.",
                                "body": "", "tags": "families", "action": "publish"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]

    # The request drained its own job after committing, before its response left.
    assert queued() == 0
    assert indexed_count() == 1
    listing = client.get("/search?q=families").get_data(as_text=True)
    assert "Fast lane for families" in listing


@pytest.mark.usefixtures("search_backend")
def test_a_failed_request_queues_nothing(client, login, post_form, make_challenge, employee):
    challenge = make_challenge()
    login(employee)
    response = post_form(f"/challenges/{challenge.id}/ideas/new",
                         {"title": "No summary here", "summary": "", "action": "publish"})
    assert response.status_code >= 400
    assert queued() == 0
    assert "No summary here" not in client.get("/search?q=summary").get_data(as_text=True)


def test_a_search_with_its_own_unflushed_writes_does_not_drain(make_challenge, submit, employee):
    challenge = make_challenge()
    submit(challenge, employee, "Lounge access", summary="Everyone gets lounge access.")
    assert queued() == 1
    services.submit_idea(challenge, employee, title="Another", summary="Pending in this transaction.")

    search.search_ideas(employee, "lounge")  # would wait for itself on SQLite if it drained now

    db.session.rollback()
    assert queued() == 1
    assert search.drain() == 1
    assert queued() == 0


def test_the_scheduler_drains_what_a_killed_worker_left(app, make_challenge, employee):
    from ideas import scheduler

    challenge = make_challenge()
    services.submit_idea(challenge, employee, title="Left behind", summary="Its worker died after commit.")
    db.session.commit()
    assert queued() == 1

    assert scheduler.run()["search"] == 1
    assert queued() == 0
    assert search.ensure_index().doc_count() == 1


def test_a_job_rolled_back_with_a_savepoint_is_queued_again(make_challenge, submit, employee, found):
    challenge = make_challenge()
    idea = submit(challenge, employee, "Savepoint", summary="First words.")
    search.drain()
    with db.session.begin_nested() as savepoint:
        search.enqueue(idea.id)
        savepoint.rollback()
    idea.summary = "Second words about tapirs."
    search.enqueue(idea.id)
    db.session.commit()
    assert queued() == 1
    assert found(employee, "tapirs") == ["Savepoint"]
