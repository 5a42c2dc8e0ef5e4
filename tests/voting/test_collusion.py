"""Mass and coordinated votes: bursts, shared networks, lockstep, reciprocal pairs, one voter's burst."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ideas.voting.collusion import LIVE, ContextBounds, VoteFact, Votes, collusion_factors, context_for
from ideas.voting.weighting import DAY, WEIGHTED, VoteSignals, effort, standing, weight_for

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

FAST = settings(max_examples=40, deadline=None)
T0 = 1_800_000_000.0  # any instant; the rules only look at differences


def fact(vote_id, voter, idea, at, *, authors=(), standing=1.0, effort=1.0, network=None, value=1,
         account_age=None, copied=False):
    return VoteFact(vote_id=vote_id, voter_id=voter, idea_id=idea, author_ids=frozenset(authors), at=at,
                    standing=standing, effort=effort, network=network, value=value, account_age=account_age,
                    copied=copied)


def codes(result, vote_id):
    return [d.code for d in result[vote_id].discounts]


# --- (a) burst on one idea -----------------------------------------------------------


def test_twenty_fresh_accounts_in_a_minute_count_as_one_plus_a_tenth_of_the_rest():
    votes = [fact(k, f"new{k}", "i1", T0 + 3 * k, standing=0.1) for k in range(20)]
    result = collusion_factors(votes)
    factors = sorted(c.factor for c in result.values())
    assert factors == [0.1] * 19 + [1.0]
    assert sum(factors) == pytest.approx(1 + 1.9)
    assert codes(result, 5) == ["burst"]


def test_the_same_fresh_votes_spread_over_days_are_not_a_burst():
    votes = [fact(k, f"new{k}", "i1", T0 + k * DAY, standing=0.1) for k in range(20)]
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


def test_established_voters_arriving_together_are_not_a_burst():
    votes = [fact(k, f"old{k}", "i1", T0 + 3 * k, standing=0.8) for k in range(20)]
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


def test_the_largest_vote_of_a_cluster_is_the_one_kept_whole():
    votes = [fact(k, f"new{k}", "i1", T0 + k, standing=0.1, effort=0.25) for k in range(6)]
    votes.append(fact(99, "careful", "i1", T0 + 10, standing=0.2, effort=1.0))
    result = collusion_factors(votes)
    assert result[99].factor == 1.0
    assert all(result[k].factor == 0.1 for k in range(6))


# --- (b) shared network --------------------------------------------------------------


def test_ten_accounts_on_one_network_count_at_most_two_votes_worth():
    # Sockpuppets that took care: ten days old, e-mail verified, read the idea and
    # wrote a reason each, and spread their votes over a week.
    signals = VoteSignals(kind="reason", viewed_before=True, seconds_since_view=90.0, idea_word_count=300,
                          reason_word_count=30, criteria_rated=True, identity="external_verified",
                          account_age_seconds=10 * DAY, contributions_90d=0)
    one = weight_for(signals).value
    # The network alone would not do: what gives them away is ten accounts, fresh
    # and created one after another, on one network.
    votes = [fact(k, f"puppet{k}", "i1", T0 + k * 17 * 3600, standing=standing(signals), effort=effort(signals),
                  network="net-hash-1", account_age=10 * DAY) for k in range(10)]
    result = collusion_factors(votes)
    total = sum(weight_for(signals, WEIGHTED, result[k]).value for k in range(10))
    assert total <= 2 * one
    assert total == pytest.approx(1.9 * one)
    assert {code for k in range(10) for code in codes(result, k)} == {"shared_network"}


def test_verified_employees_sharing_their_office_network_are_not_a_cluster():
    votes = [fact(k, f"emp{k}", "i1", T0 + k * 600, standing=0.8, network="office") for k in range(10)]
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


def test_eight_established_people_on_one_network_with_their_own_reasons_at_their_own_times_are_not_clustered():
    # An office, a university, a mobile carrier: one network, eight people, each
    # with a reason of their own, hours apart, accounts years old.
    votes = [fact(k, f"colleague{k}", "i1", T0 + k * 5 * 3600, standing=1.0, effort=1.0, network="office",
                  account_age=(400 + 37 * k) * DAY) for k in range(8)]
    votes += [fact(100 + k, f"colleague{k}", f"other{k % 3}-{k}", T0 + k * 3600, network="office",
                   account_age=400 * DAY) for k in range(8)]
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


@pytest.mark.parametrize("clue", ["timing", "copied", "fresh", "covoting"])
def test_a_shared_network_counts_together_with_a_second_clue(clue):
    def on_network(k, **kw):
        at = T0 + (k * 60 if clue == "timing" else k * 5 * 3600)
        return fact(k, f"v{k}", "i1", at, network="net", account_age=(10 * DAY if clue == "fresh" else 400 * DAY),
                    copied=clue == "copied", **kw)

    votes = [on_network(k) for k in range(4)]
    if clue == "covoting":
        votes += [fact(10 * (k + 1) + j, f"v{k}", f"also{j}", T0 + DAY * (j + 1) + k * 4000, network="net")
                  for k in range(4) for j in range(2)]
    result = collusion_factors(votes)
    assert sorted(result[k].factor for k in range(4)) == [0.1, 0.1, 0.1, 1.0]
    assert codes(result, 3) == ["shared_network"] or codes(result, 0) == ["shared_network"]


def test_a_network_shared_across_different_ideas_is_no_cluster():
    votes = [fact(k, f"v{k}", f"i{k}", T0 + k * 600, standing=0.3, network="cafe") for k in range(5)]
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


# --- (c) lockstep --------------------------------------------------------------------


def lockstep_group(voters, ideas, start, gap=20.0, standing=0.8):
    votes, n = [], 0
    for i, idea in enumerate(ideas):
        for k, voter in enumerate(voters):
            votes.append(fact(f"{voter}-{idea}", voter, idea, start + i * 3 * 3600 + k * gap, standing=standing))
            n += 1
    return votes


def test_voters_acting_on_the_same_ideas_in_the_same_minutes_form_a_cluster_on_each():
    votes = lockstep_group(["a", "b", "c", "d"], ["i1", "i2", "i3"], T0)
    result = collusion_factors(votes)
    for idea in ("i1", "i2", "i3"):
        factors = sorted(result[f"{v}-{idea}"].factor for v in "abcd")
        assert factors == [0.1, 0.1, 0.1, 1.0]
    assert "lockstep" in codes(result, "b-i1")


def test_the_same_voters_on_the_same_ideas_at_different_times_are_independent():
    votes = lockstep_group(["a", "b", "c", "d"], ["i1", "i2", "i3"], T0, gap=3600.0)
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


def test_two_ideas_in_common_are_not_yet_lockstep():
    votes = lockstep_group(["a", "b", "c", "d"], ["i1", "i2"], T0)
    assert all(c.factor == 1.0 for c in collusion_factors(votes).values())


# --- (d) reciprocal pairs ------------------------------------------------------------


def test_two_people_who_repeatedly_vote_for_each_other_count_half():
    votes = [fact(k, "ann", f"bob-idea{k}", T0 + k * DAY, authors={"bob"}) for k in range(3)]
    votes += [fact(10 + k, "bob", f"ann-idea{k}", T0 + (5 + k) * DAY, authors={"ann"}) for k in range(3)]
    votes.append(fact(20, "cat", "ann-idea0", T0 + 2 * DAY, authors={"ann"}))
    result = collusion_factors(votes)
    assert {result[k].factor for k in (0, 1, 2, 10, 11, 12)} == {0.5}
    assert codes(result, 0) == ["reciprocal"]
    assert result[20].factor == 1.0


def test_one_mutual_vote_each_way_is_not_reciprocal():
    votes = [
        fact(1, "ann", "bob-idea", T0, authors={"bob"}),
        fact(2, "bob", "ann-idea", T0 + 5 * DAY, authors={"ann"}),
        fact(3, "cat", "ann-idea", T0 + 2 * DAY, authors={"ann"}),
    ]
    result = collusion_factors(votes)
    assert {c.factor for c in result.values()} == {1.0}


def test_someone_voting_for_my_idea_after_i_voted_for_theirs_leaves_my_weight_alone():
    mine = fact(1, "ann", "bob-idea", T0, authors={"bob"}, standing=0.3, effort=0.6)
    before = collusion_factors([mine])[1]
    after = collusion_factors([mine, fact(2, "bob", "ann-idea", T0 + DAY, authors={"ann"})])[1]
    assert after == before


def test_supporting_each_other_among_many_other_votes_is_not_reciprocal():
    votes = [fact(1, "ann", "bob-idea", T0, authors={"bob"}), fact(2, "bob", "ann-idea", T0 + DAY, authors={"ann"})]
    votes += [fact(10 + k, "ann", f"other{k}", T0 + (k + 2) * DAY, authors={f"x{k}"}) for k in range(3)]
    result = collusion_factors(votes)
    # Bob mostly supports Ann, but Ann mostly supports others: not a pair.
    assert result[1].factor == result[2].factor == 1.0


def test_a_ring_of_five_is_caught_pair_by_pair():
    members = [f"r{k}" for k in range(5)]
    votes = [
        fact(f"{m}>{o}", m, f"{o}-idea", T0 + (i * 5 + j) * DAY, authors={o})
        for i, m in enumerate(members) for j, o in enumerate(members) if m != o
    ]
    assert {c.factor for c in collusion_factors(votes).values()} == {0.5}


# --- (e) one voter's burst -----------------------------------------------------------


def test_many_votes_by_one_voter_within_seconds_are_discounted():
    votes = [fact(k, "clicker", f"i{k}", T0 + 4 * k) for k in range(6)]
    result = collusion_factors(votes)
    assert {c.factor for c in result.values()} == {0.5}
    assert codes(result, 0) == ["voter_burst"]
    slower = [fact(k, "reader", f"i{k}", T0 + 60 * k) for k in range(6)]
    assert {c.factor for c in collusion_factors(slower).values()} == {1.0}


# --- the contract --------------------------------------------------------------------


def test_votes_on_ones_own_idea_are_left_out_of_every_rule():
    votes = [fact(k, f"new{k}", "i1", T0 + k, standing=0.1, authors={"new0"}) for k in range(5)]
    result = collusion_factors(votes)
    assert all(c.factor == 1.0 for c in result.values())  # four counted votes: below the burst size


def test_times_may_be_datetimes_and_naive_ones_are_utc():
    aware = fact(1, "a", "i", datetime(2026, 9, 4, 9, 0, tzinfo=UTC))
    naive = fact(2, "b", "i", datetime(2026, 9, 4, 9, 0))
    assert aware.at == naive.at == datetime(2026, 9, 4, 9, 0, tzinfo=UTC).timestamp()


def test_a_repeated_vote_id_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        collusion_factors([fact(1, "a", "i", T0), fact(1, "b", "i", T0)])


def test_a_standing_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError):
        fact(1, "a", "i", T0, standing=2.0)


def crowd(data):
    """A random small challenge with bursts, shared networks, rings and ordinary votes."""
    n = data.draw(st.integers(1, 60))
    voters = [f"u{k}" for k in range(data.draw(st.integers(2, 12)))]
    ideas = [f"i{k}" for k in range(data.draw(st.integers(1, 6)))]
    authors = {idea: frozenset(data.draw(st.lists(st.sampled_from(voters), min_size=1, max_size=2)))
               for idea in ideas}
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(voters), st.sampled_from(ideas)),
                               min_size=1, max_size=n, unique=True))
    votes = []
    for k, (voter, idea) in enumerate(pairs):
        votes.append(fact(
            k, voter, idea,
            T0 + data.draw(st.sampled_from([0.0, 5.0, 30.0, 200.0, 900.0, 3600.0, DAY])) * data.draw(st.integers(0, 5)),
            authors=authors[idea],
            standing=data.draw(st.sampled_from([0.05, 0.2, 0.42, 0.8, 1.0])),
            effort=data.draw(st.sampled_from([0.25, 0.5, 1.0])),
            network=data.draw(st.sampled_from([None, "n1", "n2"])),
            value=data.draw(st.sampled_from([1, 1, 1, -1])),
        ))
    return votes


@FAST
@given(st.data())
def test_the_result_does_not_depend_on_the_order_of_the_list(data):
    votes = crowd(data)
    shuffled = list(votes)
    random.Random(data.draw(st.integers(0, 10_000))).shuffle(shuffled)
    assert collusion_factors(shuffled) == collusion_factors(votes)


@FAST
@given(st.data())
def test_factors_stay_within_zero_and_one(data):
    for found in collusion_factors(crowd(data)).values():
        assert 0.0 <= found.factor <= 1.0


@FAST
@given(st.data())
def test_one_ideas_context_gives_the_same_factors_as_the_whole_challenge(data):
    votes = crowd(data)
    whole = collusion_factors(votes)
    for idea in {v.idea_id for v in votes}:
        context = context_for(idea, votes)
        assert {v.vote_id for v in context.judged} == {v.vote_id for v in votes if v.idea_id == idea}
        bounded = collusion_factors(context.facts, ideas={idea})
        assert bounded == {v.vote_id: whole[v.vote_id] for v in votes if v.idea_id == idea}


def test_a_ring_whose_partners_never_voted_on_the_idea_is_seen_from_the_ideas_context():
    # a and b support each other's ideas; c and d support a's other idea and b's, and a and b
    # theirs, without ever voting on ia: whether most of a's and b's supports go to people
    # who support them back needs c's and d's votes.
    authors = {"ia": {"a"}, "ia2": {"a"}, "ib": {"b"}, "ic": {"c"}, "id": {"d"}}
    pairs = [("b", "ia"), ("a", "ib"), ("a", "ic"), ("c", "ia2"), ("a", "id"), ("d", "ia2"),
             ("b", "ic"), ("c", "ib"), ("b", "id"), ("d", "ib")]
    votes = [fact(k, voter, idea, T0 + k * DAY, authors=authors[idea]) for k, (voter, idea) in enumerate(pairs)]
    whole = collusion_factors(votes)
    assert "reciprocal" in codes(whole, 0)
    people = {"a", "b"}
    theirs_only = [v for v in votes if v.voter_id in people]
    assert collusion_factors(theirs_only, ideas={"ia"})[0].factor == 1.0  # the voters' own votes do not show it
    assert collusion_factors(context_for("ia", votes).facts, ideas={"ia"})[0] == whole[0]


def test_bounded_the_context_of_a_vote_stays_the_same_size_however_many_votes_came_before():
    def context_size(days):
        votes = [fact(k, f"v{k % 40}", f"i{k % 25}", T0 + k * 600.0, authors={f"a{k % 25}"})
                 for k in range(days * 144)]
        now = votes[-1].at
        return len(context_for(votes[-1].idea_id, Votes(votes), now=now, bounds=LIVE).facts)

    assert context_size(40) == context_size(80)


def test_bounds_keep_to_the_recent_votes_and_the_latest_of_them():
    votes = [fact(k, f"v{k}", "i1", T0 + k * 3600.0) for k in range(100)]
    now = votes[-1].at
    context = context_for("i1", Votes(votes), now=now, bounds=ContextBounds(recent_seconds=DAY, limit=10))
    assert [v.vote_id for v in context.judged] == list(range(90, 100))
    context = context_for("i1", Votes(votes), now=now, bounds=ContextBounds(recent_seconds=DAY, limit=None))
    assert [v.vote_id for v in context.judged] == list(range(75, 100))


@FAST
@given(st.data())
def test_a_newcomers_vote_a_day_later_never_lowers_anyone_elses_earlier_weight(data):
    votes = crowd(data)
    idea = data.draw(st.sampled_from(sorted({v.idea_id for v in votes})))
    later = max(v.at for v in votes) + 2 * DAY
    before = collusion_factors(votes)
    after = collusion_factors([*votes, fact(10_000, "newcomer", idea, later, standing=0.15, effort=0.1)])
    assert {k: after[k] for k in before} == before


@FAST
@given(st.data())
def test_an_earlier_weight_falls_after_someone_elses_vote_only_when_it_completes_a_named_pattern(data):
    votes = crowd(data)
    voter = data.draw(st.sampled_from(sorted({v.voter_id for v in votes})))
    idea = data.draw(st.sampled_from(sorted({v.idea_id for v in votes})))
    if any(v.voter_id == voter and v.idea_id == idea for v in votes):
        return
    authors = next(v.author_ids for v in votes if v.idea_id == idea)
    later = max(v.at for v in votes) + 2 * DAY
    before = collusion_factors(votes)
    after = collusion_factors([*votes, fact(10_000, voter, idea, later, authors=authors)])
    for vote in votes:
        if vote.voter_id != voter and after[vote.vote_id].factor < before[vote.vote_id].factor:
            # The only pattern a vote days after all others can complete: a reciprocal pair.
            new_codes = {d.code for d in after[vote.vote_id].discounts} - {d.code for d in before[vote.vote_id].discounts}
            assert new_codes == {"reciprocal"}
            assert "reciprocal" in {d.code for d in after[10_000].discounts}



def _lockstep_by_every_pair(votes, policy=WEIGHTED) -> set:
    """The lockstep rule as it reads, over every pair of votes: voters who voted within the
    window of each other on `lockstep_min_ideas` ideas are linked; on each idea, linked
    votes within the window join one group, and a group of at least `lockstep_min_voters`
    voters is a cluster, whose largest vote keeps its weight. The vote ids it discounts."""
    window, by_idea = policy.lockstep_window_seconds, {}
    for vote in sorted(votes, key=lambda v: (v.at, v.vote_id)):
        if not vote.on_own_idea:
            by_idea.setdefault(vote.idea_id, []).append(vote)

    def close(a, b) -> bool:  # within the window, taken as "the earlier at or after the later − window"
        first, last = sorted((a, b), key=lambda v: v.at)
        return first.at >= last.at - window

    shared = {}
    for idea, idea_votes in by_idea.items():
        for a in idea_votes:
            for b in idea_votes:
                if a.voter_id < b.voter_id and close(a, b):
                    shared.setdefault((a.voter_id, b.voter_id), set()).add(idea)
    linked = {pair for pair, ideas in shared.items() if len(ideas) >= policy.lockstep_min_ideas}
    marked = set()
    for idea_votes in by_idea.values():
        group = {k: frozenset([k]) for k in range(len(idea_votes))}
        for i, a in enumerate(idea_votes):
            for j, b in enumerate(idea_votes):
                if tuple(sorted((a.voter_id, b.voter_id))) in linked and close(a, b):
                    merged = group[i] | group[j]
                    for k in merged:
                        group[k] = merged
        for members in set(group.values()):
            cluster = [idea_votes[k] for k in members]
            if len({v.voter_id for v in cluster}) >= max(2, policy.lockstep_min_voters):
                largest = min(cluster, key=lambda v: (-(v.standing * v.effort), v.at, v.vote_id))
                marked |= {v.vote_id for v in cluster if v is not largest}
    return marked


def _lockstep_marked(result) -> set:
    return {vote_id for vote_id, found in result.items() if any(d.code == "lockstep" for d in found.discounts)}


@FAST
@given(st.data())
def test_the_lockstep_rule_discounts_the_votes_that_reading_every_pair_of_votes_would(data):
    votes = crowd(data)
    assert _lockstep_marked(collusion_factors(votes)) == _lockstep_by_every_pair(votes)


def test_a_lockstep_group_is_found_in_a_crowd_voting_within_minutes_on_a_popular_idea():
    group = lockstep_group(["a", "b", "c", "d"], ["i1", "i2", "i3"], T0)
    # 300 people vote on i1 in the same minutes, each on that idea alone: close to
    # everyone, linked to no one.
    crowd_votes = [fact(f"p{k}-i1", f"p{k}", "i1", T0 + k * 0.5) for k in range(300)]
    result = collusion_factors(group + crowd_votes)
    for idea in ("i1", "i2", "i3"):
        assert sorted(result[f"{v}-{idea}"].factor for v in "abcd") == [0.1, 0.1, 0.1, 1.0]
    assert not any("lockstep" in codes(result, f"p{k}-i1") for k in range(300))
    assert _lockstep_marked(result) == _lockstep_by_every_pair(group + crowd_votes)


@FAST
@given(st.data())
def test_asked_for_some_ideas_the_rules_give_those_votes_what_the_whole_set_gives_them(data):
    # Only the ideas asked for are judged (their clusters formed), every vote still read.
    votes = crowd(data)
    whole = collusion_factors(votes)
    ideas = sorted({v.idea_id for v in votes})
    asked = set(data.draw(st.lists(st.sampled_from(ideas), min_size=1, unique=True)))
    assert collusion_factors(votes, ideas=asked) == {v.vote_id: whole[v.vote_id] for v in votes
                                                       if v.idea_id in asked}


def test_votes_exactly_a_window_apart_in_floating_point_are_near_as_the_pairs_count_them():
    # 1.1 - 1.0 > 0.1 in floating point, yet 1.0 >= 1.1 - 0.1: the rule's pairs take the
    # second comparison, and its pre-filter must too, or B's lockstep discount is lost.
    policy = replace(WEIGHTED, lockstep_window_seconds=0.1, lockstep_min_ideas=2, lockstep_min_voters=2)
    votes = [fact(f"{voter}-{idea}", voter, idea, at) for idea in ("i0", "i1")
             for voter, at in (("A", 1.0), ("B", 11 * 0.1))]
    result = collusion_factors(votes, policy)
    assert _lockstep_marked(result) == {"B-i0", "B-i1"} == _lockstep_by_every_pair(votes, policy)
