"""Moderation: the flag threshold, the queue and its actions, suspensions, and the log."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from ideas.challenges import comments, moderation, services
from ideas.challenges.models import (
    ChallengeRole,
    ChallengeStaff,
    Comment,
    Flag,
    ModerationAction,
    Suspension,
)
from ideas.notifications.models import Notification
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import csrf_token


@pytest.fixture
def world(make_user):
    manager = make_user(roles=("manager",), name="Mia Manager")
    moderator = make_user(pool="employee", name="Mo Moderator")
    author = make_user(pool="external", name="Alice Author")
    challenge = open_challenge(manager, flag_threshold=3)
    db.session.add(ChallengeStaff(challenge_id=challenge.id, user_id=moderator.id, role=ChallengeRole.MODERATOR))
    db.session.commit()
    idea = idea_in(challenge, author)
    flaggers = [make_user(pool="external", name=f"Flagger {n}") for n in range(4)]
    return {"manager": manager, "moderator": moderator, "author": author, "challenge": challenge, "idea": idea,
            "flaggers": flaggers}


@pytest.fixture
def as_user(app, login):
    def make(user):
        browser = app.test_client()
        login(user, target=browser)
        return browser

    return make


def post(browser, path, data, page="/"):
    return browser.post(path, data={"csrf_token": csrf_token(browser, page), **data})


def told(user, kind="moderation") -> list[str]:
    return list(db.session.scalars(
        select(Notification.text).where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id)
    ))


def actions(challenge) -> list[str]:
    return list(db.session.scalars(
        select(ModerationAction.action).where(ModerationAction.challenge_id == challenge.id)
        .order_by(ModerationAction.id)
    ))


# --- the threshold --------------------------------------------------------------------

@pytest.mark.parametrize("target_type", ["idea", "comment"])
def test_n_distinct_flaggers_hide_content_and_n_minus_one_do_not(world, as_user, target_type):
    idea, author, challenge = world["idea"], world["author"], world["challenge"]
    first, second, third, _ = world["flaggers"]
    if target_type == "comment":
        target = comments.post_comment(idea, author, "Something rude")
        db.session.commit()
    else:
        target = idea
    for person in (first, second):
        moderation.flag(target_type, target.id, person, "Rude")
    db.session.commit()
    db.session.refresh(target)
    assert target.hidden_at is None  # N - 1 people: still visible

    # the same person twice counts once
    with pytest.raises(ChallengeError) as twice:
        moderation.flag(target_type, target.id, second, "Still rude")
    assert twice.value.status == 409 and "already flagged" in twice.value.message
    db.session.rollback()
    db.session.refresh(target)
    assert target.hidden_at is None

    moderation.flag(target_type, target.id, third, "Rude too")
    db.session.commit()
    db.session.refresh(target)
    assert target.hidden_at is not None
    assert actions(challenge) == ["auto_hide"]
    assert any("hidden pending review" in t for t in told(author))
    assert told(world["moderator"], "moderation_queue")  # the moderators hear of it

    # hidden content is gone for other participants, in pages too
    bystander = as_user(world["flaggers"][3])
    if target_type == "idea":
        with pytest.raises(NotFoundError):
            services.get_idea(idea.id, world["flaggers"][3])
        assert bystander.get(f"/ideas/{idea.id}").status_code == 404
        assert post(bystander, f"/ideas/{idea.id}/comments", {"body": "hello?"}).status_code == 404
        assert "Hidden by moderation" in as_user(author).get(f"/ideas/{idea.id}").get_data(as_text=True)
        assert as_user(world["moderator"]).get(f"/ideas/{idea.id}").status_code == 200
    else:
        assert bystander.get(f"/comments/{target.id}").status_code == 404
        assert "Something rude" not in bystander.get(f"/ideas/{idea.id}").get_data(as_text=True)
        assert as_user(author).get(f"/comments/{target.id}").status_code == 302

    # restore brings it back and tells the author why
    browser = as_user(world["moderator"])
    response = post(browser, f"/challenges/{challenge.id}/moderation",
                    {"action": "restore", "target_type": target_type, "target_id": target.id,
                     "reason": "Blunt, but within the rules."}, f"/challenges/{challenge.id}/moderation")
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.hidden_at is None
    assert "Blunt, but within the rules." in told(author)[-1]
    assert actions(challenge) == ["auto_hide", "restore"]
    assert db.session.scalar(select(func.count(Flag.id)).where(Flag.resolved_at.is_(None))) == 0
    if target_type == "comment":
        assert bystander.get(f"/comments/{target.id}").status_code == 302
    else:
        assert bystander.get(f"/ideas/{idea.id}").status_code == 200


def test_after_a_restore_new_flags_start_from_zero(world):
    idea, challenge = world["idea"], world["challenge"]
    challenge.flag_threshold = 2
    comment = comments.post_comment(idea, world["author"], "Hm")
    for person in world["flaggers"][:2]:
        moderation.flag("comment", comment.id, person, "Spam")
    assert comment.hidden_at is not None
    moderation.restore(challenge, world["moderator"], "comment", comment.id, "Not spam")
    moderation.flag("comment", comment.id, world["flaggers"][2], "Spam!")
    assert comment.hidden_at is None  # one new flag, threshold two
    moderation.flag("comment", comment.id, world["flaggers"][3], "Spam!!")
    assert comment.hidden_at is not None


def test_a_hidden_comment_leaves_the_visible_count(world):
    idea, challenge = world["idea"], world["challenge"]
    comment = comments.post_comment(idea, world["flaggers"][0], "Off topic")
    assert idea.comment_count == 1
    moderation.hide(challenge, world["moderator"], "comment", comment.id, "Off topic")
    assert idea.comment_count == 0
    moderation.restore(challenge, world["moderator"], "comment", comment.id, "On topic after all")
    assert idea.comment_count == 1


# --- flagging: what is refused -------------------------------------------------------------

def test_flagging_through_the_page(world, as_user):
    idea = world["idea"]
    browser = as_user(world["flaggers"][0])
    page = browser.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert 'name="target_type" value="idea"' in page  # the idea's flag form
    response = post(browser, "/flags", {"target_type": "idea", "target_id": idea.id, "reason": "Off topic"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Flag.id))) == 1
    page = browser.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "You flagged this idea." in page

    again = post(browser, "/flags", {"target_type": "idea", "target_id": idea.id, "reason": "Really off topic"})
    assert again.status_code == 409
    text = again.get_data(as_text=True)
    assert "You have already flagged this idea" in text
    assert "Really off topic" in text  # what was typed is still there
    assert db.session.scalar(select(func.count(Flag.id))) == 1


def test_flagging_without_a_reason_is_refused_next_to_the_field(world, as_user):
    idea = world["idea"]
    response = post(as_user(world["flaggers"][0]), "/flags", {"target_type": "idea", "target_id": idea.id,
                                                              "reason": "  "})
    assert response.status_code == 422
    assert f'id="flag-idea-{idea.id}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Flag.id))) == 0


def test_flagging_ones_own_content_is_refused(world, as_user):
    idea, author = world["idea"], world["author"]
    comment = comments.post_comment(idea, author, "Mine")
    db.session.commit()
    page = as_user(author).get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Flag this idea" not in page and f'id="flag-comment-{comment.id}"' not in page
    for target_type, target_id in (("idea", idea.id), ("comment", comment.id)):
        response = post(as_user(author), "/flags", {"target_type": target_type, "target_id": target_id,
                                                    "reason": "testing"})
        assert response.status_code == 403
        assert "your own" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Flag.id))) == 0


@pytest.mark.parametrize(("target_type", "target_id"), [("idea", 999_999), ("comment", 999_999), ("user", 1),
                                                        ("bogus", 1), ("idea", "abc")])
def test_flagging_unknown_targets_is_404(world, as_user, target_type, target_id):
    response = post(as_user(world["flaggers"][0]), "/flags",
                    {"target_type": target_type, "target_id": target_id, "reason": "x"})
    assert response.status_code == 404


def test_flagging_what_one_cannot_see_is_404(world, as_user, make_user):
    staff_only = open_challenge(world["manager"], pool_mode="employees_only")
    inside = idea_in(staff_only, make_user(pool="employee"))
    response = post(as_user(world["flaggers"][0]), "/flags",
                    {"target_type": "idea", "target_id": inside.id, "reason": "x"})
    assert response.status_code == 404


def test_a_flag_raced_past_the_check_is_refused_by_the_database(world, monkeypatch):
    idea, person = world["idea"], world["flaggers"][0]
    moderation.flag("idea", idea.id, person, "Spam")
    db.session.commit()
    monkeypatch.setattr(moderation, "_flag_of", lambda target, reporter_id: None)
    with pytest.raises(ChallengeError) as refused:
        moderation.flag("idea", idea.id, person, "Spam again")
    assert refused.value.status == 409
    assert db.session.scalar(select(func.count(Flag.id))) == 1


# --- the queue page ---------------------------------------------------------------------

def test_the_queue_is_for_the_challenges_staff_only(world, as_user, make_user, client):
    challenge = world["challenge"]
    url = f"/challenges/{challenge.id}/moderation"
    assert as_user(world["moderator"]).get(url).status_code == 200
    assert as_user(world["manager"]).get(url).status_code == 200
    assert as_user(make_user(roles=("admin",))).get(url).status_code == 200
    assert as_user(world["author"]).get(url).status_code == 403  # a participant who can see the challenge
    assert as_user(make_user(roles=("manager",))).get(url).status_code == 403  # another challenge's manager
    staff_only = open_challenge(world["manager"], pool_mode="employees_only")
    assert as_user(world["author"]).get(f"/challenges/{staff_only.id}/moderation").status_code == 404
    assert as_user(world["author"]).get("/challenges/999999/moderation").status_code == 404
    assert client.get(url).status_code == 302  # the anonymous sign in first
    response = post(as_user(world["author"]), url, {"action": "hide", "target_type": "idea",
                                                    "target_id": world["idea"].id, "reason": "mine"})
    assert response.status_code == 403


def test_the_queue_lists_flags_and_the_log(world, as_user):
    idea, challenge = world["idea"], world["challenge"]
    moderation.flag("idea", idea.id, world["flaggers"][0], "Looks like an advert")
    db.session.commit()
    page = as_user(world["moderator"]).get(f"/challenges/{challenge.id}/moderation").get_data(as_text=True)
    assert "Looks like an advert" in page and "Flagger 0" in page
    assert "Flagged, still visible" in page
    moderation.hide(challenge, world["moderator"], "idea", idea.id, "An advert indeed")
    db.session.commit()
    page = as_user(world["manager"]).get(f"/challenges/{challenge.id}/moderation").get_data(as_text=True)
    assert "An advert indeed" in page and "Mo Moderator" in page  # in the log


@pytest.mark.parametrize("action", ["hide", "warn", "suspend"])
def test_every_action_needs_a_reason(world, as_user, action):
    idea, challenge = world["idea"], world["challenge"]
    moderation.flag("idea", idea.id, world["flaggers"][0], "Spam")
    db.session.commit()
    url = f"/challenges/{challenge.id}/moderation"
    response = post(as_user(world["moderator"]), url,
                    {"action": action, "target_type": "idea", "target_id": idea.id, "reason": ""}, url)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="reason-idea-{idea.id}-error"' in page and "Give a reason" in page
    assert actions(challenge) == []


def test_moderating_content_of_another_challenge_is_404(world, as_user, make_user):
    other_challenge = open_challenge(world["manager"])
    elsewhere = idea_in(other_challenge, make_user(pool="external"))
    url = f"/challenges/{world['challenge'].id}/moderation"
    response = post(as_user(world["moderator"]), url,
                    {"action": "hide", "target_type": "idea", "target_id": elsewhere.id, "reason": "x"}, url)
    assert response.status_code == 404
    response = post(as_user(world["moderator"]), url,
                    {"action": "hide", "target_type": "comment", "target_id": 999_999, "reason": "x"}, url)
    assert response.status_code == 404


def test_only_staff_act_through_the_services(world, make_user):
    challenge, idea = world["challenge"], world["idea"]
    with pytest.raises(ChallengeError) as refused:
        moderation.hide(challenge, world["flaggers"][0], "idea", idea.id, "I do not like it")
    assert refused.value.status == 403
    staff_only = open_challenge(world["manager"], pool_mode="employees_only")
    with pytest.raises(NotFoundError):
        moderation.queue(staff_only, world["author"])


def test_a_warning_is_logged_and_told(world):
    comment = comments.post_comment(world["idea"], world["flaggers"][0], "Shouting!!!")
    moderation.moderate(world["challenge"], world["moderator"], "warn", "comment", comment.id, "Please keep calm.")
    db.session.commit()
    assert actions(world["challenge"]) == ["warn"]
    assert "Please keep calm." in told(world["flaggers"][0])[-1]


# --- suspension -------------------------------------------------------------------------

def test_suspension_blocks_taking_part_in_that_challenge_only(world, as_user):
    challenge, idea, moderator = world["challenge"], world["idea"], world["moderator"]
    troll = world["flaggers"][0]
    elsewhere = open_challenge(world["manager"])
    other_idea = idea_in(elsewhere, world["author"])
    comment = comments.post_comment(idea, troll, "Spam spam spam")
    db.session.commit()
    url = f"/challenges/{challenge.id}/moderation"
    response = post(as_user(moderator), url, {"action": "suspend", "target_type": "comment",
                                               "target_id": comment.id, "reason": "Repeated spam."}, url)
    assert response.status_code == 302
    assert "Repeated spam." in told(troll)[-1]

    browser = as_user(troll)
    page = browser.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "You are suspended from this challenge" in page and 'id="comment-body"' not in page
    response = post(browser, f"/ideas/{idea.id}/comments", {"body": "More spam"})
    assert response.status_code == 403 and "suspended" in response.get_data(as_text=True)
    with pytest.raises(ChallengeError) as refused:
        services.submit_idea(challenge, troll, title="Spam idea", summary="spam")
    assert refused.value.status == 403
    with pytest.raises(ChallengeError):
        moderation.flag("idea", idea.id, troll, "revenge")
    db.session.rollback()

    # another challenge is not concerned
    assert post(browser, f"/ideas/{other_idea.id}/comments", {"body": "Fine here"}).status_code == 302
    services.submit_idea(elsewhere, troll, title="A real idea", summary="Honest")

    # lifted, with a reason
    moderation.unsuspend(challenge, moderator, troll.id, "Served the time.")
    db.session.commit()
    assert "Served the time." in told(troll)[-1]
    assert post(browser, f"/ideas/{idea.id}/comments", {"body": "Sorry"}).status_code == 302
    assert actions(challenge) == ["suspend", "unsuspend"]


def test_suspending_twice_or_suspending_staff_is_refused(world):
    challenge, moderator = world["challenge"], world["moderator"]
    person = world["flaggers"][0]
    moderation.suspend(challenge, moderator, person.id, "Spam")
    with pytest.raises(ChallengeError) as twice:
        moderation.suspend(challenge, moderator, person.id, "Spam")
    assert twice.value.status == 409
    with pytest.raises(ChallengeError):
        moderation.suspend(challenge, moderator, world["manager"].id, "Coup")
    with pytest.raises(ChallengeError):
        moderation.unsuspend(challenge, moderator, world["author"].id, "Was never suspended")


def test_the_suspended_are_listed_with_a_way_to_lift_it(world, as_user):
    challenge = world["challenge"]
    person = world["flaggers"][1]
    moderation.suspend(challenge, world["moderator"], person.id, "Harassment")
    db.session.commit()
    url = f"/challenges/{challenge.id}/moderation"
    page = as_user(world["manager"]).get(url).get_data(as_text=True)
    assert "Harassment" in page and "Lift the suspension" in page
    response = post(as_user(world["manager"]), url, {"action": "unsuspend", "target_type": "user",
                                                     "target_id": person.id, "reason": "Apologised."}, url)
    assert response.status_code == 302
    assert not services.is_suspended(person, challenge)


def test_hidden_comments_stay_hidden_from_search_documents(world, monkeypatch):
    from ideas.search import queue  # search's subscribers queue the idea through it

    queued = []
    monkeypatch.setattr(queue, "enqueue", queued.append)
    comment = comments.post_comment(world["idea"], world["flaggers"][0], "Findable words")
    moderation.hide(world["challenge"], world["moderator"], "comment", comment.id, "Spam")
    moderation.restore(world["challenge"], world["moderator"], "comment", comment.id, "Not spam")
    assert queued == [world["idea"].id] * 3
    assert db.session.get(Comment, comment.id).hidden_at is None


def test_a_suspension_and_its_lifting_are_seen_at_once_in_the_same_session(world):
    """The answer is kept for the page that asks it twice, never past a write."""
    challenge, moderator = world["challenge"], world["moderator"]
    person = world["flaggers"][0]
    assert not services.is_suspended(person, challenge)
    moderation.suspend(challenge, moderator, person.id, "Spam")
    assert services.is_suspended(person, challenge)
    assert services.is_suspended(person, challenge)
    db.session.commit()
    assert services.is_suspended(person, challenge)
    # Lifted by a bulk DELETE alone, with no object to flush:
    db.session.execute(delete(Suspension).where(Suspension.challenge_id == challenge.id))
    assert not services.is_suspended(person, challenge)
    db.session.commit()
    assert not services.is_suspended(person, challenge)
