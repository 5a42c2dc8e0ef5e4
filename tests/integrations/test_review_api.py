"""Review and handoffs through the API (ideas/api/review.py): the whole path from shortlist to delivered, each
refusal with its status and field, who may list handoffs, and what each reader sees
(blind review for reviewers; no internal notes or individual scores for authors)."""
from __future__ import annotations

import json

import pytest

from ideas.extensions import db
from ideas.review import services
from ideas.review.models import IdeaReview
from tests.api.conftest import fields_of
from tests.conftest import snapshot
from tests.review.conftest import full_scorecard, moderator_reviewing, walk

INTERNAL = "internal: budget talk"


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def ratings(challenge, **values) -> list[dict]:
    return [{"criterion_id": cid, "rating": r.rating, "comment": r.comment}
            for cid, r in full_scorecard(challenge, **values).items()]


def test_from_shortlist_to_delivered_through_the_api(world, api):
    m, owner = world.manager, world.owner
    r1, r2 = world.reviewers[0], world.reviewers[1]
    shortlisted = ok(api("POST", f"/challenges/{world.challenge.id}/shortlist", m,
                         json={"idea_ids": [world.idea.id]}), 201)
    [review] = shortlisted["items"]
    rid = review["id"]
    assert review["state"] == "shortlisted" and review["you"]["roles"] == ["manager"]
    assert ok(api("POST", f"/reviews/{rid}/start", m))["state"] == "in_review"
    assigned = ok(api("POST", f"/reviews/{rid}/reviewers", m, json={"reviewer_ids": [r1.id, r2.id]}))
    assert [a["reviewer"]["id"] for a in assigned["reviewers"]] == [r1.id, r2.id]
    mine = ok(api("POST", f"/reviews/{rid}/scorecard", r1, json={"ratings": ratings(world.challenge, impact=5)}))
    assert mine["scorecard"]["submitted_at"] and len(mine["scorecard"]["ratings"]) == 2
    assert "scores" not in mine and "reviewers" not in mine  # a reviewer sees their own card only
    ok(api("POST", f"/reviews/{rid}/scorecard", r2, json={"ratings": ratings(world.challenge, impact=3)}))
    decided = ok(api("POST", f"/reviews/{rid}/decide", m,
                     json={"decision": "accepted", "reason": "Halves the queue", "note": INTERNAL}))
    assert decided["state"] == "accepted" and decided["decision_reason"] == "Halves the queue"
    assert decided["scores"]["score"] == 3.75  # (4.5 + 3) / 2, impact weighs 3 and len(decided["scores"]["reviewers"]) == 2
    handed = ok(api("POST", f"/reviews/{rid}/handoff", m, json={"owner_id": owner.id, "note": "Start small"}))
    assert handed["state"] == "handed_off" and handed["owner"]["id"] == owner.id and handed["ack_due_at"]
    assert ok(api("POST", f"/reviews/{rid}/acknowledge", owner))["state"] == "acknowledged"
    progressed = ok(api("POST", f"/reviews/{rid}/progress", owner, json={"body": "Pilot at gate B"}), 201)
    assert progressed["state"] == "in_progress"
    assert progressed["timeline"][-1]["kind"] == "update" and progressed["timeline"][-1]["reason"] == "Pilot at gate B"
    closed = ok(api("POST", f"/reviews/{rid}/close", owner,
                    json={"outcome": "delivered", "reason": "Live at two airports"}))
    assert closed["state"] == "delivered" and closed["close_reason"] == "Live at two airports"
    # The author followed it all from their idea.
    theirs = ok(api("GET", f"/ideas/{world.idea.id}/review", world.author))
    assert [e["label"] for e in theirs["timeline"] if e["kind"] == "step"] == [
        "Shortlisted for review", "In review", "Accepted", "Handed to an R&D owner", "Taken on by an R&D owner",
        "In progress", "Delivered"]


def test_an_external_author_never_sees_internal_notes_or_individual_scores(world, api):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    services.submit_scorecard(review, world.reviewers[0], full_scorecard(world.challenge))
    services.decide(review, world.manager, "declined", "Out of scope this year", note=INTERNAL)
    db.session.commit()
    assert world.author.pool == "external"
    for path in (f"/ideas/{world.idea.id}/review", f"/reviews/{review.id}"):
        data = ok(api("GET", path, world.author))
        text = json.dumps(data)
        assert data["decision_reason"] == "Out of scope this year"
        assert INTERNAL not in text and "seen it work elsewhere" not in text  # the note, a reviewer's comment
        for staff_only in ("internal_note", "scores", "reviewers", "review_score", "handoffs", "criteria"):
            assert staff_only not in data
        assert all("note" not in e and "internal_reason" not in e for e in data["timeline"])
    manager = json.dumps(ok(api("GET", f"/reviews/{review.id}", world.manager)))
    assert INTERNAL in manager and "seen it work elsewhere" in manager


