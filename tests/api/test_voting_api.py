"""Votes, rankings and pairs through the API."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.voting import services
from ideas.voting.models import IdeaScore, PairShown, Vote
from ideas.voting.services import Ballot
from tests.api.conftest import fields_of
from tests.challenges.factories import idea_in, open_challenge

REASON = ("Kiosks cut the queue at peak hours because most travellers only need a boarding pass "
          "and a bag tag, which a machine prints faster than a desk agent can.")
CRITERIA = [challenges.CriterionInput("impact", weight=2), challenges.CriterionInput("feasibility")]


def test_cast_read_change_and_withdraw_a_vote_with_its_weight_explained(api, make_user, voting_idea):
    challenge, idea, _, _ = voting_idea(criteria=CRITERIA)
    voter = make_user(created_at=clock.now() - timedelta(days=60))
    path = f"/ideas/{idea.id}/vote"

    quick = api("POST", path, voter, json={})
    assert quick.status_code == 201, quick.get_json()
    click = quick.get_json()
    assert (click["idea_id"], click["value"], click["kind"], click["ratings"]) == (idea.id, 1, "support", [])
    assert 0 <= click["weight"] < 1 and click["policy"].startswith("weighted")
    assert {d["code"] for d in click["discounts"]} >= {"not_read", "no_reason"}
    assert click["suggestions"] and all(s["multiplier"] > 1 for s in click["suggestions"])
    assert click["created_at"].endswith("+00:00")

    # reading the idea through the API is opening it; then a reasoned, rated vote counts more
    assert api("GET", f"/ideas/{idea.id}", voter).status_code == 200
    clock.set_now(clock.now() + timedelta(minutes=3))
    ratings = {str(challenge.criteria[0].id): 4, "feasibility": 5}
    changed = api("POST", path, voter, json={"reason": REASON, "ratings": ratings})
    assert changed.status_code == 200, changed.get_json()
    full = changed.get_json()
    assert full["kind"] == "ratings" and full["weight"] > click["weight"]
    assert [(r["criterion"], r["rating"]) for r in full["ratings"]] == [("impact", 4), ("feasibility", 5)]
    assert "not_read" not in {d["code"] for d in full["discounts"]}
    assert api("GET", path, voter).get_json() == full
    assert db.session.scalar(select(func.count(Vote.id))) == 1
    hidden_fields = {"network", "effort", "standing", "collusion", "voter_id", "seconds_since_view"}
    assert not hidden_fields & set(full)

    assert api("DELETE", path, voter).status_code == 204
    assert api("GET", path, voter).status_code == 404
    assert api("DELETE", path, voter).status_code == 404
    score = db.session.get(IdeaScore, idea.id, populate_existing=True)
    assert score.raw_employee == 0 and score.support_employee == pytest.approx(0.0, abs=1e-9)


def test_refused_votes_name_the_problem(api, make_user, voting_idea):
    challenge, idea, author, manager = voting_idea(criteria=CRITERIA)
    voter = make_user()
    path = f"/ideas/{idea.id}/vote"
    seven = api("POST", path, voter, json={"ratings": {"impact": 7}})
    assert seven.status_code == 422 and "1 to 5" in fields_of(seven)["ratings"][0]
    unknown = api("POST", path, voter, json={"ratings": {"beauty": 3}})
    assert unknown.status_code == 422 and "beauty" in fields_of(unknown)["ratings"][0]
    typed = api("POST", path, voter, json={"ratings": [3], "value": "up"})
    assert typed.status_code == 422 and set(fields_of(typed)) == {"ratings", "value"}
    sideways = api("POST", path, voter, json={"value": 0})
    assert sideways.status_code == 422 and "value" in fields_of(sideways)
    against = api("POST", path, voter, json={"value": -1})
    assert against.status_code == 422 and "support only" in fields_of(against)["value"][0]
    long = api("POST", path, voter, json={"reason": "why " * 2000})
    assert long.status_code == 422 and "reason" in fields_of(long)
    own = api("POST", path, author, json={})
    assert own.status_code == 403 and "own" in own.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count(Vote.id))) == 0

    other = idea_in(open_challenge(manager, phase="submission"), make_user(), title="Other")
    early = api("POST", f"/ideas/{other.id}/vote", voter, json={})
    assert early.status_code == 409 and "submission phase" in early.get_json()["error"]["message"]

    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    closed = api("POST", path, voter, json={})
    assert closed.status_code == 409 and "review phase" in closed.get_json()["error"]["message"]
    assert api("DELETE", path, voter).status_code == 409


def test_withdrawn_and_hidden_ideas_take_no_votes(api, make_user, voting_idea):
    _, idea, author, manager = voting_idea()
    voter = make_user()
    challenges.withdraw_idea(idea, author)
    db.session.commit()
    withdrawn = api("POST", f"/ideas/{idea.id}/vote", voter, json={})
    assert withdrawn.status_code == 409 and "withdrawn" in withdrawn.get_json()["error"]["message"]

    hidden = idea_in(open_challenge(manager, phase="submission"), make_user(), title="Hidden")
    hidden.hidden_at = clock.now()
    challenges.change_phase(hidden.challenge, manager, "voting", "Go")
    db.session.commit()
    # participants cannot see it, so for them it does not exist; staff are told why
    assert api("POST", f"/ideas/{hidden.id}/vote", voter, json={}).status_code == 404
    staff = api("POST", f"/ideas/{hidden.id}/vote", manager, json={})
    assert staff.status_code == 409 and "hidden" in staff.get_json()["error"]["message"]


def test_pools_vote_only_where_they_see(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="separate", cross_visibility=False)
    inside = idea_in(challenge, make_user(), title="Inside view")
    challenges.change_phase(challenge, manager, "voting", "Go")
    db.session.commit()
    assert api("POST", f"/ideas/{inside.id}/vote", make_user(pool="external"), json={}).status_code == 404
    staff_only = open_challenge(manager, phase="submission", pool_mode="employees_only")
    secret = idea_in(staff_only, make_user(), title="Staff idea")
    challenges.change_phase(staff_only, manager, "voting", "Go")
    db.session.commit()
    external = make_user(pool="external")
    for method in ("POST", "GET", "DELETE"):
        assert api(method, f"/ideas/{secret.id}/vote", external, json={}).status_code == 404


def test_ranking_in_rank_order_with_the_shape_the_issue_names(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="blended", hide_counts_until_voted=False)
    popular = idea_in(challenge, make_user(), title="Popular")
    popular.external_ref = "RD-7"
    quiet = idea_in(challenge, make_user(pool="external"), title="Quiet")
    none = idea_in(challenge, make_user(), title="No votes")
    challenges.change_phase(challenge, manager, "voting", "Go")
    db.session.commit()
    for n in range(4):
        services.cast_vote(popular, make_user(pool="employee" if n % 2 else "external"), Ballot(reason=REASON))
    services.cast_vote(quiet, make_user(), Ballot())
    db.session.commit()

    response = api("GET", f"/challenges/{challenge.id}/ranking?pool=blended", make_user(pool="external"))
    assert response.status_code == 200, response.get_json()
    ranking = response.get_json()
    assert (ranking["challenge_id"], ranking["pool"], ranking["offset"], ranking["next_offset"]) == (
        challenge.id, "blended", 0, None)
    assert ranking["pool_weights"] == {"employee": 0.5, "external": 0.5}
    ranked = [line["id"] for line in ranking["ideas"]]
    # (an idea nobody voted on has no stored score yet, and ranking_page leaves it out)
    assert ranked[:2] == [popular.id, quiet.id] and set(ranked) <= {popular.id, quiet.id, none.id}
    top = ranking["ideas"][0]
    assert set(top) == {"id", "external_ref", "title", "score", "support", "raw_votes", "flags"}
    assert (top["external_ref"], top["title"], top["raw_votes"]) == ("RD-7", "Popular", 4)
    assert set(top["support"]) == {"employee", "external"} and top["support"]["external"] > 0
    assert top["flags"] == {"pools_disagree": False}
    scores = [line["score"] for line in ranking["ideas"]]
    assert scores == sorted(scores, reverse=True)

    employee = api("GET", f"/challenges/{challenge.id}/ranking?pool=employee", manager).get_json()
    assert employee["pool"] == "employee" and employee["ideas"][0]["id"] == popular.id
    paged = api("GET", f"/challenges/{challenge.id}/ranking?limit=2", manager).get_json()
    assert len(paged["ideas"]) == 2 and paged["next_offset"] == 2
    rest = api("GET", f"/challenges/{challenge.id}/ranking?limit=2&offset=2", manager).get_json()
    assert [line["id"] for line in rest["ideas"]] == ranked[2:]
    assert api("GET", f"/challenges/{challenge.id}/ranking?pool=everyone", manager).status_code == 422
    assert api("GET", f"/challenges/{challenge.id}/ranking?offset=10001", manager).status_code == 422
    assert api("GET", f"/challenges/{challenge.id}/ranking?limit=101", manager).status_code == 422


def test_the_ranking_waits_for_the_end_of_voting_where_counts_are_hidden(api, make_user, voting_idea):
    challenge, idea, _, manager = voting_idea(pool_mode="separate", cross_visibility=False)
    services.cast_vote(idea, make_user(), Ballot())
    db.session.commit()
    path = f"/challenges/{challenge.id}/ranking"
    refused = api("GET", path, make_user())
    assert refused.status_code == 403 and "voting is over" in refused.get_json()["error"]["message"]
    assert api("GET", path, manager).status_code == 200
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    external = make_user(pool="external")
    # the external pool does not see the employees' ideas in a separate challenge
    assert api("GET", f"{path}?pool=employee", external).get_json()["ideas"] == []
    assert [line["id"] for line in api("GET", f"{path}?pool=employee", make_user()).get_json()["ideas"]] == [
        idea.id]


def pairwise_challenge(make_user, ideas: int = 3):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", voting_policy="pairwise")
    found = [idea_in(challenge, make_user(), title=f"Idea {n}") for n in range(ideas)]
    challenges.change_phase(challenge, manager, "voting", "Go")
    db.session.commit()
    return challenge, found, manager


def test_pairs_are_shown_answered_and_only_shown_pairs_count(api, make_user):
    challenge, ideas, _ = pairwise_challenge(make_user)
    voter, other = make_user(), make_user(pool="external")
    path = f"/challenges/{challenge.id}/pair"
    shown = api("GET", path, voter)
    assert shown.status_code == 200, shown.get_json()
    pair = shown.get_json()
    assert {pair["left"]["id"], pair["right"]["id"]} <= {i.id for i in ideas}
    assert pair["left"]["id"] != pair["right"]["id"]
    assert api("GET", path, voter).get_json()["id"] == pair["id"]  # the same pair until answered

    theirs = api("POST", path, other, json={"pair": pair["id"], "answer": "left"})
    assert theirs.status_code == 409 and "not shown to you" in theirs.get_json()["error"]["message"]
    assert fields_of(theirs) == {"pair": ["This pair was not shown to you."]}
    never = api("POST", path, voter, json={"pair": 999_999, "answer": "left"})
    assert never.status_code == 409 and "pair" in fields_of(never)
    bad = api("POST", path, voter, json={"pair": pair["id"], "answer": "both"})
    assert bad.status_code == 422 and "answer" in fields_of(bad)

    clock.set_now(clock.now() + timedelta(minutes=2))
    answered = api("POST", path, voter, json={"pair": pair["id"], "answer": "left"})
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["answer"] == "left" and 0 < answered.get_json()["weight"] <= 1
    again = api("POST", path, voter, json={"pair": pair["id"], "answer": "right"})
    assert again.status_code == 409 and "already answered" in again.get_json()["error"]["message"]
    assert api("GET", path, voter).get_json()["id"] != pair["id"]
    assert db.session.scalar(select(func.count(PairShown.id)).where(PairShown.answer.is_not(None))) == 1

    single = api("POST", f"/ideas/{ideas[0].id}/vote", voter, json={})
    assert single.status_code == 409 and "pairs" in single.get_json()["error"]["message"]


def test_pairs_need_a_pairwise_challenge_in_voting(api, make_user, voting_idea):
    challenge, _, _, _ = voting_idea()
    refused = api("GET", f"/challenges/{challenge.id}/pair", make_user())
    assert refused.status_code == 409 and "pairs" in refused.get_json()["error"]["message"]
    lonely, _, _ = pairwise_challenge(make_user, ideas=1)
    alone = api("GET", f"/challenges/{lonely.id}/pair", make_user())
    assert alone.status_code == 409 and "two ideas" in alone.get_json()["error"]["message"]
