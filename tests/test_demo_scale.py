"""`ideas demo --scale`: refuses what it cannot do, and stores what the live path would."""
from __future__ import annotations

from sqlalchemy import func, select

from ideas import demo_scale
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db
from ideas.voting import services, signals, weighting
from ideas.voting.models import IdeaScore, Vote


def test_an_unknown_scale_is_refused_with_the_known_ones(app):
    result = app.test_cli_runner().invoke(args=["ideas", "demo", "--scale", "huge"])
    assert result.exit_code != 0
    assert "Unknown scale 'huge': choose one of small, medium, large." in result.output


def test_a_database_with_data_is_refused_without_force(app, make_user):
    make_user()
    result = app.test_cli_runner().invoke(args=["ideas", "demo", "--scale", "small"])
    assert result.exit_code != 0
    assert "already holds data" in result.output and "--force" in result.output
    assert db.session.scalar(select(func.count(Idea.id))) == 0


def test_scale_data_carries_the_weights_and_scores_of_the_live_rules(app, monkeypatch):
    monkeypatch.setitem(demo_scale.SCALES, "tiny", demo_scale.Scale(
        people=120, challenges=10, ideas=150, biggest=40, comments=200, votes=1500))
    printed = demo_scale.load_scale("tiny", echo=lambda _line: None)
    assert "150 ideas" in printed and "ideas in the search index" in printed
    assert db.session.scalar(select(func.count(Challenge.id))) == 10
    assert db.session.scalar(select(func.count(Vote.id))) > 1000
    # Every stored weight is what the weighting rules give for the stored signals.
    for vote in db.session.scalars(select(Vote)):
        idea = db.session.get(Idea, vote.idea_id)
        policy = services.active_policy(idea.challenge)
        expected = weighting.weight_for(signals._signals_for(vote, idea), policy,
                                        weighting.Collusion(vote.collusion, ()))
        assert abs(expected.value - vote.weight) < 1e-9 and vote.policy == policy.label
    # And the stored scores are what rebuilding them from the votes gives.
    before = {s.idea_id: (round(s.score_blended, 9), s.raw_employee, s.raw_external, s.disagree)
              for s in db.session.scalars(select(IdeaScore))}
    for challenge in db.session.scalars(select(Challenge)).all():
        services.rebuild_scores(challenge)
    after = {s.idea_id: (round(s.score_blended, 9), s.raw_employee, s.raw_external, s.disagree)
             for s in db.session.scalars(select(IdeaScore))}
    assert after == before
    db.session.rollback()
