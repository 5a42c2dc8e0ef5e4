"""The hand-built challenge every figure of the dashboards is checked against.

The challenge (blended): employees wrote E1, E2, E3 and a draft; an external wrote X1,
X2 and one that moderation hid.  Four votes with known factors.  Then, from a Wednesday
T0: all but X2 shortlisted at T0, reviews started at T0+1d; E1 and X1 accepted and E3
declined at T0+3d; E1 and X1 handed to Olga at T0+4d; E1 acknowledged at T0+5d, work
started at T0+7d, delivered at T0+10d; X1 is still waiting (its deadline passed at
T0+9d).  E2 stays in review: Rita sent her scorecard, Rob's is overdue.  The
dashboards are read at T0+12d.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ideas import clock
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.review import services as review
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, Vote
from tests.challenges.factories import idea_in, open_challenge
from tests.review.conftest import full_scorecard

T0 = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)  # a Wednesday
DAY = timedelta(days=1)
NOW = T0 + 12 * DAY


def at(moment):
    clock.set_now(moment)


def _named(idea, name: str):
    """Short names keep the figures' assertions readable; titles that short are refused
    at submission now, so the name is given after."""
    idea.title = name
    db.session.flush()
    return idea


@pytest.fixture
def built(make_user, snapshot):
    """The challenge of the docstring above, built once per run and put back for each test
    (`snapshot`, tests/conftest.py)."""
    return snapshot("insight challenge", lambda: build(make_user))


def build(make_user) -> dict:
    at(T0 - 10 * DAY)
    manager = make_user(roles=("manager",), name="Mona Manager")
    challenge = open_challenge(manager, phase="submission", pool_mode="blended", review_capacity=10,
                               reviewers_per_idea=2,
                               criteria=[challenges.CriterionInput("impact", weight=2)])
    emp_a, emp_b = make_user(name="Emp A"), make_user(name="Emp B")
    ext = make_user(pool="external", name="Ext Author")
    e1 = _named(idea_in(challenge, emp_a, title="Idea E1"), "E1")
    e2 = _named(idea_in(challenge, emp_a, title="Idea E2"), "E2")
    e3 = _named(idea_in(challenge, emp_b, title="Idea E3"), "E3")
    idea_in(challenge, emp_b, title="Draft", draft=True)
    x1 = _named(idea_in(challenge, ext, title="Idea X1"), "X1")
    x2 = _named(idea_in(challenge, ext, title="Idea X2"), "X2")
    hidden = idea_in(challenge, ext, title="Hidden")
    hidden.hidden_at = T0 - 9 * DAY
    voter_a, voter_b = make_user(name="Voter A"), make_user(name="Voter B")
    voter_c = make_user(pool="external", name="Voter C")
    votes = [  # (idea, voter, pool, effort, standing, collusion, weight, is_author, when)
        (e1, voter_a, "employee", 1.0, 1.0, 1.0, 1.0, False, T0 - 3 * DAY),
        (e1, voter_b, "employee", 0.5, 1.0, 1.0, 0.5, False, T0 - 3 * DAY),
        (e2, voter_c, "external", 1.0, 0.5, 0.8, 0.4, False, T0 - 2 * DAY),
        (x1, ext, "external", 0.0, 0.0, 0.0, 0.0, True, T0 - 2 * DAY),
    ]
    for idea, voter, pool, effort, standing, collusion, weight, own, when in votes:
        db.session.add(Vote(challenge_id=challenge.id, idea_id=idea.id, voter_id=voter.id, pool=pool,
                            kind="support", value=1, effort=effort, standing=standing, collusion=collusion,
                            weight=weight, is_author=own, created_at=when, updated_at=when))
    db.session.flush()
    voting.rebuild_scores(challenge)
    score = db.session.get(IdeaScore, e1.id)
    score.score_employee, score.score_external, score.disagree = 0.8, 0.1, True
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()

    rita = make_user(roles=("reviewer",), name="Rita Reviewer")
    rob = make_user(roles=("reviewer",), name="Rob Reviewer")
    olga = make_user(roles=("owner",), name="Olga Owner")

    at(T0)
    r1, r2, r3, rx = review.shortlist_ideas(challenge, manager, [e1.id, e2.id, e3.id, x1.id])
    at(T0 + DAY)
    for r in (r1, r2, r3, rx):
        review.start_review(r, manager)
    review.assign_reviewers(r2, manager, [rita.id, rob.id], due_at=T0 + 5 * DAY)
    at(T0 + 2 * DAY)
    review.submit_scorecard(r2, rita, full_scorecard(challenge))
    at(T0 + 3 * DAY)
    review.decide(r1, manager, "accepted", "Saves the most time")
    review.decide(rx, manager, "accepted", "Customers asked for it")
    review.decide(r3, manager, "declined", "Too costly for now", note="internal: budget talk")
    at(T0 + 4 * DAY)
    review.hand_off(r1, manager, olga)
    review.hand_off(rx, manager, olga)
    at(T0 + 5 * DAY)
    review.acknowledge(r1, olga)
    at(T0 + 7 * DAY)
    review.start_work(r1, olga)
    at(T0 + 10 * DAY)
    review.close(r1, olga, "delivered", "Live in Terminal 2")
    at(NOW)
    review.run_deadlines(NOW)
    db.session.commit()
    return {"challenge": challenge, "manager": manager, "ideas": {"E1": e1, "E2": e2, "E3": e3, "X1": x1, "X2": x2},
            "rita": rita, "rob": rob, "olga": olga, "ext": ext, "reviews": {"E1": r1, "X1": rx, "E3": r3}}
