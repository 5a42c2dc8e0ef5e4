"""Ideas: co-authors, attachments checked by content, drafts."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from ideas.challenges import services
from ideas.challenges.models import Attachment
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%...\n"


def test_coauthor_invited_by_email_accepts_and_then_cannot_vote(app, make_user, login, post_form, outbox):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    author = make_user()
    idea = services.submit_idea(challenge, author, title="Draft", summary="", draft=True)
    db.session.commit()
    friend = make_user(email="friend@staff.example")
    mine = app.test_client()
    login(author, target=mine)
    post_form(f"/ideas/{idea.id}", {"email": "Friend@staff.example"}, action=f"/ideas/{idea.id}/coauthors",
              target=mine)
    assert outbox("friend@staff.example")
    theirs = app.test_client()
    login(friend, target=theirs)
    assert theirs.get(f"/ideas/{idea.id}").status_code == 200  # invited: may read the draft
    post_form(f"/ideas/{idea.id}", {"answer": "accept"}, action=f"/ideas/{idea.id}/coauthors/answer", target=theirs)
    db.session.refresh(idea)
    assert friend.id in idea.author_ids()
    assert theirs.get(f"/ideas/{idea.id}/edit").status_code == 200


@pytest.fixture
def editing(app, make_user, login):
    """An idea, its author's signed-in client, the idea's edit page, its challenge's manager."""
    manager = make_user(roles=("manager",))
    author = make_user()
    idea = idea_in(open_challenge(manager), author)
    client = app.test_client()
    login(author, target=client)
    return idea, client, f"/ideas/{idea.id}/edit", manager


def test_attachment_checked_by_content_and_served_safely(app, make_user, editing, post_form):
    idea, client, page, manager = editing
    author = idea.author
    fake = post_form(page, {"title": idea.title, "summary": idea.summary, "body": idea.body, "action": "save",
                            "attachment": (io.BytesIO(b"<script>alert(1)</script>"), "photo.png")},
                     target=client, content_type="multipart/form-data")
    assert fake.status_code == 422 and "is not an image" in fake.get_data(as_text=True)
    lying = post_form(page, {"title": idea.title, "summary": idea.summary, "body": idea.body, "action": "save",
                             "attachment": (io.BytesIO(PDF), "photo.png")},
                      target=client, content_type="multipart/form-data")
    assert lying.status_code == 422 and "named .png but its content is application/pdf" in lying.get_data(as_text=True)
    ok = post_form(page, {"title": idea.title, "summary": idea.summary, "body": idea.body, "action": "save",
                          "attachment": (io.BytesIO(PNG), "photo.png")},
                   target=client, content_type="multipart/form-data")
    assert ok.status_code == 302
    row = db.session.scalars(select(Attachment)).one()
    with client.get(f"/attachments/{row.id}") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in served.headers["Content-Security-Policy"]
        assert served.get_data() == PNG
    stranger = app.test_client()
    # Anyone who may see the idea may see its attachment; nobody else.
    other_challenge = open_challenge(manager, pool_mode="employees_only", title="Staff only")
    hidden = idea_in(other_challenge, make_user())
    row2 = Attachment(challenge_id=other_challenge.id, idea_id=hidden.id, purpose="idea", uploader_id=author.id,
                      filename="x.png", content_type="image/png", size=len(PNG), sha256=row.sha256)
    db.session.add(row2)
    db.session.commit()
    assert stranger.get(f"/attachments/{row2.id}").status_code == 404


def test_pdf_is_downloaded_not_displayed(app, make_user, login):
    from ideas.challenges import attachments

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    author = make_user()
    idea = idea_in(challenge, author)
    row = attachments.add_to_idea(idea, author, "plan.pdf", PDF)
    db.session.commit()
    with app.test_client().get(f"/attachments/{row.id}") as served:
        assert served.status_code == 200 and served.headers["Content-Disposition"].startswith("attachment")


def test_markdown_is_sanitized_on_the_idea_page(app, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    idea = idea_in(challenge, make_user(), body='<script>alert(1)</script> <img src=x onerror=alert(1)> **bold**')
    page = app.test_client().get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img" not in page
    assert "<strong>bold</strong>" in page


def test_tags_too_long_too_many_or_without_a_letter_are_refused_not_cut(editing, post_form):
    idea, client, page, _ = editing
    long_tag = "customer experience at the airport check-in desk"
    for tags, message in [
        (f"kiosks, {long_tag}", "is longer than a tag may be (40 characters)"),
        ("kiosks, #$%", "“#$%” is not a tag: a tag needs a letter or a digit."),
        (", ".join(f"tag{n}" for n in range(21)), "Give at most 20 tags (there are 21)."),
    ]:
        response = post_form(page, {"title": idea.title, "summary": idea.summary, "body": idea.body,
                                    "tags": tags, "action": "save"}, target=client)
        text = response.get_data(as_text=True)
        assert response.status_code == 422, tags
        assert message in text and 'id="tags-error"' in text
        assert f'value="{tags}"' in text  # what was typed is still in the box
    db.session.refresh(idea)
    assert idea.tags == []
    saved = post_form(page, {"title": idea.title, "summary": idea.summary, "body": idea.body,
                             "tags": "Kiosks,  self service ,c#", "action": "save"}, target=client)
    assert saved.status_code == 302
    db.session.refresh(idea)
    assert sorted(idea.tags) == ["c#", "kiosks", "self service"]


def test_the_api_refuses_the_same_tags_the_pages_do(app, make_user, api_token):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    headers = api_token(make_user())
    client = app.test_client()
    response = client.post(f"/api/v1/challenges/{challenge.id}/ideas", headers=headers,
                           json={"title": "Kiosks at the gate", "summary": "Print tags.", "tags": ["kiosks", "#$%"]})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"tags": ["“#$%” is not a tag: a tag needs a letter or a digit."]}
