"""Merging duplicate ideas: the duplicate points to the survivor, its comments move,
and each of its supporters is asked whether their vote moves — nothing moves without
consent. Both ideas keep a history entry naming the other."""
from __future__ import annotations

from sqlalchemy import select, update

from ideas import clock, events
from ideas.challenges import policy
from ideas.challenges.models import Comment, Idea, IdeaRevision, IdeaStatus
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db


def merge_ideas(duplicate: Idea, survivor: Idea, manager, reason: str = "") -> int:
    """Fold `duplicate` into `survivor`. Returns how many supporters were asked about their vote."""
    from ideas.voting.models import Vote, VoteMoveRequest

    if not policy.is_manager(manager, duplicate.challenge):
        raise ChallengeError("Only this challenge's managers merge ideas.", status=403)
    if duplicate.id == survivor.id:
        raise ChallengeError("Choose another idea to merge into.", field="survivor")
    if duplicate.challenge_id != survivor.challenge_id:
        raise ChallengeError("Only ideas of the same challenge can be merged.", field="survivor")
    if duplicate.status != IdeaStatus.PUBLISHED:
        raise ChallengeError(f"This idea is {duplicate.status}; only a published idea can be merged.", status=409)
    if survivor.status != IdeaStatus.PUBLISHED:
        raise ChallengeError("The idea to merge into must be published.", field="survivor")
    now = clock.now()
    duplicate.status = IdeaStatus.MERGED
    duplicate.merged_into_id = survivor.id
    duplicate.updated_at = now
    moved = db.session.execute(
        update(Comment).where(Comment.idea_id == duplicate.id).values(idea_id=survivor.id),
        execution_options={"synchronize_session": False},
    ).rowcount or 0
    survivor.comment_count += moved
    duplicate.comment_count = 0
    note = (reason or "").strip()[:200]
    for idea, text in ((duplicate, f"merged into #{survivor.id} “{survivor.title}”"),
                       (survivor, f"absorbed #{duplicate.id} “{duplicate.title}” ({moved} comments moved)")):
        idea.revision += 1
        db.session.add(IdeaRevision(idea_id=idea.id, number=idea.revision, editor_id=manager.id, title=idea.title,
                                    summary=idea.summary, body=idea.body, tags=", ".join(idea.tags),
                                    note=f"{text}{': ' + note if note else ''}"[:300]))
    supporters = list(db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == duplicate.id, Vote.value > 0)))
    already = set(db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == survivor.id)))
    asked = 0
    for voter_id in supporters:
        status = "kept" if voter_id in already or voter_id in survivor.author_ids() else "pending"
        db.session.add(VoteMoveRequest(voter_id=voter_id, from_idea_id=duplicate.id, to_idea_id=survivor.id,
                                       status=status))
        asked += status == "pending"
    db.session.flush()
    pending = [v for v in supporters if v not in already and v not in survivor.author_ids()]
    events.emit("idea.merged", {"duplicate": duplicate, "survivor": survivor, "manager": manager, "asked": pending})
    return asked


def pending_moves(user) -> list:
    from ideas.voting.models import VoteMoveRequest

    return list(db.session.scalars(select(VoteMoveRequest).where(
        VoteMoveRequest.voter_id == user.id, VoteMoveRequest.status == "pending").order_by(VoteMoveRequest.id)))


def answer_move(request_id: int, user, move: bool) -> None:
    """The supporter's answer. Moving casts the same ballot on the survivor and
    withdraws it from the merged idea; declining leaves the vote where it was."""
    from ideas.voting import services as voting
    from ideas.voting.models import Vote, VoteMoveRequest

    row = db.session.get(VoteMoveRequest, request_id)
    if row is None or row.voter_id != user.id:
        raise NotFoundError()
    if row.status != "pending":
        raise ChallengeError("You already answered this.", status=409)
    row.answered_at = clock.now()
    if not move:
        row.status = "declined"
        return
    old = db.session.scalar(select(Vote).where(Vote.voter_id == user.id, Vote.idea_id == row.from_idea_id))
    survivor = db.session.get(Idea, row.to_idea_id)
    if old is not None:
        ballot = voting.Ballot(value=old.value, reason=old.reason,
                               ratings={r.criterion_id: r.rating for r in old.ratings})
        voting.cast_vote(survivor, user, ballot, network=old.network)
        voting.withdraw_vote(db.session.get(Idea, row.from_idea_id), user, force=True)
    row.status = "moved"
