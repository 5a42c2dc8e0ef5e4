"""Discussion: comments with one level of replies, the edit window, @mentions, and what is refused."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, select

from ideas import clock
from ideas.challenges import comments, services
from ideas.challenges.models import Comment
from ideas.notifications.models import Follow, Notification
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge


@pytest.fixture
def world(make_user):
    manager = make_user(roles=("manager",), name="Mia Manager")
    author = make_user(pool="external", name="Alice Author")
    other = make_user(pool="external", name="Oscar Other")
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author)
    return {"manager": manager, "author": author, "other": other, "challenge": challenge, "idea": idea}


@pytest.fixture
def as_user(app, login):
    """A signed-in client per person: as_user(person).post(...)."""

    def make(user):
        browser = app.test_client()
        login(user, target=browser)
        return browser

    return make


def post(browser, path, data, page):
    from tests.conftest import csrf_token

    return browser.post(path, data={"csrf_token": csrf_token(browser, page), **data})


def idea_page(idea):
    return f"/ideas/{idea.id}"


def notifications_of(user, kind=None):
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


# --- posting through the page ---------------------------------------------------------

def test_a_comment_is_posted_shown_indexed_and_counted(world, as_user, monkeypatch):
    from ideas.search import queue  # search's subscribers queue the idea through it

    queued = []
    monkeypatch.setattr(queue, "enqueue", queued.append)
    idea, other = world["idea"], world["other"]
    browser = as_user(other)
    response = post(browser, f"/ideas/{idea.id}/comments", {"body": "Kiosks **at the gate** too?"}, idea_page(idea))
    assert response.status_code == 302
    comment = db.session.scalar(select(Comment).where(Comment.idea_id == idea.id))
    assert response.headers["Location"].endswith(f"/ideas/{idea.id}#comment-{comment.id}")
    page = browser.get(idea_page(idea)).get_data(as_text=True)
    assert "<strong>at the gate</strong>" in page
    assert f'id="comment-{comment.id}"' in page
    db.session.refresh(idea)
    assert idea.comment_count == 1
    assert queued == [idea.id]  # comments are part of the idea's search document


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write something before posting."),
    ("   \n  ", "Write something before posting."),
    ("Overlong draft " + "x" * 10_000, "Keep a comment under 10,000 characters"),
])
def test_an_empty_or_overlong_comment_is_refused_next_to_the_field_and_kept(world, as_user, body, message):
    idea = world["idea"]
    browser = as_user(world["other"])
    response = post(browser, f"/ideas/{idea.id}/comments", {"body": body}, idea_page(idea))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="comment-body-error">' + re.escape(message), page)
    assert 'aria-invalid="true"' in page
    if body.strip():
        assert body[:40] in page  # nothing typed is lost
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_script_and_onerror_in_markdown_never_reach_the_page(world, as_user):
    idea = world["idea"]
    browser = as_user(world["other"])
    body = ('<script>alert("x")</script> <img src=x onerror="alert(1)"> [click](javascript:alert(2)) '
            '<a href="#" onclick="alert(3)">a</a>')
    assert post(browser, f"/ideas/{idea.id}/comments", {"body": body}, idea_page(idea)).status_code == 302
    page = browser.get(idea_page(idea)).get_data(as_text=True)
    discussion = page[page.index('id="discussion"'):]
    assert "<script>alert" not in discussion
    assert "<img" not in discussion
    assert not re.search(r"<[^>]+\sonerror=", discussion)
    assert not re.search(r"<[^>]+\sonclick=", discussion)
    assert 'href="javascript:' not in discussion
    assert "&lt;script&gt;" in discussion  # shown as text, harmless


def test_the_anonymous_are_asked_to_sign_in_and_cannot_post(world, client):
    idea = world["idea"]
    page = client.get(idea_page(idea)).get_data(as_text=True)
    assert "to join the discussion" in page
    assert 'id="comment-body"' not in page
    response = client.post(f"/ideas/{idea.id}/comments", data={"body": "hi"})
    assert response.status_code in (302, 400)  # to sign in, or refused for lack of a CSRF token


def test_commenting_on_an_unknown_or_invisible_idea_is_404(world, as_user, make_user):
    staff_only = open_challenge(world["manager"], pool_mode="employees_only")
    hidden_idea = idea_in(staff_only, make_user(pool="employee"))
    browser = as_user(world["other"])  # an external participant
    for idea_id in (hidden_idea.id, 999_999):
        response = post(browser, f"/ideas/{idea_id}/comments", {"body": "hello"}, "/")
        assert response.status_code == 404
    assert post(browser, "/comments/999999/replies", {"body": "x"}, "/").status_code == 404
    assert post(browser, "/comments/999999/edit", {"body": "x"}, "/").status_code == 404
    assert browser.get("/comments/999999").status_code == 404


def test_comments_close_with_the_phase(world, make_user):
    from ideas.challenges.models import Idea, IdeaStatus

    closed = open_challenge(world["manager"], phase="closed")
    author = make_user(pool="external")
    idea = Idea(challenge=closed, author=author, pool="external", title="Old idea", summary="s", body="b",
                status=IdeaStatus.PUBLISHED, published_at=clock.now())
    db.session.add(idea)
    db.session.commit()
    with pytest.raises(ChallengeError) as refused:
        comments.post_comment(idea, world["other"], "Late")
    assert refused.value.status == 409 and "closed phase" in refused.value.message


def test_a_draft_idea_takes_no_comments(world):
    draft = services.submit_idea(world["challenge"], world["author"], title="Draft", summary="", draft=True)
    db.session.commit()
    with pytest.raises(ChallengeError) as refused:
        comments.post_comment(draft, world["author"], "note to self")
    assert refused.value.status == 409


# --- replies ------------------------------------------------------------------------

def test_a_reply_to_a_reply_joins_the_top_level_thread(world, as_user):
    idea, author, other, manager = world["idea"], world["author"], world["other"], world["manager"]
    top = comments.post_comment(idea, other, "Top-level question")
    first = comments.reply(top, author, "An answer")
    db.session.execute(delete(Notification))
    db.session.commit()
    browser = as_user(manager)
    response = post(browser, f"/comments/{first.id}/replies", {"body": "A reply to the answer"}, idea_page(idea))
    assert response.status_code == 302
    second = db.session.scalar(select(Comment).where(Comment.body == "A reply to the answer"))
    assert second.parent_id == top.id  # one level only
    page = browser.get(idea_page(idea)).get_data(as_text=True)
    replies = page[page.index(f'id="comment-{top.id}"'):]
    assert replies.index(f'id="comment-{first.id}"') < replies.index(f'id="comment-{second.id}"')
    # the authors of the comment answered and of the thread are told, once each, and the actor never
    assert [n.kind for n in notifications_of(author)] == ["reply"]
    assert [n.kind for n in notifications_of(other)] == ["reply"]
    assert notifications_of(manager) == []


def test_a_refused_reply_keeps_its_text_in_its_thread(world, as_user):
    idea = world["idea"]
    top = comments.post_comment(idea, world["author"], "Thoughts?")
    db.session.commit()
    browser = as_user(world["other"])
    response = post(browser, f"/comments/{top.id}/replies", {"body": " "}, idea_page(idea))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="reply-{top.id}-error"' in page
    assert re.search(r'<details class="reply" open>', page)


def test_the_ideas_authors_comments_are_marked(world, as_user):
    idea = world["idea"]
    mine = comments.post_comment(idea, world["author"], "From the author")
    theirs = comments.post_comment(idea, world["other"], "From someone else")
    db.session.commit()
    page = as_user(world["other"]).get(idea_page(idea)).get_data(as_text=True)
    block = re.compile(r'<article class="comment([^"]*)" id="comment-(\d+)">')
    classes = {int(m.group(2)): m.group(1) for m in block.finditer(page)}
    assert "by-author" in classes[mine.id]
    assert "by-author" not in classes[theirs.id]
    assert page.count('class="mark mark-author"') == 1


# --- editing -----------------------------------------------------------------------

def test_a_comment_is_edited_within_the_window_only(world, as_user):
    idea, other = world["idea"], world["other"]
    comment = comments.post_comment(idea, other, "Fist draft")
    db.session.commit()
    browser = as_user(other)
    page = browser.get(idea_page(idea)).get_data(as_text=True)
    assert f'action="/comments/{comment.id}/edit"' in page
    assert post(browser, f"/comments/{comment.id}/edit", {"body": "First draft"}, idea_page(idea)).status_code == 302
    db.session.refresh(comment)
    assert comment.body == "First draft" and comment.edited_at is not None

    clock.set_now(clock.as_utc(comment.created_at) + comments.EDIT_WINDOW + timedelta(minutes=1))
    page = browser.get(idea_page(idea)).get_data(as_text=True)
    assert f'action="/comments/{comment.id}/edit"' not in page  # no longer offered
    response = post(browser, f"/comments/{comment.id}/edit", {"body": "Second thoughts, typed late"}, idea_page(idea))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "can be edited for 15 minutes" in page
    assert "Second thoughts, typed late" in page  # the text typed is shown again
    db.session.refresh(comment)
    assert comment.body == "First draft"


def test_only_its_author_edits_a_comment(world, as_user):
    idea = world["idea"]
    comment = comments.post_comment(idea, world["other"], "Mine")
    db.session.commit()
    response = post(as_user(world["author"]), f"/comments/{comment.id}/edit", {"body": "Not yours"}, idea_page(idea))
    assert response.status_code == 403
    db.session.refresh(comment)
    assert comment.body == "Mine"


def test_editing_in_a_new_mention_tells_only_the_newly_mentioned(world, make_user):
    idea, other = world["idea"], world["other"]
    bea = make_user(pool="external", name="Bea Bright")
    cal = make_user(pool="external", name="Cal Clear")
    comment = comments.post_comment(idea, other, "Ask @Bea Bright")
    comments.edit_comment(comment, other, "Ask @Bea Bright and @Cal Clear")
    db.session.commit()
    assert len(notifications_of(bea, "mention")) == 1
    assert len(notifications_of(cal, "mention")) == 1


# --- mentions -------------------------------------------------------------------

def test_mentions_by_name_or_email_local_part_notify_those_who_can_see_the_idea(world, make_user):
    idea, other = world["idea"], world["other"]
    ada = make_user(pool="external", name="Ada Lovelace")
    bob = make_user(pool="employee", name="Bob", email="bob.builder@staff.example")
    comments.post_comment(idea, other, "Thanks @Ada Lovelace, and (@bob.builder) please look. mail me@example.com")
    db.session.commit()
    assert [n.kind for n in notifications_of(ada)] == ["mention"]
    assert [n.kind for n in notifications_of(bob)] == ["mention"]
    assert "Oscar Other mentioned you" in notifications_of(ada)[0].text
    assert notifications_of(ada)[0].url.startswith(f"/ideas/{idea.id}#comment-")


def test_a_mention_of_someone_who_cannot_see_the_idea_tells_nobody(make_user):
    manager = make_user(roles=("manager",))
    employee = make_user(pool="employee", name="Eve Employee")
    outsider = make_user(pool="external", name="Xavier Outside")
    staff_only = open_challenge(manager, pool_mode="employees_only")
    idea = idea_in(staff_only, employee)
    comments.post_comment(idea, employee, "What does @Xavier Outside think?")
    db.session.commit()
    assert notifications_of(outsider) == []


def test_mention_parsing():
    found = comments.mention_candidates("Hi @Ada Lovelace, see x@y.z and @bob. And @@nobody")
    assert found[0] == ["ada lovelace", "ada"]
    assert found[1][-1] == "bob"  # "@bob." at the end of a sentence
    assert all("y.z" not in option for options in found for option in options)


def test_the_actor_is_never_notified_of_their_own_mention(world):
    comments.post_comment(world["idea"], world["other"], "Note to @Oscar Other")
    db.session.commit()
    assert notifications_of(world["other"]) == []


# --- who is told ----------------------------------------------------------------------

def test_authors_and_followers_of_the_idea_are_told_once_each(world, make_user):
    idea, author, other = world["idea"], world["author"], world["other"]
    fan = make_user(pool="employee", name="Fay Fan")
    db.session.add_all([Follow(user_id=fan.id, target_type="idea", target_key=str(idea.id)),
                        Follow(user_id=author.id, target_type="idea", target_key=str(idea.id))])
    db.session.commit()
    comments.post_comment(idea, other, "Hello @Alice Author")
    db.session.commit()
    assert [n.kind for n in notifications_of(author)] == ["mention"]  # the most specific, once
    assert [n.kind for n in notifications_of(fan)] == ["comment"]
    assert notifications_of(other) == []


# --- hidden comments and profiles ------------------------------------------------------

def test_a_hidden_comment_is_gone_for_other_participants(world, as_user, make_user):
    idea, other, author, manager = world["idea"], world["other"], world["author"], world["manager"]
    top = comments.post_comment(idea, other, "Rude words here")
    reply = comments.reply(top, author, "Please be kind")
    top.hidden_at = clock.now()
    db.session.commit()
    participant = as_user(make_user(pool="external"))
    page = participant.get(idea_page(idea)).get_data(as_text=True)
    assert "Rude words here" not in page
    assert "This comment is hidden by moderation." in page  # a placeholder keeps the reply in context
    assert "Please be kind" in page
    assert participant.get(f"/comments/{top.id}").status_code == 404
    assert participant.get(f"/comments/{reply.id}").status_code == 302
    assert as_user(other).get(f"/comments/{top.id}").status_code == 302  # its author still sees it
    assert "Rude words here" in as_user(manager).get(idea_page(idea)).get_data(as_text=True)


def test_profiles_list_comments_only_to_those_who_may_see_them(make_user, client, as_user):
    manager = make_user(roles=("manager",))
    employee = make_user(pool="employee", name="Edda Employee")
    staff_only = open_challenge(manager, pool_mode="employees_only")
    open_to_all = open_challenge(manager)
    comments.post_comment(idea_in(staff_only, make_user(pool="employee"), title="Inside idea"), employee, "In")
    comments.post_comment(idea_in(open_to_all, make_user(pool="external"), title="Public idea"), employee, "Out")
    db.session.commit()
    anonymous = client.get(f"/people/{employee.id}").get_data(as_text=True)
    assert "Comment on “Public idea”" in anonymous
    assert "Inside idea" not in anonymous
    colleague = as_user(make_user(pool="employee")).get(f"/people/{employee.id}").get_data(as_text=True)
    assert "Comment on “Inside idea”" in colleague


# --- bounded queries ----------------------------------------------------------------

def test_a_long_discussion_pages_back_to_its_first_comment_without_javascript(world, client, monkeypatch):
    monkeypatch.setattr(comments, "PAGE_SIZE", 3)
    idea, people = world["idea"], [world["author"], world["other"], world["manager"]]
    for i in range(7):
        top = comments.post_comment(idea, people[i % 3], f"Thought number {i} on this.")
        comments.reply(top, people[(i + 1) % 3], f"Answer to thought {i}.")
    db.session.commit()

    seen, path, pages = [], idea_page(idea), 0
    while path:
        html = client.get(path).get_data(as_text=True)
        pages += 1
        shown = [int(n) for n in re.findall(r"Thought number (\d+) on this", html)]
        assert len(shown) <= 3 and shown == sorted(shown)  # oldest first within a page
        assert all(f"Answer to thought {n}." in html for n in shown)  # each with its replies
        assert "of 7 conversations" in html or "older conversations of 7" in html
        seen = shown + seen
        older = re.search(r'href="([^"]*comments_before=\d+[^"]*)"', html)
        path = older.group(1).replace("&amp;", "&") if older else None
        if pages > 1:
            assert "Back to the latest" in html
    assert pages == 3 and seen == list(range(7))  # every comment reachable, none twice


def test_the_discussion_loads_in_a_fixed_number_of_queries(world):
    idea, people = world["idea"], [world["author"], world["other"], world["manager"]]

    def queries_for_page() -> int:
        db.session.expire_all()
        idea_again = services.get_idea(idea.id, world["other"])
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            comments.page_context(idea_again, world["other"])
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return count

    for i in range(3):
        top = comments.post_comment(idea, people[i % 3], f"Comment {i}")
        comments.reply(top, people[(i + 1) % 3], f"Reply {i}")
    db.session.commit()
    few = queries_for_page()
    for i in range(30):
        top = comments.post_comment(idea, people[i % 3], f"More {i}")
        comments.reply(top, people[(i + 1) % 3], f"More reply {i}")
    db.session.commit()
    assert queries_for_page() == few


def test_services_refuse_plainly_for_the_api(world):
    idea = world["idea"]
    with pytest.raises(ChallengeError) as refused:
        comments.post_comment(idea, world["other"], "")
    assert refused.value.field == "body" and refused.value.status == 422
    with pytest.raises(NotFoundError):
        comments.get_comment(123456, world["other"])

