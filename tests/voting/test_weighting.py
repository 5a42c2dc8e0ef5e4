"""The weight of one vote: effort, standing, the policies, and how a weight is explained."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ideas.voting.weighting import (
    DAY,
    HOUR,
    POLICIES,
    SIMPLE,
    WEIGHTED,
    DISCOUNT_LABELS,
    Collusion,
    Discount,
    PolicyError,
    WeightingPolicy,
    VoteSignals,
    age_factor,
    contribution_factor,
    discount_label,
    effort,
    get_policy,
    near_copy,
    read_seconds_needed,
    reason_specificity,
    standing,
    vote_standing,
    weight_for,
    what_would_raise,
    word_count,
)

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

FAST = settings(max_examples=60, deadline=None)

ESTABLISHED = dict(identity="employee_verified", account_age_seconds=90 * DAY, contributions_90d=3)


def one_click(**changes) -> VoteSignals:
    return replace(VoteSignals(kind="support", idea_word_count=200, **ESTABLISHED), **changes)


def reasoned(**changes) -> VoteSignals:
    """Read for long enough, with a 25-word reason of one's own."""
    return replace(
        VoteSignals(kind="reason", viewed_before=True, seconds_since_view=60.0, idea_word_count=200,
                    reason_word_count=25, **ESTABLISHED),
        **changes,
    )


signals_strategy = st.builds(
    VoteSignals,
    kind=st.sampled_from(["support", "reason", "ratings", "pairwise"]),
    value=st.sampled_from([1, -1]),
    viewed_before=st.booleans(),
    seconds_since_view=st.one_of(st.none(), st.floats(0, 10_000)),
    idea_word_count=st.integers(0, 5_000),
    reason_word_count=st.integers(0, 300),
    reason_is_near_copy=st.booleans(),
    criteria_rated=st.booleans(),
    has_criteria=st.booleans(),
    identity=st.sampled_from(["employee_verified", "external_verified", "unverified"]),
    account_age_seconds=st.floats(0, 5 * 365 * DAY),
    contributions_90d=st.integers(0, 50),
    is_author_or_coauthor=st.booleans(),
    pair_same_side_ratio=st.floats(0, 1),
    pair_answers=st.integers(0, 200),
)


# --- text ----------------------------------------------------------------------------


def test_word_count_counts_words_not_punctuation():
    assert word_count("") == 0
    assert word_count("Self-service kiosks, at last!  Don't wait.") == 7


def test_read_time_is_half_the_words_at_250_wpm_clamped_to_8_to_60_seconds():
    assert read_seconds_needed(0) == 8.0
    assert read_seconds_needed(400) == pytest.approx(48.0)
    assert read_seconds_needed(100) == pytest.approx(12.0)
    assert read_seconds_needed(5_000) == 60.0


REASON = ("Kiosks would take the queue off the desk for guests who only need a key, and the staff "
          "could spend their time on the people with real problems at check-in.")


def test_a_copied_reason_is_a_near_copy_whatever_its_case_and_punctuation():
    shouted = REASON.upper().replace(",", "").replace(".", "!!")
    assert near_copy(shouted, [REASON])


def test_a_lightly_edited_reason_is_still_a_near_copy_but_a_different_one_is_not():
    edited = REASON.replace("staff", "team")
    assert near_copy(edited, ["something else entirely", REASON])
    own = ("Guests arriving late at night find the desk closed; a kiosk would let them in without "
           "waiting for the porter, which is when complaints peak.")
    assert not near_copy(own, [REASON])
    assert not near_copy("", [""])


# --- effort --------------------------------------------------------------------------


def test_effort_adds_read_reason_and_criteria_to_the_base_and_caps_at_one():
    assert effort(one_click()) == pytest.approx(0.1)
    assert effort(one_click(viewed_before=True, seconds_since_view=30.0)) == pytest.approx(0.35)
    assert effort(one_click(reason_word_count=20)) == pytest.approx(0.6)
    assert effort(one_click(criteria_rated=True)) == pytest.approx(0.35)
    assert effort(reasoned()) == pytest.approx(0.85)
    assert effort(reasoned(criteria_rated=True)) == 1.0
    # Without criteria to rate, reading and reasoning is all a vote can do: it counts fully,
    # and the other parts keep their proportions.
    assert effort(reasoned(has_criteria=False)) == 1.0
    assert effort(one_click(has_criteria=False)) == pytest.approx(0.1 / 0.85)


