"""Shortlisting: within the challenge's review capacity, beyond it only with a logged
reason, a suggestion from the rankings, and the authors told."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ideas.challenges import services as challenges
from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas.review import services
from ideas.review.models import IdeaReview, ReviewTransition
from ideas.review.services import ReviewError
from ideas.voting.models import IdeaScore
from ideas.voting.services import Ballot, cast_vote
from tests.challenges.factories import idea_in, open_challenge


def _reviews() -> int:
    return db.session.scalar(select(func.count(IdeaReview.id)))


def test_within_capacity_no_reason_is_needed_and_the_authors_are_told(world):
    reviews = services.shortlist_ideas(world.challenge, world.manager, [world.ideas[0].id, world.ideas[1].id])
    db.session.commit()
    assert [r.state for r in reviews] == ["shortlisted", "shortlisted"]
    first = reviews[0].transitions[0]
    assert (first.from_state, first.to_state, first.reason) == (None, "shortlisted", "")
    for author in world.authors[:2]:
        told = db.session.scalars(select(Notification).where(Notification.user_id == author.id)).all()
        assert [n.kind for n in told] == ["review"] and "Shortlisted for review" in told[0].text


def test_beyond_capacity_is_refused_without_a_reason_and_nothing_is_written(world):
    with pytest.raises(ReviewError) as excinfo:
        services.shortlist_ideas(world.challenge, world.manager, [i.id for i in world.ideas], "  ")
    assert excinfo.value.field == "over_capacity_reason"
    assert "2 places left for the 3 chosen" in excinfo.value.message
    db.session.rollback()
    assert _reviews() == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_beyond_capacity_with_a_reason_logs_it_on_the_staff_side(world):
    reviews = services.shortlist_ideas(world.challenge, world.manager, [i.id for i in world.ideas],
                                       "Two guest reviewers join this month")
    db.session.commit()
    assert len(reviews) == 3
    logged = db.session.scalars(select(ReviewTransition)).all()
    assert {(t.reason, t.internal) for t in logged} == {("Two guest reviewers join this month", True)}
    told = db.session.scalars(select(Notification.text)).all()
    assert told and not any("guest reviewers" in t for t in told)


def test_capacity_counts_what_is_already_shortlisted(world):
    services.shortlist_ideas(world.challenge, world.manager, [world.ideas[0].id, world.ideas[1].id])
    db.session.commit()
    with pytest.raises(ReviewError):
        services.shortlist_ideas(world.challenge, world.manager, [world.ideas[2].id])
    db.session.rollback()
    assert _reviews() == 2


@pytest.mark.parametrize("problem", ["twice", "other challenge", "hidden", "withdrawn", "empty", "not manager",
                                     "voting phase"])
def test_refusals_are_all_or_nothing(problem, world, make_user):
    ids = [world.ideas[0].id]
    actor = world.manager
    if problem == "twice":
        services.shortlist_ideas(world.challenge, world.manager, [world.ideas[1].id])
        db.session.commit()
        ids.append(world.ideas[1].id)
    elif problem == "other challenge":
        other = open_challenge(world.manager)
        ids.append(idea_in(other, world.author).id)
    elif problem == "hidden":
        from ideas import clock

        world.ideas[1].hidden_at = clock.now()
        db.session.commit()
        ids.append(world.ideas[1].id)
    elif problem == "withdrawn":
        world.ideas[1].status = "withdrawn"
        db.session.commit()
        ids.append(world.ideas[1].id)
    elif problem == "empty":
        ids = []
    elif problem == "not manager":
        actor = make_user(roles=("manager",))
    elif problem == "voting phase":
        challenges.change_phase(world.challenge, world.manager, "voting", "More votes")
        db.session.commit()
    before = _reviews()
    with pytest.raises(ReviewError) as excinfo:
        services.shortlist_ideas(world.challenge, actor, ids)
    db.session.rollback()
    assert _reviews() == before
    assert excinfo.value.status in (403, 409, 422)


def _score(idea, blended: float, disagree: bool = False):
    row = db.session.get(IdeaScore, idea.id)  # the voting code may have made the row already
    if row is None:
        row = IdeaScore(idea_id=idea.id, challenge_id=idea.challenge_id)
        db.session.add(row)
    row.score_blended, row.disagree = blended, disagree
    row.raw_employee = max(row.raw_employee or 0, 1)  # a score comes from votes: someone voted


def test_the_suggestion_is_the_top_of_the_blended_ranking_plus_disagreement_within_capacity(world, make_user):
    manager = world.manager
    challenge = open_challenge(manager, phase="submission", review_capacity=3)
    authors = [make_user() for _ in range(6)]
    ideas = [idea_in(challenge, a, title=f"Idea {n}") for n, a in enumerate(authors)]
    challenges.change_phase(challenge, manager, "voting", "go")
    challenges.change_phase(challenge, manager, "review", "go")
    for n, idea in enumerate(ideas):
        _score(idea, 1.0 - n / 10, disagree=(n == 4))
    db.session.commit()
    suggested = services.suggested_shortlist(challenge, manager)
    assert [s.idea.title for s in suggested] == ["Idea 0", "Idea 1", "Idea 4"]
    assert "employees and externals disagree" in suggested[-1].why
    assert "#1 in the blended ranking" in suggested[0].why
    # Once two are shortlisted, one place is left.
    services.shortlist_ideas(challenge, manager, [ideas[0].id, ideas[1].id])
    db.session.commit()
    assert [s.idea.title for s in services.suggested_shortlist(challenge, manager)] == ["Idea 4"]
    services.shortlist_ideas(challenge, manager, [ideas[4].id])
    assert services.suggested_shortlist(challenge, manager) == []


def test_the_suggestion_follows_real_votes(world, make_user):
    from datetime import timedelta

    from ideas import clock

    manager = world.manager
    challenge = open_challenge(manager, phase="submission", review_capacity=1)
    a, b = make_user(), make_user()
    liked, ignored = idea_in(challenge, a, title="Liked"), idea_in(challenge, b, title="Ignored")
    challenges.change_phase(challenge, manager, "voting", "go")
    db.session.commit()
    for _ in range(3):
        cast_vote(liked, make_user(created_at=clock.now() - timedelta(days=60)), Ballot(reason="Clearly useful"))
    db.session.commit()
    challenges.change_phase(challenge, manager, "review", "go")
    db.session.commit()
    assert [s.idea.title for s in services.suggested_shortlist(challenge, manager)] == ["Liked"]
    assert ignored.id not in {s.idea.id for s in services.suggested_shortlist(challenge, manager)}
