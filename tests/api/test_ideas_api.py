"""Ideas, comments, flags, follows and search through the API."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from ideas.challenges import services as challenges
from ideas.challenges.models import Comment, Flag, Idea, IdeaRevision
from ideas.notifications.models import Follow
from ideas.extensions import db
from ideas.voting import services as voting
from ideas.voting.services import Ballot
from tests.api.conftest import fields_of
from tests.challenges.factories import idea_in, open_challenge

IDEA = {"title": "Self-service kiosks", "summary": "Let travellers check in alone.",
        "body": "Kiosks at the *entrance*.", "tags": ["kiosk", "Queues"]}


@pytest.fixture
def submission(make_user):
    manager = make_user(roles=("manager",))
    return open_challenge(manager, phase="submission"), manager


def test_submit_read_edit_and_withdraw(api, make_user, submission):
    challenge, _ = submission
    author, reader = make_user(), make_user(pool="external")
    created = api("POST", f"/challenges/{challenge.id}/ideas", author, json=IDEA)
    assert created.status_code == 201, created.get_json()
    idea = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/ideas/{idea['id']}")
    assert (idea["status"], idea["pool"], idea["tags"], idea["revision"]) == ("published", "employee",
                                                                            ["kiosk", "queues"], 1)
    assert idea["author"] == {"id": author.id, "name": author.name} and idea["you"]["author"] is True
    assert "<em>entrance</em>" in idea["body_html"]
    assert idea["published_at"].endswith("+00:00")

    read = api("GET", f"/ideas/{idea['id']}", reader).get_json()
    assert read["body"] == IDEA["body"] and read["you"] == {"author": False, "voted": False}

    edited = api("PATCH", f"/ideas/{idea['id']}", author, json={"summary": "Travellers check in alone, fast.",
                                                                "note": "clearer"})
    assert edited.status_code == 200
    assert (edited.get_json()["revision"], edited.get_json()["title"]) == (2, IDEA["title"])
    assert edited.get_json()["tags"] == ["kiosk", "queues"]  # left out: kept
    notes = db.session.scalars(select(IdeaRevision.note).where(IdeaRevision.idea_id == idea["id"])
                               .order_by(IdeaRevision.number)).all()
    assert notes == ["first version", "clearer"]
    assert api("PATCH", f"/ideas/{idea['id']}", reader, json={"title": "Mine"}).status_code == 403

    assert api("POST", f"/ideas/{idea['id']}/withdraw", reader).status_code == 403
    withdrawn = api("POST", f"/ideas/{idea['id']}/withdraw", author, json={"reason": "Merged with a colleague's"})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert withdrawn.get_json()["withdrawn_at"] is not None
    again = api("POST", f"/ideas/{idea['id']}/withdraw", author)
    assert again.status_code == 409
    late_edit = api("PATCH", f"/ideas/{idea['id']}", author, json={"title": "Back"})
    assert late_edit.status_code == 409


def test_the_list_has_the_challenge_pages_filters(api, make_user, submission):
    challenge, _ = submission
    employee, external = make_user(), make_user(pool="external")
    kiosk = idea_in(challenge, employee, tags="kiosk")
    app_idea = idea_in(challenge, external, title="An app", tags="mobile")
    gone = idea_in(challenge, employee, title="Gone")
    challenges.withdraw_idea(gone, employee)
    idea_in(challenge, employee, title="My draft", draft=True)
    db.session.commit()
    path = f"/challenges/{challenge.id}/ideas"

    def ids(query="", user=external):
        response = api("GET", f"{path}{query}", user)
        assert response.status_code == 200, response.get_json()
        return [i["id"] for i in response.get_json()["items"]]

    assert ids() == [app_idea.id, kiosk.id]  # published, newest first; drafts never listed
    assert ids("?tag=kiosk") == [kiosk.id]
    assert ids("?pool=external") == [app_idea.id]
    assert ids("?status=withdrawn") == [gone.id]
    assert ids("?status=any") == [gone.id, app_idea.id, kiosk.id]
    assert ids("?limit=1") == [app_idea.id]
    page = api("GET", f"{path}?limit=1", external).get_json()
    assert page["next"] == {"before": app_idea.id}
    assert ids(f"?before={app_idea.id}") == [kiosk.id]
    assert ids(f"?after={kiosk.id}") == [app_idea.id]
    assert api("GET", f"{path}?status=deleted", external).status_code == 422
    assert api("GET", f"{path}?pool=martians", external).status_code == 422
    assert api("GET", f"{path}?limit=0", external).status_code == 422


def test_the_challenge_page_and_the_api_read_a_tag_filter_alike(api, client, make_user, submission):
    """A tag typed with capitals and doubled spaces finds the ideas it names, on the page as in the API."""
    challenge, _ = submission
    author = make_user()
    tagged = idea_in(challenge, author, title="Self-service kiosks", tags="self service")
    other = idea_in(challenge, author, title="An app for queues", tags="mobile")
    db.session.commit()
    typed = "?tag=Self%20%20Service%20"
    listed = [i["id"] for i in api("GET", f"/challenges/{challenge.id}/ideas{typed}", author).get_json()["items"]]
    assert listed == [tagged.id]
    page = client.get(f"/challenges/{challenge.id}{typed}").get_data(as_text=True)
    assert tagged.title in page and other.title not in page
    assert 'name="tag" value="self service"' in page


def test_listing_costs_the_same_number_of_queries_for_few_and_many_ideas(app, api, make_user, submission):
    challenge, _ = submission
    reader = make_user()
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1  # the scheduler's own queries are not the listing's
    statements: list[str] = []

    path = f"/challenges/{challenge.id}/ideas?limit=100"

    def queries_for_listing() -> int:
        count = 0

        def counter(_conn, _cursor, statement, *_args):
            nonlocal count
            count += 1
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            assert api("GET", path, reader).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return count

    def add(n):
        for i in range(n):
            author = make_user(pool="external" if i % 2 else "employee")
            idea = idea_in(challenge, author, title=f"Idea {i}", tags=f"tag{i}")
            challenges.invite_coauthor(idea, author, make_user().email)
        db.session.commit()

    add(2)
    queries_for_listing()  # the token's first use is written down once
    few = queries_for_listing()
    add(20)
    many = queries_for_listing()
    assert many == few, statements
    assert few <= 30, "\n".join(s[:90].replace("\n", " ") for s in statements[-few:])


def test_externals_accept_the_challenge_terms_before_submitting(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, terms="Ideas become ours.")
    external = make_user(pool="external")
    path = f"/challenges/{challenge.id}/ideas"
    refused = api("POST", path, external, json=IDEA)
    assert refused.status_code == 409 and "accept_terms" in fields_of(refused)
    assert db.session.query(Idea).count() == 0
    accepted = api("POST", path, external, json={**IDEA, "accept_terms": True})
    assert accepted.status_code == 201


def test_drafts_are_their_authors_alone_until_published(api, make_user, submission):
    challenge, _ = submission
    author = make_user()
    draft = api("POST", f"/challenges/{challenge.id}/ideas", author,
                json={"title": "Half an idea", "draft": True}).get_json()
    assert draft["status"] == "draft"
    assert api("GET", f"/ideas/{draft['id']}", make_user()).status_code == 404
    unready = api("PATCH", f"/ideas/{draft['id']}", author, json={"publish": True})
    assert unready.status_code == 422 and "summary" in fields_of(unready)
    published = api("PATCH", f"/ideas/{draft['id']}", author, json={"summary": "Now whole.", "publish": True})
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert api("GET", f"/ideas/{draft['id']}", make_user()).status_code == 200


def test_bad_ideas_are_refused_with_the_field_named(api, make_user, submission):
    challenge, _ = submission
    author = make_user()
    path = f"/challenges/{challenge.id}/ideas"
    huge = api("POST", path, author, json={**IDEA, "body": "word " * 600_000})  # three megabytes
    assert huge.status_code == 422 and "body" in fields_of(huge)
    assert api("POST", path, author, json={**IDEA, "title": " "}).status_code == 422
    no_summary = api("POST", path, author, json={**IDEA, "summary": ""})
    assert no_summary.status_code == 422 and "summary" in fields_of(no_summary)
    typed = api("POST", path, author, json={**IDEA, "tags": [1, 2], "draft": "no"})
    assert typed.status_code == 422 and "draft" in fields_of(typed)
    tags = api("POST", path, author, json={**IDEA, "tags": [1, 2]})
    assert tags.status_code == 422 and "tags" in fields_of(tags)
    assert api("POST", path, author, data="{", content_type="application/json").status_code == 400
    assert api("POST", path, author, data="title=x").status_code == 415
    assert db.session.query(Idea).count() == 0
    closed = open_challenge(make_user(roles=("manager",)), phase="review")
    late = api("POST", f"/challenges/{closed.id}/ideas", author, json=IDEA)
    assert late.status_code == 409 and "review phase" in late.get_json()["error"]["message"]


def test_audiences_and_pools_through_the_api(api, make_user):
    manager = make_user(roles=("manager",))
    employee, external, other_external = make_user(), make_user(pool="external"), make_user(pool="external")
    staff_only = open_challenge(manager, pool_mode="employees_only")
    staff_idea = idea_in(staff_only, employee)
    separate = open_challenge(manager, pool_mode="separate", cross_visibility=False)
    inside = idea_in(separate, employee, title="Inside view")
    outside = idea_in(separate, other_external, title="Outside view")
    shared = open_challenge(manager, pool_mode="separate", cross_visibility=True)
    shared_inside = idea_in(shared, employee, title="Shared inside view")

    for path in (f"/ideas/{staff_idea.id}", f"/ideas/{staff_idea.id}/comments", f"/ideas/{staff_idea.id}/vote",
                 f"/ideas/{inside.id}", f"/ideas/{inside.id}/comments"):
        response = api("GET", path, external)
        assert response.status_code == 404, path
    for method, path, body in (("POST", f"/ideas/{inside.id}/vote", {}),
                               ("POST", f"/ideas/{inside.id}/comments", {"body": "Hello"}),
                               ("POST", "/flags", {"target_type": "idea", "target_id": inside.id, "reason": "x"}),
                               ("POST", "/follows", {"target_type": "idea", "target_key": inside.id})):
        assert api(method, path, external, json=body).status_code == 404, path
    listed = [i["id"] for i in api("GET", f"/challenges/{separate.id}/ideas?status=any", external).get_json()["items"]]
    assert listed == [outside.id]
    assert [i["id"] for i in api("GET", f"/challenges/{separate.id}/ideas", employee).get_json()["items"]] == [
        inside.id]
    assert api("GET", f"/ideas/{shared_inside.id}", external).status_code == 200
    assert api("GET", f"/ideas/{inside.id}", manager).status_code == 200  # staff see every pool


def test_vote_counts_stay_hidden_until_you_have_voted(api, make_user, voting_idea):
    challenge, idea, author, manager = voting_idea()
    first, second = make_user(), make_user()
    voting.cast_vote(idea, first, Ballot())
    db.session.commit()
    assert api("GET", f"/ideas/{idea.id}", second).get_json()["votes"] is None
    listed = api("GET", f"/challenges/{challenge.id}/ideas", second).get_json()["items"]
    assert listed[0]["votes"] is None
    for person in (first, author, manager):
        counts = api("GET", f"/ideas/{idea.id}", person).get_json()["votes"]
        assert counts["count"] == 1 and counts["raw"] == {"employee": 1, "external": 0}
        assert 0 < counts["support"]["employee"] <= 1
        assert api("GET", f"/challenges/{challenge.id}/ideas", person).get_json()["items"][0]["votes"] == counts
    body = api("GET", f"/ideas/{idea.id}", first).get_json()
    assert not {"network", "voters", "weight"} & set(body)


def test_comments_replies_edits_and_refusals(api, make_user, submission):
    challenge, _ = submission
    author, commenter = make_user(), make_user(pool="external")
    idea = idea_in(challenge, author)
    path = f"/ideas/{idea.id}/comments"
    posted = api("POST", path, commenter, json={"body": "What about **bags**?"})
    assert posted.status_code == 201, posted.get_json()
    comment = posted.get_json()
    assert comment["by_idea_author"] is False and "<strong>bags</strong>" in comment["body_html"]
    assert comment["editable_until"] > comment["created_at"]
    reply = api("POST", path, author, json={"body": "Bags go to a drop-off.", "parent_id": comment["id"]})
    assert reply.status_code == 201 and reply.get_json()["parent_id"] == comment["id"]
    assert reply.get_json()["by_idea_author"] is True
    nested = api("POST", path, commenter, json={"body": "Thanks", "parent_id": reply.get_json()["id"]})
    assert nested.get_json()["parent_id"] == comment["id"]  # one level of replies

    listed = api("GET", path, make_user()).get_json()
    assert [c["id"] for c in listed["items"]] == [nested.get_json()["id"], reply.get_json()["id"], comment["id"]]
    assert api("GET", f"/comments/{comment['id']}", make_user()).get_json()["body"] == "What about **bags**?"

    edited = api("PATCH", f"/comments/{comment['id']}", commenter, json={"body": "What about bags and prams?"})
    assert edited.status_code == 200 and edited.get_json()["edited_at"] is not None
    assert api("PATCH", f"/comments/{comment['id']}", author, json={"body": "No"}).status_code == 403
    empty = api("POST", path, commenter, json={"body": "   "})
    assert empty.status_code == 422 and "body" in fields_of(empty)
    long = api("POST", path, commenter, json={"body": "x" * 20_000})
    assert long.status_code == 422 and "body" in fields_of(long)
    assert api("POST", path, commenter, json={"body": "Hi", "parent_id": 999_999}).status_code == 404
    challenges.withdraw_idea(idea, author)
    db.session.commit()
    closed = api("POST", path, commenter, json={"body": "Still there?"})
    assert closed.status_code == 409 and "withdrawn" in closed.get_json()["error"]["message"]
    assert db.session.query(Comment).count() == 3


def test_flags_hide_content_past_the_threshold(api, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, flag_threshold=2)
    author = make_user()
    idea = idea_in(challenge, author)
    first, second, bystander = make_user(), make_user(pool="external"), make_user()
    body = {"target_type": "idea", "target_id": idea.id, "reason": "Off topic"}
    flagged = api("POST", "/flags", first, json=body)
    assert flagged.status_code == 201 and flagged.get_json()["hidden"] is False
    twice = api("POST", "/flags", first, json=body)
    assert twice.status_code == 409 and "already flagged" in twice.get_json()["error"]["message"]
    assert api("POST", "/flags", author, json=body).status_code == 403
    no_reason = api("POST", "/flags", second, json={**body, "reason": ""})
    assert no_reason.status_code == 422 and "reason" in fields_of(no_reason)
    kind = api("POST", "/flags", second, json={**body, "target_type": "user"})
    assert kind.status_code == 422 and "target_type" in fields_of(kind)
    assert api("POST", "/flags", second, json={**body, "target_id": 999_999}).status_code == 404
    hidden = api("POST", "/flags", second, json=body)
    assert hidden.status_code == 201 and hidden.get_json()["hidden"] is True
    assert db.session.query(Flag).count() == 2
    assert api("GET", f"/ideas/{idea.id}", bystander).status_code == 404
    seen_by_author = api("GET", f"/ideas/{idea.id}", author)
    assert seen_by_author.status_code == 200 and seen_by_author.get_json()["hidden"] is True
    assert api("GET", f"/ideas/{idea.id}", manager).get_json()["hidden"] is True


def test_follow_list_and_unfollow(api, make_user, submission):
    challenge, _ = submission
    person = make_user()
    idea = idea_in(challenge, make_user(), tags="kiosk")
    first = api("POST", "/follows", person, json={"target_type": "challenge", "target_key": challenge.id})
    assert first.status_code == 201 and first.get_json()["target_key"] == str(challenge.id)
    assert api("POST", "/follows", person, json={"target_type": "challenge",
                                                 "target_key": str(challenge.id)}).status_code == 200
    assert api("POST", "/follows", person, json={"target_type": "tag", "target_key": "Kiosk"}).status_code == 201
    assert api("POST", "/follows", person, json={"target_type": "idea", "target_key": idea.id}).status_code == 201
    listed = api("GET", "/follows", person).get_json()["items"]
    assert {(f["target_type"], f["target_key"]) for f in listed} == {
        ("challenge", str(challenge.id)), ("tag", "kiosk"), ("idea", str(idea.id))}
    assert api("GET", "/follows?limit=1&offset=1", person).get_json()["items"][0] in listed
    assert api("DELETE", "/follows/tag/kiosk", person).status_code == 204
    assert api("DELETE", "/follows/tag/kiosk", person).status_code == 404
    assert api("DELETE", f"/follows/idea/{idea.id}", person).status_code == 204
    assert db.session.query(Follow).count() == 1
    planet = api("POST", "/follows", person, json={"target_type": "planet", "target_key": "x"})
    assert planet.status_code == 422 and "target_type" in fields_of(planet)  # not one of the kinds documented
    assert api("POST", "/follows", person, json={"target_type": "tag", "target_key": "nothing-has-it"}
               ).status_code == 404
    assert api("POST", "/follows", person, json={"target_type": "tag", "target_key": ["x"]}).status_code == 422


def test_search_finds_only_what_you_may_see(api, make_user, submission):
    challenge, manager = submission
    staff_only = open_challenge(manager, pool_mode="employees_only")
    idea = idea_in(challenge, make_user(), title="Self-service kiosks", summary="Kiosks print boarding passes.")
    secret = idea_in(staff_only, make_user(), title="Kiosks for staff", summary="Staff kiosks in the back office.")
    external, employee = make_user(pool="external"), make_user()
    found = api("GET", "/search?q=kiosks", external)
    assert found.status_code == 200, found.get_json()
    assert [i["id"] for i in found.get_json()["items"]] == [idea.id]
    assert {i["id"] for i in api("GET", "/search?q=kiosks", employee).get_json()["items"]} == {idea.id, secret.id}
    assert [i["id"] for i in api("GET", f"/search?q=kiosks&challenge={staff_only.id}", external).get_json()[
        "items"]] == []
    odd = api("GET", '/search?q="kiosks (boarding', employee)
    assert odd.status_code == 200 and odd.get_json()["notices"]
    assert api("GET", "/search?q=kiosks&sort=loudest", employee).status_code == 422
    assert api("GET", "/search?q=kiosks&per_page=500", employee).status_code == 422
    assert api("GET", "/search?q=kiosks&page=100000", employee).status_code == 422
    deep = api("GET", "/search?q=kiosks&page=102&per_page=100", employee)  # skips 10,100 results
    assert deep.status_code == 422 and deep.get_json()["error"]["fields"] == {"page": ["Must be from 1 to 101."]}
    assert api("GET", "/search?q=kiosks&page=101&per_page=100", employee).status_code == 200
    similar = api("GET", f"/challenges/{challenge.id}/similar?title=Kiosks&summary=Print+boarding+passes", employee)
    assert similar.status_code == 200 and [i["id"] for i in similar.get_json()["items"]] == [idea.id]
    assert api("GET", f"/challenges/{challenge.id}/similar?title=Kiosks", employee).get_json()["items"] == []
