"""The page and ranking caches are never stale and never personal.

The suite runs with caching off (NullCache); these tests switch on the default
filesystem cache and check what a reader would notice: an edit, a vote and a
phase change are seen by the very next request; a signed-in person is never
served an anonymous copy, and an anonymous reader never a staff one.
"""
from __future__ import annotations

import re

from ideas.challenges import services as challenges
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge


def _text(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_edit_is_seen_by_the_next_anonymous_read(cached, make_user):
    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author, title="Kiosks at the door")
    anonymous = cached.test_client()
    assert "Kiosks at the door" in _text(anonymous.get(f"/challenges/{challenge.id}"))
    assert "Kiosks at the door" in _text(anonymous.get(f"/ideas/{idea.id}"))
    again = anonymous.get(f"/ideas/{idea.id}")
    assert again.headers.get("ETag")
    assert anonymous.get(f"/ideas/{idea.id}", headers={"If-None-Match": again.headers["ETag"]}).status_code == 304

    challenges.edit_idea(idea, author, title="Kiosks by the entrance", summary=idea.summary, body=idea.body)
    db.session.commit()

    assert "Kiosks by the entrance" in _text(anonymous.get(f"/challenges/{challenge.id}"))
    assert "Kiosks by the entrance" in _text(anonymous.get(f"/ideas/{idea.id}"))


def test_a_new_challenge_is_on_the_next_home_page(cached, make_user):
    manager = make_user(roles=("manager",))
    open_challenge(manager, title="Quieter offices")
    anonymous = cached.test_client()
    assert "Quieter offices" in _text(anonymous.get("/"))
    open_challenge(manager, title="Faster expense claims")
    assert "Faster expense claims" in _text(anonymous.get("/"))


