"""Who is told what. Every notification is checked against what its recipient may see.

Following: people follow challenges, ideas and tags; a follow names something that exists
and that its follower may see. Notifications: one row per person per event, never to the
person who acted, never about something the recipient cannot see. E-mail digests: one
mail per person per period with what they have not read yet, sent once (`send_digests`).
Nothing here commits: the request or the scheduler does."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import bindparam, func, select, update

from ideas import clock, mail, text
from ideas.accounts.models import Role, User, UserRole
from ideas.accounts.services import normalise_tag, normalise_tags
from ideas.challenges import permissions
from ideas.challenges.models import (
    Challenge,
    ChallengeTag,
    Idea,
    IdeaStatus,
    IdeaTag,
)
from ideas.challenges.services import voting_policy_words
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.notifications.models import Follow, Notification
from ideas.web import path_for

FOLLOW_TYPES = ("challenge", "idea", "tag")
DIGEST_CHOICES = ("none", "daily", "weekly")
DIGEST_PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
DIGEST_MAX_ITEMS = 50  # listed in one mail; the rest are counted
PAGE_SIZE = 30


# --- notifying -----------------------------------------------------------------

def notify(user_ids: Iterable[int], kind: str, text: str, url: str = "", *, challenge=None, idea=None,
           actor_id: int | None = None) -> int:
    """Tell each person (but the actor) who may see the challenge or idea concerned."""
    ids = {i for i in user_ids if i and i != actor_id}
    if not ids:
        return 0
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active)).all()
    sent = 0
    for person in people:
        if idea is not None and not permissions.can_see_idea(person, idea):
            continue
        if challenge is not None and not permissions.can_see_challenge(person, challenge):
            continue
        db.session.add(Notification(
            user_id=person.id, kind=kind, text=text[:500], url=url[:300],
            challenge_id=challenge.id if challenge is not None else (idea.challenge_id if idea else None),
            idea_id=idea.id if idea is not None else None, created_at=clock.now(),
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
    if people - {actor.id}:
        notify(people, "new_idea", f"New idea in “{idea.challenge.title}”: {idea.title}",
               path_for("challenges.idea", idea_id=idea.id), idea=idea, actor_id=actor.id)


def on_phase_change(challenge, event) -> None:
    people = followers("challenge", [challenge.id])
    if people:
        notify(people, "phase", f"“{challenge.title}” is now in its {event.to_phase} phase.",
               path_for("challenges.detail", challenge_id=challenge.id), challenge=challenge)


def on_coauthor_invite(idea, row, actor) -> None:
    if row.user_id:
        notify([row.user_id], "coauthor_invite", f"{actor.name} invites you to co-author “{idea.title}”.",
               path_for("challenges.idea", idea_id=idea.id), challenge=idea.challenge, actor_id=actor.id)


def on_comment(comment, actor, *, replied_to: Iterable[int] = (), mentioned: Iterable[int] = ()) -> None:
    """Each person is told once, in the most specific words: mentioned, replied to, author, follower.

    `replied_to`: the authors of the comment answered and of its thread's first comment."""
    idea = comment.idea
    url = path_for("challenges.idea", idea_id=idea.id, _anchor=f"comment-{comment.id}")
    excerpt = text.plain(comment.body, 140)
    told = {actor.id}
    groups = [
        ("mention", set(mentioned), f"{actor.name} mentioned you on “{idea.title}”: {excerpt}"),
        ("reply", set(replied_to),
         f"{actor.name} replied to your comment on “{idea.title}”: {excerpt}"),
        ("comment_on_your_idea", idea.author_ids(), f"{actor.name} commented on your idea “{idea.title}”: {excerpt}"),
        ("comment", followers("idea", [idea.id]), f"{actor.name} commented on “{idea.title}”: {excerpt}"),
    ]
    for kind, people, message in groups:
        people -= told
        if people:
            notify(people, kind, message, url, idea=idea, actor_id=actor.id)
        told |= people


