"""Similar ideas while writing: "more like this" within one challenge, within what the writer may see."""
from __future__ import annotations

import pytest

from ideas.search import similar_ideas

OTHERS = [
    ("Quiet zones at the gates", "Rooms without announcements for people who want to rest."),
    ("Faster security lanes", "Open more lanes at peak hours and let staff move between them."),
    ("Free water refill stations", "Fountains after security so nobody buys plastic bottles."),
    ("Family boarding first", "Families with small children board before everyone else."),
    ("Lost luggage tracker", "A tag in every suitcase reports where the luggage is."),
    ("Self check-in kiosk map", "A map showing where the kiosks are in the terminal."),
    ("Priority lane for kiosks", "Passengers who used a kiosk get a faster security lane."),
]

# The same expectations on every search backend the database can serve.
pytestmark = pytest.mark.usefixtures("search_backend")


@pytest.fixture
def crowded(make_challenge, submit, employee):
    challenge = make_challenge()
    duplicate = submit(challenge, employee, "Self-service check-in kiosks",
                       "Kiosks where travellers check in and print bag tags themselves, without a queue.")
    for title, summary in OTHERS:
        submit(challenge, employee, title, summary)
    return challenge, duplicate


def test_the_close_duplicate_comes_first_and_at_most_five(crowded, external):
    challenge, duplicate = crowded
    found = similar_ideas(external, challenge, "Check-in kiosks for travellers",
                          "Travellers check in at a kiosk and print their own bag tags.")
    assert found[0].id == duplicate.id
    assert 1 <= len(found) <= 5
    # Many ideas share a word with this one: still five at most, even when asked for more.
    assert len(similar_ideas(external, challenge, "Kiosk lane", "kiosk security lane map bags", limit=50)) == 5


def test_the_idea_being_edited_is_left_out(crowded, employee):
    challenge, duplicate = crowded
    found = similar_ideas(employee, challenge, duplicate.title, duplicate.summary, exclude_id=duplicate.id)
    assert duplicate.id not in [i.id for i in found]


def test_only_the_same_challenge(crowded, make_challenge, submit, employee):
    challenge, _ = crowded
    elsewhere = make_challenge("Elsewhere")
    twin = submit(elsewhere, employee, "Self-service check-in kiosks", "Exactly the same kiosks, elsewhere.")
    found = similar_ideas(employee, challenge, "Self-service check-in kiosks", "Kiosks to check in.")
    assert twin.id not in [i.id for i in found]
    assert similar_ideas(employee, elsewhere, "Self-service check-in kiosks", "Kiosks to check in.")[0].id == twin.id


def test_only_what_the_writer_may_see(make_challenge, submit, employee, external):
    challenge = make_challenge(pool_mode="separate", cross_visibility=False)
    submit(challenge, employee, "Staff shuttle between terminals", "A shuttle for staff between terminals.")
    assert similar_ideas(external, challenge, "Shuttle between terminals", "A terminal shuttle bus.") == []
    assert len(similar_ideas(employee, challenge, "Shuttle between terminals", "A terminal shuttle bus.")) == 1


def test_nothing_to_compare(crowded, external):
    challenge, _ = crowded
    assert similar_ideas(external, challenge, "", "") == []
    assert similar_ideas(external, challenge, "zzzz qqqq", "xxxx") == []
    assert similar_ideas(external, challenge, '"((title:', "AND OR NOT") == []


def test_fragment_and_json(client, login, crowded, external):
    challenge, duplicate = crowded
    login(external)
    url = f"/challenges/{challenge.id}/similar"
    query = {"title": "Check-in kiosks", "summary": "Print bag tags at a kiosk."}

    html = client.get(url, query_string=query)
    assert html.status_code == 200 and html.mimetype == "text/html"
    body = html.get_data(as_text=True)
    assert body.index("Self-service check-in kiosks") < body.index("</ul>")
    assert f'href="/ideas/{duplicate.id}"' in body
    assert "<html" not in body  # a fragment

    data = client.get(url, query_string=query, headers={"Accept": "application/json"}).get_json()
    assert data["ideas"][0]["id"] == duplicate.id
    assert data["ideas"][0]["url"] == f"/ideas/{duplicate.id}"
    assert len(data["ideas"]) <= 5

    excluded = client.get(url, query_string={**query, "exclude": duplicate.id},
                          headers={"Accept": "application/json"}).get_json()
    assert duplicate.id not in [i["id"] for i in excluded["ideas"]]

    empty = client.get(url, query_string={"title": "zzzz", "summary": "qqqq"}).get_data(as_text=True)
    assert "No similar idea found" in empty
    assert client.get(url).get_data(as_text=True).strip() == ""


def test_fragment_of_an_invisible_challenge_is_404(client, login, make_challenge, submit, employee, external):
    challenge = make_challenge(pool_mode="employees_only")
    submit(challenge, employee, "Staff canteen", "Better food for staff.")
    login(external)
    response = client.get(f"/challenges/{challenge.id}/similar", query_string={"title": "Staff", "summary": "x"})
    assert response.status_code == 404
    assert client.get("/challenges/999999/similar").status_code == 404


def test_idea_form_shows_similar_ideas_without_javascript(client, login, post_form, crowded, external):
    challenge, _ = crowded
    login(external)
    page = f"/challenges/{challenge.id}/ideas/new"
    response = post_form(page, {"title": "Check-in kiosks", "summary": "Print bag tags at a kiosk.",
                                "action": "check"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'id="similar-ideas"' in body and "Self-service check-in kiosks" in body
    assert 'value="Check-in kiosks"' in body  # nothing typed is lost


def test_publishing_shows_similar_ideas_first_and_publishes_when_asked_again(client, login, post_form, crowded,
                                                                            external):
    from sqlalchemy import func, select

    from ideas.challenges.models import Idea
    from ideas.extensions import db

    challenge, _ = crowded
    login(external)
    page = f"/challenges/{challenge.id}/ideas/new"
    typed = {"title": "Check-in kiosks", "summary": "Print bag tags at a kiosk.", "body": "At every door.",
             "accept_terms": "y"}
    count = db.session.scalar(select(func.count(Idea.id)))
    response = post_form(page, {**typed, "action": "publish"})  # no JavaScript: the first publish warns
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and db.session.scalar(select(func.count(Idea.id))) == count
    assert 'id="similar-warning"' in body and "Self-service check-in kiosks" in body and "Publish anyway" in body
    assert 'value="Check-in kiosks"' in body and "At every door." in body  # nothing typed is lost
    assert 'name="seen_similar"' in body  # the form now says they were seen
    response = post_form(page, {**typed, "action": "publish", "seen_similar": "1"})
    assert response.status_code == 302 and db.session.scalar(select(func.count(Idea.id))) == count + 1
    # An idea like no other is published at the first click.
    response = post_form(page, {"title": "Electric shuttle buses", "summary": "Battery buses for car parks.",
                                "accept_terms": "y", "action": "publish"})
    assert response.status_code == 302
