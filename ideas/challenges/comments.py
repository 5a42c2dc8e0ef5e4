"""Discussion of an idea: comments with one level of replies, a short edit window, @mentions.

Plain values and the acting person in, objects out; refusals are ChallengeError (with the
form field they concern and an HTTP-like status) or NotFoundError. Nothing here commits."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import g, has_app_context
from markupsafe import Markup
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from ideas import clock, events, text
from ideas.accounts.models import User
from ideas.challenges import permissions
from ideas.challenges.models import Comment, Flag, Idea, IdeaStatus
from ideas.challenges.permissions import Action
from ideas.challenges.services import (
    is_suspended,
    require_participation,
)
from ideas.errors import ChallengeError, NotFoundError
from ideas.extensions import db
from ideas.web import path_for

# A comment may be corrected for a short while; after that what people replied to stays put.
EDIT_WINDOW = timedelta(minutes=15)
MAX_COMMENT = 10_000  # characters of Markdown
PAGE_SIZE = 50  # top-level comments shown on one page of an idea's discussion, each with its replies
MAX_REPLIES = 2_000  # replies loaded for those comments, at most
MAX_MENTIONS = 20  # @names resolved per comment
AMBIGUOUS = 5  # an @name matching more people than this notifies nobody


# --- reading -------------------------------------------------------------------

def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_see_hidden_comments(user, challenge) -> bool:
    """Every comment moderation hid in the challenge (each author still sees their own): its staff."""
    return permissions.is_staff(user, challenge)


def can_see_comment(user, comment: Comment) -> bool:
    """Who sees the idea sees its comments, except hidden ones: those only staff and their author."""
    if not permissions.can_see_idea(user, comment.idea):
        return False
    if comment.hidden_at is None:
        return True
    return can_see_hidden_comments(user, comment.idea.challenge) or (_signed_in(user) and user.id == comment.author_id)


def can_edit_comment(user, comment: Comment) -> bool:
    """Only its author corrects a comment (the edit window and moderation refuse on their own)."""
    return _signed_in(user) and user.id == comment.author_id


def get_comment(comment_id: int, user) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or not can_see_comment(user, comment):
        raise NotFoundError()
    return comment


def within_window(comment: Comment, now: datetime | None = None) -> bool:
    return (now or clock.now()) - clock.as_utc(comment.created_at) <= EDIT_WINDOW


def edit_minutes() -> int:
    return int(EDIT_WINDOW.total_seconds() // 60)


# --- writing -------------------------------------------------------------------

def clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ChallengeError("Write something before posting.", field="body")
    if len(body) > MAX_COMMENT:
        raise ChallengeError(
            f"Keep a comment under {MAX_COMMENT:,} characters (this one has {len(body):,}).", field="body"
        )
    return body


def _require_commenting(user, idea: Idea) -> None:
    if not _signed_in(user):
        raise ChallengeError("Sign in to comment.", status=401)
    if not permissions.can_see_idea(user, idea):
        raise NotFoundError()
    require_participation(user, idea.challenge, Action.COMMENT)
    if idea.status != IdeaStatus.PUBLISHED:
        messages = {
            IdeaStatus.DRAFT: "Comments open once the idea is published.",
            IdeaStatus.WITHDRAWN: "This idea was withdrawn: its discussion is closed.",
            IdeaStatus.MERGED: "This idea was merged into another one: the discussion continues there.",
        }
        raise ChallengeError(messages.get(idea.status, "This idea takes no comments."), status=409)


def post_comment(idea: Idea, author, body: str, parent_id: int | None = None) -> Comment:
    """A new comment, or a reply when `parent_id` names a comment of the same idea.

    Replies stay one level deep: a reply to a reply joins the thread of its top-level comment."""
    _require_commenting(author, idea)
    parent = None
    replied_to: set[int] = set()
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.idea_id != idea.id or not can_see_comment(author, parent):
            raise NotFoundError()
        replied_to.add(parent.author_id)
        if parent.parent_id is not None:
            parent = db.session.get(Comment, parent.parent_id)
            replied_to.add(parent.author_id)
    body = clean_body(body)
    comment = Comment(idea=idea, author=author, parent_id=parent.id if parent else None, body=body,
                      created_at=clock.now())
    db.session.add(comment)
    idea.comment_count = (idea.comment_count or 0) + 1
    db.session.flush()
    events.emit("comment.posted", {"comment": comment, "actor": author, "replied_to": replied_to,
                                   "mentioned": mentioned_ids(body)})
    return comment


def reply(parent: Comment, author, body: str) -> Comment:
    return post_comment(parent.idea, author, body, parent_id=parent.id)


def edit_comment(comment: Comment, editor, body: str, now: datetime | None = None) -> bool:
    """Correct one's own comment within the edit window. False when nothing changed."""
    if not can_edit_comment(editor, comment):
        if not can_see_comment(editor, comment):
            raise NotFoundError()
        raise ChallengeError("Only its author may edit a comment.", status=403)
    if not can_see_comment(editor, comment):
        raise NotFoundError()
    require_participation(editor, comment.idea.challenge, Action.COMMENT)
    if comment.hidden_at is not None:
        raise ChallengeError("This comment is hidden by moderation and can no longer be edited.",
                             field="body", status=409)
    now = now or clock.now()
    if not within_window(comment, now):
        raise ChallengeError(
            f"A comment can be edited for {edit_minutes()} minutes after posting; this one can no longer "
            "change. Post a new comment instead.", field="body", status=409)
    body = clean_body(body)
    if body == comment.body:
        return False
    before = mentioned_ids(comment.body)
    comment.body = body
    comment.edited_at = now
    db.session.flush()
    events.emit("comment.edited", {"comment": comment, "actor": editor, "mentioned": mentioned_ids(body) - before})
    return True


