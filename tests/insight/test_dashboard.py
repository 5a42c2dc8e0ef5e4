"""The dashboards' figures against a challenge built by hand, where every figure is known
(tests/insight/conftest.py).

The challenge (blended): employees wrote E1, E2, E3 and a draft; an external wrote X1,
X2 and one that moderation hid.  Four votes with known factors.  Then, from a Wednesday
T0: all but X2 shortlisted at T0, reviews started at T0+1d; E1 and X1 accepted and E3
declined at T0+3d; E1 and X1 handed to Olga at T0+4d; E1 acknowledged at T0+5d, work
started at T0+7d, delivered at T0+10d; X1 is still waiting (its deadline passed at
T0+9d).  E2 stays in review: Rita sent her scorecard, Rob's is overdue.  The
dashboards are read at T0+12d.
"""
from __future__ import annotations

import base64
import csv
import io

import pytest
from sqlalchemy import select

from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.insight import figures, queries, services
from ideas.voting.models import Vote
from tests.challenges.factories import open_challenge
from tests.insight.conftest import DAY, NOW, T0

def test_funnel_per_pool(built):
    panel = services.challenge_panel(built["challenge"], "funnel", NOW)
    rows = {row[0]: row[1:8] for row in panel.rows}
    assert rows["Employees"] == [3, 2, 3, 1, 1, 1, 1]
    assert rows["Externals"] == [2, 1, 1, 1, 1, 0, 0]
    assert rows["All pools"] == [5, 3, 4, 2, 2, 1, 1]
    assert panel.rows[0][8] == round(1 / 3, 4) and panel.rows[1][8] == 0
    assert panel.summary == "5 ideas submitted, 4 shortlisted, 1 delivered."


def test_stage_times_and_bottleneck(built):
    panel = services.challenge_panel(built["challenge"], "stages", NOW)
    rows = {row[0]: row[1:] for row in panel.rows}
    label = figures.STAGE_LABELS
    assert rows[label["shortlisted"]] == [4, 0, 1.0, 1.0]
    assert rows[label["in_review"]] == [4, 1, 4.25, 11.0]  # E2 still there, 11 days
    assert rows[label["accepted"]] == [2, 0, 1.0, 1.0]
    assert rows[label["handed_off"]] == [2, 1, 4.5, 8.0]  # X1 waits since T0+4d
    assert rows[label["acknowledged"]] == [1, 0, 2.0, 2.0]
    assert rows[label["in_progress"]] == [1, 0, 3.0, 3.0]
    assert "declined" not in " ".join(rows)  # an end, not a stage
    assert panel.summary == "Bottleneck: handed off, waiting for acknowledgement, 4.5 days on average."


def test_reviewer_and_owner_load_with_overdue_items(built):
    reviewers = services.challenge_panel(built["challenge"], "reviewers", NOW)
    assert reviewers.rows == [["Rob Reviewer", 1, 1, 0], ["Rita Reviewer", 0, 0, 1]]
    owners = services.challenge_panel(built["challenge"], "owners", NOW)
    assert owners.rows == [["Olga Owner", 2, 1, 1, 1, 1, 1.0]]
    overdue = queries.overdue_items(queries.of_challenge(built["challenge"].id), NOW)
    assert [(o["kind"], o["title"], o["person"]) for o in overdue] == [
        ("scorecard", "E2", "Rob Reviewer"), ("acknowledgement", "X1", "Olga Owner")]


def test_vote_quality_by_cause(built):
    panel = services.challenge_panel(built["challenge"], "quality", NOW)
    causes = [c for c, _ in figures.DISCOUNT_CAUSES]
    rows = {row[0]: row for row in panel.rows}
    assert rows["Employees"][1:4] == [2, 1.5, 0.25]
    assert dict(zip(causes, rows["Employees"][4:], strict=True)) == {
        "effort": 0.25, "standing": 0, "collusion": 0, "own_idea": 0, "other": 0}
    assert rows["Externals"][1:4] == [2, 0.4, 0.8]
    assert dict(zip(causes, rows["Externals"][4:], strict=True)) == {
        "effort": 0, "standing": 0.25, "collusion": 0.05, "own_idea": 0.5, "other": 0}
    assert rows["All pools"][1:4] == [4, 1.9, 0.525]
    assert panel.summary == "52 % of the weight of 4 votes was discounted."


