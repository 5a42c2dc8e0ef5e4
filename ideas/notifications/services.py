"""Who is told what. Every notification is checked against what its recipient may see."""
from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from sqlalchemy import select

from ideas.accounts.models import User
from ideas.challenges import policy
from ideas.challenges.models import Follow, Notification
from ideas.extensions import db


def notify(user_ids: Iterable[int], kind: str, text: str, url: str = "", *, challenge=None, idea=None,
           actor_id: int | None = None) -> int:
    """Tell each person (but the actor) who may see the challenge or idea concerned."""
    ids = {i for i in user_ids if i and i != actor_id}
    if not ids:
        return 0
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active)).all()
    sent = 0
    for person in people:
        if idea is not None and not policy.can_see_idea(person, idea):
            continue
        if challenge is not None and not policy.can_see_challenge(person, challenge):
            continue
        db.session.add(Notification(
            user_id=person.id, kind=kind, text=text[:500], url=url[:300],
            challenge_id=challenge.id if challenge is not None else (idea.challenge_id if idea else None),
            idea_id=idea.id if idea is not None else None,
        ))
        sent += 1
    db.session.flush()
    return sent


def followers(target_type: str, keys: Iterable) -> set[int]:
    keys = [str(k) for k in keys]
    if not keys:
        return set()
    return set(db.session.scalars(
        select(Follow.user_id).where(Follow.target_type == target_type, Follow.target_key.in_(keys))
    ))


def on_new_idea(idea, actor) -> None:
    people = followers("challenge", [idea.challenge_id]) | followers("tag", idea.tags)
    notify(people, "new_idea", f"New idea in “{idea.challenge.title}”: {idea.title}",
           url_for("challenges.idea", idea_id=idea.id), idea=idea, actor_id=actor.id)


def on_phase_change(challenge, event) -> None:
    people = followers("challenge", [challenge.id])
    notify(people, "phase", f"“{challenge.title}” is now in its {event.to_phase} phase.",
           url_for("challenges.detail", challenge_id=challenge.id), challenge=challenge)


def on_coauthor_invite(idea, row, actor) -> None:
    if row.user_id:
        notify([row.user_id], "coauthor_invite", f"{actor.name} invites you to co-author “{idea.title}”.",
               url_for("challenges.idea", idea_id=idea.id), challenge=idea.challenge, actor_id=actor.id)