def on_mention(comment, actor, mentioned: Iterable[int]) -> None:
    """People newly mentioned in an edited comment."""
    mentioned = set(mentioned) - {actor.id}
    if mentioned:
        idea = comment.idea
        notify(mentioned, "mention", f"{actor.name} mentioned you on “{idea.title}”: {text.plain(comment.body, 140)}",
               path_for("challenges.idea", idea_id=idea.id, _anchor=f"comment-{comment.id}"),
               idea=idea, actor_id=actor.id)


def on_merge(duplicate, survivor, manager) -> None:
    """The duplicate's authors."""
    notify(duplicate.author_ids(), "merged", f"Your idea “{duplicate.title}” was merged into “{survivor.title}”.",
           path_for("challenges.idea", idea_id=survivor.id), idea=survivor, actor_id=manager.id)


def on_move_asked(duplicate, survivor, manager, asked: Iterable[int]) -> None:
    """The duplicate's supporters, asked whether their vote moves."""
    notify(asked, "vote_move", f"“{duplicate.title}”, which you supported, was merged into “{survivor.title}”. "
           "Should your vote move?", path_for("voting.vote_moves"), idea=survivor, actor_id=manager.id)


def on_auto_hide(target, reason: str) -> None:
    """Flagged past the threshold: its authors are told, and the challenge's moderators have work."""
    challenge = target.challenge
    notify(target.author_ids, "moderation", f"Your {target.label} is hidden pending review: {reason}",
           target.path(), idea=target.idea)
    notify(challenge.staff_ids(), "moderation_queue", f"Hidden pending review in “{challenge.title}”: {target.label}.",
           path_for("challenges.moderation", challenge_id=challenge.id), challenge=challenge)


def on_policy_change(challenge, change, actor, voter_ids: Iterable[int]) -> None:
    words = voting_policy_words(challenge.voting_policy)
    notify(voter_ids, "policy", f"The voting policy of “{challenge.title}” changed to “{words}”: "
           f"{change.reason[:200]}", path_for("challenges.detail", challenge_id=challenge.id),
           challenge=challenge, actor_id=actor.id)


# The counts of votes at which an idea's authors are told how far it has come: the
# first vote, then steps a person notices, never one notice a vote.
VOTE_MILESTONES = (1, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000)


def on_new_vote(idea, voter, votes: int) -> None:
    """A new vote that brings the idea to a milestone: its authors hear how many people voted."""
    if votes not in VOTE_MILESTONES:
        return
    text = (f"The first vote on your idea “{idea.title}” is in." if votes == 1
            else f"{votes:,} people have voted on your idea “{idea.title}”.")
    told = select(Notification.id).where(Notification.idea_id == idea.id, Notification.kind == "votes",
                                         Notification.text == text[:500])
    if db.session.scalar(told.limit(1)) is not None:
        return  # a vote withdrawn and cast again: they heard this one already
    notify(idea.author_ids(), "votes", text, path_for("challenges.idea", idea_id=idea.id), idea=idea,
           actor_id=voter.id)


def on_network_rule_off(reason: str) -> None:
    admins = db.session.scalars(select(UserRole.user_id).where(UserRole.role == Role.ADMIN))
    notify(set(admins), "admin", f"Voting: {reason}")


# --- following -----------------------------------------------------------------

@dataclass
class Followed:
    follow: Follow
    label: str
    url: str | None


def _target(user, target_type: str, target_key) -> tuple[str, object]:
    """The normalised key and the object followed; NotFoundError unless it exists for this person."""
    if target_type not in FOLLOW_TYPES:
        raise NotFoundError()
    raw = str(target_key if target_key is not None else "").strip()
    if target_type == "tag":
        tags = normalise_tags(raw)
        if len(tags) != 1 or not tag_exists_for(user, tags[0]):
            raise NotFoundError()
        return tags[0], tags[0]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError()
    if target_type == "challenge":
        found = db.session.get(Challenge, int(raw))
        if found is None or not permissions.can_see_challenge(user, found):
            raise NotFoundError()
    else:
        found = db.session.get(Idea, int(raw))
        if found is None or found.status == IdeaStatus.DRAFT or not permissions.can_see_idea(user, found):
            raise NotFoundError()
    return str(found.id), found


