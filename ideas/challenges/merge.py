"""Merging duplicate ideas: the duplicate points to the survivor and its comments move;
both ideas keep a history entry naming the other. Votes are voting's: on `idea.merged`
it asks each supporter whether their vote moves, and nothing moves without consent
(ideas/voting/moves.py)."""
from __future__ import annotations

from sqlalchemy import update

from ideas import clock, events
from ideas.challenges import permissions
from ideas.challenges.models import Comment, Idea, IdeaRevision, IdeaStatus
from ideas.errors import ChallengeError
from ideas.extensions import db


def merge_ideas(duplicate: Idea, survivor: Idea, manager, reason: str = "") -> int:
    """Fold `duplicate` into `survivor`. Returns how many supporters were asked about their vote."""
    if not permissions.can_merge_ideas(manager, duplicate.challenge):
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
    db.session.flush()
    # Voting asks the duplicate's supporters whether their vote moves, and answers how many.
    return sum(events.collect("idea.merged", {"duplicate": duplicate, "survivor": survivor, "manager": manager}))