def test_participation_and_disagreement(built):
    panel = services.challenge_panel(built["challenge"], "participation", NOW)
    by_day = {row[0]: row[1:] for row in panel.rows}
    assert len(panel.rows) == 9  # T0-10d to T0-2d, one row a day
    assert by_day[(T0 - 10 * DAY).strftime("%d %b")] == [2, 1]  # two employee authors, one external
    assert by_day[(T0 - 3 * DAY).strftime("%d %b")] == [2, 0]
    assert by_day[(T0 - 2 * DAY).strftime("%d %b")] == [0, 2]
    assert sum(sum(row[1:]) for row in panel.rows) == 7
    disagreement = services.challenge_panel(built["challenge"], "disagreement", NOW)
    assert disagreement.rows == [["E1", 0.8, 0.1, 2, 0]]
    assert disagreement.links == [built["ideas"]["E1"].id]


def test_site_dashboard_figures_and_escalations(built, make_user):
    other = make_user(roles=("manager",), name="Other Manager")
    open_challenge(other, title="Not Mona's")
    scope = services.site_scope(built["manager"])
    board = services.site_dashboard(scope, NOW)
    funnel = next(p for p in board.panels if p.slug == "funnel")
    assert funnel.rows[-1][1:8] == [5, 3, 4, 2, 2, 1, 1]
    conversion = next(p for p in board.panels if p.slug == "conversion")
    assert conversion.rows == [["Halve check-in time", 5, 4, 2, 1, 0.2]]  # not the other manager's
    pools = next(p for p in board.panels if p.slug == "pools")
    assert pools.rows == [["Employees", 3, 3, 1, 1.0, round(1 / 3, 4)], ["Externals", 2, 1, 0, 0.5, 0]]
    assert board.escalation_count == 1 and board.escalations[0]["title"] == "X1"
    # A period that starts after every idea was submitted leaves the funnel empty.
    later = services.Scope(manager_id=built["manager"].id, start=T0, end=None)
    assert services.site_panel(later, "funnel", NOW).rows[-1][1:8] == [0] * 7


