"""Review use cases: shortlist, reviewers and scorecards, decisions, handoffs, progress.

Plain values in, the acting person named; nothing here knows about requests.  Every
service validates everything before it writes, then flushes; the request (or the
scheduler) commits once or rolls back.  Refusals are `ReviewError`s (a
`ChallengeError`), with the form field they concern and an HTTP status.

Every change of state goes through `transition()`: it asks `workflow.apply` whether
the move is allowed for this person, writes the change and its log entry, tells the
author (in the words of `workflow.author_label`, with the reason when the author may
read it) and emits the review events (`ideas.events`).

Event payloads (all carry the common fields below; none carry internal notes,
reasons the author may not read, individual scores, or authors):

    common: review_id, idea_id, challenge_id, idea_title, idea_url, state,
            author_label, at (ISO 8601, UTC), actor_id (None from the scheduler)
    review.transition          + from, to, action, reason (public reason or None)
    review.shortlisted         + over_capacity (bool)
    review.started / review.revisited / review.work_started    (nothing more)
    review.decided             + decision (accepted|declined|parked), reason
    review.handed_off          + owner_id, owner_name, handoff_number, ack_due_at
    review.handoff_declined    + owner_id, handoff_number      (the reason is internal)
    review.acknowledged        + owner_id, owner_name, handoff_number
    review.closed              + outcome (delivered|dropped), reason
    review.reviewers_assigned  + reviewer_ids, automatic
    review.scorecard_submitted + reviewer_id, complete (every active reviewer has sent one)
    review.progress_posted     + update_id, owner_id, body
    review.escalated           + level (reminder|escalation), owner_id, handoff_number, ack_due_at
"""
from __future__ import annotations

# The review use cases, one module per room; callers import them from here.
from ideas.review.common import (
    S,
    DEFAULT_WIP_LIMIT,
    MAX_TEXT,
    SHORTLIST_PHASES,
    REVIEWING_STATES,
    LOAD_SLACK,
    ReviewError,
    ScorecardError,
    WipLimitError,
    manager_ids,
)
from ideas.review.access import (
    review_of,
    get_review,
    assignment_of,
    handed_to,
    actor_roles,
    can_act_as_owner,
    can_manage,
    can_know_of,
    can_read_review,
    can_open_review,
    can_see_internal,
    can_see_scores,
    hides_authors,
    blind_ideas,
)
from ideas.review.transitions import (
    check,
    base_payload,
    transition,
)
from ideas.review.shortlist import (
    shortlisted_count,
    shortlist_ideas,
    Suggestion,
    suggested_shortlist,
    start_review,
    send_to_review,
    shortlist_for_review,
)
from ideas.review.reviewers import (
    conflicts,
    reviewer_loads,
    assign_reviewers,
    declare_conflict,
)
from ideas.review.scorecards import (
    Rating,
    submit_scorecard,
    ScoreSheet,
    score_sheet,
    review_score,
    review_scores,
)
from ideas.review.decisions import (
    decide,
    revisit,
)
from ideas.review.handoffs import (
    wip_limit_of,
    set_wip_limit,
    owner_loads,
    wip_of,
    owners,
    OwnerSuggestion,
    suggested_owners,
    hand_off,
    acknowledge,
    decline_handoff,
    start_work,
    post_progress,
    close,
)
from ideas.review.deadlines import (
    due_handoffs,
    escalate,
    run_deadlines,
)
from ideas.review.queues import (
    ReviewerItem,
    reviewer_queue,
    OwnerItem,
    owner_queue,
    Dashboard,
    dashboard,
    TimelineEntry,
    OWNER_STEPS,
    timeline,
    stage_of,
)

__all__ = [
    "S",
    "DEFAULT_WIP_LIMIT",
    "MAX_TEXT",
    "SHORTLIST_PHASES",
    "REVIEWING_STATES",
    "LOAD_SLACK",
    "ReviewError",
    "ScorecardError",
    "WipLimitError",
    "manager_ids",
    "review_of",
    "get_review",
    "assignment_of",
    "handed_to",
    "actor_roles",
    "can_act_as_owner",
    "can_manage",
    "can_know_of",
    "can_read_review",
    "can_open_review",
    "can_see_internal",
    "can_see_scores",
    "hides_authors",
    "blind_ideas",
    "check",
    "base_payload",
    "transition",
    "shortlisted_count",
    "shortlist_ideas",
    "Suggestion",
    "suggested_shortlist",
    "start_review",
    "send_to_review",
    "shortlist_for_review",
    "conflicts",
    "reviewer_loads",
    "assign_reviewers",
    "declare_conflict",
    "Rating",
    "submit_scorecard",
    "ScoreSheet",
    "score_sheet",
    "review_score",
    "review_scores",
    "decide",
    "revisit",
    "wip_limit_of",
    "set_wip_limit",
    "owner_loads",
    "wip_of",
    "owners",
    "OwnerSuggestion",
    "suggested_owners",
    "hand_off",
    "acknowledge",
    "decline_handoff",
    "start_work",
    "post_progress",
    "close",
    "due_handoffs",
    "escalate",
    "run_deadlines",
    "ReviewerItem",
    "reviewer_queue",
    "OwnerItem",
    "owner_queue",
    "Dashboard",
    "dashboard",
    "TimelineEntry",
    "OWNER_STEPS",
    "timeline",
    "stage_of",
]
