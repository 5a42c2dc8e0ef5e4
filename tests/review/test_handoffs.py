"""Decisions and handoffs: a reason for every decision, owners only, acknowledgement in
working days, work-in-progress limits with confirmation, progress and closing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas.review import services
from ideas.review.models import Handoff, ProgressUpdate
from ideas.review.services import ReviewError, WipLimitError
from tests.review.conftest import walk


def test_a_decision_without_a_reason_is_refused(world):
    review = walk(world, world.idea, "in_review")
    for decision in ("accepted", "declined", "parked"):
        with pytest.raises(ReviewError) as excinfo:
            services.decide(review, world.manager, decision, "  ")
        assert excinfo.value.field == "reason"
    with pytest.raises(ReviewError) as excinfo:
        services.decide(review, world.manager, "maybe", "Because")
    assert excinfo.value.field == "decision"
    db.session.rollback()
    assert review.state == "in_review" and review.decision is None


def test_the_decision_keeps_its_public_reason_and_internal_note_apart(world):
    review = walk(world, world.idea, "in_review")
    services.decide(review, world.manager, "declined", "Out of scope this year", note="Vendor lock-in")
    db.session.commit()
    assert (review.decision, review.decision_reason, review.internal_note) == (
        "declined", "Out of scope this year", "Vendor lock-in")
    entry = review.transitions[-1]
    assert (entry.reason, entry.note, entry.internal) == ("Out of scope this year", "Vendor lock-in", False)


def test_revisiting_a_parked_idea_clears_the_decision_but_keeps_the_log(world):
    review = walk(world, world.idea, "parked")
    services.revisit(review, world.manager)
    db.session.commit()
    assert review.state == "in_review" and review.decision is None
    assert [t.to_state for t in review.transitions] == ["shortlisted", "in_review", "parked", "in_review"]


@pytest.mark.parametrize("who", ["reviewer", "manager", "plain employee", "inactive owner", "nobody"])
def test_a_handoff_to_someone_who_is_not_an_owner_is_refused(who, world, make_user):
    review = walk(world, world.idea, "accepted")
    person = {"reviewer": world.reviewers[0], "manager": world.manager, "plain employee": make_user(),
              "inactive owner": make_user(roles=("owner",), active=False), "nobody": None}[who]
    with pytest.raises(ReviewError) as excinfo:
        services.hand_off(review, world.manager, person)
    assert excinfo.value.field == "owner"
    db.session.rollback()
    assert review.state == "accepted" and review.owner_id is None
    assert not db.session.scalars(select(Handoff)).all()


def test_an_author_cannot_own_their_own_idea(world):
    from ideas.accounts.services import set_roles

    set_roles(world.author, ["owner"])
    review = walk(world, world.idea, "accepted")
    with pytest.raises(ReviewError) as excinfo:
        services.hand_off(review, world.manager, world.author)
    assert "wrote this idea" in excinfo.value.message


def test_the_acknowledgement_deadline_is_five_working_days(world):
    review = walk(world, world.idea, "accepted")
    handoff = services.hand_off(review, world.manager, world.owner)
    # Handed on a Wednesday at 10:00: due the next Wednesday at 10:00, not Monday.
    assert handoff.ack_due_at == datetime(2031, 3, 12, 10, 0, tzinfo=UTC)
    assert review.ack_due_at == handoff.ack_due_at


def test_a_deadline_over_a_weekend_skips_saturday_and_sunday(world):
    friday = datetime(2031, 3, 7, 16, 30, tzinfo=UTC)
    review = walk(world, world.idea, "accepted")
    clock.set_now(friday)
    handoff = services.hand_off(review, world.manager, world.owner)
    assert handoff.ack_due_at == datetime(2031, 3, 14, 16, 30, tzinfo=UTC)  # the next Friday
    saturday = walk(world, world.ideas[1], "accepted")
    clock.set_now(friday + timedelta(days=1))
    assert services.hand_off(saturday, world.manager, world.owners[1], working_days=1).ack_due_at == \
        datetime(2031, 3, 10, 16, 30, tzinfo=UTC)  # Monday


@pytest.mark.parametrize("days", [0, 31, -2, True])
def test_the_deadline_must_be_sensible(days, world):
    review = walk(world, world.idea, "accepted")
    with pytest.raises(ReviewError) as excinfo:
        services.hand_off(review, world.manager, world.owner, working_days=days)
    assert excinfo.value.field == "working_days"


def test_the_owner_is_told_and_the_handoff_recorded(world):
    review = walk(world, world.idea, "accepted")
    services.hand_off(review, world.manager, world.owner, note="Start with terminal 2")
    db.session.commit()
    told = db.session.scalars(select(Notification).where(Notification.user_id == world.owner.id)).all()
    assert [n.kind for n in told] == ["handoff"] and "Please acknowledge it by" in told[0].text
    assert review.handoffs[0].note == "Start with terminal 2" and review.handoffs[0].number == 1


def test_past_the_wip_limit_a_handoff_needs_confirmation(world):
    owner = world.owner
    services.set_wip_limit(owner, owner, 1)
    walk(world, world.ideas[1], "acknowledged")  # Olga holds one already
    review = walk(world, world.idea, "accepted")
    with pytest.raises(WipLimitError) as excinfo:
        services.hand_off(review, world.manager, owner)
    assert (excinfo.value.load, excinfo.value.limit) == (1, 1) and excinfo.value.field == "confirm"
    db.session.rollback()
    assert review.state == "accepted"
    handoff = services.hand_off(review, world.manager, owner, confirm=True)
    assert handoff.over_wip_confirmed and services.wip_of(owner.id) == 2


def test_within_the_wip_limit_no_confirmation_is_asked(world):
    review = walk(world, world.idea, "accepted")
    assert not services.hand_off(review, world.manager, world.owner).over_wip_confirmed


def test_only_owners_and_administrators_set_an_owners_limit(world, make_user):
    with pytest.raises(ReviewError):
        services.set_wip_limit(world.owner, world.manager, 3)
    admin = make_user(roles=("admin",))
    assert services.set_wip_limit(world.owner, admin, 3).wip_limit == 3
    for bad in (0, 101, "3", None):
        with pytest.raises(ReviewError):
            services.set_wip_limit(world.owner, world.owner, bad)


def test_suggested_owners_by_expertise_and_load_those_at_their_limit_last(world, make_user):
    review = walk(world, world.idea, "accepted")  # tagged kiosks, hardware
    spare = make_user(roles=("owner",), name="Ada Spare")
    names = [s.owner.name for s in services.suggested_owners(review)]
    assert names[0] == "Olga Owner"  # knows kiosks
    assert set(names) == {"Olga Owner", "Otto Owner", "Ada Spare"}
    services.set_wip_limit(world.owner, world.owner, 1)
    walk(world, world.ideas[1], "acknowledged")  # Olga is now at her limit
    suggestions = services.suggested_owners(review)
    assert suggestions[-1].owner.name == "Olga Owner" and suggestions[-1].over_limit
    assert spare.id in {s.owner.id for s in suggestions}


def test_declining_a_handoff_goes_back_to_the_managers_then_to_another_owner(world):
    review = walk(world, world.idea, "handed_off")
    with pytest.raises(ReviewError):
        services.decline_handoff(review, world.owner, "")
    db.session.rollback()
    services.decline_handoff(review, world.owner, "No team for it this year")
    db.session.commit()
    assert review.state == "handoff_declined" and review.owner_id is None
    assert review.handoffs[0].decline_reason == "No team for it this year"
    told = db.session.scalars(select(Notification.text).where(Notification.user_id == world.manager.id)).all()
    assert any("No team for it this year" in t for t in told)
    services.hand_off(review, world.manager, world.owners[1])
    services.acknowledge(review, world.owners[1])
    db.session.commit()
    assert [h.number for h in review.handoffs] == [1, 2]
    assert review.handoffs[1].acknowledged_at is not None and review.owner_id == world.owners[1].id


def test_after_a_declined_handoff_the_manager_may_park_with_a_reason(world):
    review = walk(world, world.idea, "handoff_declined")
    services.decide(review, world.manager, "parked", "Nobody can take it until the new budget")
    assert review.state == "parked" and review.decision == "parked"


def test_the_first_progress_update_starts_the_work_and_reaches_author_and_followers(world, make_user):
    from ideas.notifications.services import follow

    follower = make_user(pool="external")
    follow(follower, "idea", world.idea.id)
    review = walk(world, world.idea, "acknowledged")
    update = services.post_progress(review, world.owner, "Prototype at gate 4")
    db.session.commit()
    assert review.state == "in_progress"
    assert [t.to_state for t in review.transitions][-1] == "in_progress"
    for person in (world.author, follower):
        texts = db.session.scalars(select(Notification.text).where(Notification.user_id == person.id)).all()
        assert any("Prototype at gate 4" in t for t in texts), person
    services.post_progress(review, world.owner, "Second kiosk live")
    assert len(db.session.scalars(select(ProgressUpdate)).all()) == 2 and update.id


@pytest.mark.parametrize("state", ["accepted", "handed_off", "delivered"])
def test_progress_is_reported_only_while_the_owner_holds_the_idea(state, world):
    review = walk(world, world.idea, state)
    with pytest.raises(ReviewError):
        services.post_progress(review, world.owner, "Hello")


def test_only_the_owner_reports_progress_and_an_empty_update_is_refused(world):
    review = walk(world, world.idea, "in_progress")
    with pytest.raises(ReviewError) as excinfo:
        services.post_progress(review, world.owners[1], "Not mine")
    assert excinfo.value.status == 403
    with pytest.raises(ReviewError) as excinfo:
        services.post_progress(review, world.owner, "   ")
    assert excinfo.value.field == "body"


def test_closing_needs_an_outcome_and_a_reason(world):
    review = walk(world, world.idea, "in_progress")
    with pytest.raises(ReviewError) as excinfo:
        services.close(review, world.owner, "finished", "Done")
    assert excinfo.value.field == "outcome"
    with pytest.raises(ReviewError) as excinfo:
        services.close(review, world.owner, "dropped", " ")
    assert excinfo.value.field == "reason"
    services.close(review, world.owner, "dropped", "The airport changed its layout")
    assert (review.state, review.close_reason) == ("dropped", "The airport changed its layout")
    assert review.closed_at == clock.now()


def test_owner_queue_lists_due_and_overdue_acknowledgements_and_work_in_hand(world):
    late = walk(world, world.ideas[1], "handed_off")
    clock.set_now(clock.now() + timedelta(days=1))
    on_time = walk(world, world.idea, "handed_off")
    clock.set_now(late.ack_due_at + timedelta(minutes=1))
    queue = services.owner_queue(world.owner)
    assert [(i.review.id, i.overdue) for i in queue["pending"]] == [(late.id, True), (on_time.id, False)]
    services.acknowledge(on_time, world.owner)
    queue = services.owner_queue(world.owner)
    assert [i.review.id for i in queue["active"]] == [on_time.id]
    assert services.owner_loads([world.owner.id])[world.owner.id] == {"wip": 2, "pending": 1, "overdue": 1,
                                                                       "limit": 5}


def test_starting_and_revisiting_are_not_interchangeable(world):
    parked = walk(world, world.idea, "parked")
    with pytest.raises(ReviewError) as excinfo:
        services.start_review(parked, world.manager)
    assert excinfo.value.status == 409
    shortlisted = walk(world, world.ideas[1], "shortlisted")
    with pytest.raises(ReviewError) as excinfo:
        services.revisit(shortlisted, world.manager)
    assert excinfo.value.status == 409
    db.session.rollback()
    assert (parked.state, shortlisted.state) == ("parked", "shortlisted")
