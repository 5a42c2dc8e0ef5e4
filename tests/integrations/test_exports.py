"""CSV exports for the managers: the shortlist with the crowd's and the reviewers' scores,
and the handoffs with their filters; cells a spreadsheet would run are defused."""
from __future__ import annotations

import csv
import io

import pytest

from ideas import clock
from ideas.extensions import db
from ideas.integrations.exports import cell
from ideas.review import services
from ideas.voting.models import IdeaScore
from tests.conftest import snapshot
from tests.review.conftest import full_scorecard, walk


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Kiosks = faster", "Kiosks = faster"), ("", ""), (None, ""), (True, "yes"), (False, "no"),
    (-1.23456789, -1.2346), (3, 3),
])
def test_cells_that_a_spreadsheet_would_run_are_defused(value, written):
    assert cell(value) == written


def _crowd(idea, employee, external, blended, disagree=False):
    row = db.session.get(IdeaScore, idea.id) or IdeaScore(idea_id=idea.id, challenge_id=idea.challenge_id)
    row.score_employee, row.score_external, row.score_blended, row.disagree = employee, external, blended, disagree
    db.session.add(row)
    db.session.commit()


@pytest.fixture
def scored(world, app):
    """Idea 0 in review with two scorecards that disagree; idea 1 shortlisted only: built
    once per run and put back for each test (`snapshot`, tests/conftest.py)."""
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1  # the crowd's scores below stay as set
    return snapshot("exports: scored", lambda: _scored(world))


def _scored(world):
    world.challenge.blind_review = True
    world.ideas[0].title = '=HYPERLINK("http://evil.example","Self-service kiosks")'
    db.session.commit()
    _crowd(world.ideas[0], 0.8, 0.2, 0.5, disagree=True)
    _crowd(world.ideas[1], 0.4, 0.6, 0.5)
    review = walk(world, world.ideas[0], "in_review")
    walk(world, world.ideas[1], "shortlisted")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id, world.reviewers[1].id])
    services.submit_scorecard(review, world.reviewers[0], full_scorecard(world.challenge, impact=5, feasibility=5))
    services.submit_scorecard(review, world.reviewers[1], full_scorecard(world.challenge, impact=2, feasibility=2))
    db.session.commit()
    return review


def test_the_shortlist_csv_has_every_idea_with_its_scores(world, scored, client, login):
    login(world.manager)
    with client.get(f"/challenges/{world.challenge.id}/review/shortlist.csv") as response:
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="shortlist-challenge-{world.challenge.id}.csv"')
        rows = read_csv(response)
    first, second = rows
    assert first["idea_id"] == str(world.ideas[0].id) and second["idea_id"] == str(world.ideas[1].id)
    assert first["title"] == "'" + world.ideas[0].title  # never a formula in Excel
    assert first["authors"] == "Ext Author"  # managers see authors, blind review or not
    assert (first["pool"], first["review_state"]) == ("external", "in_review")
    assert (first["employee_score"], first["external_score"], first["blended_score"]) == ("0.8", "0.2", "0.5")
    assert first["pools_disagree"] == "yes" and second["pools_disagree"] == "no"
    assert (first["review_score"], first["reviewer_count"], first["reviewers_assigned"]) == ("3.5", "2", "2")
    assert first["reviewer_disagreement"] == "1.5" and first["reviewers_disagree"] == "yes"
    assert (second["review_score"], second["reviewer_count"], second["reviewer_disagreement"]) == ("", "0", "")
    assert second["review_state"] == "shortlisted"


def test_the_challenge_page_links_the_exports_for_its_managers(world, scored, client, login):
    login(world.manager)
    with client.get(f"/challenges/{world.challenge.id}") as page:
        html = page.get_data(as_text=True)
    assert f"/challenges/{world.challenge.id}/review/shortlist.csv" in html
    assert f"/review/handoffs.csv?challenge={world.challenge.id}" in html


@pytest.mark.parametrize("who", ["reviewer", "author", "owner", "other manager"])
def test_only_the_challenge_managers_export_its_shortlist(who, world, scored, client, login, make_user):
    person = {"reviewer": world.reviewers[0], "author": world.authors[1], "owner": world.owner,
              "other manager": make_user(roles=("manager",))}[who]
    login(person)
    with client.get(f"/challenges/{world.challenge.id}/review/shortlist.csv") as response:
        assert response.status_code == 403


