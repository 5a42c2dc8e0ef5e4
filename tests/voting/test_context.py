"""The live vote judges the votes `collusion.context_for` picks: the database answers its
look-ups exactly as the history in memory does, and the bounds hold."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas.archive.synthetic import synthetic_archive
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.voting import collusion, services
from ideas.voting.models import IdeaScore, Vote
from ideas.voting.services import Ballot
from tests.archive.test_bulk_import import cast_live
from tests.challenges.factories import idea_in, open_challenge

SMALL = collusion.ContextBounds(recent_seconds=36 * 3600.0, around_seconds=3 * 86400.0, limit=4, around_limit=9)


@pytest.mark.parametrize("seed", [4, 11])
def test_the_database_answers_the_look_ups_of_context_for_as_the_history_in_memory(make_user, seed):
    make_user(roles=("admin",))
    challenge = cast_live(synthetic_archive(votes=70, seed=seed, days=5, ideas=4))
    stored = services.StoredVotes(challenge.id)
    votes = list(db.session.scalars(select(Vote).where(Vote.challenge_id == challenge.id)))
    memory = collusion.Votes(stored.facts(votes))
    times = sorted(v.created_at for v in votes)
    moments = [times[len(times) // 4], times[len(times) // 2], times[-1]]
    compared = 0
    for idea_id in sorted({v.idea_id for v in votes}):
        for now in moments:
            at = now + timedelta(seconds=0.5)  # between votes, never on a window's edge
            for bounds in (SMALL, collusion.LIVE, collusion.UNBOUNDED):
                live = collusion.context_for(idea_id, services.StoredVotes(challenge.id), now=at, bounds=bounds)
                pure = collusion.context_for(idea_id, memory, now=at, bounds=bounds)
                assert [v.vote_id for v in live.judged] == [v.vote_id for v in pure.judged]
                assert live.facts == pure.facts
                compared += len(live.facts)
    assert compared > 100


def test_the_live_vote_runs_context_for_with_the_live_bounds(make_user, monkeypatch):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "go")
    seen = []
    real = collusion.context_for

    def spy(*args, **kwargs):
        seen.append(kwargs["bounds"])
        return real(*args, **kwargs)

    monkeypatch.setattr(collusion, "context_for", spy)
    services.cast_vote(idea, make_user(), Ballot())
    assert seen == [collusion.LIVE]


def test_a_vote_changed_days_after_it_was_cast_is_weighed_again(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "go")
    voter = make_user()
    first = services.cast_vote(idea, voter, Ballot())
    db.session.commit()
    later = first.created_at + timedelta(days=5)
    changed = services.cast_vote(idea, voter, Ballot(reason="The kiosk queue at gate B would shrink if "
                                                            "bag drop opened before check-in."), now=later)
    db.session.commit()
    assert changed.id == first.id and changed.weight > 0
    score = db.session.get(IdeaScore, idea.id)
    assert score.support_employee + score.support_external == pytest.approx(changed.weight)
