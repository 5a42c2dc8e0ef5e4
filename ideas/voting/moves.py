"""Votes on a merged idea: each supporter of the duplicate is asked whether their vote
moves to the survivor, and nothing moves without their consent. A vote that moves keeps
its ballot and its reading (the duplicate was read, and the managers said the two are
one idea), and is weighed again on the survivor by the live path.

Merging is challenges' (ideas/challenges/merge.py); voting hears `idea.merged`, writes
one request per supporter (already "kept" where the voter supports the survivor or
wrote it), announces `votes.move_asked` so notifications can ask them, and answers the
number asked."""
from __future__ import annotations

from sqlalchemy import select

from ideas import clock, events
from ideas.challenges.models import Idea
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.voting import services as voting
from ideas.voting.models import IdeaView, Vote, VoteMoveRequest


def ask_supporters(_name: str, payload: dict) -> int:
    """On `idea.merged`: a request for each supporter of the duplicate; how many were asked."""
    duplicate, survivor = payload["duplicate"], payload["survivor"]
    supporters = list(db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == duplicate.id, Vote.value > 0)))
    already = set(db.session.scalars(select(Vote.voter_id).where(Vote.idea_id == survivor.id)))
    authors = set(survivor.author_ids())
    asked = [voter_id for voter_id in supporters if voter_id not in already and voter_id not in authors]
    for voter_id in supporters:
        db.session.add(VoteMoveRequest(voter_id=voter_id, from_idea_id=duplicate.id, to_idea_id=survivor.id,
                                       status="pending" if voter_id in asked else "kept"))
    db.session.flush()
    events.emit("votes.move_asked", {"duplicate": duplicate, "survivor": survivor, "manager": payload["manager"],
                                     "asked": asked})
    return len(asked)


def pending_moves(user) -> list[VoteMoveRequest]:
    return list(db.session.scalars(select(VoteMoveRequest).where(
        VoteMoveRequest.voter_id == user.id, VoteMoveRequest.status == "pending").order_by(VoteMoveRequest.id)))


def answer_move(request_id: int, user, move: bool) -> None:
    """The supporter's answer. Moving casts the same ballot on the survivor and
    withdraws it from the merged idea; declining leaves the vote where it was."""
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
    duplicate, survivor = db.session.get(Idea, row.from_idea_id), db.session.get(Idea, row.to_idea_id)
    if old is not None:
        ballot = voting.Ballot(value=old.value, reason=old.reason,
                               ratings={r.criterion_id: r.rating for r in old.ratings})
        network = old.network
        _carry_reading(duplicate, survivor, user)
        # Withdrawn first: the reason is then compared with other people's, not with itself.
        voting.withdraw_vote(duplicate, user, force=True)
        voting.cast_vote(survivor, user, ballot, network=network)
    row.status = "moved"


def _carry_reading(duplicate: Idea, survivor: Idea, user) -> None:
    """Whoever read the duplicate read the idea it was merged into: the managers said
    they are one idea. The survivor is counted as opened when the duplicate first was,
    unless the voter opened it earlier, so the moved vote is not taken for a blind one."""
    read = db.session.get(IdeaView, (duplicate.id, user.id))
    if read is None:
        return
    mine = db.session.get(IdeaView, (survivor.id, user.id))
    if mine is None:
        db.session.add(IdeaView(idea_id=survivor.id, user_id=user.id, first_at=read.first_at, last_at=read.last_at))
    elif clock.as_utc(mine.first_at) > clock.as_utc(read.first_at):
        mine.first_at = read.first_at
    db.session.flush()
