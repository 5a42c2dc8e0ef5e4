"""Each bad input that once answered 500 on the pages, answered clearly now.

Numbers beyond what the database holds (PostgreSQL's INTEGER is 32-bit), characters
nobody types, a challenge that is missing or hidden, a new challenge with an escalation
contact. tests/test_hostile_forms.py posts every form with such values; these are the
cases found by hand, each with the answer a person should get.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ideas.challenges.models import Challenge, Comment, Idea
from ideas.extensions import db
from ideas.sanitising import sanitise
from tests.challenges.factories import idea_in, open_challenge
from tests.challenges.test_challenges import form_data

HUGE = [str(2**31), str(2**63), "9" * 40]


@pytest.fixture
def manager(make_user):
    return make_user(roles=("manager",), name="Mara Manager")


@pytest.fixture
def challenge(manager):
    return open_challenge(manager, phase="submission")


@pytest.fixture
def idea(challenge, make_user):
    return idea_in(challenge, make_user(name="Ada Author"))


def test_a_new_challenge_keeps_its_escalation_contact(client, manager, make_user, login, post_form):
    contact = make_user(name="Esko Escalation")
    login(manager)
    response = post_form("/challenges/new", form_data(managers=manager.email, escalation_contact=contact.email))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    challenge = db.session.scalars(select(Challenge)).one()
    assert challenge.escalation_contact_id == contact.id and challenge.title == "Halve check-in time"


def test_an_unknown_escalation_contact_is_named_next_to_its_field(client, manager, login, post_form):
    login(manager)
    response = post_form("/challenges/new", form_data(managers=manager.email, escalation_contact="nobody@x.example",
                                                      goal="My typed goal"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nobody active is registered as nobody@x.example" in page
    assert "My typed goal" in page
    assert db.session.scalars(select(Challenge)).first() is None


@pytest.mark.parametrize("path", ["/challenges/{id}/review", "/challenges/{id}/review/shortlist.csv",
                                  "/review/handoffs.csv?challenge={id}"])
def test_review_pages_of_a_missing_or_hidden_challenge_are_404(path, client, manager, challenge, make_user, login):
    from ideas.challenges import services

    hidden = services.create_challenge(make_user(roles=("manager",)), title="Not yours", pool_mode="blended")
    db.session.commit()
    login(manager)
    for missing in (hidden.id, hidden.id + 1, 2**31 - 1, 2**31):
        response = client.get(path.format(id=missing))
        assert response.status_code == 404, (missing, response.status_code)
        assert "Nothing here" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", HUGE)
def test_huge_numbers_in_query_strings_are_no_500(value, client, challenge, manager, make_user, login):
    login(make_user(roles=("admin",)))
    for path in (f"/admin/users?after={value}", f"/admin/users?before={value}", f"/admin/outbox?before={value}",
                 f"/admin/outbox?after={value}", f"/challenges/{challenge.id}?before={value}",
                 f"/notifications?page={value}", f"/challenges/{challenge.id}/vote?page={value}",
                 f"/search?q=kiosk&challenge={value}&page={value}", f"/challenges/{challenge.id}/similar?title=kiosk"
                 f"&exclude={value}", f"/admin/webhooks?before={value}"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    for path in (f"/review/handoffs.csv?owner={value}", f"/review/handoffs.csv?challenge={value}"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    assert client.get("/review/handoffs.csv?owner=abc").status_code == 400


@pytest.mark.parametrize("value", HUGE)
def test_huge_numbers_in_the_flag_merge_moderation_and_vote_move_forms(value, client, challenge, idea, manager,
                                                                      login, post_form):
    login(manager)
    page = f"/ideas/{idea.id}"
    assert post_form(page, {"target_type": "idea", "target_id": value, "reason": "spam"},
                     action="/flags").status_code == 404
    response = post_form(page, {"survivor": value, "reason": "duplicate"}, action=f"/ideas/{idea.id}/merge",
                         follow_redirects=True)
    assert response.status_code == 200 and "Give the number of the idea" in response.get_data(as_text=True)
    response = post_form(f"/challenges/{challenge.id}/moderation",
                         {"action": "hide", "target_type": "idea", "target_id": value, "reason": "spam"})
    assert response.status_code == 404
    response = post_form("/my/vote-moves", {"request": value, "answer": "move"}, follow_redirects=True)
    assert response.status_code in (200, 404)
    assert db.session.get(Idea, idea.id).hidden_at is None and db.session.get(Idea, idea.id).merged_into_id is None


@pytest.mark.parametrize("value", HUGE)
def test_a_huge_idea_number_in_the_shortlist_is_refused_by_name(value, client, manager, make_user, login, post_form):
    challenge = open_challenge(manager, phase="review")  # shortlisting is open
    login(manager)
    response = post_form(f"/challenges/{challenge.id}/review",
                         {"idea_ids": value, "over_capacity_reason": "kept"},
                         action=f"/challenges/{challenge.id}/review/shortlist")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    # Up to 20 digits the number is named; beyond, it is no number of an idea at all.
    assert ("not an idea of this challenge" if len(value) <= 20 else "Choose at least one idea") in page


def test_a_number_field_out_of_range_gets_its_message_and_keeps_the_typed_value(client, make_user, login, post_form):
    login(make_user(roles=("owner",)))
    response = post_form("/review/handoffs", {"wip_limit": str(2**31)}, action="/review/handoffs/wip")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "This number is too large." in page and str(2**31) in page


def test_the_text_rule_drops_what_nobody_types_and_keeps_the_rest():
    assert sanitise("Kiosk\x00s\x07 for\x85 bags\x9b") == "Kiosks for bags"
    assert sanitise("photo\u202egnp.exe\u202c \u2066x\u2069") == "photognp.exe x"
    assert sanitise("half \ud800 a character") == "half \ufffd a character"
    assert sanitise("tabs\tand\r\nlines, שלום \u200f, e\u0301") == "tabs\tand\r\nlines, שלום \u200f, e\u0301"


def test_control_characters_and_bidi_overrides_in_a_title_are_dropped(client, challenge, make_user, login, post_form):
    author = make_user()
    login(author)
    response = post_form(f"/challenges/{challenge.id}/ideas/new",
                         {"title": "Kiosks\x00 \u202eat\u202c the\x85 gate", "summary": "Let travellers check in.",
                          "body": "Kiosks at the entrance.", "accept_terms": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalars(select(Idea.title)).one() == "Kiosks at the gate"


def test_a_lone_surrogate_in_a_comment_is_no_500(client, idea, make_user, api_token):
    headers = api_token(make_user())
    response = client.post(f"/api/v1/ideas/{idea.id}/comments", json={"body": "half \ud800 a character"},
                           headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert db.session.scalars(select(Comment.body)).one() == "half \ufffd a character"


def test_nul_in_repeated_fields_is_dropped(client, make_user, login, post_form):
    admin = make_user(roles=("admin",))
    person = make_user()
    login(admin)
    response = post_form(f"/admin/users/{person.id}", {"roles": ["reviewer\x00", "\x00owner"]},
                         action=f"/admin/users/{person.id}/roles")
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.has_role("reviewer") and person.has_role("owner")


def test_an_idea_title_needs_a_few_characters(client, challenge, make_user, login, post_form):
    login(make_user())
    response = post_form(f"/challenges/{challenge.id}/ideas/new",
                         {"title": "A", "summary": "My typed summary", "body": "", "accept_terms": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "at least 4 characters" in page and "My typed summary" in page
    assert db.session.scalars(select(Idea)).first() is None


def test_invisible_characters_do_not_make_a_title_long_enough(client, challenge, make_user, login, post_form,
                                                             api_token):
    padded = "A\u200b\u200b\u200b"  # shows as "A"
    response = client.post(f"/api/v1/challenges/{challenge.id}/ideas", json={"title": padded, "summary": "In short"},
                           headers=api_token(make_user()))
    assert response.status_code == 422 and "at least 4 characters" in response.get_json()["error"]["fields"]["title"][0]
    login(make_user())
    page = post_form(f"/challenges/{challenge.id}/ideas/new",
                     {"title": "Ab\ufeff\u2060", "summary": "My typed summary", "body": "", "accept_terms": "y"})
    assert page.status_code == 422 and "at least 4 characters" in page.get_data(as_text=True)
    assert db.session.scalars(select(Idea)).first() is None
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a word with a joiner keeps its length
    post_form(f"/challenges/{challenge.id}/ideas/new",
              {"title": persian, "summary": "Summary", "body": "", "accept_terms": "y"})
    assert [i.title for i in db.session.scalars(select(Idea))] == [persian]


def test_the_403_page_says_why_and_what_to_do(client, challenge, make_user, login):
    person = make_user(roles=("reviewer",))
    login(person)
    response = client.get(f"/challenges/{challenge.id}/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "belongs to people with another role" in page
    assert person.email in page and "Reviewer" in page and "ask the challenge&#39;s managers" in page


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    data = response.get_data()
    response.close()  # a file sent from disk stays open until then
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert data[:4] == b"\x00\x00\x01\x00"  # an icon file


def test_the_api_refuses_c1_and_bidi_overrides_in_a_title_naming_the_field(client, challenge, make_user, api_token):
    headers = api_token(make_user())
    for title in ("Kiosks\x85 at the gate", "photo\u202egnp.exe"):
        response = client.post(f"/api/v1/challenges/{challenge.id}/ideas", json={"title": title}, headers=headers)
        assert response.status_code == 422 and "title" in response.get_json()["error"]["fields"], title
    assert db.session.scalars(select(Idea)).first() is None


def test_a_refused_comment_shows_the_idea_page_again_with_what_was_typed(client, idea, make_user, login, post_form):
    login(make_user())
    typed = "My long thought " + "word " * 2_500
    response = post_form(f"/ideas/{idea.id}", {"body": typed}, action=f"/ideas/{idea.id}/comments")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Keep a comment under 10,000 characters" in page
    assert "My long thought" in page
