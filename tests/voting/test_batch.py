"""Recomputing after a policy change gives every vote exactly what a live vote gets."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ideas.accounts.models import User
from ideas.archive.synthetic import synthetic_archive
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea
from ideas.extensions import db
from ideas.voting import batch, collusion, ranking, services, weighting
from ideas.voting.models import IdeaScore, Vote
from ideas.voting.services import Ballot
from tests.archive.test_bulk_import import cast_live, same_scores, scores_of, votes_of
from tests.challenges.factories import idea_in, open_challenge


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",))


def test_a_policy_change_leaves_no_stale_discount(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", criteria=[challenges.CriterionInput("impact")])
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "go")
    click = services.cast_vote(idea, make_user(), Ballot())  # a fresh account, one click
    db.session.commit()
    before = (click.weight, click.discounts)
    assert {code for code, _ in json.loads(click.discounts)} >= {
        "not_read", "no_reason", "criteria_not_rated", "new_account", "few_contributions"}

    services.change_policy(challenge, manager, "simple", "Too few voters to weigh")
    db.session.commit()
    vote = db.session.get(Vote, click.id)
    assert (vote.weight, json.loads(vote.discounts), vote.policy) == (1.0, [], "simple/1")
    assert services.explain(vote).discounts == [] and services.explain(vote).suggestions == []
    assert services.breakdown(idea)["causes"] == {}

    services.change_policy(challenge, manager, "weighted", "Back to weighing")
    db.session.commit()
    vote = db.session.get(Vote, click.id)
    assert (vote.weight, vote.discounts) == before


def test_a_vote_caught_by_the_collusion_rules_keeps_its_causes_through_simple_and_back(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "go")
    ring = [services.cast_vote(idea, make_user(), Ballot()) for _ in range(6)]  # a burst of fresh accounts
    db.session.commit()
    live = {v.id: (v.weight, v.discounts, v.collusion) for v in ring}
    assert any("burst" in v.discounts for v in ring)
    services.change_policy(challenge, manager, "simple", "Counting heads for a day")
    db.session.commit()
    assert all("burst" not in db.session.get(Vote, v.id).discounts for v in ring)
    services.change_policy(challenge, manager, "weighted", "Back")
    db.session.commit()
    assert {v.id: (db.session.get(Vote, v.id).weight, db.session.get(Vote, v.id).discounts,
                   db.session.get(Vote, v.id).collusion) for v in ring} == live


def test_a_burst_cast_one_request_at_a_time_is_weighed_as_in_one_session(make_user):
    """Each request has a session of its own: the earlier votes a new one re-judges are
    then read as rows and written in one statement, not changed on objects the session
    holds. Both ways give every vote the same weight, and the aggregates their sum."""
    manager_id = make_user(roles=("manager",)).id
    results = []
    for apart in (False, True):
        manager = db.session.get(User, manager_id)
        challenge = open_challenge(manager)
        idea = idea_in(challenge, make_user())
        challenges.change_phase(challenge, manager, "voting", "go")
        voters = [make_user() for _ in range(6)]  # fresh accounts, one click each: a burst
        db.session.commit()
        idea_id, voter_ids = idea.id, [v.id for v in voters]
        for voter_id in voter_ids:
            if apart:
                db.session.expunge_all()
            services.cast_vote(db.session.get(Idea, idea_id), db.session.get(User, voter_id), Ballot())
            db.session.commit()
        db.session.expunge_all()
        votes = db.session.scalars(select(Vote).where(Vote.idea_id == idea_id).order_by(Vote.id)).all()
        score = db.session.get(IdeaScore, idea_id)
        assert score.support_employee == pytest.approx(sum(v.weight for v in votes))
        results.append([(v.weight, v.collusion, v.collusion_discounts) for v in votes])
    assert any("burst" in discounts for _, _, discounts in results[1])
    assert results[0] == results[1]


@pytest.mark.parametrize("seed", [5])
def test_recomputed_in_bulk_every_vote_gets_what_the_live_path_gives(admin, seed):
    # Random votes, cast live one by one under each policy in turn (each run on its own);
    # then the weighted run switched to simple and back, recomputed in bulk, must match them.
    document = synthetic_archive(votes=45, seed=seed, days=2, ideas=4)
    simple_document = {**document, "challenge": {**document["challenge"], "voting_policy": "simple"}}
    live_simple = cast_live(simple_document)
    expected_simple = votes_of(live_simple), scores_of(live_simple)
    db.session.rollback()

    challenge = cast_live(document)
    expected_weighted = votes_of(challenge), scores_of(challenge)
    assert any(v["collusion"] < 1 for v in expected_weighted[0].values())
    for policy, expected in (("simple", expected_simple), ("weighted", expected_weighted)):
        services.change_policy(challenge, admin, policy, "Trying the other policy")
        db.session.flush()
        assert votes_of(challenge) == expected[0], policy
        same_scores(scores_of(challenge), expected[1])


def test_the_pure_functions_are_what_recompute_rescore_and_import_run(admin, make_user, monkeypatch):
    calls: dict[str, int] = {}

    def spy(module, name):
        real = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, counted)

    for module, name in ((weighting, "weight_for"), (ranking, "aggregate"), (ranking, "pool_score"),
                         (ranking, "blended_score"), (collusion, "collusion_factors")):
        spy(module, name)
    from ideas.archive import import_archive

    challenge = import_archive(synthetic_archive(votes=40, seed=9, ideas=4))
    assert {"weight_for", "aggregate", "pool_score", "blended_score", "collusion_factors"} <= set(calls)
    votes = db.session.scalar(select(db.func.count(Vote.id)).where(Vote.challenge_id == challenge.id))
    calls.clear()
    services.change_policy(challenge, admin, "simple", "Counting heads")
    assert calls["weight_for"] >= 1 and calls["aggregate"] >= 1 and calls["blended_score"] >= 1
    assert calls["weight_for"] <= 2 * votes
    calls.clear()
    challenges.update_challenge(challenge, admin, pool_weight_employee=0.7, pool_weight_external=0.3)
    assert calls.get("blended_score", 0) >= 1


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # a busy machine is not a failure
@given(st.builds(
    weighting.VoteSignals,
    kind=st.sampled_from(sorted(weighting.VOTE_KINDS)), viewed_before=st.booleans(),
    seconds_since_view=st.none() | st.floats(0, 600), idea_word_count=st.integers(0, 2000),
    reason_word_count=st.integers(0, 80), reason_is_near_copy=st.booleans(), criteria_rated=st.booleans(),
    has_criteria=st.booleans(), identity=st.sampled_from(sorted(weighting.IDENTITIES)),
    account_age_seconds=st.floats(0, 1e8), contributions_90d=st.integers(0, 10),
    is_author_or_coauthor=st.booleans(), pair_same_side_ratio=st.floats(0, 1), pair_answers=st.integers(0, 40)),
    st.sampled_from(sorted(weighting.POLICIES)))
def test_every_discount_code_the_rules_give_is_one_an_archive_may_name(signals, policy):
    weight = weighting.weight_for(signals, weighting.POLICIES[policy])
    assert {d.code for d in weight.discounts} <= batch.DISCOUNT_CODES


def test_every_collusion_code_is_one_an_archive_may_name():
    facts = [collusion.VoteFact(vote_id=n, voter_id=n % 7, idea_id=n % 3, author_ids={100 + n % 3, n % 5},
                                at=n * 4.0, standing=0.1, effort=0.1, network="one") for n in range(60)]
    codes = {d.code for found in collusion.collusion_factors(facts).values() for d in found.discounts}
    assert codes and codes <= batch.DISCOUNT_CODES


def test_pairwise_answers_are_weighed_again_after_a_policy_change(make_user):
    from ideas import clock
    from ideas.voting import pairwise
    from ideas.voting.models import IdeaScore, PairShown

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", voting_policy="pairwise")
    ideas = [idea_in(challenge, make_user(), title=f"Idea number {n}") for n in range(3)]
    challenges.change_phase(challenge, manager, "voting", "Go")
    db.session.commit()
    hasty, careful = make_user(), make_user()
    for voter, wait in ((hasty, 1), (careful, 120)):
        for _ in range(3):
            pair = services.next_pair(challenge, voter)
            clock.set_now(clock.now() + timedelta(seconds=wait))
            services.answer_pair(challenge, voter, pair.id, "left")
    db.session.commit()
    answers = list(db.session.scalars(select(PairShown).where(PairShown.answered_at.is_not(None))))
    live = {a.id: a.weight for a in answers}
    assert min(live.values()) < 0.5  # answered before the pair could be read
    for a in answers:  # the weight is weight_for of the stored signals, whose effort is pairwise.answer_weight
        signals = services.answer_signals(a)
        weight = weighting.weight_for(signals, services.active_policy(challenge))
        assert a.weight == weight.value
        assert weight.effort == pairwise.answer_weight(signals.seconds_since_view, weighting.read_seconds_needed(
            signals.idea_word_count), signals.pair_same_side_ratio, signals.pair_answers)
    scores = {i.id: db.session.get(IdeaScore, i.id).score_pairwise for i in ideas}

    services.change_policy(challenge, manager, "simple", "Every answer counts alike for now")
    db.session.commit()
    assert {a.id: db.session.get(PairShown, a.id).weight for a in answers} == {a.id: 1.0 for a in answers}
    services.change_policy(challenge, manager, "pairwise", "Back to weighing the answers")
    db.session.commit()
    assert {a.id: db.session.get(PairShown, a.id).weight for a in answers} == live
    assert {i.id: db.session.get(IdeaScore, i.id).score_pairwise for i in ideas} == pytest.approx(scores)


def test_a_challenge_read_by_ranges_of_ids_or_idea_by_idea_recomputes_alike(make_user, monkeypatch):
    """SQLite reads a challenge that fills its id span by ranges of ids, and one whose votes
    are scattered among another challenge's idea by idea (PostgreSQL always idea by idea):
    either way every vote is weighed again, and each idea's votes add up across chunks."""
    manager = make_user(roles=("manager",))
    sparse, busy = (open_challenge(manager, phase="submission") for _ in range(2))
    ideas = [idea_in(sparse, make_user()), idea_in(sparse, make_user()), idea_in(busy, make_user())]
    for challenge in (sparse, busy):
        challenges.change_phase(challenge, manager, "voting", "go")
    for n in range(4):
        services.cast_vote(ideas[n % 2], make_user(), Ballot())
        for _ in range(3):  # the busy challenge's votes come in between
            services.cast_vote(ideas[2], make_user(), Ballot())
    db.session.commit()
    read: dict[str, int] = {}
    for name in ("_votes_of", "_votes_between"):
        real = getattr(batch, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            read[_name] = read.get(_name, 0) + 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(batch, name, counted)
    sqlite = db.session.connection().dialect.name == "sqlite"

    for challenge, by_ranges in ((sparse, False), (busy, sqlite)):
        before = {v.id: (v.weight, v.discounts) for v in db.session.scalars(
            select(Vote).where(Vote.challenge_id == challenge.id))}
        read.clear()
        services.change_policy(challenge, manager, "simple", "Counting heads")
        db.session.commit()
        assert ("_votes_between" in read) == by_ranges and ("_votes_of" in read) != by_ranges
        votes = list(db.session.scalars(select(Vote).where(Vote.challenge_id == challenge.id)))
        assert {(v.weight, v.discounts) for v in votes} == {(1.0, "[]")}
        for idea in ideas[:2] if challenge is sparse else ideas[2:]:  # every vote of the idea, in whatever chunk
            score = db.session.get(IdeaScore, idea.id)
            mine = [v for v in votes if v.idea_id == idea.id]
            assert (score.raw_employee + score.raw_external, score.support_employee + score.support_external) == (
                len(mine), pytest.approx(sum(v.weight for v in mine)))
        services.change_policy(challenge, manager, "weighted", "Back")
        db.session.commit()
        assert {v.id: (v.weight, v.discounts) for v in db.session.scalars(
            select(Vote).where(Vote.challenge_id == challenge.id))} == before