# --- @mentions -----------------------------------------------------------------

# "@" not inside a word or an e-mail address, then up to four words: "@Ada Lovelace", "@ada.l".
_MENTION = re.compile(r"(?<![\w@])@(\w[\w.+'’-]*(?:[ \t]\w[\w.+'’-]*){0,3})", re.UNICODE)
_TRAILING = ".,;:!?'’-"


def mention_candidates(body: str) -> list[list[str]]:
    """For each @mention, the names it could be, longest first (names may have spaces)."""
    found = []
    for match in _MENTION.finditer(body or ""):
        words = match.group(1).split()
        options = []
        for n in range(len(words), 0, -1):
            option = " ".join(words[:n]).rstrip(_TRAILING)
            if option and option.lower() not in options:
                options.append(option.lower())
        if options:
            found.append(options)
        if len(found) >= MAX_MENTIONS:
            break
    return found


def mentioned_ids(body: str) -> set[int]:
    """The people a comment mentions, by display name or by the part of their e-mail before @.

    At each mention the longest matching name wins; a name shared by too many people is
    ignored rather than notifying a crowd. Who may see the idea is checked when notifying."""
    mentions = mention_candidates(body)
    if not mentions:
        return set()
    names = {option for options in mentions for option in options}
    singles = {options[-1] for options in mentions}  # one word: may be an e-mail local part
    conditions = [func.lower(User.name).in_(names)]
    conditions += [User.email.like(_like_escape(local) + "@%", escape="\\") for local in singles]
    people = db.session.execute(
        select(User.id, User.name, User.email).where(User.active, or_(*conditions)).limit(500)
    ).all()
    by_name: dict[str, set[int]] = {}
    by_local: dict[str, set[int]] = {}
    for person_id, name, email in people:
        by_name.setdefault(name.lower(), set()).add(person_id)
        by_local.setdefault(email.split("@", 1)[0].lower(), set()).add(person_id)
    ids: set[int] = set()
    for options in mentions:
        match = next((by_name[o] for o in options if o in by_name), None) or by_local.get(options[-1])
        if match and len(match) <= AMBIGUOUS:
            ids |= match
    return ids


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- the idea page's discussion ----------------------------------------------------

@dataclass
class CommentView:
    """One comment as a given viewer sees it on the idea page."""

    comment: Comment
    html: Markup
    by_author: bool  # written by one of the idea's authors
    by_staff: bool  # written by a manager or moderator of the challenge
    visible: bool  # False: a hidden comment kept only as a placeholder for its replies
    can_edit: bool
    can_flag: bool
    flagged: bool  # the viewer already flagged it
    replies: list[CommentView] = field(default_factory=list)


@dataclass
class Discussion:
    idea: Idea
    threads: list[CommentView]
    total_threads: int
    can_comment: bool
    refusal: str | None  # why the viewer may not comment, when it is worth saying
    can_flag_idea: bool
    idea_flagged: bool
    retry: dict | None  # a refused form, shown again with its message and what was typed
    shown: int = 0  # conversations on this page
    older_before: int | None = None  # the next page's `comments_before`, when older conversations exist
    is_older_page: bool = False  # this page is not the newest one
    edit_minutes: int = field(default_factory=edit_minutes)
    max_length: int = MAX_COMMENT

    @property
    def truncated(self) -> bool:
        return self.total_threads > self.shown

    def retry_for(self, form: str, target=None) -> dict | None:
        if self.retry and self.retry["form"] == form and self.retry.get("target") == target:
            return self.retry
        return None


