"""Missed acknowledgements escalate in the `tick` scheduler: a reminder to the owner at
the deadline, then notice to the managers and the escalation contact a working day
later, listed on the dashboard; exactly once per miss, however often or concurrently
the scheduler runs.  Driven by the controllable clock."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock, scheduler
from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas.review import deadlines, services
from ideas.review.models import ReviewEscalation
from tests.conftest import snapshot
from tests.review.conftest import walk

DUE = datetime(2031, 3, 12, 10, 0, tzinfo=UTC)  # handed on Wednesday 5 March, 5 working days


@pytest.fixture
def handed(world, make_user):
    def build():
        contact = make_user(name="Esc Contact")
        world.challenge.escalation_contact_id = contact.id
        db.session.commit()
        return walk(world, world.idea, "handed_off"), contact

    review, contact = snapshot("handed off, with an escalation contact", build)  # tests/conftest.py
    assert review.ack_due_at == DUE
    world.extra["contact"] = contact
    return review


def _tick(at: datetime) -> int:
    clock.set_now(at)
    return scheduler.run()["review deadlines"]


def _notices(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def _escalations() -> list[tuple[int, str]]:
    return [(e.handoff_id, e.level) for e in db.session.scalars(select(ReviewEscalation).order_by(ReviewEscalation.id))]


def test_the_job_runs_in_tick(app):
    assert "review deadlines" in [job.name for job in scheduler.jobs(app)]


def test_nothing_before_the_deadline(world, handed):
    assert _tick(DUE - timedelta(seconds=1)) == 0
    assert _escalations() == [] and _notices("handoff_reminder") == []


def test_the_reminder_goes_to_the_owner_at_the_exact_deadline_once(world, handed):
    assert _tick(DUE) == 1
    assert _tick(DUE) == 0  # the same tick again
    assert _tick(DUE + timedelta(hours=3)) == 0  # and later the same day
    reminders = _notices("handoff_reminder")
    assert [n.user_id for n in reminders] == [world.owner.id]
    assert world.idea.title in reminders[0].text
    assert _notices("handoff_escalation") == []


def test_a_working_day_later_the_managers_and_the_contact_are_told_once(world, handed):
    _tick(DUE)
    assert _tick(DUE + timedelta(days=1) - timedelta(seconds=1)) == 0
    assert _tick(DUE + timedelta(days=1)) == 1  # Thursday: one working day after Wednesday
    assert _tick(DUE + timedelta(days=1)) == 0
    assert _tick(DUE + timedelta(days=10)) == 0
    told = {n.user_id for n in _notices("handoff_escalation")}
    assert told == {world.manager.id, world.extra["contact"].id}
    assert len(_notices("handoff_escalation")) == 2 and len(_notices("handoff_reminder")) == 1
    row = db.session.scalars(select(ReviewEscalation).where(ReviewEscalation.level == "escalation")).one()
    assert row.notified == 2 and row.due_at == DUE


def test_a_friday_deadline_escalates_on_monday_not_over_the_weekend(world):
    friday = datetime(2031, 3, 7, 9, 0, tzinfo=UTC)
    review = walk(world, world.idea, "accepted")
    clock.set_now(friday - timedelta(days=7))  # handed the Friday before
    services.hand_off(review, world.manager, world.owner)
    db.session.commit()
    assert review.ack_due_at == friday
    assert _tick(friday) == 1
    assert _tick(friday + timedelta(days=2, hours=12)) == 0  # Sunday
    assert _tick(friday + timedelta(days=3)) == 1  # Monday 09:00


def test_a_long_outage_sends_both_levels_once(world, handed):
    assert _tick(DUE + timedelta(days=30)) == 2
    assert _tick(DUE + timedelta(days=31)) == 0
    assert len(_escalations()) == 2


def test_an_answered_handoff_does_not_escalate(world, handed):
    services.acknowledge(handed, world.owner)
    db.session.commit()
    assert _tick(DUE + timedelta(days=5)) == 0


def test_a_new_handoff_after_a_decline_has_its_own_deadline_and_ladder(world, handed):
    _tick(DUE + timedelta(days=5))
    assert len(_escalations()) == 2
    clock.set_now(DUE + timedelta(days=6))  # Monday 17 March
    services.decline_handoff(handed, world.owner, "Not my area")
    second = services.hand_off(handed, world.manager, world.owners[1])
    db.session.commit()
    assert _tick(second.ack_due_at - timedelta(minutes=1)) == 0
    assert _tick(second.ack_due_at) == 1
    assert [level for handoff_id, level in _escalations() if handoff_id == second.id] == ["reminder"]


def test_the_dashboard_lists_overdue_handoffs_and_escalations(world, handed, client, login):
    _tick(DUE + timedelta(days=1))
    login(world.manager)
    html = client.get(f"/challenges/{world.challenge.id}/review").get_data(as_text=True)
    section = html[html.index('id="escalations"'):html.index('id="shortlist"')]
    assert world.idea.title in section and "Olga Owner" in section and "still waiting" in section
    assert "Handoffs past their acknowledgement deadline" in section


def test_a_stale_tick_cannot_send_what_another_tick_sent(world, handed):
    """Two ticks at once: one read the due handoffs, the other sent the reminder and
    committed; the first then finds the database already holds the reminder."""
    now = DUE + timedelta(minutes=5)
    stale = services.due_handoffs(now)
    assert _tick(now) == 1
    before = db.session.scalar(select(func.count(Notification.id)))
    assert deadlines._record_escalation(stale[0], "reminder", now) is None
    assert db.session.scalar(select(func.count(Notification.id))) == before
    assert len(_escalations()) == 1


def test_two_ticks_running_at_the_same_moment_send_one_reminder(app, world, handed, monkeypatch):
    now = DUE + timedelta(minutes=5)
    clock.set_now(now)
    both_read = threading.Barrier(2, timeout=10)
    original = services.due_handoffs

    def due_then_wait(at):
        found = original(at)
        both_read.wait()  # both ticks have seen the handoff as due before either writes
        return found

    monkeypatch.setattr(deadlines, "due_handoffs", due_then_wait)  # what run_deadlines calls
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                results.append(services.run_deadlines(now))
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - a tick that loses may fail; it must not send
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    assert sorted(results) in ([0, 1], [1]), (results, errors)
    assert len(_escalations()) == 1
    assert len(_notices("handoff_reminder")) == 1