def test_other_participants_see_the_steps_but_not_the_reasons(world, api, make_user):
    walk(world, world.idea, "declined")
    data = ok(api("GET", f"/ideas/{world.idea.id}/review", make_user(pool="external")))
    assert data["state"] == "declined" and data["decision_reason"] is None
    assert all(e["reason"] is None for e in data["timeline"])


def test_blind_review_hides_the_authors_from_reviewers_in_the_api(world, api):
    world.challenge.blind_review = True
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    seen = ok(api("GET", f"/reviews/{review.id}", world.reviewers[0]))
    assert seen["idea"]["authors"] is None and world.author.name not in json.dumps(seen)
    after = ok(api("POST", f"/reviews/{review.id}/scorecard", world.reviewers[0],
                   json={"ratings": ratings(world.challenge)}))
    assert after["idea"]["authors"] is None
    managers = ok(api("GET", f"/reviews/{review.id}", world.manager))
    assert managers["idea"]["authors"] == [{"id": world.author.id, "name": world.author.name}]
    # Nor does the ideas API tell them.
    idea = ok(api("GET", f"/ideas/{world.idea.id}", world.reviewers[0]))
    assert idea["author"] is None and idea["coauthors"] == []
    listed = ok(api("GET", f"/challenges/{world.challenge.id}/ideas", world.reviewers[0]))
    assert all(item["author"] is None for item in listed["items"] if item["id"] == world.idea.id)
    assert ok(api("GET", f"/ideas/{world.idea.id}", world.manager))["author"]["id"] == world.author.id


def test_blind_review_shows_the_authors_to_a_moderator_assigned_as_a_reviewer_in_the_api(world, api):
    review, moderator = moderator_reviewing(world)
    author = {"id": world.author.id, "name": world.author.name}
    assert ok(api("GET", f"/reviews/{review.id}", moderator))["idea"]["authors"] == [author]
    assert ok(api("GET", f"/ideas/{world.idea.id}", moderator))["author"] == author


# --- refusals: the service's words, with the right status and field -----------------------

def test_a_decision_without_a_reason_is_refused_and_nothing_changes(world, api):
    review = walk(world, world.idea, "in_review")
    response = api("POST", f"/reviews/{review.id}/decide", world.manager, json={"decision": "accepted",
                                                                               "reason": "  "})
    assert response.status_code == 422 and "reason" in fields_of(response)
    response = api("POST", f"/reviews/{review.id}/decide", world.manager, json={"decision": "maybe", "reason": "x"})
    assert response.status_code == 422 and "decision" in fields_of(response)
    db.session.refresh(review)
    assert review.state == "in_review"


def test_a_move_the_table_does_not_allow_is_a_conflict(world, api):
    review = walk(world, world.idea, "shortlisted")
    response = api("POST", f"/reviews/{review.id}/decide", world.manager, json={"decision": "accepted",
                                                                               "reason": "Skip review"})
    assert response.status_code == 409 and "cannot go from shortlisted to accepted" in \
        response.get_json()["error"]["message"]


def test_scores_outside_one_to_five_and_missing_criteria_are_named(world, api):
    review = walk(world, world.idea, "in_review")
    reviewer = world.reviewers[0]
    services.assign_reviewers(review, world.manager, [reviewer.id])
    db.session.commit()
    impact, feasibility = (c.id for c in world.challenge.criteria)
    bad = [{"criterion_id": impact, "rating": 6, "comment": "Huge"}]
    response = api("POST", f"/reviews/{review.id}/scorecard", reviewer, json={"ratings": bad})
    assert response.status_code == 422
    fields = fields_of(response)
    assert "not a rating from 1 to 5" in fields[f"ratings.{impact}.rating"][0]
    assert f"ratings.{feasibility}.rating" in fields and f"ratings.{feasibility}.comment" in fields
    twice = [{"criterion_id": impact, "rating": 3, "comment": "a"}] * 2
    assert api("POST", f"/reviews/{review.id}/scorecard", reviewer, json={"ratings": twice}).status_code == 422
    shapeless = api("POST", f"/reviews/{review.id}/scorecard", reviewer, json={"ratings": [3, 4]})
    assert shapeless.status_code == 422 and "ratings" in fields_of(shapeless)
    db.session.refresh(review)
    assert not review.assignments[0].entries


