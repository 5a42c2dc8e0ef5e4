"""How long ideas stay in each review stage, measured in the database (the review
dashboard and the insight dashboards read the same figures)."""
from __future__ import annotations

from datetime import timedelta

from ideas import clock
from ideas.extensions import db
from ideas.review import services, stages
from tests.review.conftest import WEDNESDAY

DAY = timedelta(days=1)


def test_stays_finished_and_going_on_per_stage_on_the_review_dashboard(world, client, login):
    m = world.manager
    clock.set_now(WEDNESDAY)
    first, second = services.shortlist_ideas(world.challenge, m, [world.ideas[0].id, world.ideas[1].id])
    clock.set_now(WEDNESDAY + DAY)
    services.start_review(first, m)
    clock.set_now(WEDNESDAY + 3 * DAY)
    services.start_review(second, m)
    clock.set_now(WEDNESDAY + 4 * DAY)
    services.decide(first, m, "declined", "Not now")
    db.session.commit()
    now = WEDNESDAY + 10 * DAY
    rows = {r["state"]: r for r in stages.stage_times(now, challenges=lambda c: [c == world.challenge.id])}
    assert rows["shortlisted"]["finished"] == 2 and rows["shortlisted"]["waiting"] == 0
    assert round(rows["shortlisted"]["finished_seconds"]) == 4 * 86400  # 1 day + 3 days
    assert round(rows["shortlisted"]["longest_finished_seconds"]) == 3 * 86400
    assert rows["in_review"]["finished"] == 1 and rows["in_review"]["waiting"] == 1
    assert round(rows["in_review"]["longest_waiting_seconds"]) == 7 * 86400  # since day 3, read on day 10
    assert round(rows["in_review"]["total_seconds"]) == (3 + 7) * 86400
    # A period keeps the stays begun in it, each measured to its true end.
    later = stages.stage_times(now, challenges=lambda c: [c == world.challenge.id], start=WEDNESDAY + 2 * DAY)
    in_review = next(r for r in later if r["state"] == "in_review")
    assert in_review["stays"] == 1 and in_review["waiting"] == 1  # the stay begun on day 1 is left out
    declined = next(r for r in later if r["state"] == "declined")
    assert declined["stays"] == 1

    board = services.dashboard(world.challenge, m, now=now)
    waits = {w.state: w for w in board.waits}
    assert "declined" not in waits  # an end, not a wait
    assert waits["shortlisted"].average == 2 * DAY and waits["shortlisted"].longest == 3 * DAY
    assert waits["in_review"].waiting == 1 and waits["in_review"].longest_waiting == 7 * DAY
    # In review: 3 days (ended) and 7 days (going on, up to now): 5 on average, 7 at most.
    assert waits["in_review"].average == 5 * DAY and waits["in_review"].longest == 7 * DAY
    clock.set_now(now)
    login(m)
    html = client.get(f"/challenges/{world.challenge.id}/review").get_data(as_text=True)
    section = html[html.index('id="waits"'):html.index('id="loads"')]
    assert "<td>shortlisted</td><td>2.0</td>" in section and "<td>in review</td><td>5.0</td>" in section
    assert "Average stay (days)" in section and "hours" not in section

    # The insight dashboard reads the same figures, in the same unit as its headings.
    from ideas.insight import services as insight
    panel = insight.stages_panel(stages.stage_times(now, challenges=lambda c: [c == world.challenge.id]))
    by_stage = {row[0]: row for row in panel.display}
    assert by_stage["In review (scorecards)"][3:] == ["5.0", "7.0"]
    assert by_stage["Shortlisted, review not started"][3:] == ["2.0", "3.0"]
    assert panel.headers[3:] == ["Average (days)", "Longest (days)"]