def test_a_view_counts_as_a_read_only_after_the_time_the_idea_takes_to_read():
    need = read_seconds_needed(200)
    assert effort(one_click(viewed_before=True, seconds_since_view=need - 1)) == pytest.approx(0.1)
    assert effort(one_click(viewed_before=True, seconds_since_view=need)) == pytest.approx(0.35)
    assert effort(one_click(viewed_before=True, seconds_since_view=None)) == pytest.approx(0.1)


def test_reason_credit_grows_with_length_without_a_cliff():
    credits = [effort(one_click(reason_word_count=n)) for n in (0, 3, 6, 9, 12, 17, 40)]
    assert credits == sorted(credits)
    assert credits[0] == pytest.approx(0.1)
    assert credits[2] == pytest.approx(0.1 + 0.5 * 6 / 12)
    # A specific 12-word reason already earns the whole reason credit.
    assert credits[4] == credits[5] == credits[6] == pytest.approx(0.6)
    assert "short_reason" in {d.code for d in weight_for(one_click(reason_word_count=6)).discounts}


IDEA = ("Self-service bag drop. Travellers tag and drop their own bags at kiosks, as many airports already do. "
        "Kiosks print the tag, weigh the bag and take it on a belt. Staff help only when a kiosk flags a problem.")
SPECIFIC_15 = "Kiosks that weigh and tag bags free desk staff for travellers whose bags need help."
GENERIC_40 = ("Great idea, I fully support this and I really think it is a great thing. Everyone will love it "
              "and it would help so many people, so please make it happen as soon as possible, it is "
              "absolutely brilliant, truly.")


def test_a_specific_fifteen_word_reason_beats_a_forty_word_generic_one():
    assert (word_count(SPECIFIC_15), word_count(GENERIC_40)) == (15, 40)
    specific = reason_specificity(SPECIFIC_15, IDEA)
    generic = reason_specificity(GENERIC_40, IDEA)
    assert specific == 1.0 and generic == 0.0
    with_specific = reasoned(reason_word_count=15, reason_specificity=specific)
    with_generic = reasoned(reason_word_count=40, reason_specificity=generic)
    assert weight_for(with_specific).value > weight_for(with_generic).value
    assert effort(with_generic) == effort(reasoned(reason_word_count=0))
    assert "generic_reason" in {d.code for d in weight_for(with_generic).discounts}


def test_specificity_counts_words_shared_with_the_idea_more_than_other_words():
    assert reason_specificity("kiosks tag bags", IDEA) == pytest.approx(3 / 4)
    assert reason_specificity("cheap pilot measurable", IDEA) == pytest.approx(3 * 0.25 / 4)
    assert reason_specificity("", IDEA) == 0.0
    # Stems match: "kiosk" and "kiosks", "weighing" and "weigh".
    assert reason_specificity("kiosk weighing", IDEA) == pytest.approx(2 / 4)


def test_the_item_one_bounds_engaged_first_day_vote_and_fresh_one_click():
    engaged = VoteSignals(kind="ratings", viewed_before=True, seconds_since_view=60.0, idea_word_count=200,
                          reason_word_count=16, reason_specificity=1.0, criteria_rated=True)
    for identity in ("employee_verified", "external_verified"):
        for age in (60.0, 30 * 60.0, 5 * HOUR, 23 * HOUR):
            assert weight_for(replace(engaged, identity=identity, account_age_seconds=age)).value >= 0.5
    for identity in ("employee_verified", "external_verified", "unverified"):
        for age in (0.0, 59 * 60.0):
            click = VoteSignals(kind="support", idea_word_count=200, identity=identity, account_age_seconds=age,
                                contributions_90d=0)
            assert weight_for(click).value <= 0.05


def test_history_discounts_quick_votes_far_more_than_engaged_ones():
    new = dict(account_age_seconds=DAY, contributions_90d=0)
    quick, careful = one_click(**new), reasoned(**new)
    assert weight_for(quick).value / weight_for(one_click()).value < 0.25
    assert weight_for(careful).value / weight_for(reasoned()).value > 0.75


