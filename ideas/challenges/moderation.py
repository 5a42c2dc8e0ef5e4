"""Moderation: flags from participants, hiding past a threshold, and the moderators' actions.

Anyone taking part flags an idea or a comment once, with a reason. When as many distinct
people as the challenge's `flag_threshold` have flagged it (and no moderator has decided
since), it is hidden pending review. Moderators (the challenge's staff) hide, restore,
warn, suspend from the challenge and lift suspensions, always with a reason that the
person concerned is told; every action is written to the moderation log."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ideas import clock, events, text
from ideas.accounts.models import User
from ideas.challenges import permissions
from ideas.challenges.comments import can_see_comment
from ideas.challenges.models import (
    Challenge,
    Comment,
    Flag,
    Idea,
    ModerationAction,
    Suspension,
)
from ideas.challenges.permissions import Action
from ideas.challenges.services import require_participation
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.numbers import db_int
from ideas.web import path_for

TARGET_TYPES = ("idea", "comment")
ACTIONS = ("hide", "restore", "warn", "suspend", "unsuspend")
MAX_FLAG_REASON = 500
MAX_REASON = 2_000
QUEUE_SIZE = 200
LOG_SIZE = 200


@dataclass
class Target:
    """An idea or a comment, with what moderation needs to know about it."""

    type: str
    obj: Idea | Comment
    idea: Idea

    @property
    def id(self) -> int:
        return self.obj.id

    @property
    def challenge(self) -> Challenge:
        return self.idea.challenge

    @property
    def author_ids(self) -> set[int]:
        return self.idea.author_ids() if self.type == "idea" else {self.obj.author_id}

    @property
    def author_id(self) -> int:
        return self.obj.author_id

    @property
    def hidden_at(self) -> datetime | None:
        return self.obj.hidden_at

    @property
    def label(self) -> str:
        if self.type == "idea":
            return f"idea “{self.idea.title}”"
        return f"comment on “{self.idea.title}”"

    @property
    def excerpt(self) -> str:
        source = self.idea.summary if self.type == "idea" else self.obj.body
        return text.plain(source, 300)

    def path(self) -> str:
        anchor = f"comment-{self.obj.id}" if self.type == "comment" else None
        return path_for("challenges.idea", idea_id=self.idea.id, _anchor=anchor)


def load_target(target_type: str, target_id, *, lock: bool = False) -> Target:
    """The idea or comment named by plain values; NotFoundError when there is none."""
    if target_type not in TARGET_TYPES:
        raise ChallengeError("Choose an idea or a comment.", field="target_type")
    try:
        target_id = db_int(target_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None  # not a number, or larger than any stored id
    model = Idea if target_type == "idea" else Comment
    query = select(model).where(model.id == target_id)
    if lock:  # concurrent flags of one item are counted one after the other
        query = query.with_for_update().execution_options(populate_existing=True)
    obj = db.session.scalar(query)
    if obj is None:
        raise NotFoundError()
    return Target(target_type, obj, obj if target_type == "idea" else obj.idea)


def can_see_target(user, target: Target) -> bool:
    if target.type == "idea":
        return permissions.can_see_idea(user, target.obj)
    return can_see_comment(user, target.obj)


# --- flags -----------------------------------------------------------------------

def flag(target_type: str, target_id, reporter, reason: str) -> Flag:
    """Report an idea or a comment. One flag per person per item; past the threshold it is hidden."""
    if not getattr(reporter, "is_authenticated", False):
        raise ChallengeError("Sign in to flag content.", status=401)
    target = load_target(target_type, target_id, lock=True)
    if not can_see_target(reporter, target):
        raise NotFoundError()
    what = target.type
    if reporter.id in target.author_ids:
        raise ChallengeError(f"This is your own {what}: edit it or withdraw it rather than flag it.", status=403)
    require_participation(reporter, target.challenge, Action.FLAG)
    reason = (reason or "").strip()
    if not reason:
        raise ChallengeError("Say what is wrong with it: the moderators read this.", field="reason")
    if len(reason) > MAX_FLAG_REASON:
        raise ChallengeError(f"Keep the reason under {MAX_FLAG_REASON} characters.", field="reason")
    already = f"You have already flagged this {what}: the moderators will look at it."
    if _flag_of(target, reporter.id) is not None:
        raise ChallengeError(already, status=409)
    row = Flag(challenge_id=target.challenge.id, target_type=target.type, target_id=target.id,
               reporter_id=reporter.id, reason=reason, created_at=clock.now())
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same person, twice at once: the database keeps one
        db.session.rollback()
        raise ChallengeError(already, status=409) from None
    _hide_past_threshold(target)
    return row


def _flag_of(target: Target, reporter_id: int) -> Flag | None:
    return db.session.scalar(select(Flag).where(
        Flag.target_type == target.type, Flag.target_id == target.id, Flag.reporter_id == reporter_id
    ))


def open_flag_count(target: Target) -> int:
    """Distinct people whose flags no moderator has answered yet (one flag per person per item)."""
    return db.session.scalar(select(func.count(Flag.id)).where(
        Flag.target_type == target.type, Flag.target_id == target.id, Flag.resolved_at.is_(None)
    )) or 0


def _hide_past_threshold(target: Target) -> None:
    if target.hidden_at is not None:
        return
    count = open_flag_count(target)
    challenge = target.challenge
    if count < challenge.flag_threshold:
        return
    _set_hidden(target, True)
    reason = f"Flagged by {count} people; hidden until a moderator reviews it."
    _log(challenge, target.type, target.id, target.author_id, None, "auto_hide", reason)
    events.emit("moderation.hidden", {"target": target, "reason": reason})


def _set_hidden(target: Target, hidden: bool) -> None:
    was_hidden = target.hidden_at is not None
    target.obj.hidden_at = clock.now() if hidden else None
    if target.type == "comment" and was_hidden != hidden:
        # comment_count counts what participants see
        target.idea.comment_count = max(0, (target.idea.comment_count or 0) + (-1 if hidden else 1))
    db.session.flush()
    events.emit("moderation.visibility_changed", {"idea": target.idea})


def _resolve_flags(target: Target) -> None:
    db.session.execute(
        update(Flag).where(Flag.target_type == target.type, Flag.target_id == target.id, Flag.resolved_at.is_(None))
        .values(resolved_at=clock.now()).execution_options(synchronize_session=False)
    )


# --- moderators' actions -----------------------------------------------------------

def require_moderator(actor, challenge: Challenge) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise ChallengeError("Sign in to moderate.", status=401)
    if not permissions.is_moderator(actor, challenge):
        if not permissions.can_see_challenge(actor, challenge):
            raise NotFoundError()
        raise ChallengeError("Only this challenge's managers and moderators may moderate it.", status=403)


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ChallengeError("Give a reason: the person concerned is told.", field="reason")
    if len(reason) > MAX_REASON:
        raise ChallengeError(f"Keep the reason under {MAX_REASON:,} characters.", field="reason")
    return reason


def _content_in(challenge: Challenge, target_type: str, target_id) -> Target:
    target = load_target(target_type, target_id)
    if target.challenge.id != challenge.id:
        raise NotFoundError()
    return target


def moderate(challenge: Challenge, actor, action: str, target_type: str, target_id, reason: str) -> ModerationAction:
    """One moderation action by name (what the queue page and the API call)."""
    require_moderator(actor, challenge)
    if action not in ACTIONS:
        raise ChallengeError("Choose an action.", field="action")
    if action in ("hide", "restore"):
        return (hide if action == "hide" else restore)(challenge, actor, target_type, target_id, reason)
    if target_type == "user":
        subject_id = _person_id(target_id)
    else:
        subject_id = _content_in(challenge, target_type, target_id).author_id
    return {"warn": warn, "suspend": suspend, "unsuspend": unsuspend}[action](
        challenge, actor, subject_id, reason, target_type=target_type, target_id=target_id)


def _person_id(user_id) -> int:
    try:
        person = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        person = None
    if person is None:
        raise NotFoundError()
    return person.id


def hide(challenge: Challenge, actor, target_type: str, target_id, reason: str) -> ModerationAction:
    require_moderator(actor, challenge)
    target = _content_in(challenge, target_type, target_id)
    reason = _clean_reason(reason)
    was_hidden = target.hidden_at is not None
    if was_hidden and open_flag_count(target) == 0:
        raise ChallengeError(f"This {target.type} is already hidden.", status=409)
    if not was_hidden:
        _set_hidden(target, True)
    _resolve_flags(target)  # hidden by flags and now confirmed: the review is done
    row = _log(challenge, target.type, target.id, target.author_id, actor.id, "hide", reason)
    if was_hidden:
        _tell(target, actor, f"A moderator reviewed your {target.label} and keeps it hidden. Reason: {reason}")
    else:
        _tell(target, actor, f"A moderator hid your {target.label}. Reason: {reason}")
    return row


def restore(challenge: Challenge, actor, target_type: str, target_id, reason: str) -> ModerationAction:
    """Show hidden content again, or keep flagged content visible: either way its flags are answered."""
    require_moderator(actor, challenge)
    target = _content_in(challenge, target_type, target_id)
    reason = _clean_reason(reason)
    was_hidden = target.hidden_at is not None
    if not was_hidden and open_flag_count(target) == 0:
        raise ChallengeError(f"This {target.type} is visible and nobody flagged it: nothing to restore.",
                             status=409)
    _set_hidden(target, False)
    _resolve_flags(target)
    row = _log(challenge, target.type, target.id, target.author_id, actor.id, "restore", reason)
    if was_hidden:
        _tell(target, actor, f"Your {target.label} is visible again. Moderator's note: {reason}")
    else:
        _tell(target, actor, f"Your {target.label} was flagged; a moderator reviewed it and it stays visible. "
                             f"Moderator's note: {reason}")
    return row


def warn(challenge: Challenge, actor, subject_id: int, reason: str, *, target_type: str = "user",
         target_id=None) -> ModerationAction:
    require_moderator(actor, challenge)
    reason = _clean_reason(reason)
    subject_id = _person_id(subject_id)
    row = _log(challenge, *_logged_target(target_type, target_id, subject_id), subject_id, actor.id, "warn", reason)
    _tell_person(challenge, subject_id, actor,
                 f"A moderator of “{challenge.title}” warns you. Reason: {reason}")
    return row


def suspend(challenge: Challenge, actor, subject_id: int, reason: str, *, target_type: str = "user",
            target_id=None) -> ModerationAction:
    """From now on the person may read the challenge but not submit, comment, vote or flag in it."""
    require_moderator(actor, challenge)
    reason = _clean_reason(reason)
    subject_id = _person_id(subject_id)
    if subject_id in challenge.staff_ids():
        raise ChallengeError("The challenge's own managers and moderators cannot be suspended from it.", status=409)
    if db.session.get(Suspension, (challenge.id, subject_id)) is not None:
        raise ChallengeError("This person is already suspended from this challenge.", status=409)
    db.session.add(Suspension(challenge_id=challenge.id, user_id=subject_id, reason=reason, at=clock.now()))
    row = _log(challenge, *_logged_target(target_type, target_id, subject_id), subject_id, actor.id, "suspend",
               reason)
    _tell_person(challenge, subject_id, actor,
                 f"You are suspended from “{challenge.title}”: you may read it, but not take part. Reason: {reason}")
    return row


def unsuspend(challenge: Challenge, actor, subject_id: int, reason: str, *, target_type: str = "user",
              target_id=None) -> ModerationAction:
    require_moderator(actor, challenge)
    reason = _clean_reason(reason)
    subject_id = _person_id(subject_id)
    deleted = db.session.execute(
        delete(Suspension).where(Suspension.challenge_id == challenge.id, Suspension.user_id == subject_id)
    ).rowcount
    if not deleted:
        raise ChallengeError("This person is not suspended from this challenge.", status=409)
    row = _log(challenge, "user", subject_id, subject_id, actor.id, "unsuspend", reason)
    _tell_person(challenge, subject_id, actor,
                 f"Your suspension from “{challenge.title}” is lifted: you may take part again. Note: {reason}")
    return row


def _logged_target(target_type: str, target_id, subject_id: int) -> tuple[str, int]:
    if target_type in TARGET_TYPES and target_id is not None:
        return target_type, int(target_id)
    return "user", subject_id


def _log(challenge, target_type, target_id, subject_id, actor_id, action, reason) -> ModerationAction:
    row = ModerationAction(challenge_id=challenge.id, target_type=target_type, target_id=target_id,
                           subject_id=subject_id, actor_id=actor_id, action=action, reason=reason, at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def _tell(target: Target, actor, message: str) -> None:
    events.emit("people.told", {"user_ids": target.author_ids, "kind": "moderation", "text": message,
                                "url": target.path(), "idea": target.idea, "challenge": None, "actor_id": actor.id,
                                "with_followers": False})


def _tell_person(challenge: Challenge, subject_id: int, actor, message: str) -> None:
    events.emit("people.told", {"user_ids": [subject_id], "kind": "moderation", "text": message,
                                "url": path_for("challenges.detail", challenge_id=challenge.id),
                                "idea": None, "challenge": challenge, "actor_id": actor.id, "with_followers": False})


# --- the queue and the log -----------------------------------------------------------

@dataclass
class QueueItem:
    target: Target
    flags: list[Flag] = field(default_factory=list)  # open flags, oldest first

    @property
    def pending(self) -> bool:
        """Hidden by flags and not yet reviewed, or flagged and still visible."""
        return bool(self.flags)

    @property
    def latest(self) -> datetime:
        times = [clock.as_utc(f.created_at) for f in self.flags]
        if self.target.hidden_at is not None:
            times.append(clock.as_utc(self.target.hidden_at))
        return max(times)


def queue(challenge: Challenge, actor, limit: int = QUEUE_SIZE) -> list[QueueItem]:
    """Flagged or hidden content of one challenge: what waits for a decision first, then newest."""
    require_moderator(actor, challenge)
    flags = list(db.session.scalars(
        select(Flag).options(joinedload(Flag.reporter))
        .where(Flag.challenge_id == challenge.id, Flag.resolved_at.is_(None)).order_by(Flag.id).limit(2_000)
    ))
    keys: dict[tuple[str, int], list[Flag]] = {}
    for row in flags:
        keys.setdefault((row.target_type, row.target_id), []).append(row)
    hidden_ideas = db.session.scalars(
        select(Idea).where(Idea.challenge_id == challenge.id, Idea.hidden_at.is_not(None))
        .order_by(Idea.hidden_at.desc()).limit(limit)
    ).all()
    hidden_comments = db.session.scalars(
        select(Comment).join(Idea, Idea.id == Comment.idea_id).options(joinedload(Comment.idea))
        .where(Idea.challenge_id == challenge.id, Comment.hidden_at.is_not(None))
        .order_by(Comment.hidden_at.desc()).limit(limit)
    ).all()
    ideas = {i.id: i for i in hidden_ideas}
    comments = {c.id: c for c in hidden_comments}
    want_ideas = [i for (t, i) in keys if t == "idea" and i not in ideas]
    want_comments = [i for (t, i) in keys if t == "comment" and i not in comments]
    if want_ideas:
        ideas.update({i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(want_ideas)))})
    if want_comments:
        comments.update({c.id: c for c in db.session.scalars(
            select(Comment).options(joinedload(Comment.idea)).where(Comment.id.in_(want_comments)))})
    items = [QueueItem(Target("idea", i, i), keys.get(("idea", i.id), [])) for i in ideas.values()]
    items += [QueueItem(Target("comment", c, c.idea), keys.get(("comment", c.id), [])) for c in comments.values()]
    items = [item for item in items if item.flags or item.target.hidden_at is not None]
    items.sort(key=lambda item: (not item.pending, -item.latest.timestamp()))
    return items[:limit]


def action_log(challenge: Challenge, actor, limit: int = LOG_SIZE) -> list[ModerationAction]:
    require_moderator(actor, challenge)
    return list(db.session.scalars(
        select(ModerationAction)
        .options(joinedload(ModerationAction.actor), joinedload(ModerationAction.subject))
        .where(ModerationAction.challenge_id == challenge.id)
        .order_by(ModerationAction.id.desc()).limit(limit)
    ))


def suspensions(challenge: Challenge, actor) -> list[tuple[Suspension, User]]:
    require_moderator(actor, challenge)
    return [(suspension, person) for suspension, person in db.session.execute(
        select(Suspension, User).join(User, User.id == Suspension.user_id)
        .where(Suspension.challenge_id == challenge.id).order_by(Suspension.at.desc())
    )]
