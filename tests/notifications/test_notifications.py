"""Following, the notification list and its unread count, e-mail digests, and who may be told what."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock
from ideas.challenges import comments, moderation, services
from ideas.notifications.models import Follow, Notification
from ideas.extensions import db
from ideas.notifications import services as notifications
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import csrf_token


@pytest.fixture
def as_user(app, login):
    def make(user):
        browser = app.test_client()
        login(user, target=browser)
        return browser

    return make


def post(browser, path, data, page="/"):
    return browser.post(path, data={"csrf_token": csrf_token(browser, page), **data})


def of(user, kind=None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def follow(user, target_type, key):
    db.session.add(Follow(user_id=user.id, target_type=target_type, target_key=str(key)))
    db.session.commit()


@pytest.fixture
def manager(make_user):
    return make_user(roles=("manager",), name="Mia Manager")


# --- who may be told ----------------------------------------------------------------

@pytest.mark.parametrize(("pool_mode", "cross_visibility", "author_pool", "told"), [
    ("blended", False, "employee", True),
    ("employees_only", False, "employee", False),  # the challenge does not exist for externals
    ("separate", False, "employee", False),  # the other pool's idea does not exist for them
    ("separate", True, "employee", True),  # unless the manager lets pools see each other
    ("separate", False, "external", True),  # their own pool's idea
])
def test_an_external_tag_follower_is_told_only_of_ideas_they_may_see(make_user, manager, pool_mode,
                                                                      cross_visibility, author_pool, told):
    outsider = make_user(pool="external")
    insider = make_user(pool="employee")
    for person in (outsider, insider):
        follow(person, "tag", "kiosks")
    challenge = open_challenge(manager, pool_mode=pool_mode, cross_visibility=cross_visibility)
    idea_in(challenge, make_user(pool=author_pool), tags="kiosks")
    assert bool(of(outsider, "new_idea")) is told
    if author_pool == "employee":
        assert of(insider, "new_idea")  # the same event reaches those who may see it


def test_challenge_followers_hear_of_new_ideas_with_a_link_on_this_site(make_user, manager):
    fan = make_user(pool="external")
    challenge = open_challenge(manager)
    follow(fan, "challenge", challenge.id)
    idea = idea_in(challenge, make_user(pool="external"), title="Kiosks")
    [told] = of(fan, "new_idea")
    assert told.url == f"/ideas/{idea.id}"  # a path, the same in a request or the scheduler
    assert "Kiosks" in told.text and told.challenge_id == challenge.id and told.idea_id == idea.id


def test_the_actor_is_never_told_of_their_own_act(make_user, manager):
    author = make_user(pool="external")
    challenge = open_challenge(manager)
    follow(author, "challenge", challenge.id)
    idea = idea_in(challenge, author)
    comments.post_comment(idea, author, "A note on my own idea")
    db.session.commit()
    assert of(author) == []


def test_phase_changes_reach_followers_from_the_scheduler(app, make_user, manager):
    fan = make_user(pool="external")
    challenge = open_challenge(manager)
    follow(fan, "challenge", challenge.id)
    clock.set_now(clock.as_utc(challenge.voting_at) + timedelta(minutes=1))
    assert services.tick() == 1  # no request here: links are still built
    db.session.commit()
    [told] = of(fan, "phase")
    assert told.url == f"/challenges/{challenge.id}" and "voting" in told.text


def test_notify_never_reaches_the_inactive(make_user, manager):
    gone = make_user(pool="external", active=False)
    challenge = open_challenge(manager)
    assert notifications.notify([gone.id], "x", "hello", challenge=challenge) == 0


# --- following ------------------------------------------------------------------------

def test_following_and_unfollowing_through_the_pages(make_user, manager, as_user):
    person = make_user(pool="external")
    challenge = open_challenge(manager, tags="mobility")
    idea = idea_in(challenge, make_user(pool="external"), tags="kiosks")
    browser = as_user(person)
    for target_type, key in (("challenge", challenge.id), ("idea", idea.id), ("tag", "Kiosks"), ("tag", "mobility")):
        response = post(browser, "/follow", {"target_type": target_type, "target_key": key, "next": "/"})
        assert response.status_code == 302, (target_type, key)
    response = post(browser, "/follow", {"target_type": "idea", "target_key": idea.id})  # twice is once
    assert response.status_code == 302
    keys = set(db.session.execute(select(Follow.target_type, Follow.target_key).where(Follow.user_id == person.id)))
    assert keys == {("challenge", str(challenge.id)), ("idea", str(idea.id)), ("tag", "kiosks"),
                    ("tag", "mobility")}
    page = browser.get("/notifications").get_data(as_text=True)
    assert challenge.title in page and idea.title in page and "kiosks" in page
    assert post(browser, "/unfollow", {"target_type": "idea", "target_key": idea.id}).status_code == 302
    assert db.session.scalar(select(func.count(Follow.id)).where(Follow.target_type == "idea")) == 0


def test_the_idea_page_offers_to_follow_it(make_user, manager, as_user):
    idea = idea_in(open_challenge(manager), make_user(pool="external"))
    browser = as_user(make_user(pool="external"))
    page = browser.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Follow this idea" in page
    post(browser, "/follow", {"target_type": "idea", "target_key": idea.id, "next": f"/ideas/{idea.id}"})
    assert "Following this idea" in browser.get(f"/ideas/{idea.id}").get_data(as_text=True)


@pytest.mark.parametrize("case", ["missing challenge", "invisible challenge", "draft challenge", "missing idea",
                                  "draft idea", "other pool idea", "unknown tag", "staff-only tag", "bad type",
                                  "bad key"])
def test_following_what_does_not_exist_for_you_is_404(make_user, manager, as_user, case):
    outsider = make_user(pool="external")
    staff_only = open_challenge(manager, pool_mode="employees_only", tags="secret-project")
    separate = open_challenge(manager, pool_mode="separate")
    draft_challenge = open_challenge(manager, publish=False)
    employee_idea = idea_in(separate, make_user(pool="employee"))
    draft = services.submit_idea(separate, outsider, title="Mine", draft=True)
    db.session.commit()
    target = {
        "missing challenge": ("challenge", 999_999),
        "invisible challenge": ("challenge", staff_only.id),
        "draft challenge": ("challenge", draft_challenge.id),
        "missing idea": ("idea", 999_999),
        "draft idea": ("idea", draft.id),
        "other pool idea": ("idea", employee_idea.id),
        "unknown tag": ("tag", "no-such-tag"),
        "staff-only tag": ("tag", "secret-project"),
        "bad type": ("user", 1),
        "bad key": ("idea", "1 OR 1=1"),
    }[case]
    response = post(as_user(outsider), "/follow", {"target_type": target[0], "target_key": target[1]})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(Follow.id))) == 0


def test_leaving_what_you_no_longer_see_is_always_possible(make_user, manager, as_user):
    person = make_user(pool="external")
    challenge = open_challenge(manager)
    follow(person, "challenge", challenge.id)
    challenge.pool_mode = "employees_only"
    db.session.commit()
    browser = as_user(person)
    assert challenge.title not in browser.get("/notifications").get_data(as_text=True)
    assert post(browser, "/unfollow", {"target_type": "challenge", "target_key": challenge.id}).status_code == 302
    assert db.session.scalar(select(func.count(Follow.id))) == 0
    response = post(browser, "/unfollow", {"target_type": "challenge", "target_key": challenge.id})
    assert response.status_code == 404  # no longer followed, and invisible


# --- the list and the header --------------------------------------------------------------

def badge(page: str) -> str | None:
    match = re.search(r'Notifications <span class="badge"[^>]*>(\d+)</span>', page)
    return match.group(1) if match else None


def test_the_unread_count_shows_in_the_header_and_goes_when_read(make_user, manager, as_user):
    author = make_user(pool="external")
    idea = idea_in(open_challenge(manager), author)
    for n in range(3):
        comments.post_comment(idea, make_user(pool="external"), f"Comment {n}")
    db.session.commit()
    browser = as_user(author)
    assert badge(browser.get("/").get_data(as_text=True)) == "3"
    first = of(author)[0]
    response = browser.get(f"/notifications/{first.id}")  # opening one marks it read
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/ideas/{idea.id}#comment-")
    assert badge(browser.get("/").get_data(as_text=True)) == "2"
    second = of(author)[1]
    assert post(browser, f"/notifications/{second.id}/read", {}, "/notifications").status_code == 302
    assert badge(browser.get("/").get_data(as_text=True)) == "1"
    assert post(browser, "/notifications/read", {}, "/notifications").status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert badge(page) is None and ">Notifications</a>" in page


def test_the_anonymous_have_no_notifications(client):
    page = client.get("/").get_data(as_text=True)
    assert ">Notifications" not in page
    assert client.get("/notifications").status_code == 302


def test_someone_elses_notification_is_404(make_user, manager, as_user):
    author = make_user(pool="external")
    comments.post_comment(idea_in(open_challenge(manager), author), make_user(pool="external"), "Hi")
    db.session.commit()
    [mine] = of(author)
    browser = as_user(make_user(pool="external"))
    assert browser.get(f"/notifications/{mine.id}").status_code == 404
    assert post(browser, f"/notifications/{mine.id}/read", {}).status_code == 404
    assert browser.get("/notifications/999999").status_code == 404
    db.session.refresh(mine)
    assert mine.read_at is None


def test_the_list_is_paged_newest_first(make_user, manager, as_user):
    person = make_user(pool="external")
    challenge = open_challenge(manager)
    notifications.notify([person.id] * 1, "x", "only one", challenge=challenge)
    for n in range(notifications.PAGE_SIZE + 2):
        notifications.notify([person.id], "x", f"Note number {n}.", "/", challenge=challenge)
    db.session.commit()
    browser = as_user(person)
    first = browser.get("/notifications").get_data(as_text=True)
    assert f"Note number {notifications.PAGE_SIZE + 1}." in first and "only one" not in first
    assert "only one" in browser.get("/notifications?page=2").get_data(as_text=True)
    assert browser.get("/notifications?page=abc").status_code == 200


def test_notifications_about_what_was_hidden_since_lose_their_text(make_user, manager, as_user):
    author = make_user(pool="external")
    fan = make_user(pool="external")
    challenge = open_challenge(manager)
    follow(fan, "challenge", challenge.id)
    idea = idea_in(challenge, author, title="Soon hidden")
    moderation.hide(challenge, manager, "idea", idea.id, "Off topic")
    db.session.commit()
    page = as_user(fan).get("/notifications").get_data(as_text=True)
    assert "Soon hidden" not in page and "something you can no longer see" in page


def test_the_home_page_shows_what_you_follow(make_user, manager, as_user):
    person = make_user(pool="external")
    challenge = open_challenge(manager, title="Greener offices")
    follow(person, "challenge", challenge.id)
    idea_in(challenge, make_user(pool="external"), title="Plants everywhere")
    page = as_user(person).get("/").get_data(as_text=True)
    section = page[page.index('id="following-h"'):]
    assert "Greener offices" in section and "Plants everywhere" in section


# --- e-mail digests -------------------------------------------------------------------

@pytest.fixture
def digest_world(make_user, manager):
    reader = make_user(pool="external", name="Dana Digest", digest="daily")
    quiet = make_user(pool="external", name="Quinn Quiet", digest="none")
    challenge = open_challenge(manager)
    for person in (reader, quiet):
        follow(person, "challenge", challenge.id)
    idea_in(challenge, make_user(pool="external"), title="First idea")
    idea_in(challenge, make_user(pool="external"), title="Second idea")
    return {"reader": reader, "quiet": quiet, "challenge": challenge, "make_user": make_user}


def test_a_digest_is_sent_once(digest_world, outbox):
    reader = digest_world["reader"]
    now = clock.now()
    assert notifications.send_digests(now) == 1
    db.session.commit()
    assert notifications.send_digests(now) == 0  # run twice: one mail
    assert notifications.send_digests(now + timedelta(days=2)) == 0  # nothing new since
    db.session.commit()
    [mail] = outbox()
    assert mail.to_address == reader.email and "2 new notifications" in mail.subject
    assert "First idea" in mail.body and "Second idea" in mail.body
    assert re.search(r"https?://[^\s]+/ideas/\d+", mail.body)  # links that work from a mail client
    assert outbox(digest_world["quiet"].email) == []
    assert all(n.digested_at is not None for n in of(reader))


def test_digests_wait_for_their_period(digest_world, outbox):
    reader, challenge = digest_world["reader"], digest_world["challenge"]
    now = clock.now()
    assert notifications.send_digests(now) == 1
    clock.set_now(now + timedelta(hours=2))
    idea_in(challenge, digest_world["make_user"](pool="external"), title="Third idea")
    assert notifications.send_digests(now + timedelta(hours=2)) == 0  # daily: not again the same day
    assert notifications.send_digests(now + timedelta(days=1, minutes=1)) == 1
    db.session.commit()
    assert "Third idea" in outbox(reader.email)[-1].body
    reader.digest = "weekly"
    idea_in(challenge, digest_world["make_user"](pool="external"), title="Fourth idea")
    assert notifications.send_digests(now + timedelta(days=3)) == 0
    assert notifications.send_digests(now + timedelta(days=8, minutes=2)) == 1


def test_new_people_get_a_weekly_digest_from_the_scheduler(make_user, manager, outbox, client):
    """The default for a new person is a weekly digest, sent by the scheduled job; choosing
    "never" stops it."""
    from ideas import scheduler

    from ideas.accounts.models import User
    from tests.accounts.test_registration import register

    assert register(client, email="nell@outside.example").status_code == 302
    assert db.session.scalar(select(User.digest).where(User.email == "nell@outside.example")) == "weekly"
    person = make_user(pool="external", name="Nell Newcomer")
    assert person.digest == "weekly"
    opted_out = make_user(pool="external", name="Otto Optout", digest="none")
    challenge = open_challenge(manager, title="Quieter terminals")
    for someone in (person, opted_out):
        follow(someone, "challenge", challenge.id)
    idea_in(challenge, make_user(pool="external"), title="Soft flooring")
    db.session.commit()
    now = clock.now()
    assert scheduler.run(now)["digests"] == 1
    [mail] = outbox(person.email)
    assert "Soft flooring" in mail.body and "this week" in mail.body
    assert outbox(opted_out.email) == []
    idea_in(challenge, make_user(pool="external"), title="Quiet zones")
    db.session.commit()
    assert scheduler.run(now + timedelta(days=3))["digests"] == 0  # weekly: not again within the week
    assert scheduler.run(now + timedelta(days=7, minutes=1))["digests"] == 1
    assert "Quiet zones" in outbox(person.email)[-1].body


def test_a_digest_leaves_out_what_was_read_or_hidden_since(digest_world, outbox, manager):
    reader, challenge = digest_world["reader"], digest_world["challenge"]
    first, second = of(reader)
    notifications.mark_read(reader, first.id)
    moderation.hide(challenge, manager, "idea", second.idea_id, "Spam")
    notifications.send_digests(clock.now())  # (the hidden idea's author hears of it in their own digest)
    db.session.commit()
    assert outbox(reader.email) == []  # nothing left worth a mail


def test_choosing_the_digest(make_user, as_user):
    person = make_user(pool="external")
    browser = as_user(person)
    page = browser.get("/notifications").get_data(as_text=True)
    assert 'name="digest"' in page
    assert post(browser, "/notifications/digest", {"digest": "weekly"}, "/notifications").status_code == 302
    db.session.refresh(person)
    assert person.digest == "weekly"
    response = post(browser, "/notifications/digest", {"digest": "hourly"}, "/notifications")
    assert response.status_code == 422 and "Choose never, daily or weekly." in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.digest == "weekly"


# --- votes ---------------------------------------------------------------------------

def test_authors_hear_of_the_first_vote_and_of_milestones_not_of_every_vote(make_user, manager, monkeypatch):
    from ideas.voting import services as voting

    monkeypatch.setattr(notifications, "VOTE_MILESTONES", (1, 3))
    author, bystander = make_user(pool="external"), make_user()
    challenge = open_challenge(manager)
    idea = idea_in(challenge, author, title="Kiosks")
    services.change_phase(challenge, manager, "voting", "go")
    voters = [make_user() for _ in range(4)]
    voting.cast_vote(idea, voters[0], voting.Ballot())
    db.session.commit()
    [first] = of(author, "votes")
    assert first.text == "The first vote on your idea “Kiosks” is in." and first.url == f"/ideas/{idea.id}"
    assert of(voters[0]) == []  # the voter is not told of their own vote
    voting.cast_vote(idea, voters[0], voting.Ballot(reason="Kiosks would halve the queue"))  # a changed vote
    voting.cast_vote(idea, voters[1], voting.Ballot())
    db.session.commit()
    assert len(of(author, "votes")) == 1  # two votes, no milestone
    voting.cast_vote(idea, voters[2], voting.Ballot())
    db.session.commit()
    assert [n.text for n in of(author, "votes")][-1] == "3 people have voted on your idea “Kiosks”."
    voting.withdraw_vote(idea, voters[2])
    voting.cast_vote(idea, voters[3], voting.Ballot())  # back to three: heard already
    db.session.commit()
    assert len(of(author, "votes")) == 2
    assert of(bystander, "votes") == []