def _author_name() -> tuple:
    """A comment's author comes with it for their name; their roles and expertise do not."""
    return (joinedload(Comment.author, innerjoin=True),)


# Read on every idea page: built once, since building them costs more than running them.
_AUTHOR_NAME = _author_name()
_FLAGGED = select(Flag.target_type, Flag.target_id).where(
    Flag.reporter_id == bindparam("reporter_id"),
    or_(and_(Flag.target_type == "idea", Flag.target_id == bindparam("idea_id")),
        and_(Flag.target_type == "comment", Flag.target_id.in_(bindparam("comment_ids", expanding=True)))),
)


@dataclass(frozen=True)
class Standing:
    """What one viewer may do in an idea's discussion: the same for every comment of it."""

    viewer_id: int | None  # None: not signed in
    staff: bool  # sees hidden comments
    commenting: bool  # may comment and reply
    flagging: bool  # may flag what others wrote
    refusal: str | None  # why the viewer may not comment, when it is worth saying


def standing(idea: Idea, viewer, now: datetime | None = None) -> Standing:
    challenge = idea.challenge
    signed_in = _signed_in(viewer)
    staff = permissions.is_staff(viewer, challenge)
    allowed = permissions.allowed_actions(challenge, now or clock.now())
    suspended = signed_in and is_suspended(viewer, challenge)
    taking_part = signed_in and not suspended and (permissions.in_audience(viewer, challenge) or staff)
    refusal = None
    if not signed_in:
        refusal = None  # the template offers to sign in
    elif suspended:
        refusal = "You are suspended from this challenge: you may read, but not comment."
    elif not taking_part:
        refusal = "This challenge is not open to your pool."
    elif idea.status == IdeaStatus.WITHDRAWN:
        refusal = "This idea was withdrawn: its discussion is closed."
    elif idea.status == IdeaStatus.MERGED:
        refusal = "This idea was merged into another one: the discussion continues there."
    elif Action.COMMENT not in allowed:
        refusal = f"Comments are closed while the challenge is in its {challenge.phase} phase."
    return Standing(
        viewer_id=viewer.id if signed_in else None, staff=staff,
        commenting=taking_part and Action.COMMENT in allowed and idea.status == IdeaStatus.PUBLISHED,
        flagging=taking_part and Action.FLAG in allowed, refusal=refusal,
    )


@dataclass
class Threads:
    """One page of an idea's conversations as a viewer sees them."""

    threads: list[CommentView]
    total: int  # conversations in the whole discussion
    older_before: int | None  # the next page's `comments_before`, when older conversations exist
    comments: list[tuple[int, int, datetime, bool]]  # every comment read: id, author, posted, hidden

    def ids(self) -> list[int]:
        return [c[0] for c in self.comments]


@dataclass
class PageOfComments:
    """One page of an idea's conversations as stored: the top-level comments and their replies."""

    idea: Idea
    top: list[Comment]
    replies: list[Comment]
    total: int  # conversations in the whole discussion
    older_before: int | None  # the next page's `comments_before`, when older conversations exist


def read_page(idea: Idea, before: int | None = None) -> PageOfComments:
    """The newest PAGE_SIZE conversations, or the PAGE_SIZE before the comment `before`
    (older pages), each with its replies, in three queries at most whatever the size."""
    threads_of_idea = (Comment.idea_id == idea.id, Comment.parent_id.is_(None))
    page = select(Comment).options(*_AUTHOR_NAME).where(*threads_of_idea)
    if before:
        page = page.where(Comment.id < before)
    top = list(db.session.scalars(page.order_by(Comment.id.desc()).limit(PAGE_SIZE + 1)))
    older = len(top) > PAGE_SIZE
    top = top[:PAGE_SIZE]
    top.reverse()
    total = len(top)
    if older or before:
        total = db.session.scalar(select(func.count(Comment.id)).where(*threads_of_idea)) or total
    # The idea's own index finds its replies: there is none on the parent alone.
    replies = list(db.session.scalars(
        select(Comment).options(*_AUTHOR_NAME)
        .where(Comment.idea_id == idea.id, Comment.parent_id.in_([c.id for c in top]))
        .order_by(Comment.id).limit(MAX_REPLIES)
    )) if top else []
    return PageOfComments(idea, top, replies, total, top[0].id if older else None)


