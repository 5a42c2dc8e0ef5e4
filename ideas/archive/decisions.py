"""Decisions (accepted, declined, parked) in and out of the review module.

An imported decision becomes the idea's review with the log the site itself would
have written for it: shortlisted, in review, then each decision in turn (a parked
idea revisited before the next one). The archive knows only when each decision
was taken, so the steps before the first decision carry that decision's time.
Written directly, like the rest of an import: the author is not told again and no
review event goes out, since this is history.

Everything that touches the review module goes through `available()`, so an
archive still imports where that module is absent (its decisions are then
reported as not imported).
"""
from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from ideas.accounts.models import User
from ideas.archive.document import Archive, format_time
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db

NOTE = "imported from an archive"


def available() -> bool:
    try:
        from ideas.review.models import IdeaReview, ReviewTransition  # noqa: F401
    except ImportError:
        return False
    return True


def write(archive: Archive, challenge: Challenge, ideas: dict[str, Idea], manager: User) -> int:
    from ideas.review.models import IdeaReview, ReviewTransition
    from ideas.review.workflow import ReviewState

    by_idea = defaultdict(list)
    for index, entry in sorted(enumerate(archive.decisions), key=lambda pair: (pair[1].at, pair[0])):
        by_idea[entry.idea].append(entry)
    for key, entries in by_idea.items():
        first, final = entries[0], entries[-1]
        review = IdeaReview(idea=ideas[key], challenge_id=challenge.id, state=ReviewState(final.decision),
                            state_since=final.at, decision=final.decision, decision_reason=final.reason,
                            decided_at=final.at, created_at=first.at, created_by_id=manager.id)
        db.session.add(review)
        steps = [(None, ReviewState.SHORTLISTED, first.at, "", True),
                 (ReviewState.SHORTLISTED, ReviewState.IN_REVIEW, first.at, "", False)]
        for n, entry in enumerate(entries):
            if n:
                steps.append((ReviewState.PARKED, ReviewState.IN_REVIEW, entry.at, "", False))
            steps.append((ReviewState.IN_REVIEW, ReviewState(entry.decision), entry.at, entry.reason, False))
        for source, target, at, reason, internal in steps:
            db.session.add(ReviewTransition(review=review, from_state=source, to_state=target, actor_id=None,
                                            at=at, reason=reason, internal=internal, note=NOTE))
    return len(archive.decisions)


def read(idea_keys: dict[int, str]) -> tuple[list[dict], Counter]:
    """The decisions on these ideas in time order, and what the format cannot carry."""
    from ideas.review.models import IdeaReview, ReviewTransition
    from ideas.review.workflow import DECISIONS, ReviewState

    left_out: Counter = Counter()
    found = []
    ids = sorted(idea_keys)
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        rows = db.session.execute(
            select(IdeaReview.idea_id, IdeaReview.decision, IdeaReview.state, ReviewTransition)
            .join(ReviewTransition, ReviewTransition.review_id == IdeaReview.id)
            .where(IdeaReview.idea_id.in_(part)))
        undecided = set()
        for idea_id, decision, state, step in rows:
            if step.to_state in DECISIONS:
                found.append((step.at, step.id, {"idea": idea_keys[idea_id], "decision": step.to_state,
                                                 "reason": step.reason, "at": format_time(step.at)}))
            elif step.to_state not in (ReviewState.SHORTLISTED, ReviewState.IN_REVIEW):
                left_out["review steps after a decision (handoffs, progress)"] += 1
            if decision is None and state in (ReviewState.SHORTLISTED, ReviewState.IN_REVIEW):
                undecided.add(idea_id)
        if undecided:
            left_out["shortlisted ideas not yet decided"] += len(undecided)
    return [entry for *_, entry in sorted(found, key=lambda t: t[:2])], left_out