def test_a_phase_change_is_seen_at_once(cached, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    anonymous = cached.test_client()
    before = _text(anonymous.get(f"/challenges/{challenge.id}"))
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    after = _text(anonymous.get(f"/challenges/{challenge.id}"))
    assert before != after
    current = re.search(r'class="current"><strong>([^<]+)</strong>', after)
    assert current and "oting" in current.group(1)


def test_a_vote_is_in_the_next_ranking(cached, make_user, api_token):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    reader = cached.test_client()
    headers = api_token(manager)
    path = f"/api/v1/challenges/{challenge.id}/ranking"
    built, kept = reader.get(path, headers=headers), reader.get(path, headers=headers)  # the second from the cache
    assert built.get_json()["ideas"][0]["raw_votes"] == 0
    # The kept answer is the same bytes and type as the one built, not a re-serialised copy.
    assert (kept.get_data(), kept.mimetype) == (built.get_data(), "application/json")

    voter = make_user()
    assert reader.post(f"/api/v1/ideas/{idea.id}/vote", json={"value": 1}, headers=api_token(voter)).status_code == 201

    assert reader.get(path, headers=headers).get_json()["ideas"][0]["raw_votes"] == 1


def test_signed_in_people_and_anonymous_readers_never_share_a_page(cached, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    staff = cached.test_client()
    login(manager, target=staff)
    assert "Change the phase" in _text(staff.get(f"/challenges/{challenge.id}"))
    anonymous = cached.test_client()
    page = _text(anonymous.get(f"/challenges/{challenge.id}"))
    assert "Change the phase" not in page and "csrf_token" not in page
    # The anonymous copy is now cached; the manager still gets their own page.
    assert "Change the phase" in _text(staff.get(f"/challenges/{challenge.id}"))
    assert "Change the phase" not in _text(anonymous.get(f"/challenges/{challenge.id}"))


# --- the signed-in challenge page's shared part (idea cards, count, cover, criteria, tags) ---

def _cards(page: str) -> list[str]:
    return re.findall(r'<li class="card idea-card">\s*<h3><a href="[^"]+">([^<]+)</a>', page)


def test_a_signed_in_reader_sees_an_edit_a_comment_and_a_new_idea_at_once(cached, make_user, login):
    from ideas.challenges import comments

    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author, title="Kiosks at the door")
    reader = cached.test_client()
    login(make_user(), target=reader)
    path = f"/challenges/{challenge.id}"
    first = _text(reader.get(path))
    assert _cards(first) == ["Kiosks at the door"] and "· 1 idea<" in first and "0 comments" in first
    assert _cards(_text(reader.get(path))) == ["Kiosks at the door"]  # now from the cache

    challenges.edit_idea(idea, author, title="Kiosks by the entrance", summary=idea.summary, body=idea.body)
    db.session.commit()
    assert _cards(_text(reader.get(path))) == ["Kiosks by the entrance"]

    comments.post_comment(idea, manager, "Which entrance?")
    db.session.commit()
    assert "1 comment<" in _text(reader.get(path))

    idea_in(challenge, make_user(), title="Bag drop on the train")
    page = _text(reader.get(path))
    assert _cards(page) == ["Bag drop on the train", "Kiosks by the entrance"] and "· 2 ideas<" in page


def test_a_merge_and_a_hidden_idea_leave_the_cards_at_once(cached, make_user, login):
    from ideas.challenges import merge, moderation

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    first = idea_in(challenge, make_user(), title="Kiosks at the door")
    second = idea_in(challenge, make_user(), title="Kiosks near the door")
    third = idea_in(challenge, make_user(), title="Fewer forms")
    reader = cached.test_client()
    login(make_user(), target=reader)
    path = f"/challenges/{challenge.id}"
    assert len(_cards(_text(reader.get(path)))) == 3

    merge.merge_ideas(second, first, manager, "The same idea")
    db.session.commit()
    assert _cards(_text(reader.get(path))) == ["Fewer forms", "Kiosks at the door"]

    moderation.hide(challenge, manager, "idea", third.id, "Off topic")
    db.session.commit()
    assert _cards(_text(reader.get(path))) == ["Kiosks at the door"]
    # The staff's cards (hidden ideas shown, marked) are kept apart from the participants'.
    staff = cached.test_client()
    login(manager, target=staff)
    staff_page = _text(staff.get(path))
    assert "Fewer forms" in staff_page and "hidden by moderation" in staff_page
    assert "Fewer forms" not in _text(reader.get(path))


def test_a_phase_change_and_criteria_are_seen_by_a_signed_in_reader_at_once(cached, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    idea_in(challenge, make_user())
    reader = cached.test_client()
    login(make_user(), target=reader)
    path = f"/challenges/{challenge.id}"
    assert "Submit an idea" in _text(reader.get(path))
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    page = _text(reader.get(path))
    assert "Submit an idea" not in page
    assert re.search(r'class="current"><strong>Voting opens', page)


def test_a_vote_is_seen_on_the_next_idea_page(cached, make_user, login):
    from tests.conftest import csrf_token

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", hide_counts_until_voted=False)
    idea = idea_in(challenge, make_user(pool="employee"))
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    reader = cached.test_client()
    login(manager, target=reader)
    assert "(from 0 votes)" in _text(reader.get(f"/ideas/{idea.id}"))
    voter = cached.test_client()
    login(make_user(pool="employee"), target=voter)
    token = csrf_token(voter, f"/ideas/{idea.id}")
    assert voter.post(f"/ideas/{idea.id}/vote", data={"csrf_token": token, "value": "1"}).status_code == 302
    page = _text(reader.get(f"/ideas/{idea.id}"))
    assert "(from 1 vote)" in page


# --- the idea page's discussion (kept per challenge generation and kind of reader) ---

def _discussion(page: str) -> str:
    """The page's discussion, with each form token replaced by the same stand-in."""
    found = re.search(r'<section class="discussion".*?</section>', page, re.S)
    assert found, "no discussion on the page"
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', 'name="csrf_token" type="hidden" value="T"',
                  found.group(0))


def _flag_forms(page: str) -> list[str]:
    return re.findall(r'name="target_type" value="comment">\s*<input type="hidden" name="target_id" value="(\d+)"',
                      page)


def _posted_earlier(idea, author, body: str, parent=None):
    """A comment posted an hour ago, out of its edit window."""
    from datetime import timedelta

    from ideas import clock
    from ideas.challenges import comments

    clock.set_now(clock.now() - timedelta(hours=1))
    try:
        found = comments.reply(parent, author, body) if parent else comments.post_comment(idea, author, body)
    finally:
        clock.set_now(None)
    db.session.commit()
    return found


def test_a_comment_an_edit_a_hide_and_a_phase_change_are_in_the_next_discussion(cached, make_user, login):
    from ideas.challenges import comments, moderation

    manager = make_user(roles=("manager",))
    author = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author)
    _posted_earlier(idea, author, "The first thought.")
    reader = cached.test_client()
    login(make_user(), target=reader)
    path = f"/ideas/{idea.id}"
    assert "The first thought." in _discussion(_text(reader.get(path)))
    assert "The first thought." in _discussion(_text(reader.get(path)))  # now from the cache

    other = make_user()
    second = comments.post_comment(idea, other, "A second thought.")
    db.session.commit()
    assert "A second thought." in _discussion(_text(reader.get(path)))

    comments.edit_comment(second, other, "A second, better thought.")
    db.session.commit()
    page = _discussion(_text(reader.get(path)))
    assert "A second, better thought." in page and "· edited" in page

    moderation.hide(challenge, manager, "comment", second.id, "Off topic")
    db.session.commit()
    page = _discussion(_text(reader.get(path)))
    assert "better thought" not in page and f'id="comment-{second.id}"' not in page  # no replies to keep it

    assert "Post the reply" in page
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    challenges.change_phase(challenge, manager, "review", "Enough votes")
    challenges.change_phase(challenge, manager, "closed", "Done")
    db.session.commit()
    page = _discussion(_text(reader.get(path)))
    assert "Post the reply" not in page and "Comments are closed" in page