def test_the_anonymous_are_sent_to_sign_in(world, client):
    with client.get(f"/challenges/{world.challenge.id}/review/shortlist.csv") as response:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with client.get("/review/handoffs.csv") as response:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.fixture
def handed(world):
    """Idea 0 delivered by Olga with an update; idea 1 declined by Olga, then handed to Otto (pending)."""
    return snapshot("exports: handed", lambda: _handed(world))  # built once per run (tests/conftest.py)


def _handed(world):
    first = walk(world, world.ideas[0], "acknowledged")
    services.post_progress(first, world.owner, "=1+1 pilot at gate B")
    services.close(first, world.owner, "delivered", "Live at two airports")
    second = walk(world, world.ideas[1], "handoff_declined")
    services.hand_off(second, world.manager, world.owners[1])
    db.session.commit()
    return first, second


def test_the_handoffs_csv_lists_each_handing_with_its_status(world, handed, client, login):
    first, second = handed
    login(world.manager)
    with client.get("/review/handoffs.csv") as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="handoffs.csv"'
        rows = read_csv(response)
    assert [(r["idea_id"], r["handoff_number"], r["owner"], r["status"]) for r in rows] == [
        (str(first.idea_id), "1", "Olga Owner", "delivered"),
        (str(second.idea_id), "1", "Olga Owner", "declined"),
        (str(second.idea_id), "2", "Otto Owner", "pending"),
    ]
    delivered, declined, pending = rows
    assert delivered["last_progress_update"] == "'=1+1 pilot at gate B"
    assert delivered["outcome"] == "delivered" and delivered["outcome_reason"] == "Live at two airports"
    assert delivered["closed_at"] and delivered["acknowledged_at"] and delivered["ack_due_at"]
    assert declined["decline_reason"] == "No team for it this year" and declined["declined_at"]
    assert pending["overdue"] == "no" and pending["acknowledged_at"] == "" and pending["closed_at"] == ""
    assert delivered["challenge_title"] == world.challenge.title


@pytest.mark.parametrize(("query", "expected"), [
    ("status=declined", [("1", "declined")]),
    ("status=pending", [("2", "pending")]),
    ("status=open", [("2", "pending")]),
    ("status=delivered", [("1", "delivered")]),
    ("status=overdue", []),
    ("owner={otto}", [("2", "pending")]),
    ("challenge={challenge}&owner={olga}", [("1", "delivered"), ("1", "declined")]),
])
def test_the_handoffs_csv_filters(query, expected, world, handed, client, login):
    login(world.manager)
    url = "/review/handoffs.csv?" + query.format(otto=world.owners[1].id, olga=world.owner.id,
                                                 challenge=world.challenge.id)
    with client.get(url) as response:
        rows = read_csv(response)
    assert [(r["handoff_number"], r["status"]) for r in rows] == expected


def test_overdue_is_pending_past_its_deadline(world, handed, client, login):
    from datetime import timedelta

    clock.set_now(clock.now() + timedelta(days=10))
    login(world.manager)
    with client.get("/review/handoffs.csv?status=overdue") as response:
        [row] = read_csv(response)
    assert (row["owner"], row["overdue"]) == ("Otto Owner", "yes")


def test_a_manager_exports_only_the_challenges_they_manage(world, handed, client, login, make_user):
    from tests.challenges.factories import open_challenge

    other = make_user(roles=("manager",))
    open_challenge(other, phase="review")
    login(other)
    with client.get("/review/handoffs.csv") as response:
        assert read_csv(response) == []
    with client.get(f"/review/handoffs.csv?challenge={world.challenge.id}") as response:
        assert response.status_code == 403


@pytest.mark.parametrize("who", ["owner", "reviewer", "author"])
def test_owners_and_others_do_not_export_handoffs(who, world, handed, client, login):
    login({"owner": world.owner, "reviewer": world.reviewers[0], "author": world.authors[1]}[who])
    with client.get("/review/handoffs.csv") as response:
        assert response.status_code == 403


@pytest.mark.parametrize("query", ["status=lost", "owner=abc", "challenge=-1"])
def test_bad_filters_are_a_bad_request(query, world, client, login):
    login(world.manager)
    with client.get(f"/review/handoffs.csv?{query}") as response:
        assert response.status_code == 400