def test_copy_pasted_reasons_earn_no_reason_bonus():
    copied = reasoned(reason_is_near_copy=True)
    assert effort(copied) == effort(reasoned(reason_word_count=0))
    assert weight_for(copied).value == weight_for(reasoned(reason_word_count=0)).value
    assert "copied_reason" in {d.code for d in weight_for(copied).discounts}


# --- standing ------------------------------------------------------------------------


def test_standing_is_identity_times_age_times_contribution():
    assert standing(one_click()) == 1.0
    fresh = one_click(identity="external_verified", account_age_seconds=30 * 60, contributions_90d=0)
    assert standing(fresh) == pytest.approx(0.25 * 0.6)
    assert standing(one_click(identity="unverified")) == pytest.approx(0.3)
    # Within a pool every verified member starts equal.
    assert standing(one_click(identity="external_verified")) == standing(one_click()) == 1.0
    # The standing a vote counts with spares effort: history is applied to the power 1 − engagement.
    assert vote_standing(fresh) == pytest.approx(0.25 * 0.6)
    assert vote_standing(replace(fresh, viewed_before=True, seconds_since_view=60.0, reason_word_count=20,
                                 criteria_rated=True)) == 1.0


def test_age_ramps_from_a_quarter_after_an_hour_to_one_after_a_week():
    assert age_factor(0) == 0.25
    assert age_factor(HOUR - 1) == 0.25
    assert age_factor(HOUR) == 0.25
    assert age_factor(4 * DAY) == pytest.approx(0.25 + 0.75 * (4 * DAY - HOUR) / (7 * DAY - HOUR))
    assert age_factor(7 * DAY) == 1.0
    assert age_factor(700 * DAY) == 1.0


def test_contribution_rises_from_point_six_to_one_at_three():
    assert [contribution_factor(k) for k in range(5)] == pytest.approx([0.6, 0.6 + 0.4 / 3, 0.6 + 0.8 / 3, 1, 1])


# --- weight --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", list(POLICIES.values()), ids=list(POLICIES))
def test_votes_on_ones_own_or_a_co_authored_idea_weigh_zero(policy):
    weight = weight_for(reasoned(is_author_or_coauthor=True, criteria_rated=True), policy)
    assert weight.value == 0.0
    assert weight.discounts == (Discount("own_idea", "a vote on one's own or a co-authored idea counts 0"),)


def test_the_simple_policy_counts_every_vote_one():
    fresh_click = one_click(identity="unverified", account_age_seconds=60, contributions_90d=0)
    weight = weight_for(fresh_click, SIMPLE, collusion=0.1)
    assert weight.value == 1.0
    assert weight.discounts == ()
    assert weight.policy == "simple/1"


def test_weight_multiplies_effort_standing_and_collusion_and_names_every_discount():
    signals = one_click(identity="external_verified", account_age_seconds=30 * 60, contributions_90d=0)
    burst = Collusion(0.1, (Discount("burst", "one of 20 votes within minutes"),))
    weight = weight_for(signals, WEIGHTED, burst)
    assert weight.value == pytest.approx(0.1 * (0.25 * 0.6) * 0.1)
    assert (weight.effort, weight.collusion) == (pytest.approx(0.1), 0.1)
    assert weight.value == pytest.approx(weight.effort * weight.standing * weight.collusion)
    assert [d.code for d in weight.discounts] == [
        "not_read", "no_reason", "criteria_not_rated", "new_account", "few_contributions", "burst",
    ]


def test_a_full_effort_vote_lists_no_effort_discount():
    assert weight_for(reasoned(criteria_rated=True)).discounts == ()
    assert weight_for(reasoned(criteria_rated=True)).value == 1.0
    assert [d.code for d in weight_for(reasoned()).discounts] == ["criteria_not_rated"]


@FAST
@given(signals_strategy, st.floats(0, 1), st.sampled_from(list(POLICIES.values())))
def test_weights_stay_within_zero_and_one(signals, collusion, policy):
    weight = weight_for(signals, policy, collusion)
    assert 0.0 <= weight.value <= 1.0
    assert 0.0 <= weight.effort <= 1.0 and 0.0 <= weight.standing <= 1.0