def test_a_handoff_to_someone_who_is_not_an_owner_is_refused(world, api, make_user):
    review = walk(world, world.idea, "accepted")
    for person in (world.reviewers[0], make_user()):
        response = api("POST", f"/reviews/{review.id}/handoff", world.manager, json={"owner_id": person.id})
        assert response.status_code == 422 and "owner" in fields_of(response)
    response = api("POST", f"/reviews/{review.id}/handoff", world.manager, json={"owner_id": 999_999})
    assert response.status_code == 422 and "owner_id" in fields_of(response)
    db.session.refresh(review)
    assert review.state == "accepted" and review.owner_id is None


def test_an_owner_at_the_limit_needs_confirmation(world, api):
    services.set_wip_limit(world.owner, world.owner, 1)
    walk(world, world.ideas[1], "handed_off")
    review = walk(world, world.idea, "accepted")
    response = api("POST", f"/reviews/{review.id}/handoff", world.manager, json={"owner_id": world.owner.id})
    assert response.status_code == 409 and "confirm" in fields_of(response)
    confirmed = api("POST", f"/reviews/{review.id}/handoff", world.manager,
                    json={"owner_id": world.owner.id, "confirm": True})
    assert ok(confirmed)["state"] == "handed_off"


def test_shortlisting_beyond_capacity_needs_a_reason(world, api):
    ids = [i.id for i in world.ideas]
    response = api("POST", f"/challenges/{world.challenge.id}/shortlist", world.manager, json={"idea_ids": ids})
    assert response.status_code == 409 and "over_capacity_reason" in fields_of(response)
    assert db.session.query(IdeaReview).count() == 0
    done = ok(api("POST", f"/challenges/{world.challenge.id}/shortlist", world.manager,
                  json={"idea_ids": ids, "over_capacity_reason": "Two extra reviewers", "start_review": True,
                        "assign_reviewers": True}), 201)
    assert [r["state"] for r in done["items"]] == ["in_review"] * 3


def test_bodies_are_checked(world, api):
    url = f"/challenges/{world.challenge.id}/shortlist"
    assert api("POST", url, world.manager, data="idea_ids=1").status_code == 415
    unknown = api("POST", url, world.manager, json={"idea_ids": [world.idea.id], "capacity": 9})
    assert unknown.status_code == 422 and "capacity" in fields_of(unknown)
    typed = api("POST", url, world.manager, json={"idea_ids": ["one"]})
    assert typed.status_code == 422 and "idea_ids" in fields_of(typed)


def test_who_may_take_each_step(world, api, make_user):
    review = walk(world, world.idea, "handed_off")
    stranger = make_user()
    assert api("POST", f"/challenges/{world.challenge.id}/shortlist", world.owner,
               json={"idea_ids": [world.idea.id]}).status_code == 403
    assert api("POST", f"/reviews/{review.id}/decide", world.owner,
               json={"decision": "parked", "reason": "x"}).status_code == 403
    assert api("POST", f"/reviews/{review.id}/acknowledge", world.manager).status_code == 403
    assert api("POST", f"/reviews/{review.id}/acknowledge", world.owners[1]).status_code == 403
    assert api("POST", f"/reviews/{review.id}/decline-handoff", stranger, json={"reason": "no"}).status_code == 403
    assert api("POST", f"/reviews/{review.id}/scorecard", stranger, json={"ratings": []}).status_code == 403
    declined = ok(api("POST", f"/reviews/{review.id}/decline-handoff", world.owner,
                      json={"reason": "No team this year"}))
    assert declined["state"] == "handoff_declined"
    # The author learns an owner is still being found, never why.
    theirs = json.dumps(ok(api("GET", f"/reviews/{review.id}", world.author)))
    assert "No team this year" not in theirs and "finding an R&D owner" in theirs


