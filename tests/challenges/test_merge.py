"""Merging duplicates: comments move, votes move only with their owner's consent."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ideas.challenges import merge, services
from ideas.challenges.models import Comment, IdeaRevision
from ideas.errors import ChallengeError
from ideas.extensions import db
from ideas.voting import moves
from ideas.voting import services as voting
from ideas.voting.models import Vote, VoteMoveRequest
from tests.challenges.factories import idea_in, open_challenge


@pytest.fixture
def duplicates(make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager)
    survivor = idea_in(challenge, make_user(), title="Self-service kiosks")
    duplicate = idea_in(challenge, make_user(), title="Kiosks for check-in")
    db.session.add(Comment(idea_id=duplicate.id, author_id=manager.id, body="Same as the kiosks idea?"))
    duplicate.comment_count = 1
    services.change_phase(challenge, manager, "voting", "go")
    db.session.commit()
    return manager, survivor, duplicate


def test_merge_moves_comments_and_asks_supporters(duplicates, make_user):
    manager, survivor, duplicate = duplicates
    supporters = [make_user() for _ in range(3)]
    for person in supporters:
        voting.cast_vote(duplicate, person, voting.Ballot())
    voting.cast_vote(survivor, supporters[0], voting.Ballot())  # already supports the survivor
    db.session.commit()
    asked = merge.merge_ideas(duplicate, survivor, manager, "same idea")
    db.session.commit()
    assert asked == 2
    assert duplicate.status == "merged" and duplicate.merged_into_id == survivor.id
    assert db.session.scalar(select(Comment.idea_id)) == survivor.id
    # Nothing moved yet.
    assert db.session.scalar(select(db.func.count(Vote.id)).where(Vote.idea_id == duplicate.id)) == 3
    notes = [r.note for r in db.session.scalars(select(IdeaRevision).order_by(IdeaRevision.id))]
    assert any("merged into" in n for n in notes) and any("absorbed" in n for n in notes)


def test_vote_moves_with_consent_and_stays_without(duplicates, make_user):
    manager, survivor, duplicate = duplicates
    yes, no = make_user(), make_user()
    for person in (yes, no):
        voting.cast_vote(duplicate, person, voting.Ballot(reason="a reason"))
    merge.merge_ideas(duplicate, survivor, manager)
    db.session.commit()
    [ask_yes] = moves.pending_moves(yes)
    [ask_no] = moves.pending_moves(no)
    moves.answer_move(ask_yes.id, yes, move=True)
    moves.answer_move(ask_no.id, no, move=False)
    db.session.commit()
    assert db.session.scalar(select(Vote.idea_id).where(Vote.voter_id == yes.id)) == survivor.id
    assert db.session.scalar(select(Vote.idea_id).where(Vote.voter_id == no.id)) == duplicate.id
    statuses = {r.voter_id: r.status for r in db.session.scalars(select(VoteMoveRequest))}
    assert statuses == {yes.id: "moved", no.id: "declined"}
    with pytest.raises(ChallengeError):
        moves.answer_move(ask_yes.id, yes, move=True)


def test_only_managers_merge_and_not_across_challenges(duplicates, make_user):
    manager, survivor, duplicate = duplicates
    with pytest.raises(ChallengeError):
        merge.merge_ideas(duplicate, survivor, make_user())
    other = open_challenge(manager, title="Another")
    elsewhere = idea_in(other, make_user())
    with pytest.raises(ChallengeError):
        merge.merge_ideas(duplicate, elsewhere, manager)
    with pytest.raises(ChallengeError):
        merge.merge_ideas(duplicate, duplicate, manager)


def test_merge_page_flow(app, client, duplicates, make_user, login, post_form):
    manager, survivor, duplicate = duplicates
    supporter = make_user()
    voting.cast_vote(duplicate, supporter, voting.Ballot())
    db.session.commit()
    login(manager)
    response = post_form(f"/ideas/{duplicate.id}", {"survivor": survivor.id, "reason": "duplicate"},
                         action=f"/ideas/{duplicate.id}/merge")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/ideas/{survivor.id}")
    theirs = app.test_client()
    login(supporter, target=theirs)
    page = theirs.get("/my/vote-moves").get_data(as_text=True)
    assert "Move my vote" in page
    # The merged idea's page says the vote still on it counts for nothing now.
    left = theirs.get(f"/ideas/{duplicate.id}").get_data(as_text=True)
    assert "Your vote counts for nothing now" in left and "Your vote counts 1" not in left
    [ask] = moves.pending_moves(supporter)
    post_form("/my/vote-moves", {"request": ask.id, "answer": "move"}, target=theirs)
    assert db.session.scalar(select(Vote.idea_id).where(Vote.voter_id == supporter.id)) == survivor.id


def test_a_careful_vote_keeps_its_weight_when_it_moves(duplicates, make_user):
    from datetime import timedelta

    from ideas import clock

    manager, survivor, duplicate = duplicates
    careful = make_user(created_at=clock.now() - timedelta(days=400))
    voting.record_view(duplicate, careful, now=clock.now() - timedelta(minutes=10))
    reason = "Kiosks at check-in would let families skip the desk queue at the morning peak"
    voting.cast_vote(duplicate, careful, voting.Ballot(reason=reason))
    db.session.commit()
    before = db.session.scalar(select(Vote).where(Vote.voter_id == careful.id))
    weight, discounts = before.weight, before.discounts
    merge.merge_ideas(duplicate, survivor, manager, "same idea")
    [ask] = moves.pending_moves(careful)
    moves.answer_move(ask.id, careful, move=True)
    db.session.commit()
    moved = db.session.scalar(select(Vote).where(Vote.voter_id == careful.id))
    assert moved.idea_id == survivor.id and moved.reason == reason
    # Not taken for a blind vote, nor for a copy of its own reason on the duplicate.
    assert "not_read" not in moved.discounts and "copied_reason" not in moved.discounts, moved.discounts
    assert moved.weight >= weight - 1e-9, (weight, discounts, moved.weight, moved.discounts)


def test_the_same_tags_in_another_order_are_no_change_in_the_history():
    from types import SimpleNamespace

    older = SimpleNamespace(title="Kiosks", summary="s", body="b", tags="mobile, documents")
    newer = SimpleNamespace(title="Kiosks", summary="s", body="b", tags="documents, mobile")
    assert services.revision_diff(older, newer) == []
    newer.tags = "documents, mobile, kiosks"
    [(label, lines)] = services.revision_diff(older, newer)
    assert label == "Tags" and ("+", "documents, kiosks, mobile") in lines