def more_effort():
    """Changes that add effort to a vote, and only effort."""
    return st.sampled_from([
        dict(viewed_before=True),
        dict(seconds_since_view="longer"),
        dict(reason_word_count="more"),
        dict(reason_is_near_copy=False),
        dict(criteria_rated=True),
    ])


def _apply(signals: VoteSignals, change: dict) -> VoteSignals:
    concrete = {}
    for name, value in change.items():
        if value == "longer":
            value = (signals.seconds_since_view or 0.0) + 30.0
        elif value == "more":
            value = signals.reason_word_count + 10
        concrete[name] = value
    return replace(signals, **concrete)


@FAST
@given(signals_strategy.filter(lambda s: s.kind != "pairwise"), st.lists(more_effort(), min_size=1, max_size=4),
       st.floats(0, 1))
def test_adding_effort_never_lowers_a_weight(signals, changes, collusion):
    before = weight_for(signals, WEIGHTED, collusion).value
    after_signals = signals
    for change in changes:
        after_signals = _apply(after_signals, change)
        after = weight_for(after_signals, WEIGHTED, collusion).value
        assert after >= before
        before = after


@FAST
@given(signals_strategy.filter(lambda s: s.kind == "pairwise"), st.floats(0, 600), st.floats(0.5, 1))
def test_a_slower_and_more_balanced_pairwise_answer_never_counts_less(signals, extra, balance):
    base = weight_for(signals, get_policy("pairwise")).value
    slower = replace(signals, seconds_since_view=(signals.seconds_since_view or 0.0) + extra)
    assert weight_for(slower, get_policy("pairwise")).value >= base
    ratio = max(signals.pair_same_side_ratio, 1 - signals.pair_same_side_ratio)
    balanced = replace(signals, pair_same_side_ratio=min(ratio, balance))
    assert weight_for(balanced, get_policy("pairwise")).value >= base


@FAST
@given(signals_strategy, st.floats(0, 365 * DAY), st.integers(0, 5))
def test_more_age_or_contributions_never_lower_a_weight(signals, older, more):
    before = weight_for(signals).value
    grown = replace(signals, account_age_seconds=signals.account_age_seconds + older,
                    contributions_90d=signals.contributions_90d + more)
    assert weight_for(grown).value >= before


def test_pairwise_answers_faster_than_the_read_or_one_sided_are_discounted():
    policy = get_policy("pairwise")
    honest = VoteSignals(kind="pairwise", viewed_before=True, seconds_since_view=30.0, idea_word_count=200,
                         pair_same_side_ratio=0.55, pair_answers=20, **ESTABLISHED)
    assert weight_for(honest, policy).value == 1.0
    need = read_seconds_needed(200)
    fast = replace(honest, seconds_since_view=need / 4)
    assert weight_for(fast, policy).value == pytest.approx(0.25)
    assert [d.code for d in weight_for(fast, policy).discounts] == ["answered_fast"]
    always_left = replace(honest, pair_same_side_ratio=1.0)
    assert weight_for(always_left, policy).value == pytest.approx(policy.pair_side_floor)
    assert [d.code for d in weight_for(always_left, policy).discounts] == ["one_sided"]
    few = replace(always_left, pair_answers=3)  # three lefts in a row can happen to anyone
    assert weight_for(few, policy).value == 1.0


# --- what would raise it -------------------------------------------------------------


def test_what_would_raise_gives_the_multiplier_the_weight_would_really_change_by():
    signals = one_click(identity="external_verified", contributions_90d=1)
    before = weight_for(signals).value
    found = {s.code: s for s in what_would_raise(signals)}
    with_reason = weight_for(replace(signals, reason_word_count=20)).value
    assert found["add_reason"].multiplier == pytest.approx(with_reason / before)
    assert found["add_reason"].text == ("add a reason: a sentence or two in your own words on what this idea "
                                        "would change: this vote would count ×7.1")
    read = weight_for(replace(signals, viewed_before=True, seconds_since_view=read_seconds_needed(200))).value
    assert found["read_first"].multiplier == pytest.approx(read / before)
    assert found["read_first"].text.endswith("×3.8")
    full = weight_for(replace(signals, viewed_before=True, seconds_since_view=60.0, reason_word_count=20,
                              criteria_rated=True)).value
    assert found["all_effort"].multiplier == pytest.approx(full / before) == pytest.approx(1 / 0.0733, rel=1e-3)
    assert list(found) == ["all_effort", "add_reason", "rate_criteria", "read_first"]


