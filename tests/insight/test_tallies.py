"""The stored tallies behind the participation and vote-quality figures stay equal to
a recount from the votes and ideas, whatever changed them: votes cast, changed and
withdrawn, a merge and the votes it moves, a policy recompute, an import, an idea
withdrawn, an account deleted with its votes.  And the dashboard shows a change at once.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from ideas import clock
from ideas.accounts.models import User
from ideas.archive import import_archive
from ideas.archive.synthetic import synthetic_archive
from ideas.challenges import merge
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.insight import services, tallies
from ideas.voting import moves
from ideas.voting import services as voting
from ideas.voting.models import VoteMoveRequest
from ideas.voting.services import Ballot
from tests.challenges.factories import idea_in, open_challenge

DAY = timedelta(days=1)
T = datetime(2031, 6, 2, 9, 30, tzinfo=UTC)


def kept_equals_recount(challenge) -> tuple[list, list]:
    """What the triggers kept, checked against a count from scratch; returns it."""
    db.session.flush()
    activity, weights = tallies.snapshot(challenge.id)
    tallies.recount([challenge.id])
    fresh_activity, fresh_weights = tallies.snapshot(challenge.id)
    assert activity == fresh_activity
    assert [row[:3] for row in weights] == [row[:3] for row in fresh_weights]  # idea, pool, votes
    # Sums kept vote by vote and summed at once agree up to a float's last bits.
    assert [x for row in weights for x in row[3:]] == pytest.approx(
        [x for row in fresh_weights for x in row[3:]], abs=1e-9)
    return activity, weights


def people_per_day(challenge) -> dict[str, list[int]]:
    panel = services.challenge_panel(challenge, "participation")
    return {row[0]: row[1:] for row in panel.rows if any(row[1:])}


def quality(challenge) -> dict[str, list]:
    return {row[0]: row[1:] for row in services.challenge_panel(challenge, "quality").rows}


def test_tallies_follow_votes_cast_changed_withdrawn_merged_moved_and_reweighed(make_user):
    clock.set_now(T)
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="blended")
    emp, ext = make_user(name="Emp Author"), make_user(pool="external", name="Ext Author")
    a = idea_in(challenge, emp, title="Quieter boarding gates")
    b = idea_in(challenge, emp, title="Quiet boarding at the gates")
    c = idea_in(challenge, ext, title="Water fountains after security")
    draft = idea_in(challenge, ext, title="A draft nobody sees", draft=True)
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    v1, v2, v3 = make_user(name="Voter One"), make_user(pool="external", name="Voter Two"), make_user(name="V3")
    day0 = T.strftime("%d %b")
    assert people_per_day(challenge) == {day0: [1, 1]}  # the two authors; the draft is nobody's business
    kept_equals_recount(challenge)

    clock.set_now(T + DAY)
    voting.cast_vote(a, v1, Ballot())
    voting.cast_vote(a, v2, Ballot(reason="Families with small children would finally hear the calls"))
    voting.cast_vote(c, v1, Ballot())
    db.session.commit()
    day1 = (T + DAY).strftime("%d %b")
    assert people_per_day(challenge)[day1] == [1, 1]
    assert quality(challenge)["All pools"][0] == 3
    kept_equals_recount(challenge)

    clock.set_now(T + 2 * DAY)
    voting.cast_vote(a, v1, Ballot(reason="The announcements at gate 12 drown everything else out"))  # changed
    voting.cast_vote(b, v3, Ballot())
    db.session.commit()
    day2 = (T + 2 * DAY).strftime("%d %b")
    assert people_per_day(challenge)[day2] == [1, 0]  # a changed vote keeps the day it was cast
    kept_equals_recount(challenge)

    voting.withdraw_vote(c, v1)
    db.session.commit()
    assert quality(challenge)["All pools"][0] == 3
    assert people_per_day(challenge)[day1] == [1, 1]  # Voter One still voted on A that day
    kept_equals_recount(challenge)

    clock.set_now(T + 3 * DAY)
    merge.merge_ideas(b, a, manager, "Same idea")
    db.session.commit()
    kept_equals_recount(challenge)
    request = db.session.scalar(select(VoteMoveRequest).where(VoteMoveRequest.voter_id == v3.id))
    moves.answer_move(request.id, v3, True)  # cast on A today, withdrawn from B
    db.session.commit()
    day3 = (T + 3 * DAY).strftime("%d %b")
    assert day2 not in people_per_day(challenge)  # V3's only vote of that day moved
    assert people_per_day(challenge)[day3] == [1, 0]
    kept_equals_recount(challenge)

    before = quality(challenge)
    voting.change_policy(challenge, manager, "simple", "Every vote counts the same this time")
    db.session.commit()
    after = quality(challenge)
    assert after != before and after["All pools"][1] == 3  # three votes, each at full weight now
    kept_equals_recount(challenge)

    challenges.withdraw_idea(c, ext)
    db.session.delete(draft)
    db.session.commit()
    assert people_per_day(challenge)[day0] == [1, 1]  # a withdrawn idea was still submitted that day
    kept_equals_recount(challenge)

    db.session.execute(delete(User).where(User.id == v2.id))  # an account deleted: its votes go with it
    db.session.commit()
    assert people_per_day(challenge)[day1] == [1, 0]
    assert quality(challenge)["All pools"][0] == 2
    kept_equals_recount(challenge)


def test_tallies_of_an_imported_challenge(make_user):
    make_user(roles=("admin",))
    challenge = import_archive(synthetic_archive(votes=70, seed=2, days=3, ideas=5))
    db.session.commit()
    activity, weights = kept_equals_recount(challenge)
    assert sum(row[2] for row in weights) == 70
    assert len({row[0] for row in activity}) >= 3  # votes over three days at least
    assert quality(challenge)["All pools"][0] == 70


def test_recount_repairs_tallies_written_past_the_triggers(built):
    challenge = built["challenge"]
    expected = quality(challenge), people_per_day(challenge)
    for model in (tallies.ActivityDay, tallies.VoteWeightTally):
        db.session.execute(delete(model))
    db.session.commit()
    assert quality(challenge)["All pools"][0] == 0
    tallies.recount()
    db.session.commit()
    assert (quality(challenge), people_per_day(challenge)) == expected


def test_the_recount_command_says_whether_the_tallies_had_drifted(built, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ideas", "recount-tallies"])
    assert result.exit_code == 0, result.output
    assert "the kept ones matched" in result.output
    row = db.session.scalars(select(tallies.VoteWeightTally)).first()
    row.votes += 5  # as a restore that bypassed the triggers might leave it
    db.session.commit()
    result = runner.invoke(args=["ideas", "recount-tallies", "--challenge", str(built["challenge"].id)])
    assert result.exit_code == 0, result.output
    assert "2 rows differed and are corrected now" in result.output
    assert quality(built["challenge"])["All pools"][0] == 4


def test_a_recompute_counts_its_challenges_weights_once_in_its_own_transaction(make_user, monkeypatch):
    """A policy change sets the challenge's weight tallies aside and counts them once from
    the rewritten votes: they equal a recount, other challenges keep theirs, and a
    recompute that fails half-way leaves every tally as it was."""
    from ideas.voting import batch
    from ideas.voting.models import Vote

    manager = make_user(roles=("manager",))
    one, other = (open_challenge(manager, phase="submission") for _ in range(2))
    ideas = [idea_in(one, make_user()), idea_in(one, make_user()), idea_in(other, make_user())]
    for challenge in (one, other):
        challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    for n in range(3):
        voter = make_user(name=f"Voter {n}")
        for idea in ideas:
            voting.cast_vote(idea, voter, Ballot(reason="Shorter queues at the gates would matter to families"
                                                        if n == 1 else ""))
    db.session.commit()
    untouched = tallies.snapshot(other.id)

    voting.change_policy(one, manager, "simple", "Every vote counts the same this time")
    db.session.commit()
    _, weights = kept_equals_recount(one)
    assert [(row[2], row[3]) for row in weights] == [(3, 3.0)] * 2  # idea, pool, votes, counted: one each
    assert tallies.snapshot(other.id) == untouched

    before = tallies.snapshot(one.id), sorted(db.session.execute(
        select(Vote.id, Vote.weight, Vote.discounts).where(Vote.challenge_id == one.id)).all())
    writes = batch.write_weights

    def fails_once_it_wrote(rows, *args, **kwargs):
        writes(rows, *args, **kwargs)
        if rows:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(batch, "write_weights", fails_once_it_wrote)
    with pytest.raises(RuntimeError):
        voting.change_policy(one, manager, "weighted", "Back to weighing")
    db.session.rollback()
    assert (tallies.snapshot(one.id), sorted(db.session.execute(
        select(Vote.id, Vote.weight, Vote.discounts).where(Vote.challenge_id == one.id)).all())) == before
    monkeypatch.setattr(batch, "write_weights", writes)
    voting.change_policy(one, manager, "weighted", "Back to weighing")
    db.session.commit()
    kept_equals_recount(one)


def test_after_a_recompute_the_same_transaction_tallies_each_vote_again(make_user):
    """The recompute holds the re-weigh trigger only while it rewrites: a vote changed
    afterwards in the same transaction (before the commit) is tallied as usual."""
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    voters = [make_user(name=f"Voter {n}") for n in range(3)]
    for voter in voters:
        voting.cast_vote(idea, voter, Ballot())
    db.session.commit()

    voting.change_policy(challenge, manager, "simple", "Every vote counts the same this time")
    voting.change_policy(challenge, manager, "weighted", "Back to weighing")  # held and released twice
    voting.cast_vote(idea, voters[0], Ballot(reason="Shorter queues at the gates would matter to families"))
    kept_equals_recount(challenge)
    db.session.commit()
    kept_equals_recount(challenge)


def test_while_held_the_reweigh_trigger_skips_every_row_and_a_rollback_releases_it(make_user):
    """What lets a recompute skip a million trigger calls (PostgreSQL: a transaction-local
    setting tested in the trigger's WHEN): while held, a weight rewritten in SQL leaves
    the tally alone; released, or after a rollback, the trigger follows again."""
    from ideas.voting.models import Vote

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no transaction-local setting: its trigger always fires")
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission")
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    voting.cast_vote(idea, make_user(), Ballot())
    db.session.commit()
    counted = tallies.snapshot(challenge.id)[1][0][3]

    def rewrite(weight: float) -> float:
        db.session.execute(Vote.__table__.update().where(Vote.idea_id == idea.id).values(weight=weight))
        return tallies.snapshot(challenge.id)[1][0][3]

    tallies.hold_reweigh_trigger(True)
    assert rewrite(0.123) == counted
    tallies.hold_reweigh_trigger(False)
    assert rewrite(0.25) == pytest.approx(counted - 0.123 + 0.25)
    tallies.hold_reweigh_trigger(True)
    db.session.rollback()
    assert rewrite(0.5) == pytest.approx(0.5)
    kept_equals_recount(challenge)
