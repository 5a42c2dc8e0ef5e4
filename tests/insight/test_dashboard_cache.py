"""The dashboards' kept figures are never stale: with the site's cache switched on (the
suite runs without it), a vote cast or withdrawn, a shortlisting and a decision are
counted by the very next read of the dashboard, and a read with nothing changed in
between counts nothing again."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from ideas import clock
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.insight import queries
from ideas.review import services as review
from ideas.voting import services as voting
from tests.challenges.factories import idea_in, open_challenge


@pytest.fixture
def counted(monkeypatch):
    """How often each kept figure was counted from the database."""
    calls = {"funnel": 0, "vote_quality": 0, "funnel_by_challenge": 0}
    for name in calls:
        original = getattr(queries, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(queries, name, wrapper)
    return calls


def _csv(client, url: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    return {row[0]: row[1:] for row in csv.reader(io.StringIO(response.get_data(as_text=True)))}


def _step(client, challenge_id: int, column: str) -> str:
    """One step of the funnel, all pools together, from the dashboard's own CSV."""
    rows = _csv(client, f"/challenges/{challenge_id}/dashboard/funnel.csv")
    return rows["All pools"][rows["Pool"].index(column)]


def _votes(client, challenge_id: int) -> str:
    rows = _csv(client, f"/challenges/{challenge_id}/dashboard/quality.csv")
    return rows["All pools"][rows["Pool"].index("Votes")]


def test_a_vote_a_shortlisting_and_a_decision_are_counted_by_the_next_read(cached, counted, make_user, client,
                                                                              login):
    manager = make_user(roles=("manager",), name="Mona Manager")
    challenge = open_challenge(manager, phase="submission", review_capacity=5, reviewers_per_idea=1)
    author, voter = make_user(name="Ann Author"), make_user(name="Val Voter")
    idea = idea_in(challenge, author, title="Quiet carriages on every train")
    idea_in(challenge, author, title="Bike racks at every station")
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    login(manager)

    assert _votes(client, challenge.id) == "0"
    assert _votes(client, challenge.id) == "0"
    assert counted["vote_quality"] == 1  # the second read was kept
    page = client.get(f"/challenges/{challenge.id}/dashboard")
    assert page.status_code == 200 and "Vote quality" in page.get_data(as_text=True)

    voting.cast_vote(idea, voter, voting.Ballot(reason="Commuters need a calm place to work."))
    db.session.commit()
    assert _votes(client, challenge.id) == "1"
    assert _step(client, challenge.id, "Voted on") == "1"
    site = _csv(client, "/dashboard/funnel.csv")
    assert site["All pools"][site["Pool"].index("Voted on")] == "1"

    voting.withdraw_vote(idea, voter)
    db.session.commit()
    assert _votes(client, challenge.id) == "0"
    assert _step(client, challenge.id, "Voted on") == "0"

    voting.cast_vote(idea, voter, voting.Ballot(reason="Commuters need a calm place to work."))
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    assert _step(client, challenge.id, "Shortlisted") == "0"
    item, = review.shortlist_ideas(challenge, manager, [idea.id], "The strongest idea")
    db.session.commit()
    assert _step(client, challenge.id, "Shortlisted") == "1"
    assert _step(client, challenge.id, "Accepted") == "0"
    review.start_review(item, manager)
    review.decide(item, manager, "accepted", "Worth doing")
    db.session.commit()
    assert _step(client, challenge.id, "Accepted") == "1"
    funnel_reads = counted["funnel"]
    assert _step(client, challenge.id, "Accepted") == "1"
    assert counted["funnel"] == funnel_reads  # nothing changed: kept