def test_what_would_raise_suggests_verifying_an_unverified_address():
    signals = reasoned(identity="unverified", criteria_rated=True)
    (suggestion,) = what_would_raise(signals)
    assert suggestion.code == "verify_email"
    assert suggestion.multiplier == pytest.approx(1 / 0.3)
    assert suggestion.text.endswith("×3.3")


def test_what_would_raise_asks_for_a_reason_of_ones_own_when_it_was_copied():
    found = {s.code: s for s in what_would_raise(reasoned(reason_is_near_copy=True))}
    assert found["add_reason"].text.startswith("write the reason in your own words")
    assert found["add_reason"].multiplier == pytest.approx(0.85 / 0.35)


def test_nothing_to_suggest_for_a_full_weight_or_own_idea_vote():
    assert what_would_raise(reasoned(criteria_rated=True)) == []
    assert what_would_raise(one_click(is_author_or_coauthor=True)) == []


@FAST
@given(signals_strategy, st.floats(0.05, 1))
def test_every_suggestion_raises_the_weight(signals, collusion):
    before = weight_for(signals, WEIGHTED, collusion).value
    for suggestion in what_would_raise(signals, WEIGHTED, collusion):
        assert suggestion.multiplier > 1
        assert before * suggestion.multiplier <= 1.0 + 1e-9
        assert "×" in suggestion.text


# --- policies and bad input ----------------------------------------------------------


def test_named_policies_are_versioned_and_budget_carries_k():
    assert set(POLICIES) == {"simple", "weighted", "budget", "pairwise"}
    assert all(policy.version >= 1 and policy.name == name for name, policy in POLICIES.items())
    assert POLICIES["budget"].budget_k == 5
    assert POLICIES["weighted"].budget_k is None
    assert POLICIES["pairwise"].ranking_method == "bradley_terry"
    with pytest.raises(ValueError, match="unknown voting policy 'loudest'"):
        get_policy("loudest")
    with pytest.raises(TypeError):
        POLICIES["mine"] = SIMPLE  # type: ignore[index]


@pytest.mark.parametrize("bad", [
    dict(kind="like"), dict(value=2), dict(identity="ceo"), dict(idea_word_count=-1),
    dict(seconds_since_view=-3.0), dict(pair_same_side_ratio=1.5),
])
def test_signals_refuse_impossible_values(bad):
    with pytest.raises(ValueError):
        VoteSignals(**bad)


@pytest.mark.parametrize("field, value", [
    ("cluster_rest_share", 1.5), ("effort_base", -0.1), ("z", float("nan")), ("burst_min_votes", 1),
    ("reciprocal_min_mutual", 0), ("network_window_seconds", -1.0), ("budget_k", 0),
])
def test_a_policy_constant_outside_its_range_is_refused_naming_the_field(field, value):
    with pytest.raises(PolicyError, match=field) as refused:
        WeightingPolicy(**{field: value})
    assert refused.value.field == field


def test_every_discount_code_has_plain_words():
    produced = {"own_idea", "not_read", "read_too_fast", "no_reason", "short_reason", "generic_reason",
                "copied_reason", "criteria_not_rated", "identity_unverified", "new_account", "few_contributions",
                "burst", "shared_network", "lockstep", "reciprocal", "voter_burst", "answered_fast", "one_sided"}
    assert produced <= set(DISCOUNT_LABELS)
    assert all("_" not in discount_label(code) for code in produced)
    assert discount_label("something_new") == "another discount"


def test_a_collusion_factor_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError):
        weight_for(reasoned(), WEIGHTED, 1.5)


def test_discounts_say_in_plain_words_what_they_cost_and_why():
    texts = {d.code: d.text for d in weight_for(one_click(reason_word_count=6, contributions_90d=1,
                                                          account_age_seconds=2 * 86400)).discounts}
    assert texts["short_reason"].endswith("it earns 50% of what a specific reason earns")
    assert texts["few_contributions"].startswith("only 1 idea or substantive comment in the last 90 days "
                                                 "(from 3 on, a voter's history counts in full): ×")
    assert "the less this counts against it" in texts["new_account"]
    assert "reason credit" not in " ".join(texts.values())