def test_dashboard_page_shows_each_chart_with_its_table(built, client, login):
    login(built["manager"])
    page = client.get(f"/challenges/{built['challenge'].id}/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for slug in services.CHALLENGE_PANELS:
        assert f'data-chart="{slug}"' in html and f'data-figures="{slug}"' in html
    assert "Bottleneck: handed off" in html
    start = html.index('data-chart="funnel"')
    uri = html[html.rindex('src="', 0, start) + 5: html.index('"', html.rindex('src="', 0, start) + 5)]
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "<script" not in svg
    assert "<script" not in html.split("<main", 1)[-1].split("</main>")[0]


def test_wide_tables_scroll_in_a_labelled_box_under_a_caption_that_wraps(built, client, login):
    login(built["manager"])
    html = client.get(f"/challenges/{built['challenge'].id}/dashboard").get_data(as_text=True)
    for slug in services.CHALLENGE_PANELS:
        caption = f'id="{slug}-figures-caption"'
        assert f'<p class="table-caption" {caption}>' in html  # a line of the page: it wraps
        assert (f'<div class="table-wrap" role="region" aria-labelledby="{slug}-figures-caption" tabindex="0">'
                in html)  # the box that scrolls is named and reachable by keyboard
        assert f'<table aria-labelledby="{slug}-figures-caption" data-figures="{slug}">' in html
    assert "<caption" not in html.split("<main", 1)[-1]


def test_a_chart_is_drawn_once_for_the_same_figures():
    from ideas.insight import charts

    first = charts.horizontal_bars(["Submitted", "Delivered"], {"Employees": [3, 1]}, alt="Funnel")
    assert charts.horizontal_bars(["Submitted", "Delivered"], {"Employees": [3, 1]}, alt="Funnel") is first
    other = charts.horizontal_bars(["Submitted", "Delivered"], {"Employees": [3, 2]}, alt="Funnel")
    assert other is not first and other.uri != first.uri  # new figures, a new drawing


def test_csv_matches_the_table(built, client, login):
    login(built["manager"])
    response = client.get(f"/challenges/{built['challenge'].id}/dashboard/funnel.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Pool", "Submitted", "Voted on"]
    assert rows[1][:8] == ["Employees", "3", "2", "3", "1", "1", "1", "1"]
    assert client.get(f"/challenges/{built['challenge'].id}/dashboard/nothing.csv").status_code == 404


def test_empty_challenge_dashboard_and_csv(make_user, client, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    login(manager)
    page = client.get(f"/challenges/{challenge.id}/dashboard")
    assert page.status_code == 200
    assert "Nobody has taken part yet." in page.get_data(as_text=True)
    for slug in services.CHALLENGE_PANELS:
        response = client.get(f"/challenges/{challenge.id}/dashboard/{slug}.csv")
        assert response.status_code == 200, slug
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows and rows[0], slug  # the header row, always
        if slug in ("participation", "stages", "reviewers", "owners", "disagreement"):
            assert len(rows) == 1, slug  # nothing but the headers
        assert all(len(row) == len(rows[0]) for row in rows), slug


def test_only_the_challenges_managers_see_its_dashboard(built, make_user, client, login, app):
    url = f"/challenges/{built['challenge'].id}/dashboard"
    assert client.get(url).status_code == 302  # to sign in
    for person in (make_user(), make_user(pool="external"), make_user(roles=("manager",)),
                   built["rita"], built["olga"], built["ext"]):
        browser = app.test_client()
        login(person, target=browser)
        assert browser.get(url).status_code == 403, person.name
        assert browser.get(url + "/funnel.csv").status_code == 403, person.name
    browser = app.test_client()
    login(make_user(roles=("admin",)), target=browser)
    assert browser.get(url).status_code == 200


def test_a_dashboard_of_a_challenge_you_cannot_see_is_not_found(make_user, client, login):
    manager = make_user(roles=("manager",))
    draft = open_challenge(manager, publish=False)
    login(make_user(pool="external"))
    assert client.get(f"/challenges/{draft.id}/dashboard").status_code == 404
    assert client.get("/challenges/987654/dashboard").status_code == 404


@pytest.mark.parametrize("query, field", [
    ("period=fortnight", "period"), ("from=yesterday", "from"), ("to=2031-02-30", "to"),
    ("from=2031-03-10&to=2031-03-01", "to"), ("from=2031-13-01", "from"), 
])
def test_a_period_that_does_not_parse_gets_a_clear_message(built, client, login, query, field):
    login(built["manager"])
    page = client.get(f"/dashboard?{query}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    assert client.get(f"/dashboard/funnel.csv?{query}").status_code == 400


def test_site_dashboard_period_filter(built, client, login):
    login(built["manager"])
    page = client.get("/dashboard?from=2031-02-01&to=2031-02-28")
    assert page.status_code == 200
    assert "01 Feb 2031 to 28 Feb 2031" in page.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/funnel.csv?from=2031-02-01&to=2031-02-28")
                                       .get_data(as_text=True))))
    assert rows[-1][1] == "5"  # submitted T0-10d = 23 Feb
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/funnel.csv?period=30d").get_data(as_text=True))))
    assert rows[-1][1] == "5"


def test_site_dashboard_is_for_managers_and_administrators(built, make_user, client, login):
    login(make_user(roles=("reviewer",)))
    assert client.get("/dashboard").status_code == 403


def test_figures_from_sql_not_rows(built, app):
    """The dashboard reads aggregates: its number of statements does not depend on the
    number of ideas or votes."""
    from sqlalchemy import event

    def count_statements():
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            services.challenge_dashboard(built["challenge"], NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    before = count_statements()
    challenge = built["challenge"]
    voters = db.session.scalars(select(Vote.voter_id)).all()
    for n in range(30):
        idea = Idea(challenge_id=challenge.id, author_id=voters[0], pool="employee", title=f"More {n}",
                               status="published", published_at=NOW - DAY)
        db.session.add(idea)
    db.session.commit()
    assert count_statements() == before
