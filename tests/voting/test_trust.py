"""The live path keeps the promises of weights people can trust: networks, proxies,
engaged newcomers, pools on one scale, and explanations in plain words."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.accounts.models import SiteSetting
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.voting import services
from ideas.voting.models import Vote
from ideas.voting.services import Ballot
from tests.challenges.factories import idea_in, open_challenge

SPECIFIC = "Kiosks at the entrance would take the travellers who only need a tag away from the desk queue."


@pytest.fixture
def voting_idea(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", criteria=[challenges.CriterionInput("impact")],
                               hide_counts_until_voted=False)
    idea = idea_in(challenge, make_user(), body="Kiosks at the entrance print tags so travellers skip the desk queue.")
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    return challenge, idea


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.7", "192.168.1.20", "172.17.0.2",
                                     "100.64.3.4", "fe80::1", "not an address", "", None])
def test_loopback_private_and_shared_addresses_are_never_a_voter_network(app, address):
    assert services.voter_network(address) is None


def test_a_public_address_is_a_network_and_ipv6_groups_by_its_64(app):
    assert services.voter_network("8.8.8.8") == services.network_hash("8.8.8.8")
    assert services.voter_network("2a00:1450:4001:81a::200e") == services.voter_network("2a00:1450:4001:81a::1")
    assert services.voter_network("2a00:1450:4001:81a::1") != services.voter_network("2a00:1450:4001:81b::1")


def test_an_untrusted_proxys_address_is_no_voter_network(app):
    assert services.network_of_request("8.8.8.8", {"X-Forwarded-For": "1.2.3.4"}) is None
    app.config["IDEAS_TRUST_PROXY"] = 1
    assert services.network_of_request("8.8.8.8", {"X-Forwarded-For": "1.2.3.4"}) == services.network_hash("8.8.8.8")


def test_every_vote_from_one_address_switches_the_network_rule_off_and_tells_the_administrators(
        app, make_user, voting_idea, caplog):
    from ideas.notifications.models import Notification

    challenge, idea = voting_idea
    admin = make_user(roles=("admin",))
    address = "203.0.113.9"  # a public proxy in front of the site
    earlier = services.cast_vote(idea, make_user(), Ballot(), network=services.network_hash(address))
    with caplog.at_level(logging.WARNING, logger="ideas.voting.services"):
        tripped = [services.observe_vote_address(address, 1000 + k) for k in range(services.ONE_ADDRESS_VOTERS)]
    assert tripped[-1] and not any(tripped[:-1])
    assert "shared-network rule switched off" in caplog.text
    assert services.network_rule_off() and "IDEAS_TRUST_PROXY" in services.network_rule_off()
    assert db.session.get(Vote, earlier.id).network is None  # the proxy's hash is forgotten
    assert services.voter_network("8.8.8.8") is None
    notes = db.session.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert any("IDEAS_TRUST_PROXY" in n.text for n in notes)
    # Trusting the proxy brings the rule back.
    app.config["IDEAS_TRUST_PROXY"] = 1
    assert services.network_rule_off() is None
    assert services.voter_network("8.8.8.8") is not None


def test_people_voting_from_different_addresses_do_not_trip_the_detector(app):
    for k in range(3 * services.ONE_ADDRESS_VOTERS):
        assert not services.observe_vote_address(f"198.51.100.{k % 2}", k)
    assert db.session.get(SiteSetting, services.NETWORK_RULE_KEY) is None


def test_an_engaged_first_day_vote_counts_at_least_half_and_a_fresh_click_at_most_a_twentieth(
        make_user, voting_idea):
    challenge, idea = voting_idea
    newcomer = make_user(pool="external", created_at=clock.now() - timedelta(minutes=40))
    services.record_view(idea, newcomer, now=clock.now() - timedelta(minutes=2))
    engaged = services.cast_vote(idea, newcomer, Ballot(reason=SPECIFIC,
                                                        ratings={c.id: 4 for c in challenge.criteria}))
    clicker = services.cast_vote(idea, make_user(pool="external", created_at=clock.now() - timedelta(minutes=10)),
                                 Ballot())
    db.session.commit()
    assert engaged.weight >= 0.5
    assert clicker.weight <= 0.05
    assert engaged.reason_specificity == 1.0


def test_the_advice_shown_is_what_the_weight_does(make_user, voting_idea):
    challenge, idea = voting_idea
    voter = make_user(created_at=clock.now() - timedelta(days=60))
    click = services.cast_vote(idea, voter, Ballot())
    before = click.weight
    advice = {s.code: s for s in services.explain(click).suggestions}["add_reason"]
    after = services.cast_vote(idea, voter, Ballot(reason=SPECIFIC)).weight
    assert after == pytest.approx(before * advice.multiplier)


def test_a_generic_reason_is_explained_in_plain_words(make_user, voting_idea):
    challenge, idea = voting_idea
    praise = "Great idea, I fully support this and I really think everyone would love it, please make it happen soon!"
    vote = services.cast_vote(idea, make_user(created_at=clock.now() - timedelta(days=60)), Ballot(reason=praise))
    assert vote.reason_specificity == 0.0
    codes = {code: text for code, text in services.explain(vote).discounts}
    assert "says little about this idea" in codes["generic_reason"]


# --- what managers and voters see --------------------------------------------------


def test_a_separate_pools_challenge_shows_each_pools_ranking_and_no_blend(client, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="separate", cross_visibility=True,
                               hide_counts_until_voted=False)
    idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    external = make_user(pool="external")
    login(external)
    page = client.get(f"/challenges/{challenge.id}/ranking").get_data(as_text=True)
    assert "Blended" not in page and "50 % employee score" not in page
    assert 'aria-current="page">Externals' in page  # the viewer's own pool opens first
    assert "separate pools" in page
    # Asking for a blend gets a pool's ranking instead.
    assert "Blended =" not in client.get(f"/challenges/{challenge.id}/ranking?pool=blended").get_data(as_text=True)


def test_a_blended_challenge_opens_on_the_blend(client, make_user, login, voting_idea):
    challenge, _ = voting_idea
    login(make_user())
    page = client.get(f"/challenges/{challenge.id}/ranking").get_data(as_text=True)
    assert 'aria-current="page">Blended' in page


def test_managers_compare_raw_counts_with_weighted_ranks_in_plain_words(client, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", criteria=[challenges.CriterionInput("impact")])
    careful_idea = idea_in(challenge, make_user(), body="Kiosks at the entrance print tags for travellers.")
    pushed = idea_in(challenge, make_user(), title="Pushed idea", summary="Pushed.", body="Pushed by clicks.")
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    now = clock.now()
    for k in range(6):  # fresh one-clicks in a minute
        services.cast_vote(pushed, make_user(created_at=now - timedelta(minutes=20)), Ballot(),
                           now=now + timedelta(seconds=5 * k))
    for reason in (SPECIFIC, "Printing tags at the entrance kiosks means travellers never queue twice.",
                   "Travellers who only drop a bag lose the longest wait; kiosks fix that cheaply."):
        voter = make_user(created_at=now - timedelta(days=200))  # read and reasoned by established people
        services.record_view(careful_idea, voter, now=now - timedelta(minutes=5))
        services.cast_vote(careful_idea, voter, Ballot(reason=reason, ratings={c.id: 4 for c in challenge.criteria}))
    db.session.commit()
    login(challenge.created_by)
    page = client.get(f"/challenges/{challenge.id}/ranking/compare").get_data(as_text=True)
    rose, fell = page.split("Fell with weighting")
    assert careful_idea.title in rose.split("Rose with weighting")[1]
    assert "Pushed idea" in fell.split("The weighted top")[0]
    assert "one of a burst of votes from new or unverified accounts" in fell
    for code in ("few_contributions", "new_account", "not_read", "no_reason", "criteria_not_rated"):
        assert code not in page
    breakdown = client.get(f"/ideas/{pushed.id}/votes").get_data(as_text=True)
    assert "few ideas or comments in the last 90 days" in breakdown
    for code in ("few_contributions", "new_account", "not_read", "no_reason", "criteria_not_rated"):
        assert code not in breakdown


def test_only_managers_see_the_comparison(client, make_user, login, voting_idea):
    challenge, _ = voting_idea
    login(make_user())
    assert client.get(f"/challenges/{challenge.id}/ranking/compare").status_code == 403


def test_a_separate_pools_challenge_suggests_from_each_pools_own_ranking(make_user):
    from ideas.review import services as review

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="separate", cross_visibility=True,
                               review_capacity=2)
    staff_idea = idea_in(challenge, make_user(), title="Staff favourite")
    ideas_for_externals = [idea_in(challenge, make_user(pool="external"), title=f"Customer idea {k}")
                           for k in range(3)]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    old = clock.now() - timedelta(days=300)
    for k in range(3):
        services.cast_vote(staff_idea, make_user(created_at=old), Ballot(), now=clock.now() + timedelta(hours=k))
    for n, idea in enumerate(ideas_for_externals):  # externals are many and vote a lot
        for k in range(8 - 2 * n):
            services.cast_vote(idea, make_user(pool="external", created_at=old), Ballot(),
                               now=clock.now() + timedelta(hours=10 + k))
    db.session.commit()
    suggested = review.suggested_shortlist(challenge, manager)
    assert {s.idea.title for s in suggested} == {"Staff favourite", "Customer idea 0"}
    assert any("the employees' ranking" in why for s in suggested for why in s.why)
    assert any("the externals' ranking" in why for s in suggested for why in s.why)


def test_verifying_the_address_raises_the_open_votes_as_the_advice_promised(make_user, voting_idea, outbox, client):
    import re

    from ideas.accounts import services as accounts
    from ideas.voting.models import IdeaScore

    challenge, idea = voting_idea
    newcomer = make_user(pool="external", verified=False, created_at=clock.now() - timedelta(days=30))
    services.record_view(idea, newcomer, now=clock.now() - timedelta(minutes=3))
    vote = services.cast_vote(idea, newcomer, Ballot(reason=SPECIFIC, ratings={c.id: 4 for c in challenge.criteria}))
    db.session.commit()
    before, support_before = vote.weight, db.session.get(IdeaScore, idea.id).support_external
    assert "identity_unverified" in vote.discounts
    advice = {s.code: s for s in services.explain(vote).suggestions}["verify_email"]
    measured = (vote.seconds_since_view, vote.reason_specificity, vote.account_age_seconds)

    accounts.send_verification(newcomer)
    db.session.commit()
    token = re.search(r"/verify/([^\s]+)", outbox()[-1].body).group(1)
    accounts.verify_email(token)
    db.session.commit()

    vote = db.session.scalar(select(Vote).where(Vote.voter_id == newcomer.id))
    assert vote.weight == pytest.approx(before * advice.multiplier)  # what the page promised
    assert "identity_unverified" not in vote.discounts
    assert (vote.seconds_since_view, vote.reason_specificity, vote.account_age_seconds) == measured
    score = db.session.get(IdeaScore, idea.id, populate_existing=True)
    assert score.support_external == pytest.approx(support_before - before + vote.weight)
    assert score.raw_external == 1


def test_a_one_pool_challenge_blends_to_its_pools_own_score(make_user):
    from ideas.voting import ranking
    from ideas.voting.models import IdeaScore

    # Pure: with one weighted pool no scale applies, whatever the scale would be.
    assert ranking.blended_score({"employee": 0.5, "external": 0.0}, {"employee": 1.0, "external": 0.0},
                                 {"employee": 1.6, "external": 3.0}) == 0.5
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode="employees_only")
    ideas = [idea_in(challenge, make_user(), title=f"Idea {n}") for n in range(3)]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    old = clock.now() - timedelta(days=200)
    for n, idea in enumerate(ideas):
        for _ in range(n + 1):
            services.cast_vote(idea, make_user(created_at=old), Ballot(reason=SPECIFIC))
    db.session.commit()
    for idea in ideas:
        score = db.session.get(IdeaScore, idea.id, populate_existing=True)
        assert score.score_blended == pytest.approx(score.score_employee) and score.score_employee > 0


def test_a_tiny_weight_is_not_shown_as_nothing_and_a_full_vote_is_said_to_count_in_full(
        make_user, voting_idea, client, login, post_form):
    from ideas.voting.weighting import weight_words

    assert weight_words(0.0045) == "less than 0.01" and weight_words(0.0) == "0.00" and weight_words(0.28) == "0.28"
    challenge, idea = voting_idea
    careful = make_user(created_at=clock.now() - timedelta(days=400))
    services.record_view(idea, careful, now=clock.now() - timedelta(minutes=5))
    db.session.commit()
    login(careful)
    response = post_form(f"/ideas/{idea.id}", {"reason": SPECIFIC, f"rating_{challenge.criteria[0].id}": "4",
                                               "value": "1"}, action=f"/ideas/{idea.id}/vote")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    vote = db.session.scalar(select(Vote).where(Vote.voter_id == careful.id))
    assert vote.weight == pytest.approx(1.0)
    assert "Your vote is counted in full." in page and "what would raise it" not in page