def threads_page(idea: Idea, seen: Standing, before: int | None = None, now: datetime | None = None,
                 page: PageOfComments | None = None) -> Threads:
    """The conversations of one page (read now, or `page` when read already) as `seen` sees them."""
    now = now or clock.now()
    challenge = idea.challenge
    page = page or read_page(idea, before)
    top, replies = page.top, page.replies
    author_ids = idea.author_ids()
    staff_ids = challenge.staff_ids()

    def view(c: Comment) -> CommentView:
        own = seen.viewer_id is not None and c.author_id == seen.viewer_id
        shown = c.hidden_at is None or seen.staff or own
        return CommentView(
            comment=c, html=text.render(c.body) if shown else Markup(""),
            by_author=c.author_id in author_ids, by_staff=c.author_id in staff_ids, visible=shown,
            can_edit=own and seen.commenting and c.hidden_at is None and within_window(c, now),
            can_flag=seen.flagging and shown and not own, flagged=False,  # see with_flags
        )

    by_parent: dict[int, list[CommentView]] = {}
    for r in replies:
        item = view(r)
        if item.visible:
            by_parent.setdefault(r.parent_id, []).append(item)
    threads = []
    for c in top:
        item = view(c)
        item.replies = by_parent.get(c.id, [])
        if item.visible or item.replies:  # a hidden comment stays as a placeholder for its replies
            threads.append(item)
    return Threads(threads=threads, total=page.total, older_before=page.older_before,
                   comments=[(c.id, c.author_id, c.created_at, c.hidden_at is not None) for c in (*top, *replies)])


def flags_of(viewer_id: int | None, idea: Idea, comment_ids: list[int]) -> set[tuple[str, int]]:
    """What the viewer has flagged: the idea, and which of these comments."""
    if viewer_id is None:
        return set()
    return {(target_type, target_id) for target_type, target_id in db.session.execute(
        _FLAGGED, {"reporter_id": viewer_id, "idea_id": idea.id, "comment_ids": comment_ids or [0]})}


def discussion(idea: Idea, seen: Standing, threads: Threads, flagged: set[tuple[str, int]],
               before: int | None = None) -> Discussion:
    """The viewer's discussion of the idea; `threads` are the conversations as they see them."""
    author_ids = idea.author_ids()
    return Discussion(
        idea=idea, threads=threads.threads, shown=len(threads.threads), total_threads=threads.total,
        can_comment=seen.commenting,
        refusal=seen.refusal, older_before=threads.older_before, is_older_page=bool(before),
        can_flag_idea=seen.flagging and seen.viewer_id not in author_ids and ("idea", idea.id) not in flagged,
        idea_flagged=("idea", idea.id) in flagged,
        retry=g.get("discussion_retry") if has_app_context() else None,
    )


def page_context(idea: Idea, viewer, before: int | None = None) -> dict:
    """What templates/challenges/_discussion.html needs, in a handful of queries whatever the size."""
    now = clock.now()
    seen = standing(idea, viewer, now)
    threads = threads_page(idea, seen, before, now=now)
    flagged = flags_of(seen.viewer_id, idea, threads.ids())
    return {"discussion": discussion(idea, seen, with_flags(threads, flagged), flagged, before)}


def with_flags(threads: Threads, flagged: set[tuple[str, int]]) -> Threads:
    """The conversations with what the viewer flagged marked (and no second flag offered)."""
    for t in threads.threads:
        for v in (t, *t.replies):
            if ("comment", v.comment.id) in flagged:
                v.flagged, v.can_flag = True, False
    return threads


# --- profile activity ----------------------------------------------------------------

def public_activity(person, viewer) -> list[dict]:
    """The person's visible comments on ideas the viewer may see, newest first."""
    rows = db.session.scalars(
        select(Comment).options(joinedload(Comment.idea))
        .where(Comment.author_id == person.id, Comment.hidden_at.is_(None))
        .order_by(Comment.id.desc()).limit(50)
    )
    return [
        {"title": f"Comment on “{c.idea.title}”", "kind": "comment", "at": c.created_at,
         "url": path_for("challenges.idea", idea_id=c.idea_id, _anchor=f"comment-{c.id}")}
        for c in rows if permissions.can_see_idea(viewer, c.idea)
    ]
