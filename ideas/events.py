"""Events: how a domain says what happened without knowing who cares.

A use case calls `emit(name, payload)` once its change is written (flushed, inside
the request's transaction). Other packages subscribe in their own `init_app` with
`subscribe(app, name, handler)`, or to every event with `name="*"`: notifications
tell people, search queues the idea for indexing, voting keeps score rows, webhooks
queue deliveries. So challenges never imports notifications, search or voting's
services to have them act; the arrows between packages only go down (see
docs/architecture.md). Subscribers are per application, so two apps in one process
(tests) never hear each other.

A listener may refuse: `challenge.policy_requested` is emitted before the change is
written, and voting raises (a `ChallengeError`, shown next to its field) when votes
exist. Every other event announces a change already made. A listener may also answer:
`collect(name, payload)` emits and hands back what subscribers returned; merging
collects `idea.merged` to tell the manager how many supporters voting asked.

When subscribers run: inside the transaction, always. There are no after-commit
subscribers, by choice. A handler that raises makes the whole action fail and roll
back rather than lose the announcement silently, and a refused or rolled-back change
is never announced. Work that must leave the process (mail, the search index on disk,
webhook calls) is written by the handler as an outbox row in that same transaction
and carried out after the commit by its owner: `ideas.mail` sends the outbox after
the request, `ideas.search` drains its `IndexJob` queue, webhooks deliver from
`WebhookDelivery` rows on the scheduler's tick. A process killed between the commit
and that work loses nothing: the rows are still there. Handlers therefore never do
network I/O themselves.

Payloads. The `review.*` events go out of the site through webhooks: their payloads
are plain JSON-ready dicts that never carry internal notes, individual reviewer
scores or (under blind review) authors; `ideas/review/services.py` says what each
holds. The other events stay inside the process: their payloads carry the objects
the change concerns (the `Idea`, the acting `User`), as listed in `EVENTS`, so that a
subscriber in the same transaction reads what the use case just wrote.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

Handler = Callable[[str, dict[str, Any]], None]

_KEY = "ideas.events"

# Every event, with what its payload holds. A name not listed here is refused both
# when subscribing and when emitting, so a typo fails loudly instead of going unheard.
DOMAIN_EVENTS: dict[str, str] = {
    # accounts
    "account.verified": "user: the person's address was just proven (or changed and proven), so who they "
                        "are counted as (verified, their pool) changed",
    # challenges
    "challenge.policy_requested": "challenge, policy: the charter form asks for another voting policy "
                                  "(a listener refuses by raising ChallengeError)",
    "challenge.scoring_changed": "challenge, changed (the names of the settings that count votes)",
    "phase.changed": "challenge, event (the PhaseEvent just logged)",
    "idea.published": "idea, actor: an idea became visible to participants",
    "idea.changed": "idea: what it says or who may find it changed (saved, published, edited, withdrawn, "
                    "imported); emitted before idea.published when an idea is published",
    "idea.merged": "duplicate, survivor, manager: the duplicate now points to the survivor and its comments "
                   "moved (voting answers how many supporters it asked whether their vote moves)",
    "coauthor.invited": "idea, invite (the CoAuthor row), actor",
    "comment.posted": "comment, actor, replied_to (author ids), mentioned (user ids)",
    "comment.edited": "comment, actor, mentioned (user ids newly mentioned)",
    "moderation.hidden": "target (a moderation Target), reason: hidden automatically past the flag threshold",
    "moderation.visibility_changed": "idea: a moderator hid or showed the idea or one of its comments",
    # any domain
    "people.told": "user_ids, kind, text, url, idea or challenge (or neither), actor_id, with_followers (the "
                   "idea's followers too): a domain tells people something in its own words, a moderator's "
                   "decision or a review step; notifications answers how many notices it wrote",
    # voting
    "vote.cast": "idea, voter, new (a first vote, not a changed one), votes (the idea's votes now, both pools): "
                 "a vote cast or changed, live, replayed into the demo or moved by a merge",
    "vote.withdrawn": "idea, voter, votes (the idea's votes now): a vote withdrawn; no package listens yet "
                      "(announced for integrations: notifications hears only vote.cast)",
    "votes.move_asked": "duplicate, survivor, manager, asked (voter ids): supporters of a merged idea are "
                        "asked whether their vote moves to the survivor",
    "vote.network_rule_off": "reason: every vote came from one address, the shared-network rule is off",
    "policy.changed": "challenge, change (the PolicyChange), actor, voter_ids",
    "votes.reweighing": "challenge: every vote of the challenge is about to be weighed again and its "
                        "weight rewritten in bulk, in this transaction (a policy change)",
    "votes.reweighed": "challenge: those weights are rewritten; what is kept from them per row can be "
                       "counted again once for the challenge",
}
REVIEW_EVENTS: tuple[str, ...] = (
    # `review.transition` accompanies each state change (with `from`/`to`), alongside
    # the specific event named for that change.
    "review.transition",
    "review.shortlisted",
    "review.started",
    "review.reviewers_assigned",
    "review.scorecard_submitted",
    "review.decided",
    "review.revisited",
    "review.handed_off",
    "review.handoff_declined",
    "review.acknowledged",
    "review.work_started",
    "review.progress_posted",
    "review.closed",
    "review.escalated",
)
EVENTS: tuple[str, ...] = (*DOMAIN_EVENTS, *REVIEW_EVENTS)
ANY = "*"


def _registry(app: Flask) -> dict[str, list[Handler]]:
    return app.extensions.setdefault(_KEY, {})


def subscribe(app: Flask, name: str, handler: Handler) -> None:
    """Call `handler(name, payload)` on each `name` event (or every event for "*")."""
    if name != ANY and name not in EVENTS:
        raise ValueError(f"unknown event {name!r}; known: {', '.join(EVENTS)}")
    handlers = _registry(app).setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(app: Flask, name: str, handler: Handler) -> None:
    handlers = _registry(app).get(name, [])
    if handler in handlers:
        handlers.remove(handler)


def emit(name: str, payload: dict[str, Any]) -> int:
    """Hand the event to its subscribers, in the order they subscribed; returns how many heard it."""
    return len(_deliver(name, payload))


def collect(name: str, payload: dict[str, Any]) -> list[Any]:
    """Emit the event and hand back what its subscribers answered (their return values
    other than None), so the emitter can tell its user what the change set off without
    knowing who acted: merging an idea says how many supporters voting asked."""
    return [answer for answer in _deliver(name, payload) if answer is not None]


def _deliver(name: str, payload: dict[str, Any]) -> list[Any]:
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    registry = _registry(current_app)
    handlers = [*registry.get(name, []), *registry.get(ANY, [])]
    return [handler(name, dict(payload)) for handler in handlers]
