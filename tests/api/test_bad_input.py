"""Bad input through the API gets a 4xx naming the field, never a 500: integers beyond
PostgreSQL's INTEGER in bodies and query strings, nesting too deep to read, text no
database can store, strings over their column's length. And what is valid stays so:
`before=0` is a page like any other."""
from __future__ import annotations

import pytest

from ideas.challenges.models import Challenge
from ideas.extensions import db
from tests.api.conftest import fields_of
from tests.review.conftest import walk

HUGE = 2**31  # one more than PostgreSQL's INTEGER holds
BIGGER = 2**63  # beyond what SQLite can compare


def refused(response, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert field in fields_of(response), fields_of(response)


@pytest.mark.parametrize("number", [HUGE, BIGGER])
def test_integers_beyond_the_database_in_bodies_are_refused_by_name(world, api, number):
    m, challenge, idea = world.manager, world.challenge, world.idea
    review = walk(world, world.ideas[1], "accepted")
    refused(api("POST", "/challenges", m, json={"title": "Queues", "managers": [number]}), "managers")
    refused(api("PATCH", f"/challenges/{challenge.id}", m, json={"moderators": [number]}), "moderators")
    refused(api("PATCH", f"/challenges/{challenge.id}", m, json={"flag_threshold": number}), "flag_threshold")
    refused(api("POST", f"/ideas/{idea.id}/comments", m, json={"body": "Agreed", "parent_id": number}), "parent_id")
    refused(api("POST", f"/challenges/{challenge.id}/shortlist", m, json={"idea_ids": [number]}), "idea_ids")
    refused(api("POST", f"/reviews/{review.id}/reviewers", m, json={"reviewer_ids": [number]}), "reviewer_ids")
    refused(api("POST", f"/reviews/{review.id}/handoff", m, json={"owner_id": number}), "owner_id")
    refused(api("POST", "/flags", m, json={"target_type": "idea", "target_id": number, "reason": "spam"}),
            "target_id")
    refused(api("POST", f"/challenges/{challenge.id}/pair", m, json={"pair": number, "answer": "left"}), "pair")
    refused(api("POST", f"/ideas/{idea.id}/vote", m, json={"ratings": {"impact": number}}), "ratings")
    # A follow names its target by id or by tag: an id no row can have is simply not there.
    for key in (number, str(number)):
        assert api("POST", "/follows", m, json={"target_type": "idea", "target_key": key}).status_code in (404, 422)
    assert api("DELETE", f"/follows/idea/{number}", m).status_code == 404


@pytest.mark.parametrize("number", [HUGE, BIGGER])
def test_integers_beyond_the_database_in_query_strings_are_refused_by_name(world, api, number):
    m, challenge, idea = world.manager, world.challenge, world.idea
    for path in ("/challenges", f"/challenges/{challenge.id}/ideas", f"/ideas/{idea.id}/comments", "/handoffs"):
        for name in ("before", "after"):
            refused(api("GET", f"{path}?{name}={number}", m), name)
    refused(api("GET", f"/handoffs?owner={number}", m), "owner")
    refused(api("GET", f"/handoffs?challenge={number}", m), "challenge")
    refused(api("GET", f"/search?challenge={number}", m), "challenge")
    refused(api("GET", f"/challenges/{challenge.id}/similar?exclude={number}", m), "exclude")
    refused(api("GET", f"/challenges/{challenge.id}/ranking?offset={number}", m), "offset")


def test_the_handoff_export_finds_nothing_beyond_the_database(world, client, login):
    login(world.manager)
    for name in ("owner", "challenge"):
        assert client.get(f"/review/handoffs.csv?{name}={HUGE}").status_code == 404  # no such row


def test_every_valid_page_is_answered_including_before_zero(world, api):
    m, challenge, idea = world.manager, world.challenge, world.idea
    walk(world, idea, "acknowledged")
    for path in ("/challenges", f"/challenges/{challenge.id}/ideas", f"/ideas/{idea.id}/comments", "/handoffs"):
        for query in ("before=0", "after=0", f"before={HUGE - 1}", f"after={HUGE - 1}", "limit=100"):
            response = api("GET", f"{path}?{query}", m)
            assert response.status_code == 200, (path, query, response.get_json())
    assert api("GET", "/challenges?before=0", m).get_json() == {"items": [], "next": None}
    assert api("GET", "/handoffs?owner=me", world.owner).status_code == 200


def test_nesting_too_deep_to_read_is_malformed_json(world, api):
    for deep in ("[" * 100_000 + "]" * 100_000, '{"title": ' * 50_000 + "1" + "}" * 50_000):
        response = api("POST", "/challenges", world.manager, data=deep, content_type="application/json")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"


def test_text_no_database_can_store_is_refused_or_mended(world, api):
    idea, m = world.idea, world.manager
    surrogate = api("POST", "/challenges", m, data='{"title": "Queues", "goal": "fine \\ud800 goal"}',
                    content_type="application/json")  # half a character: mended, as on the pages
    assert surrogate.status_code == 201, surrogate.get_json()
    assert surrogate.get_json()["goal"] == "fine \ufffd goal"
    refused(api("POST", f"/ideas/{idea.id}/comments", m, json={"body": "a \u202egnp.exe"}), "body")
    refused(api("POST", "/challenges", m, json={"title": "Queues", "tags": ["ok", "bad\x00tag"]}), "tags")
    refused(api("POST", "/challenges", m, json={"title": "Nul\x00here"}), "title")
    assert api("GET", "/search?tag=a%00b", m).status_code == 200  # the site drops NUL from query strings
    invalid_utf8 = api("POST", "/challenges", m, data=b'{"title": "\xff"}', content_type="application/json")
    assert invalid_utf8.status_code == 400


def test_whole_numbers_are_read_as_json_schema_reads_them(world, api):
    m, idea = world.manager, world.idea
    as_float = api("POST", "/flags", world.authors[1], json={"target_type": "idea", "target_id": float(idea.id),
                                                             "reason": "Off topic"})
    assert as_float.status_code == 201, as_float.get_json()
    refused(api("POST", "/flags", m, json={"target_type": "idea", "target_id": 1.5, "reason": "Off topic"}),
            "target_id")
    refused(api("POST", "/flags", m, json={"target_type": "idea", "target_id": True, "reason": "Off topic"}),
            "target_id")


def test_numbers_json_does_not_have_are_malformed(world, api):
    for constant in ("NaN", "Infinity", "-Infinity"):
        response = api("PATCH", f"/challenges/{world.challenge.id}", world.manager,
                       data=f'{{"pool_weight_employee": {constant}}}', content_type="application/json")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"


def test_a_challenge_title_is_kept_to_its_160_characters(world, api):
    m = world.manager
    refused(api("POST", "/challenges", m, json={"title": "x" * 161}), "title")
    refused(api("PATCH", f"/challenges/{world.challenge.id}", m, json={"title": "y" * 161}), "title")
    assert db.session.get(Challenge, world.challenge.id).title != "y" * 161
    made = api("POST", "/challenges", m, json={"title": "x" * 160})
    assert made.status_code == 201 and made.get_json()["title"] == "x" * 160


def test_lists_are_kept_to_sane_sizes(world, api):
    m = world.manager
    refused(api("POST", "/challenges", m, json={"title": "Queues", "managers": list(range(1, 500))}), "managers")
    refused(api("POST", "/challenges", m, json={"title": "Queues", "tags": [f"t{i}" for i in range(100)]}), "tags")
    refused(api("POST", f"/challenges/{world.challenge.id}/shortlist", m, json={"idea_ids": []}), "idea_ids")


def test_the_document_states_the_bounds_the_server_enforces(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert schemas["ChallengeInput"]["properties"]["title"]["maxLength"] == 160
    managers = schemas["ChallengeInput"]["properties"]["managers"]["anyOf"][0]
    assert managers["items"]["maximum"] == 2**31 - 1 and managers["maxItems"] == 50
    operation = document["paths"]["/challenges/{challenge_id}/ideas"]["post"]
    assert {"400", "401", "404", "405", "413", "414", "415", "422", "429"} <= set(operation["responses"])
    assert {"429", "422", "400"} <= set(document["paths"]["/tokens"]["post"]["responses"])
    before = next(p for p in document["paths"]["/challenges"]["get"]["parameters"] if p["name"] == "before")
    assert before["schema"]["minimum"] == 0 and before["schema"]["maximum"] == 2**31 - 1


def test_idea_links_are_absolute_on_the_sites_address(world, api, app):
    idea = world.idea
    assert api("GET", f"/ideas/{idea.id}", world.manager).get_json()["url"] == f"http://ideas.test/ideas/{idea.id}"
    app.config["IDEAS_BASE_URL"] = "https://ideas.example.com/"
    assert api("GET", f"/ideas/{idea.id}", world.manager).get_json()["url"] == \
        f"https://ideas.example.com/ideas/{idea.id}"
    review = walk(world, idea, "shortlisted")
    assert api("GET", f"/reviews/{review.id}", world.manager).get_json()["idea"]["url"] == \
        f"https://ideas.example.com/ideas/{idea.id}"


def test_statuses_from_outside_the_endpoints_are_json_and_documented(world, api, app, client):
    m = world.manager
    wrong_method = api("PUT", "/tokens", m)
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["Allow"]
    app.config["MAX_CONTENT_LENGTH"] = 1_000
    too_large = api("POST", "/challenges", m, json={"title": "x" * 2_000})
    assert too_large.status_code == 413 and too_large.get_json()["error"]["code"] == "too_large"
    not_json = api("POST", "/challenges", m, data="title=Queues", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415 and not_json.get_json()["error"]["code"] == "unsupported_media_type"
    responses = client.get("/api/v1/openapi.json").get_json()["paths"]["/challenges"]["post"]["responses"]
    assert {"405", "413", "415"} <= set(responses)