def test_reviews_outside_ones_audience_are_not_found(world, api, make_user):
    from tests.challenges.factories import idea_in, open_challenge

    inside = open_challenge(world.manager, phase="submission", pool_mode="employees_only")
    idea = idea_in(inside, make_user(), title="Staff canteen")
    inside.phase = "review"
    db.session.commit()
    review = services.shortlist_ideas(inside, world.manager, [idea.id])[0]
    db.session.commit()
    outsider = make_user(pool="external")
    assert api("GET", f"/reviews/{review.id}", outsider).status_code == 404
    assert api("GET", f"/ideas/{idea.id}/review", outsider).status_code == 404
    assert api("POST", f"/reviews/{review.id}/start", outsider).status_code == 404
    assert api("GET", "/reviews/999999", world.manager).status_code == 404
    assert api("GET", f"/ideas/{world.ideas[2].id}/review", world.manager).status_code == 404  # not shortlisted


# --- the handoff list ---------------------------------------------------------------------

@pytest.fixture
def handed(world):
    return snapshot("review API: handed", lambda: _handed(world))  # built once per run (tests/conftest.py)


def _handed(world):
    first = walk(world, world.ideas[0], "acknowledged")
    services.post_progress(first, world.owner, "Pilot at gate B")  # and so in progress
    second = walk(world, world.ideas[1], "handoff_declined")
    services.hand_off(second, world.manager, world.owners[1])
    db.session.commit()
    return first, second


def listing(api, user, query="") -> list[tuple]:
    data = ok(api("GET", f"/handoffs{query}", user))
    return [(h["review_id"], h["number"], h["status"]) for h in data["items"]]


def test_owners_see_their_own_handoffs_managers_their_challenges_administrators_all(world, handed, api,
                                                                                   make_user):
    first, second = handed
    olga, otto = world.owners
    assert listing(api, olga) == [(second.id, 1, "declined"), (first.id, 1, "in_progress")]
    assert listing(api, otto) == [(second.id, 2, "pending")]
    everything = [(second.id, 2, "pending"), (second.id, 1, "declined"), (first.id, 1, "in_progress")]
    assert listing(api, world.manager) == everything
    assert listing(api, make_user(roles=("admin",))) == everything
    assert listing(api, make_user(roles=("manager",))) == []  # manages another challenge, or none


@pytest.mark.parametrize("who", ["external", "external owner", "employee", "reviewer"])
def test_outsiders_and_people_outside_r_and_d_may_not_list_handoffs(who, world, api, make_user):
    person = {"external": make_user(pool="external"), "external owner": make_user(pool="external", roles=("owner",)),
              "employee": make_user(), "reviewer": world.reviewers[0]}[who]
    response = api("GET", "/handoffs", person)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_the_handoff_list_filters_and_pages(world, handed, api):
    first, second = handed
    m = world.manager
    assert listing(api, m, "?status=pending") == [(second.id, 2, "pending")]
    assert listing(api, m, "?status=open") == [(second.id, 2, "pending"), (first.id, 1, "in_progress")]
    assert listing(api, m, f"?owner={world.owner.id}") == [(second.id, 1, "declined"), (first.id, 1, "in_progress")]
    assert listing(api, world.owners[1], "?owner=me") == [(second.id, 2, "pending")]
    assert listing(api, m, f"?challenge={world.challenge.id}&status=declined") == [(second.id, 1, "declined")]
    page = ok(api("GET", "/handoffs?limit=2", m))
    assert len(page["items"]) == 2 and page["next"] is not None
    rest = ok(api("GET", f"/handoffs?limit=2&before={page['next']['before']}", m))
    assert [h["status"] for h in rest["items"]] == ["in_progress"] and rest["next"] is None
    assert api("GET", "/handoffs?status=lost", m).status_code == 422
    assert api("GET", "/handoffs?owner=someone", m).status_code == 422


def test_a_handoff_carries_what_an_r_and_d_tool_needs(world, handed, api):
    first, _ = handed
    [item] = ok(api("GET", "/handoffs?status=in_progress", world.owner))["items"]
    assert item["idea"]["id"] == first.idea_id and item["idea"]["url"] == f"http://ideas.test/ideas/{first.idea_id}"
    assert item["challenge"] == {"id": world.challenge.id, "title": world.challenge.title, "external_ref": None}
    assert item["owner"]["id"] == world.owner.id and item["handed_by"]["id"] == world.manager.id
    assert item["last_update"]["body"] == "Pilot at gate B"
    assert item["decision_reason"] == "Because it is accepted" and item["overdue"] is False
    assert item["acknowledged_at"] and item["closed_at"] is None and item["outcome"] is None
