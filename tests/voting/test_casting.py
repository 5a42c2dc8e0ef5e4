"""Casting, changing and withdrawing votes through the site, with weights explained."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideas import clock
from ideas.challenges import services as challenges
from ideas.errors import ChallengeError
from ideas.extensions import db
from ideas.voting import services, weighting
from ideas.voting.models import IdeaScore, Vote
from ideas.voting.services import Ballot
from tests.challenges.factories import idea_in, open_challenge

REASON = ("Kiosks cut the queue at peak hours because most travellers only need a boarding pass "
          "and a bag tag, which a machine prints faster than a desk agent can.")


@pytest.fixture
def voting_challenge(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", criteria=[
        challenges.CriterionInput("impact", weight=2), challenges.CriterionInput("feasibility")])
    author = make_user()
    idea = idea_in(challenge, author)
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    return challenge, idea, author, manager


def aggregates_match(idea) -> bool:
    score = db.session.get(IdeaScore, idea.id, populate_existing=True)
    rows = db.session.execute(select(Vote.pool, func.sum(Vote.weight), func.count(Vote.id))
                              .where(Vote.idea_id == idea.id, Vote.value > 0).group_by(Vote.pool)).all()
    totals = {pool: (float(w), n) for pool, w, n in rows}
    for pool in ("employee", "external"):
        weight, count = totals.get(pool, (0.0, 0))
        if abs(getattr(score, f"support_{pool}") - weight) > 1e-9 or getattr(score, f"raw_{pool}") != count:
            return False
    return True


def test_read_reasoned_rated_vote_counts_fully_and_quick_click_less(voting_challenge, make_user):
    challenge, idea, _, _ = voting_challenge
    old = clock.now() - timedelta(days=30)
    engaged = make_user(created_at=old)
    quick = make_user(created_at=old)
    services.record_view(idea, engaged, now=clock.now() - timedelta(minutes=2))
    ratings = {c.id: 4 for c in challenge.criteria}
    full = services.cast_vote(idea, engaged, Ballot(reason=REASON, ratings=ratings))
    click = services.cast_vote(idea, quick, Ballot())
    db.session.commit()
    assert full.kind == "ratings" and click.kind == "support"
    # Read, reasoned and rated: the vote counts fully, with nothing discounted and
    # nothing left to raise.
    assert (full.effort, full.standing, full.weight) == (1.0, 1.0, 1.0)
    assert services.explain(full).discounts == [] and services.explain(full).suggestions == []
    # A bare click shows a tenth of that effort (the weighted policy's base), and the
    # voter's thin history (no contributions yet: ×0.6) is taken whole.
    assert click.effort == pytest.approx(0.1) and click.standing == pytest.approx(0.6)
    assert click.weight == pytest.approx(0.06)
    assert {code for code, _ in services.explain(click).discounts} >= {"not_read", "no_reason",
                                                                       "criteria_not_rated", "few_contributions"}
    assert any("×" in s.text for s in services.explain(click).suggestions)
    assert aggregates_match(idea)


def test_one_vote_per_person_changing_it_keeps_aggregates(voting_challenge, make_user):
    _, idea, _, _ = voting_challenge
    voter = make_user()
    services.cast_vote(idea, voter, Ballot())
    services.cast_vote(idea, voter, Ballot(reason=REASON))
    db.session.commit()
    assert db.session.scalar(select(func.count(Vote.id))) == 1
    assert aggregates_match(idea)
    services.withdraw_vote(idea, voter)
    db.session.commit()
    assert db.session.scalar(select(func.count(Vote.id))) == 0
    assert aggregates_match(idea)


def test_own_and_coauthored_ideas_refuse_votes(voting_challenge, make_user):
    _, idea, author, _ = voting_challenge
    with pytest.raises(ChallengeError, match="own"):
        services.cast_vote(idea, author, Ballot())


def test_votes_after_close_are_refused(voting_challenge, make_user):
    challenge, idea, _, _ = voting_challenge
    clock.set_now(clock.now() + timedelta(days=30))
    challenges.tick()
    db.session.commit()
    with pytest.raises(ChallengeError) as refused:
        services.cast_vote(idea, make_user(), Ballot())
    assert refused.value.status == 409


def test_ratings_outside_one_to_five_or_unknown_criteria(voting_challenge, make_user):
    challenge, idea, _, _ = voting_challenge
    voter = make_user()
    with pytest.raises(ChallengeError, match="from 1 to 5"):
        services.cast_vote(idea, voter, Ballot(ratings={challenge.criteria[0].id: 7}))
    with pytest.raises(ChallengeError, match="not one of"):
        services.cast_vote(idea, voter, Ballot(ratings={"beauty": 3}))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_opposition_only_where_allowed(voting_challenge, make_user):
    challenge, idea, _, _ = voting_challenge
    with pytest.raises(ChallengeError, match="support only"):
        services.cast_vote(idea, make_user(), Ballot(value=-1))


def test_budget_policy_limits_supports(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, voting_policy="budget", budget_k=2)
    ideas = [idea_in(challenge, make_user(), title=f"Idea {n}") for n in range(3)]
    challenges.change_phase(challenge, manager, "voting", "go")
    voter = make_user()
    services.cast_vote(ideas[0], voter, Ballot())
    services.cast_vote(ideas[1], voter, Ballot())
    with pytest.raises(ChallengeError, match="2 supports"):
        services.cast_vote(ideas[2], voter, Ballot())
    db.session.rollback()
    services.withdraw_vote(ideas[0], voter)
    services.cast_vote(ideas[2], voter, Ballot())


def test_policy_change_recomputes_every_weight_and_tells_voters(voting_challenge, make_user):
    challenge, idea, _, manager = voting_challenge
    voters = [make_user() for _ in range(3)]
    for voter in voters:
        services.cast_vote(idea, voter, Ballot())
    db.session.commit()
    assert services.policy_locked(challenge)
    with pytest.raises(ChallengeError):
        challenges.update_challenge(challenge, manager, voting_policy="simple")
    db.session.rollback()
    services.change_policy(challenge, manager, "simple", "Too few voters to weigh")
    db.session.commit()
    assert {v.weight for v in db.session.scalars(select(Vote))} == {1.0}
    assert aggregates_match(idea)
    from ideas.notifications.models import Notification

    told = db.session.scalars(select(Notification).where(Notification.kind == "policy")).all()
    assert {n.user_id for n in told} == {v.id for v in voters}
    # What each voter is told: the new policy, and the manager's reason for it.
    assert {n.text for n in told} == {
        f"The voting policy of “{challenge.title}” changed to “every vote counts one”: Too few voters to weigh"}
    # And what each vote's explanation now says: a full vote under the simple policy,
    # nothing discounted, nothing left to raise.
    for vote in db.session.scalars(select(Vote)):
        explanation = services.explain(vote)
        assert (explanation.weight, explanation.policy) == (1.0, weighting.SIMPLE.label)
        assert explanation.discounts == [] and explanation.suggestions == []
    services.change_policy(challenge, manager, "weighted", "Back to weighing")
    db.session.commit()
    assert all(v.weight < 1.0 for v in db.session.scalars(select(Vote)))
    assert aggregates_match(idea)
    for vote in db.session.scalars(select(Vote)):
        explanation = services.explain(vote)
        assert explanation.policy == weighting.WEIGHTED.label and explanation.weight == vote.weight
        assert {code for code, _ in explanation.discounts} >= {"not_read", "no_reason"}
        assert {s.code for s in explanation.suggestions} >= {"read_first", "add_reason"}


def test_vote_page_flow_explains_the_weight(client, voting_challenge, make_user, login, post_form):
    _, idea, _, _ = voting_challenge
    voter = make_user()
    login(voter)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Counts are shown once you have voted" in page
    response = post_form(f"/ideas/{idea.id}", {"reason": "short one", "value": "1"},
                         action=f"/ideas/{idea.id}/vote", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Your vote counts" in page and "What would raise it" in page and "×" in page
    assert "Support so far" in page


def test_a_refused_vote_keeps_what_was_typed_with_the_message_next_to_the_field(
        client, voting_challenge, make_user, login, post_form):
    challenge, idea, _, _ = voting_challenge
    impact, feasibility = challenge.criteria
    login(make_user())
    response = post_form(f"/ideas/{idea.id}", {"reason": REASON, "value": "1", f"rating_{impact.id}": "4",
                                                f"rating_{feasibility.id}": "9"},
                         action=f"/ideas/{idea.id}/vote")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your vote was not counted" in page
    assert REASON in page                                    # the reason is still in its box
    assert f'id="rating_{impact.id}"' in page and 'value="4"' in page
    assert f'id="rating_{feasibility.id}-error">Rate from 1 to 5.' in page
    assert 'action="/ideas/%d/vote#vote"' % idea.id in page   # the answer opens on the form
    assert db.session.scalar(select(func.count(Vote.id))) == 0
    # Changing a vote that counts: the refusal says the earlier vote still stands.
    post_form(f"/ideas/{idea.id}", {"reason": "", "value": "1"}, action=f"/ideas/{idea.id}/vote")
    response = post_form(f"/ideas/{idea.id}", {"reason": REASON, "value": "1", f"rating_{impact.id}": "0"},
                         action=f"/ideas/{idea.id}/vote")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your vote was not changed: your earlier vote still counts as it was." in page
    assert "Your vote was not counted" not in page
    assert db.session.scalar(select(func.count(Vote.id))) == 1


def test_a_vote_the_rules_refuse_says_why_on_the_idea_page(client, voting_challenge, make_user, login,
                                                             post_form):
    challenge, idea, author, _ = voting_challenge
    login(author)
    response = post_form(f"/ideas/{idea.id}", {"reason": REASON, "value": "1"}, action=f"/ideas/{idea.id}/vote")
    assert response.status_code == 403
    assert "You cannot vote on your own or a co-authored idea." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_ranking_orders_by_weighted_support_per_pool_and_blended(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode="blended", pool_weight_employee=0.5, pool_weight_external=0.5)
    liked_inside = idea_in(challenge, make_user(), title="Liked by staff")
    liked_outside = idea_in(challenge, make_user(), title="Liked by customers")
    challenges.change_phase(challenge, manager, "voting", "go")
    old = clock.now() - timedelta(days=60)
    for _ in range(6):
        services.cast_vote(liked_inside, make_user(created_at=old), Ballot(reason=REASON))
    for _ in range(3):
        services.cast_vote(liked_outside, make_user(pool="external", created_at=old), Ballot(reason=REASON))
    db.session.commit()
    employee = services.ranking_page(challenge, manager, "employee")
    external = services.ranking_page(challenge, manager, "external")
    blended = services.ranking_page(challenge, manager, "blended")
    assert employee[0].idea.id == liked_inside.id
    assert external[0].idea.id == liked_outside.id
    assert [line.position for line in blended] == [1, 2]
    for line in blended:
        assert line.score <= 0.5 + 1e-9  # each pool adds at most its weight
    with pytest.raises(ChallengeError):
        services.ranking_page(challenge, manager, "everyone")


def test_every_published_idea_is_ranked_and_the_blend_follows_new_weights(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_weight_employee=0.5, pool_weight_external=0.5)
    voted = idea_in(challenge, make_user(), title="Voted")
    idea_in(challenge, make_user(), title="Not yet voted")
    challenges.change_phase(challenge, manager, "voting", "go")
    old = clock.now() - timedelta(days=60)
    for _ in range(3):
        services.cast_vote(voted, make_user(created_at=old), Ballot(reason=REASON))
    db.session.commit()
    lines = services.ranking_page(challenge, manager, "blended")
    assert [line.idea.title for line in lines] == ["Voted", "Not yet voted"]
    before = lines[0].score
    challenges.update_challenge(challenge, manager, pool_weight_employee=1.0, pool_weight_external=0.0)
    db.session.commit()
    after = services.ranking_page(challenge, manager, "blended")[0].score
    assert after == pytest.approx(before * 2)


def test_an_id_too_large_for_the_database_is_not_found(client):
    assert client.get("/ideas/99999999999999999999999").status_code == 404
    assert client.get("/api/v1/ideas/99999999999999999999999").status_code in (401, 404)


def test_the_charter_form_refuses_another_policy_once_votes_exist(voting_challenge, make_user):
    challenge, idea, _, manager = voting_challenge
    challenges.update_challenge(challenge, manager, voting_policy="simple")  # no vote yet: it changes
    db.session.commit()
    assert challenge.voting_policy == "simple"

    services.cast_vote(idea, make_user(), Ballot())
    db.session.commit()
    with pytest.raises(ChallengeError) as refused:
        challenges.update_challenge(challenge, manager, voting_policy="weighted")
    assert refused.value.field == "voting_policy"
    assert "change the policy from the voting settings" in refused.value.message
    db.session.rollback()
    assert db.session.get(type(challenge), challenge.id, populate_existing=True).voting_policy == "simple"


def test_a_new_challenge_starts_with_both_pools_scales_at_zero_and_each_idea_with_a_score_row(make_user):
    """The first votes, cast at once, lock the pools' scale rows a challenge is created with
    (none of them has to create them); an idea is ranked from the moment it is published,
    and publishing it again (a second submitter's event, a replay) keeps its one row."""
    from ideas.voting.models import PoolScale

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    # A setting changed before any idea: the scales stay at zero.
    challenges.update_challenge(challenge, manager, pool_weight_employee=0.7, pool_weight_external=0.3)
    db.session.commit()
    scales = db.session.scalars(select(PoolScale).where(PoolScale.challenge_id == challenge.id)
                                .order_by(PoolScale.pool)).all()
    assert [(s.pool, s.heard, s.applied_best, s.applied_heard) for s in scales] == [
        ("employee", 0.0, 0.0, 0.0), ("external", 0.0, 0.0, 0.0)]

    idea = idea_in(challenge, make_user())
    services.ensure_score(idea)
    db.session.commit()
    rows = db.session.scalars(select(IdeaScore).where(IdeaScore.challenge_id == challenge.id)).all()
    assert [(r.idea_id, r.raw_employee, r.support_employee, r.score_blended) for r in rows] == [
        (idea.id, 0, 0.0, 0.0)]


def test_a_vote_on_an_idea_without_a_score_row_writes_the_row_and_counts(voting_challenge, make_user):
    """An idea whose score row is missing (published before score rows existed, a row lost
    to a bad restore) takes its first vote all the same: the vote writes the row."""
    from sqlalchemy import delete

    _challenge, idea, _author, _ = voting_challenge
    db.session.execute(delete(IdeaScore).where(IdeaScore.idea_id == idea.id))
    db.session.commit()
    vote = services.cast_vote(idea, make_user(), Ballot())
    db.session.commit()
    score = db.session.get(IdeaScore, idea.id, populate_existing=True)
    assert (score.raw_employee + score.raw_external, score.support_employee + score.support_external) == (
        1, pytest.approx(vote.weight))
    assert aggregates_match(idea)
