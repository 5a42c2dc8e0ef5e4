"""Challenges through the API: managers write and run them, participants read what is open to them."""
from __future__ import annotations

from datetime import datetime, timedelta

from ideas import clock
from ideas.challenges.models import Challenge, PhaseEvent
from ideas.extensions import db
from tests.api.conftest import fields_of
from tests.challenges.factories import open_challenge


def when(days: float) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


def charter(**values) -> dict:
    return {
        "title": "Halve check-in time",
        "brief": "How could we **halve** check-in time?",
        "goal": "Shorter queues",
        "scope_in": "Airports we run",
        "scope_out": "Security checks",
        "rules": "Be kind",
        "prize": "A trip",
        "pool_mode": "blended",
        "pool_weight_employee": 0.6,
        "pool_weight_external": 0.4,
        "tags": ["travel", "Queues"],
        "criteria": [{"name": "impact", "weight": 2, "description": "How much it cuts"}, {"name": "feasibility"}],
        "opens_at": when(-1),
        "voting_at": when(5),
        "review_at": when(10),
        "closes_at": when(20),
        "external_ref": "CHK-1",
        **values,
    }


def test_a_manager_creates_publishes_and_participants_read(api, make_user):
    manager = make_user(roles=("manager",))
    employee, external = make_user(), make_user(pool="external")

    created = api("POST", "/challenges", manager, json=charter())
    assert created.status_code == 201, created.get_json()
    challenge = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/challenges/{challenge['id']}")
    assert challenge["phase"] == "draft" and challenge["published_at"] is None
    assert challenge["tags"] == ["travel", "queues"]
    assert [(c["name"], c["weight"]) for c in challenge["criteria"]] == [("impact", 2), ("feasibility", 1)]
    assert challenge["managers"] == [{"id": manager.id, "name": manager.name}]
    assert challenge["you"]["manager"] is True
    assert (challenge["flag_threshold"], challenge["review_capacity"]) == (3, 10)  # how it is run: staff only
    # times are ISO 8601 in UTC, with their zone
    assert datetime.fromisoformat(challenge["opens_at"]).utcoffset() == timedelta(0)
    assert challenge["opens_at"].endswith("+00:00")

    # a draft exists only for its managers
    path = f"/challenges/{challenge['id']}"
    assert api("GET", path, employee).status_code == 404
    assert api("GET", path, make_user(roles=("manager",))).status_code == 404
    assert challenge["id"] not in [c["id"] for c in api("GET", "/challenges", employee).get_json()["items"]]

    published = api("POST", f"{path}/publish", manager)
    assert published.status_code == 200 and published.get_json()["phase"] == "submission"
    for person in (employee, external):
        read = api("GET", path, person)
        assert read.status_code == 200
        body = read.get_json()
        assert body["goal"] == "Shorter queues" and body["you"] == {
            "manager": False, "staff": False, "in_audience": True, "terms_accepted": True}
        assert "submit" in body["actions"]
        assert body["budget_k"] == 5 and "flag_threshold" not in body and "review_capacity" not in body
    again = api("POST", f"{path}/publish", manager)
    assert again.status_code == 422 and "already published" in again.get_json()["error"]["message"]