def tag_exists_for(user, tag: str) -> bool:
    """A tag exists for someone when a challenge or idea they may see carries it."""
    challenges = db.session.scalars(
        select(Challenge).join(ChallengeTag).where(ChallengeTag.tag == tag).limit(50)
    )
    if any(permissions.can_see_challenge(user, c) for c in challenges):
        return True
    ideas = db.session.scalars(
        select(Idea).join(IdeaTag).where(IdeaTag.tag == tag, Idea.status != IdeaStatus.DRAFT,
                                         Idea.hidden_at.is_(None)).limit(50)
    )
    return any(permissions.can_see_idea(user, i) for i in ideas)


def follow(user, target_type: str, target_key) -> Follow:
    """Follow a challenge, idea or tag. Following twice is following once."""
    if not getattr(user, "is_authenticated", False):
        raise ChallengeError("Sign in to follow.", status=401)
    key, _ = _target(user, target_type, target_key)
    row = _follow_row(user, target_type, key)
    if row is None:
        row = Follow(user_id=user.id, target_type=target_type, target_key=key, created_at=clock.now())
        db.session.add(row)
        db.session.flush()
    return row


def unfollow(user, target_type: str, target_key) -> bool:
    """Stop following. What one follows can always be left, even if it is no longer visible."""
    if not getattr(user, "is_authenticated", False):
        raise ChallengeError("Sign in to follow.", status=401)
    key = str(target_key if target_key is not None else "").strip()
    if target_type == "tag":
        key = normalise_tag(key)  # as tags are written
    row = _follow_row(user, target_type, key)
    if row is None:
        _target(user, target_type, target_key)  # 404 for what does not exist for this person
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def _follow_row(user, target_type: str, key: str) -> Follow | None:
    return db.session.scalar(_FOLLOW_ROW, {"user_id": user.id, "target_type": target_type, "key": key})


# A follow button's read (the idea page's): built once (building costs more than the read).
_FOLLOW_ROW = select(Follow).where(Follow.user_id == bindparam("user_id"),
                                   Follow.target_type == bindparam("target_type"), Follow.target_key == bindparam("key"))


def is_following(user, target_type: str, target_key) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return _follow_row(user, target_type, str(target_key)) is not None


def following_among(user, targets: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (target type, key) pairs the person follows, in one query (a page's
    follow buttons)."""
    wanted = {(t, str(k)) for t, k in targets}
    if not wanted or not getattr(user, "is_authenticated", False):
        return set()
    rows = db.session.execute(_FOLLOWED_KEYS, {"user_id": user.id, "keys": sorted({k for _, k in wanted})})
    return {(t, k) for t, k in rows} & wanted


# One statement by key, built once (an OR of (type, key) pairs costs more to build than to
# run); the pairs are matched here.
_FOLLOWED_KEYS = select(Follow.target_type, Follow.target_key).where(
    Follow.user_id == bindparam("user_id"), Follow.target_key.in_(bindparam("keys", expanding=True)))


def followed(user, limit: int = 200) -> list[Followed]:
    """What this person follows and may still see, with a label and a link for each."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = list(db.session.scalars(
        select(Follow).where(Follow.user_id == user.id).order_by(Follow.target_type, Follow.id.desc()).limit(limit)
    ))
    ids = {t: [int(r.target_key) for r in rows if r.target_type == t and r.target_key.isdigit()]
           for t in ("challenge", "idea")}
    challenges = {c.id: c for c in db.session.scalars(select(Challenge).where(Challenge.id.in_(ids["challenge"])))} \
        if ids["challenge"] else {}
    ideas = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(ids["idea"])))} if ids["idea"] else {}
    found = []
    for row in rows:
        if row.target_type == "tag":
            found.append(Followed(row, row.target_key, _tag_url(row.target_key)))
        elif row.target_type == "challenge":
            c = challenges.get(int(row.target_key))
            if c is not None and permissions.can_see_challenge(user, c):
                found.append(Followed(row, c.title, path_for("challenges.detail", challenge_id=c.id)))
        else:
            i = ideas.get(int(row.target_key))
            if i is not None and permissions.can_see_idea(user, i):
                found.append(Followed(row, i.title, path_for("challenges.idea", idea_id=i.id)))
    return found


