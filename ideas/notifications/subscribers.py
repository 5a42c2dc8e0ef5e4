"""What notifications hear (ideas/events.py): each event becomes notices for the people
it concerns, in the same transaction as the change, and author mails for review steps."""
from __future__ import annotations

from flask import Flask

from ideas import events
from ideas.notifications import services


def _idea_published(_name, p) -> None:
    services.on_new_idea(p["idea"], p["actor"])


def _phase_changed(_name, p) -> None:
    services.on_phase_change(p["challenge"], p["event"])


def _coauthor_invited(_name, p) -> None:
    services.on_coauthor_invite(p["idea"], p["invite"], p["actor"])


def _comment_posted(_name, p) -> None:
    services.on_comment(p["comment"], p["actor"], replied_to=p["replied_to"], mentioned=p["mentioned"])


def _comment_edited(_name, p) -> None:
    services.on_mention(p["comment"], p["actor"], p["mentioned"])


def _idea_merged(_name, p) -> None:
    services.on_merge(p["duplicate"], p["survivor"], p["manager"])


def _move_asked(_name, p) -> None:
    services.on_move_asked(p["duplicate"], p["survivor"], p["manager"], p["asked"])


def _auto_hidden(_name, p) -> None:
    services.on_auto_hide(p["target"], p["reason"])


def _people_told(_name, p) -> int:
    people = set(p["user_ids"])
    if p["with_followers"] and p["idea"] is not None:
        people |= services.followers("idea", [p["idea"].id])
    return services.notify(people, p["kind"], p["text"], p["url"], idea=p["idea"], challenge=p["challenge"],
                           actor_id=p["actor_id"])


def _policy_changed(_name, p) -> None:
    services.on_policy_change(p["challenge"], p["change"], p["actor"], p["voter_ids"])


def _vote_cast(_name, p) -> None:
    if p["new"]:
        services.on_new_vote(p["idea"], p["voter"], p["votes"])


def _network_rule_off(_name, p) -> None:
    services.on_network_rule_off(p["reason"])


SUBSCRIPTIONS = {
    "idea.published": _idea_published,
    "phase.changed": _phase_changed,
    "coauthor.invited": _coauthor_invited,
    "comment.posted": _comment_posted,
    "comment.edited": _comment_edited,
    "idea.merged": _idea_merged,
    "votes.move_asked": _move_asked,
    "moderation.hidden": _auto_hidden,
    "people.told": _people_told,
    "policy.changed": _policy_changed,
    "vote.cast": _vote_cast,
    "vote.network_rule_off": _network_rule_off,
}


def init_app(app: Flask) -> None:
    for name, handler in SUBSCRIPTIONS.items():
        events.subscribe(app, name, handler)
    for name in services.IDEA_MAIL_EVENTS:
        events.subscribe(app, name, services.mail_authors)