def test_only_managers_create_and_only_its_managers_change(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    path = f"/challenges/{challenge.id}"
    for person in (make_user(), make_user(pool="external"), make_user(roles=("reviewer",))):
        assert api("POST", "/challenges", person, json=charter()).status_code == 403
        # they see the challenge, so they are refused rather than told it does not exist
        assert api("PATCH", path, person, json={"title": "Mine now"}).status_code == 403
        assert api("POST", f"{path}/phase", person, json={"phase": "voting", "reason": "x"}).status_code == 403
        assert api("POST", f"{path}/publish", person).status_code == 403
    other_manager = make_user(roles=("manager",))
    assert api("PATCH", path, other_manager, json={"title": "Mine now"}).status_code == 403
    admin = make_user(roles=("admin",))
    assert api("PATCH", path, admin, json={"title": "An admin may"}).status_code == 200
    assert db.session.get(Challenge, challenge.id).title == "An admin may"


def test_update_changes_only_what_is_sent_and_null_clears_a_date(api, make_user):
    manager = make_user(roles=("manager",))
    created = api("POST", "/challenges", manager, json=charter(submission_ends_at=when(4))).get_json()
    path = f"/challenges/{created['id']}"
    response = api("PATCH", path, manager, json={"goal": "Queues under five minutes", "submission_ends_at": None,
                                                 "criteria": [{"name": "impact", "weight": 5}],
                                                 "moderators": [make_user().id]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["goal"] == "Queues under five minutes" and body["title"] == "Halve check-in time"
    assert body["submission_ends_at"] is None and body["opens_at"] == created["opens_at"]
    assert [(c["name"], c["weight"]) for c in body["criteria"]] == [("impact", 5)]
    assert len(body["moderators"]) == 1


def test_bad_charters_are_refused_with_the_field_named(api, make_user, client):
    manager = make_user(roles=("manager",))
    out_of_order = api("POST", "/challenges", manager, json=charter(voting_at=when(-2)))
    assert out_of_order.status_code == 422
    assert "voting_at" in fields_of(out_of_order) and "after" in fields_of(out_of_order)["voting_at"][0]
    no_zone = api("POST", "/challenges", manager, json=charter(opens_at="2030-01-01T09:00:00"))
    assert no_zone.status_code == 422 and "opens_at" in fields_of(no_zone)
    not_a_date = api("POST", "/challenges", manager, json=charter(closes_at="next tuesday"))
    assert not_a_date.status_code == 422 and "closes_at" in fields_of(not_a_date)
    typed = api("POST", "/challenges", manager, json=charter(title=5, cross_visibility="yes", budget_k=2.5))
    assert typed.status_code == 422 and set(fields_of(typed)) == {"title", "cross_visibility", "budget_k"}
    unknown = api("POST", "/challenges", manager, json=charter(titel="typo"))
    assert unknown.status_code == 422 and fields_of(unknown) == {"titel": ["Unknown field."]}
    weights = api("POST", "/challenges", manager, json=charter(pool_weight_employee=0.9))
    assert weights.status_code == 422 and "pool_weight_external" in fields_of(weights)
    criterion = api("POST", "/challenges", manager, json=charter(criteria=[{"name": "impact", "weight": 11}]))
    assert criterion.status_code == 422 and "criteria" in fields_of(criterion)
    nameless = api("POST", "/challenges", manager, json=charter(criteria=[{"weight": 2}]))
    assert nameless.status_code == 422 and "Criterion 1" in fields_of(nameless)["criteria"][0]
    mode = api("POST", "/challenges", manager, json=charter(pool_mode="everyone"))
    assert mode.status_code == 422 and "pool_mode" in fields_of(mode)
    huge = api("POST", "/challenges", manager, json=charter(brief="x" * 200_000))
    assert huge.status_code == 422 and "brief" in fields_of(huge)
    nobody = api("POST", "/challenges", manager, json=charter(managers=[999_999]))
    assert nobody.status_code == 422 and "managers" in fields_of(nobody)
    malformed = api("POST", "/challenges", manager, data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert db.session.query(Challenge).count() == 0  # nothing half-written


def test_phase_changes_by_hand_are_logged_and_illegal_ones_refused(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    path = f"/challenges/{challenge.id}/phase"
    skip = api("POST", path, manager, json={"phase": "review", "reason": "Hurry"})
    assert skip.status_code == 422 and "phase" in fields_of(skip)
    assert "cannot move to review" in fields_of(skip)["phase"][0]
    silent = api("POST", path, manager, json={"phase": "voting", "reason": "  "})
    assert silent.status_code == 422 and "reason" in fields_of(silent)
    bogus = api("POST", path, manager, json={"phase": "party", "reason": "Why not"})
    assert bogus.status_code == 422 and "phase" in fields_of(bogus)
    moved = api("POST", path, manager, json={"phase": "voting", "reason": "Enough ideas"})
    assert moved.status_code == 200 and moved.get_json()["phase"] == "voting"
    event = db.session.query(PhaseEvent).filter_by(challenge_id=challenge.id, actor_id=manager.id).one()
    assert (event.from_phase, event.to_phase, event.reason) == ("submission", "voting", "Enough ideas")
    assert "vote" in moved.get_json()["actions"]
    draft = open_challenge(manager, publish=False)
    early = api("POST", f"/challenges/{draft.id}/phase", manager, json={"phase": "submission", "reason": "Go"})
    assert early.status_code == 422 and "Publish" in early.get_json()["error"]["message"]


def test_the_list_shows_only_what_is_open_to_you_in_bounded_pages(api, make_user):
    manager = make_user(roles=("manager",))
    external, employee = make_user(pool="external"), make_user()
    everyone = [open_challenge(manager, title=f"Open {n}") for n in range(5)]
    staff_only = open_challenge(manager, title="Staff only", pool_mode="employees_only")
    draft = open_challenge(manager, title="Draft", publish=False)
    voting = open_challenge(manager, title="Voting", phase="voting")

    seen = [c["id"] for c in api("GET", "/challenges?limit=100", external).get_json()["items"]]
    assert seen == sorted([c.id for c in everyone] + [voting.id], reverse=True)
    assert staff_only.id in [c["id"] for c in api("GET", "/challenges", employee).get_json()["items"]]
    assert draft.id in [c["id"] for c in api("GET", "/challenges", manager).get_json()["items"]]
    assert draft.id not in [c["id"] for c in api("GET", "/challenges", employee).get_json()["items"]]

    pages, cursor = [], ""
    while True:
        page = api("GET", f"/challenges?limit=2{cursor}", external).get_json()
        pages.append([c["id"] for c in page["items"]])
        if page["next"] is None:
            break
        cursor = f"&before={page['next']['before']}"
    assert [i for p in pages for i in p] == seen and all(len(p) <= 2 for p in pages)
    forward = api("GET", f"/challenges?after={min(seen)}&limit=100", external).get_json()["items"]
    assert [c["id"] for c in forward] == sorted(seen)[1:]

    phase = api("GET", "/challenges?phase=voting", external).get_json()["items"]
    assert [c["id"] for c in phase] == [voting.id]
    assert set(phase[0]) >= {"id", "title", "phase", "pool_mode", "opens_at", "closes_at", "external_ref"}
    assert "brief" not in phase[0]  # lists stay light; the charter is in the read
    assert api("GET", "/challenges?limit=101", external).status_code == 422
    assert api("GET", "/challenges?limit=many", external).status_code == 422
    assert api("GET", "/challenges?before=3&after=1", external).status_code == 422
    assert api("GET", "/challenges?phase=party", external).status_code == 422


def test_an_audience_outside_yours_does_not_exist_even_by_id(api, make_user):
    manager = make_user(roles=("manager",))
    staff_only = open_challenge(manager, pool_mode="employees_only")
    external = make_user(pool="external")
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/publish"), ("POST", "/phase"), ("GET", "/ideas"),
                         ("GET", "/ranking"), ("GET", "/pair"), ("GET", "/similar")):
        response = api(method, f"/challenges/{staff_only.id}{path}", external, json={})
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found"
    assert api("GET", "/challenges/999999", external).status_code == 404
    assert api("GET", f"/challenges/{2**64}", external).status_code == 404  # not a 500 from the database
    assert api("GET", f"/challenges?before={2**64}", external).status_code == 422
    assert api("GET", "/challenges", None).status_code == 401


def test_a_page_is_full_however_many_newer_challenges_you_may_not_see(api, make_user):
    """Visibility is paged in SQL: 1,200 newer challenges outside an external's audience
    do not leave their first page empty."""
    from sqlalchemy import insert

    manager = make_user(roles=("manager",))
    external = make_user(pool="external")
    older = [open_challenge(manager, title=f"Open {n}") for n in range(2)]
    staff_only = open_challenge(manager, title="Staff only", pool_mode="employees_only")
    db.session.execute(insert(Challenge), [
        {"title": f"Staff only {n}", "phase": staff_only.phase, "pool_mode": "employees_only",
         "created_by_id": manager.id, "published_at": staff_only.published_at} for n in range(1200)])
    db.session.commit()
    first = api("GET", "/challenges?limit=1", external).get_json()
    assert [c["id"] for c in first["items"]] == [older[1].id]
    second = api("GET", f"/challenges?limit=1&before={first['next']['before']}", external).get_json()
    assert [c["id"] for c in second["items"]] == [older[0].id] and second["next"] is None