def _tag_url(tag: str) -> str | None:
    if "challenges.search" in current_app.view_functions:
        try:
            return path_for("challenges.search", tag=tag)
        except Exception:  # noqa: BLE001 - the search page's parameters are its own business
            return None
    return None


# --- the notification list -------------------------------------------------------

@dataclass
class Item:
    notification: Notification
    visible: bool  # False: about something its recipient can no longer see (shown without its text)


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return db.session.scalar(_UNREAD, {"user_id": user.id}) or 0


# Read on every signed-in page (the header's badge): built once, since on SQLite building a
# statement costs several times what running it does.
_UNREAD = select(func.count(Notification.id)).where(Notification.user_id == bindparam("user_id"),
                                                    Notification.read_at.is_(None))


def notifications_for(user, page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[Item], int]:
    """One page of the person's notifications, newest first, and how many there are."""
    page = max(1, page)
    total = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id)) or 0
    rows = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ))
    return [Item(row, visible) for row, visible in zip(rows, _still_visible(user, rows), strict=True)], total


def _still_visible(user, rows: list[Notification]) -> list[bool]:
    """Content hidden or moved out of the person's sight since they were told stays unseen."""
    idea_ids = {r.idea_id for r in rows if r.idea_id}
    challenge_ids = {r.challenge_id for r in rows if r.challenge_id and not r.idea_id}
    ideas = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(idea_ids)))} if idea_ids else {}
    challenges = {c.id: c for c in db.session.scalars(select(Challenge).where(Challenge.id.in_(challenge_ids)))} \
        if challenge_ids else {}
    seen = []
    for r in rows:
        if r.idea_id:
            seen.append(r.idea_id in ideas and permissions.can_see_idea(user, ideas[r.idea_id]))
        elif r.challenge_id:
            seen.append(r.challenge_id in challenges and permissions.can_see_challenge(user, challenges[r.challenge_id]))
        else:
            seen.append(True)
    return seen


def get_notification(user, notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or not getattr(user, "is_authenticated", False) or row.user_id != user.id:
        raise NotFoundError()
    return row


def mark_read(user, notification_id: int) -> Notification:
    row = get_notification(user, notification_id)
    if row.read_at is None:
        row.read_at = clock.now()
        db.session.flush()
    return row


def mark_all_read(user) -> int:
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now()).execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


def set_digest(user, digest: str) -> None:
    if digest not in DIGEST_CHOICES:
        raise ChallengeError("Choose never, daily or weekly.", field="digest")
    user.digest = digest
    db.session.flush()


def set_idea_mail(user, on: bool) -> None:
    user.idea_mail = bool(on)
    db.session.flush()


# --- e-mail at once about one's own ideas -------------------------------------------

# What an author hears by e-mail when it happens (the review announces it as an event);
# starting the review, an owner turning a handoff down, or work starting are site-only.
IDEA_MAIL_EVENTS = ("review.transition", "review.progress_posted")
IDEA_MAIL_STATES = frozenset({"shortlisted", "accepted", "declined", "parked", "handed_off", "acknowledged",
                              "delivered", "dropped"})
IDEA_MAIL_KINDS = ("review", "review_progress")