def test_a_kept_discussion_never_shows_a_hidden_comment_to_those_who_may_not_see_it(cached, make_user, login):
    from ideas.challenges import moderation

    manager = make_user(roles=("manager",))
    troll = make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, make_user())
    _posted_earlier(idea, make_user(), "A fair point.")
    rude = _posted_earlier(idea, troll, "Something rude.")
    _posted_earlier(idea, make_user(), "Please be kind.", parent=rude)  # keeps a placeholder for the rude one
    moderation.hide(challenge, manager, "comment", rude.id, "Rude")
    db.session.commit()
    path = f"/ideas/{idea.id}"
    readers = {}
    for name, person in (("manager", manager), ("troll", troll), ("participant", make_user())):
        readers[name] = cached.test_client()
        login(person, target=readers[name])
    readers["anonymous"] = cached.test_client()
    for _ in range(2):  # the second round from the cache, filled by the manager first
        for name in ("manager", "participant", "troll", "anonymous"):
            page = _discussion(_text(readers[name].get(path)))
            assert "A fair point." in page and "Please be kind." in page, name
            if name in ("manager", "troll"):
                assert "Something rude." in page and "only its author and the moderators see it" in page, name
            else:
                assert "Something rude." not in page and "This comment is hidden by moderation." in page, name


def test_each_reader_gets_their_own_buttons_and_token_from_a_kept_discussion(cached, make_user, login, tmp_path):
    from ideas import caching
    from ideas.challenges import comments, moderation
    manager = make_user(roles=("manager",))
    author, flagger, reader = make_user(), make_user(), make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author)
    first = _posted_earlier(idea, author, "From the idea's author.")
    answer = _posted_earlier(idea, flagger, "From the flagger.", parent=first)
    third = _posted_earlier(idea, reader, "From the reader.")
    moderation.flag("comment", first.id, flagger, "Looks like an advert")
    fresh = comments.post_comment(idea, manager, "From the manager, just now.")
    db.session.commit()
    clients = {}
    for name, person in (("reader", reader), ("author", author), ("flagger", flagger), ("manager", manager)):
        clients[name] = cached.test_client()
        login(person, target=clients[name])
    path = f"/ideas/{idea.id}"
    _text(clients["reader"].get(path))  # keeps the participants' page of conversations
    kept = {name: _text(client.get(path)) for name, client in clients.items()}
    caching.cache.init_app(cached, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})
    own = {name: _text(client.get(path)) for name, client in clients.items()}
    for name in clients:
        assert _discussion(kept[name]) == _discussion(own[name]), name

    assert sorted(_flag_forms(kept["reader"])) == sorted(str(c.id) for c in (first, answer, fresh))
    assert str(first.id) not in _flag_forms(kept["author"]) and str(third.id) in _flag_forms(kept["author"])
    assert str(first.id) not in _flag_forms(kept["flagger"])
    assert _discussion(kept["flagger"]).count("You flagged this comment.") == 1
    assert f'action="/comments/{fresh.id}/edit"' in kept["manager"]  # still in its edit window
    assert "/edit\"" not in _discussion(kept["reader"]).replace(f"/comments/{fresh.id}/edit", "")

    # The form token on a kept page is the reader's own: their flag goes through.
    caching.cache.init_app(cached, config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache"),
                                           "CACHE_DEFAULT_TIMEOUT": 300})
    page = _text(clients["reader"].get(path))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)">\s*<input type="hidden" name="target_type" '
                      rf'value="comment">\s*<input type="hidden" name="target_id" value="{first.id}"', page).group(1)
    response = clients["reader"].post("/flags", data={"csrf_token": token, "target_type": "comment",
                                                      "target_id": first.id, "reason": "Spam"})
    assert response.status_code in (302, 303)
    assert "You flagged this comment." in _discussion(_text(clients["reader"].get(path)))


def test_a_new_attachment_and_new_tags_are_on_the_next_idea_page(cached, make_user, login, tmp_path):
    from ideas.challenges import attachments

    cached.config["IDEAS_UPLOADS"] = str(tmp_path / "uploads")
    manager = make_user(roles=("manager",))
    author = make_user()
    idea = idea_in(open_challenge(manager), author)
    reader = cached.test_client()
    login(make_user(), target=reader)
    path = f"/ideas/{idea.id}"
    assert "Attachments" not in _text(reader.get(path))
    assert "Attachments" not in _text(reader.get(path))  # now from the cache
    attachments.add_to_idea(idea, author, "sketch.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    db.session.commit()
    assert "sketch.png" in _text(reader.get(path))

    challenges.edit_idea(idea, author, title=idea.title, summary=idea.summary, body=idea.body, tags="kiosks, queues")
    db.session.commit()
    assert re.findall(r'<li class="tag">([^<]+)</li>', _text(reader.get(path))) == ["kiosks", "queues"]
