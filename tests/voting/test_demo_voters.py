"""The demo shows the weights a real challenge would: realistic people, honest explanations."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.accounts.models import User
from ideas.challenges.models import Idea
from ideas.demo import load_demo
from ideas.extensions import db
from ideas.voting import services
from ideas.voting.models import Vote
from ideas.voting.services import Ballot


@pytest.fixture
def demo(app, snapshot):
    """The demo, loaded once per run and put back for each test (`snapshot`,
    tests/conftest.py), on a clock stopped at the moment it was loaded."""

    def build():
        clock.set_now(clock.now())
        load_demo()
        db.session.commit()

    snapshot("the demo", build)


def votes_of(name):
    return db.session.scalars(select(Vote).join(User, User.id == Vote.voter_id).where(User.name == name)).all()


def test_demo_weights_are_realistic(demo):
    everything = db.session.scalars(select(Vote)).all()
    assert len(everything) >= 30
    assert len({v.network for v in everything}) >= 10  # distinct networks, two colleagues share an office
    codes = [code for v in everything for code, _ in json.loads(v.discounts)]
    assert "shared_network" not in codes and "reciprocal" not in codes
    assert sum(v.weight >= 0.99 for v in everything) >= 10  # read, reasoned and rated votes count fully
    # Engaged newcomers count from their first days; a click within the hour of joining hardly counts.
    assert all(v.weight >= 0.5 for name in ("Elena Rossi", "Jonas Berg") for v in votes_of(name))
    assert all(v.weight <= 0.05 for v in votes_of("Liam Byrne"))
    assert any(code == "generic_reason" for v in votes_of("Hugo Silva") for code, _ in json.loads(v.discounts))


def test_a_demo_participant_following_the_advice_sees_the_weight_rise_as_promised(demo):
    xavier = db.session.scalar(select(User).where(User.email == "external@customer.example"))
    idea = db.session.scalar(select(Idea).where(Idea.title == "One queue, many desks"))
    click = services.cast_vote(idea, xavier, Ballot())
    assert "new_account" not in {code for code, _ in json.loads(click.discounts)}  # years on the site
    advice = {s.code: s for s in services.explain(click).suggestions}["add_reason"]
    before = click.weight
    reasoned = services.cast_vote(idea, xavier, Ballot(
        reason="A single queue in front of all the desks would stop travellers choosing the slow line."))
    assert reasoned.weight == pytest.approx(before * advice.multiplier)


def test_every_idea_of_the_demo_closed_challenge_ends_somewhere_with_its_own_reason(demo):
    from ideas.challenges.models import Challenge
    from ideas.review.models import IdeaReview
    from ideas.voting.rankings import ranking_page

    baggage = db.session.scalar(select(Challenge).where(Challenge.title == "Faster baggage reclaim"))
    manager = db.session.scalar(select(User).where(User.email == "manager@staff.example"))
    ranked = ranking_page(baggage, manager, "blended")
    decided = {r.idea_id: r for r in db.session.scalars(select(IdeaReview).where(IdeaReview.challenge_id == baggage.id))
               if r.decision}
    assert ranked and all(line.idea.id in decided for line in ranked)  # the top idea too, whichever it is
    reasons = [r.decision_reason for r in db.session.scalars(select(IdeaReview)) if r.decision]
    assert len(reasons) == len(set(reasons))  # each decision in its own words


def test_demo_comments_are_each_persons_own_and_never_on_their_own_idea(demo):
    from ideas.challenges.models import Comment
    from ideas.voting.demo import COMMENTS

    comments = db.session.scalars(select(Comment)).all()
    assert comments
    by_text: dict[str, set[int]] = {}
    for comment in comments:
        if comment.body in COMMENTS:  # a voter's history, not an author answering a question
            assert comment.author_id not in comment.idea.author_ids(), comment.body
        by_text.setdefault(comment.body, set()).add(comment.author_id)
    assert max(len(authors) for authors in by_text.values()) <= 2  # no text said word for word by a crowd