def mail_authors(name: str, payload: dict) -> int:
    """E-mail the idea's authors who want it, and leave what they were mailed out of
    their digest.  Runs in the review's transaction: the mail goes to the outbox and is
    sent only if the change commits."""
    if name == "review.transition" and payload.get("to") not in IDEA_MAIL_STATES:
        return 0
    idea = db.session.get(Idea, payload["idea_id"])
    if idea is None:
        return 0
    people = [p for p in db.session.scalars(select(User).where(User.id.in_(idea.author_ids())))
              if p.active and p.idea_mail and p.email_verified_at is not None and p.id != payload.get("actor_id")]
    if not people:
        return 0
    base = _base_url()
    link = f"{base}{payload.get('idea_url') or path_for('challenges.idea', idea_id=idea.id)}"
    if name == "review.progress_posted":
        owner = db.session.get(User, payload.get("owner_id")) if payload.get("owner_id") else None
        subject = f"Progress on your idea “{idea.title}”"
        lines = [f"{owner.name if owner else 'The R&D owner'} reports progress on your idea “{idea.title}”:", "",
                 payload.get("body") or ""]
    else:
        subject = f"Your idea “{idea.title}”: {payload.get('author_label')}"
        lines = [f"Your idea “{idea.title}” in “{idea.challenge.title}”: {payload.get('author_label')}."]
        if payload.get("reason"):
            lines += ["", payload["reason"]]
    now = clock.now()
    for person in people:
        mail.send_mail(person.email, subject[:200], "\n".join([
            f"Hello {person.name},", "", *lines, "", f"See every step: {link}", "",
            f"To stop these e-mails, untick the box on {base}{path_for('notifications.index')}",
        ]))
    # Already mailed: the digest need not say it again.
    db.session.execute(
        update(Notification).where(Notification.user_id.in_([p.id for p in people]), Notification.idea_id == idea.id,
                                   Notification.kind.in_(IDEA_MAIL_KINDS), Notification.digested_at.is_(None))
        .values(digested_at=now).execution_options(synchronize_session=False))
    return len(people)


# --- e-mail digests --------------------------------------------------------------

def send_digests(now: datetime | None = None) -> int:
    """Mail each person who asked for a digest what they have not read nor been mailed yet.

    One mail per person per period (daily or weekly, counted from their previous digest);
    each notification is mailed at most once, so running this twice mails nobody twice.
    Safe from several processes: each person's row is locked (on PostgreSQL) while their
    digest is made. Returns the number of mails written; the caller commits."""
    now = now or clock.now()
    candidates = list(db.session.scalars(
        select(Notification.user_id).join(User, User.id == Notification.user_id)
        .where(Notification.read_at.is_(None), Notification.digested_at.is_(None), User.digest != "none",
               User.active, User.email_verified_at.is_not(None))
        .group_by(Notification.user_id).order_by(Notification.user_id)
    ))
    sent = 0
    for user_id in candidates:
        person = db.session.scalar(
            select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
        )
        if person is None or person.digest not in DIGEST_PERIOD:
            continue
        last = db.session.scalar(select(func.max(Notification.digested_at)).where(Notification.user_id == user_id))
        if last is not None and now - clock.as_utc(last) < DIGEST_PERIOD[person.digest]:
            continue
        rows = list(db.session.scalars(
            select(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None),
                                       Notification.digested_at.is_(None))
            .order_by(Notification.id).execution_options(populate_existing=True)
        ))
        if not rows:
            continue
        shown = [r for r, visible in zip(rows, _still_visible(person, rows), strict=True) if visible]
        for row in rows:
            row.digested_at = now
        if shown:
            _mail_digest(person, shown)
            sent += 1
    db.session.flush()
    return sent


def _mail_digest(person: User, rows: list[Notification]) -> None:
    base = _base_url()
    period = "today" if person.digest == "daily" else "this week"
    lines = [f"Hello {person.name},", "", f"Here is what happened {period} on what you follow and on your ideas:", ""]
    for row in rows[:DIGEST_MAX_ITEMS]:
        lines.append(f"- {row.text}")
        if row.url:
            lines.append(f"  {base}{row.url}")
    if len(rows) > DIGEST_MAX_ITEMS:
        lines.append(f"… and {len(rows) - DIGEST_MAX_ITEMS} more.")
    lines += ["", f"All your notifications: {base}{path_for('notifications.index')}",
              "To change how often you get this e-mail, or stop it, use the same page."]
    count = len(rows)
    mail.send_mail(person.email, f"Ideas: {count} new notification{'s' if count != 1 else ''}", "\n".join(lines))


def _base_url() -> str:
    base = current_app.config.get("IDEAS_BASE_URL", "").rstrip("/")
    if base:
        return base
    try:
        return url_for("site.home", _external=True).rstrip("/")
    except RuntimeError:  # no request and no SERVER_NAME: links stay relative
        return ""
