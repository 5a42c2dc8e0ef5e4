"""Ideas through the API: the ideas of a challenge (with the challenge page's filters),
reading, submitting, editing and withdrawing; their comments; flags; follows; search.

Vote counts appear only where voting.services.counts_visible allows them (against
herding); content outside a person's audience is a 404, as on the pages."""
from datetime import datetime
from typing import Literal

from flask import current_app, jsonify, url_for
from pydantic import Field, create_model
from sqlalchemy import or_, select

from ideas import search as search_index
from ideas import text
from ideas.api import bp
from ideas.api.contract import (
    MAX_INT,
    MAX_LIMIT,
    MAX_OFFSET,
    Body,
    Id,
    Int,
    Model,
    Paging,
    Query,
    Tags,
    Text,
    body,
    query,
)
from ideas.api.core import (
    Cursor,
    Error,
    Operation,
    Person,
    current_api_user,
    documented,
    iso,
    keyset,
    person_json,
    token_required,
)
from ideas.api.errors import ApiError
from ideas.api.links import page_url
from ideas.challenges import comments as discussion
from ideas.challenges import moderation, policy
from ideas.challenges import services as challenges
from ideas.challenges.models import Comment, Idea, IdeaStatus, IdeaTag, Phase
from ideas.extensions import db
from ideas.notifications import services as notifications
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, Vote

LISTED_STATUSES = ("published", "withdrawn", "merged", "any")
POOLS = ("employee", "external")


# --- JSON ------------------------------------------------------------------------------

class PoolCounts(Model):
    employee: int
    external: int


class PoolSupport(Model):
    employee: float
    external: float


class VoteCounts(Model):
    """Null while the challenge hides counts from you (until you have voted, or voting is over)."""

    count: int = Field(description="Votes cast, unweighted.")
    raw: PoolCounts
    support: PoolSupport = Field(description="Weighted support per pool.")


class IdeaSummary(Model):
    id: int
    challenge_id: int
    title: str
    summary: str
    status: Literal[tuple(str(s) for s in IdeaStatus)]
    pool: Literal[POOLS]
    tags: list[str]
    author: Person | None = Field(description="Null for the idea's reviewers under blind review.")
    hidden: bool = Field(description="Hidden by moderation (seen only by staff and its authors).")
    comment_count: int
    revision: int
    external_ref: str | None
    merged_into_id: int | None
    created_at: datetime | None
    published_at: datetime | None
    updated_at: datetime | None
    withdrawn_at: datetime | None
    votes: VoteCounts | None
    url: str = Field(description="The idea's page: absolute, on IDEAS_BASE_URL when the site sets it.")


class IdeaYou(Model):
    author: bool
    voted: bool


Idea_ = create_model(
    "Idea", __base__=IdeaSummary,
    body=(str, Field(description="Markdown, as written.")),
    body_html=(str, Field(description="The body rendered and sanitized.")),
    coauthors=(list[Person], ...), you=(IdeaYou, ...),
)


class IdeaPage(Model):
    items: list[IdeaSummary]
    next: Cursor


Title = Text(160, min_length=challenges.MIN_TITLE)
Summary = Text(challenges.MAX_SUMMARY, description="One paragraph; required to publish.")
Markdown = Text(challenges.MAX_BODY, description="Markdown.")


class IdeaInput(Body):
    title: Title
    summary: Summary | None = None
    body: Markdown | None = None
    tags: Tags | None = None
    draft: bool = Field(False, description="Save a draft only you see.")
    accept_terms: bool = Field(False, description="Accept the challenge's own terms (external participants, "
                                                  "before their first submission).")


class IdeaUpdate(Body):
    """Fields left out keep their value; the history keeps every version."""

    title: Title | None = None
    summary: Summary | None = None
    body: Markdown | None = None
    tags: Tags | None = None
    note: Text(300, description="What changed, for the history.") | None = None
    publish: bool = Field(False, description="Publish a draft.")
    accept_terms: bool = False


class Withdrawal(Body):
    reason: Text(250, description="Kept in the idea's history.") | None = None


class IdeaList(Paging):
    tag: Text(200, description="Only ideas with this tag.") | None = None
    pool: Literal[POOLS] | None = Field(None, description="Only ideas from this pool.")
    status: Literal[LISTED_STATUSES] = Field("published", description="Published (the default), withdrawn, "
                                                                        "merged, or any of them.")


def vote_counts(score: IdeaScore | None) -> dict:
    raw = {"employee": score.raw_employee if score else 0, "external": score.raw_external if score else 0}
    return {
        "count": raw["employee"] + raw["external"],
        "raw": raw,
        "support": {"employee": score.support_employee if score else 0.0,
                    "external": score.support_external if score else 0.0},
    }


def counts_for(ideas: list[Idea], viewer) -> dict[int, dict | None]:
    """Each idea's vote counts, or None where counts_visible hides them, in three queries.

    counts_visible shows counts to a voter and to the authors, and otherwise decides per
    challenge; so it is asked once per challenge, about an idea this person neither
    voted on nor wrote, instead of once per idea."""
    if not ideas:
        return {}
    ids = [i.id for i in ideas]
    scores = {s.idea_id: s for s in db.session.scalars(select(IdeaScore).where(IdeaScore.idea_id.in_(ids)))}
    voted = set(db.session.scalars(select(Vote.idea_id).where(Vote.voter_id == viewer.id, Vote.idea_id.in_(ids))))
    by_challenge: dict[int, bool] = {}
    found = {}
    for idea in ideas:
        shown = idea.id in voted or viewer.id in idea.author_ids()
        if not shown:
            if idea.challenge_id not in by_challenge:
                by_challenge[idea.challenge_id] = voting.counts_visible(idea, viewer)
            shown = by_challenge[idea.challenge_id]
        found[idea.id] = vote_counts(scores.get(idea.id)) if shown else None
    return found


def blind_ideas(ideas: list[Idea], viewer) -> set[int]:
    """The ideas whose authors this person may not learn: blind review, and they review it."""
    from ideas.challenges import policy
    from ideas.review.models import IdeaReview, ReviewerAssignment

    ids = [i.id for i in ideas if i.challenge.blind_review and not policy.is_staff(viewer, i.challenge)]
    if not ids or not getattr(viewer, "is_authenticated", False):
        return set()
    return set(db.session.scalars(
        select(IdeaReview.idea_id).join(ReviewerAssignment, ReviewerAssignment.review_id == IdeaReview.id)
        .where(IdeaReview.idea_id.in_(ids), ReviewerAssignment.reviewer_id == viewer.id)))


def idea_summary(idea: Idea, votes: dict | None, blind: bool = False) -> dict:
    return {
        "id": idea.id,
        "challenge_id": idea.challenge_id,
        "title": idea.title,
        "summary": idea.summary,
        "status": idea.status,
        "pool": idea.pool,
        "tags": idea.tags,
        "author": None if blind else person_json(idea.author),
        "hidden": idea.hidden_at is not None,
        "comment_count": idea.comment_count,
        "revision": idea.revision,
        "external_ref": idea.external_ref,
        "merged_into_id": idea.merged_into_id,
        "created_at": iso(idea.created_at),
        "published_at": iso(idea.published_at),
        "updated_at": iso(idea.updated_at),
        "withdrawn_at": iso(idea.withdrawn_at),
        "votes": votes,
        "url": page_url("challenges.idea", idea_id=idea.id),
    }


def idea_json(idea: Idea, viewer) -> dict:
    votes = vote_counts(voting.scores_of(idea)) if voting.counts_visible(idea, viewer) else None
    blind = bool(blind_ideas([idea], viewer))
    return {
        **idea_summary(idea, votes, blind),
        "body": idea.body,
        "body_html": str(text.render(idea.body)),
        "coauthors": [] if blind else [person_json(c.user) for c in idea.coauthors if c.accepted_at and c.user_id],
        "you": {"author": viewer.id in idea.author_ids(), "voted": voting.my_vote(idea, viewer) is not None},
    }


def summaries(ideas: list[Idea], viewer) -> list[dict]:
    votes = counts_for(ideas, viewer)
    blind = blind_ideas(ideas, viewer)
    return [idea_summary(i, votes[i.id], i.id in blind) for i in ideas]


# --- ideas -----------------------------------------------------------------------------

@bp.get("/challenges/<int:challenge_id>/ideas")
@token_required
@documented("GET", Operation(
    summary="The ideas of a challenge you may see, with the challenge page's filters, newest first",
    query=IdeaList,
    responses={200: ("One page of ideas", IdeaPage), 404: ("No such challenge for you", Error)},
    tags=["ideas"],
))
def list_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    args = query(IdeaList)
    tag = " ".join((args.tag or "").strip().lower().split())[:40]
    found = challenges.visible_ideas_query(user, challenge)
    if tag:
        found = found.where(Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == tag)))
    if args.pool:
        found = found.where(Idea.pool == args.pool)
    if args.status != "any":
        found = found.where(Idea.status == args.status)
    ideas, cursor = keyset(found, Idea.id, limit=args.limit, before=args.before, after=args.after)
    return jsonify(items=summaries(ideas, user), next=cursor)


@bp.get("/ideas/<int:idea_id>")
@token_required
@documented("GET", Operation(
    summary="An idea; reading it counts as opening it before a vote",
    responses={200: ("The idea", Idea_), 404: ("No such idea for you", Error)},
    tags=["ideas"],
))
def read_idea(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if idea.status == IdeaStatus.PUBLISHED:
        voting.record_view(idea, user)  # the server-measured reading time behind a vote's weight
    return jsonify(idea_json(idea, user))


@bp.post("/challenges/<int:challenge_id>/ideas")
@token_required
@documented("POST", Operation(
    summary="Submit an idea, or save a draft",
    request=IdeaInput,
    responses={201: ("The idea", Idea_), 403: ("Not open to your pool, or suspended", Error),
               404: ("No such challenge for you", Error),
               409: ("The phase does not take ideas, or the challenge's terms are not accepted", Error),
               422: ("Missing, overlong or wrong-typed fields", Error)},
    tags=["ideas"],
))
def create_idea(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    data = body(IdeaInput)
    if data.accept_terms:
        challenges.accept_challenge_terms(user, challenge)
    idea = challenges.submit_idea(challenge, user, title=data.title, summary=data.summary or "",
                                  body=data.body or "", tags=data.tags or [], draft=data.draft)
    response = jsonify(idea_json(idea, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_idea", idea_id=idea.id)
    return response


def _authored(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    if not policy.can_edit_idea(user, idea):
        raise ApiError(403, "Only the idea's authors may change it.")
    return idea, user


@bp.patch("/ideas/<int:idea_id>")
@token_required
@documented("PATCH", Operation(
    summary="Edit your idea (the history keeps each version), or publish your draft",
    request=IdeaUpdate,
    responses={200: ("The idea as saved", Idea_), 403: ("Not one of its authors", Error),
               404: ("No such idea for you", Error),
               409: ("The phase does not allow editing, or the idea was withdrawn or merged", Error),
               422: ("Overlong or wrong-typed fields", Error)},
    tags=["ideas"],
))
def update_idea(idea_id: int):
    idea, user = _authored(idea_id)
    data = body(IdeaUpdate)
    changes = {name: getattr(data, name) for name in ("title", "summary", "body") if getattr(data, name) is not None}
    if changes or data.tags is not None:
        challenges.edit_idea(
            idea, user, title=changes.get("title", idea.title), summary=changes.get("summary", idea.summary),
            body=changes.get("body", idea.body), tags=idea.tags if data.tags is None else data.tags,
            note=data.note or "",
        )
    if data.publish and idea.status == IdeaStatus.DRAFT:
        if data.accept_terms:
            challenges.accept_challenge_terms(user, idea.challenge)
        challenges.publish_draft(idea, user)
    return jsonify(idea_json(idea, user))


@bp.post("/ideas/<int:idea_id>/withdraw")
@token_required
@documented("POST", Operation(
    summary="Withdraw your published idea: it stays readable and takes no more votes",
    request=Withdrawal, body_optional=True,
    responses={200: ("The withdrawn idea", Idea_), 403: ("Not one of its authors", Error),
               404: ("No such idea for you", Error),
               409: ("Not published, or the phase does not allow withdrawing", Error)},
    tags=["ideas"],
))
def withdraw_idea(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body(Withdrawal, optional=True)
    challenges.withdraw_idea(idea, user, data.reason or "")
    return jsonify(idea_json(idea, user))


# --- comments --------------------------------------------------------------------------

class Comment_(Model):
    id: int
    idea_id: int
    parent_id: int | None = Field(description="The top-level comment this replies to.")
    author: Person
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="Rendered and sanitized.")
    by_idea_author: bool
    by_staff: bool
    hidden: bool = Field(description="Hidden by moderation (seen only by staff and its author).")
    created_at: datetime | None
    edited_at: datetime | None
    editable_until: datetime | None


Comment_ = create_model("Comment", __base__=Comment_)


class CommentPage(Model):
    items: list[Comment_]
    next: Cursor


CommentBody = Text(discussion.MAX_COMMENT, min_length=1, description="Markdown; @name mentions.")


class CommentInput(Body):
    body: CommentBody
    parent_id: Id | None = Field(None, description="Reply to this comment (replies stay one level deep).")


class CommentEdit(Body):
    body: CommentBody


def comment_json(comment: Comment) -> dict:
    idea = comment.idea
    return {
        "id": comment.id,
        "idea_id": comment.idea_id,
        "parent_id": comment.parent_id,
        "author": person_json(comment.author),
        "body": comment.body,
        "body_html": str(text.render(comment.body)),
        "by_idea_author": comment.author_id in idea.author_ids(),
        "by_staff": comment.author_id in idea.challenge.staff_ids(),
        "hidden": comment.hidden_at is not None,
        "created_at": iso(comment.created_at),
        "edited_at": iso(comment.edited_at),
        "editable_until": iso(comment.created_at + discussion.EDIT_WINDOW) if comment.created_at else None,
    }


@bp.get("/ideas/<int:idea_id>/comments")
@token_required
@documented("GET", Operation(
    summary="The discussion of an idea, newest first (replies carry their parent_id)",
    query=Paging,
    responses={200: ("One page of comments", CommentPage), 404: ("No such idea for you", Error)},
    tags=["comments"],
))
def list_comments(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    args = query(Paging)
    found = select(Comment).where(Comment.idea_id == idea.id)
    if not policy.is_staff(user, idea.challenge):
        # what discussion.can_see_comment allows, in SQL so that pages come out full
        found = found.where(or_(Comment.hidden_at.is_(None), Comment.author_id == user.id))
    rows, cursor = keyset(found, Comment.id, limit=args.limit, before=args.before, after=args.after)
    return jsonify(items=[comment_json(c) for c in rows if discussion.can_see_comment(user, c)], next=cursor)


@bp.post("/ideas/<int:idea_id>/comments")
@token_required
@documented("POST", Operation(
    summary="Comment on an idea, or reply to a comment",
    request=CommentInput,
    responses={201: ("The comment", Comment_), 403: ("Not open to your pool, or suspended", Error),
               404: ("No such idea (or comment to reply to) for you", Error),
               409: ("The phase or the idea's state takes no comments", Error),
               422: ("Empty, overlong or wrong-typed body", Error)},
    tags=["comments"],
))
def post_comment(idea_id: int):
    user = current_api_user()
    idea = challenges.get_idea(idea_id, user)
    data = body(CommentInput)
    comment = discussion.post_comment(idea, user, data.body, parent_id=data.parent_id)
    response = jsonify(comment_json(comment))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_comment", comment_id=comment.id)
    return response


@bp.get("/comments/<int:comment_id>")
@token_required
@documented("GET", Operation(
    summary="One comment",
    responses={200: ("The comment", Comment_), 404: ("No such comment for you", Error)},
    tags=["comments"],
))
def read_comment(comment_id: int):
    return jsonify(comment_json(discussion.get_comment(comment_id, current_api_user())))


@bp.patch("/comments/<int:comment_id>")
@token_required
@documented("PATCH", Operation(
    summary="Correct your comment within its edit window",
    request=CommentEdit,
    responses={200: ("The comment", Comment_), 403: ("Not its author", Error),
               404: ("No such comment for you", Error),
               409: ("The edit window is over, or the comment is hidden", Error),
               422: ("Empty, overlong or wrong-typed body", Error)},
    tags=["comments"],
))
def edit_comment(comment_id: int):
    user = current_api_user()
    comment = discussion.get_comment(comment_id, user)
    if comment.author_id != user.id:
        raise ApiError(403, "Only its author may edit a comment.")
    data = body(CommentEdit)
    discussion.edit_comment(comment, user, data.body)
    return jsonify(comment_json(comment))


# --- flags -----------------------------------------------------------------------------

FlagTarget = Literal[moderation.TARGET_TYPES]


class FlagInput(Body):
    target_type: FlagTarget
    target_id: Id
    reason: Text(moderation.MAX_FLAG_REASON, min_length=1,
                 description="What is wrong with it; the moderators read this.")


class Flag(Model):
    id: int
    target_type: FlagTarget
    target_id: int
    created_at: datetime | None
    hidden: bool = Field(description="Enough people flagged it: hidden until a moderator reviews it.")


@bp.post("/flags")
@token_required
@documented("POST", Operation(
    summary="Flag an idea or a comment for the moderators (once per person)",
    request=FlagInput,
    responses={201: ("The flag", Flag), 403: ("Your own content, or suspended", Error),
               404: ("No such idea or comment for you", Error),
               409: ("Already flagged by you, or the phase does not allow flags", Error),
               422: ("Missing reason, or wrong-typed fields", Error)},
    tags=["moderation"],
))
def flag_content():
    user = current_api_user()
    data = body(FlagInput)
    row = moderation.flag(data.target_type, data.target_id, user, data.reason)
    target = moderation.load_target(row.target_type, row.target_id)
    return jsonify(id=row.id, target_type=row.target_type, target_id=row.target_id, created_at=iso(row.created_at),
                   hidden=target.hidden_at is not None), 201


# --- follows ---------------------------------------------------------------------------

FollowTarget = Literal[notifications.FOLLOW_TYPES]


class Follow(Model):
    target_type: FollowTarget
    target_key: str = Field(description="A challenge's or idea's id, or the tag itself.")
    label: str | None = None
    created_at: datetime | None


class FollowInput(Body):
    target_type: FollowTarget
    target_key: Id | Text(40, min_length=1) = Field(description="A challenge's or idea's id, or the tag itself.")


class FollowList(Model):
    items: list[Follow]
    offset: int
    limit: int


class FollowPaging(Query):
    limit: Int(1, MAX_LIMIT, description="Items per page.") = MAX_LIMIT
    offset: Int(0, MAX_OFFSET, description="Items to skip.") = 0


def _beyond_ids(target_type: str, key) -> bool:
    """An id no row can have: PostgreSQL would refuse to compare it, so it is simply not there."""
    raw = str(key).strip()
    return target_type in ("challenge", "idea") and raw.isdigit() and int(raw) > MAX_INT


@bp.get("/follows")
@token_required
@documented("GET", Operation(
    summary="What you follow (challenges, ideas, tags) and may still see",
    query=FollowPaging,
    responses={200: ("What you follow", FollowList)},
    tags=["follows"],
))
def list_follows():
    user = current_api_user()
    args = query(FollowPaging)
    found = notifications.followed(user, limit=args.offset + args.limit)[args.offset:]
    return jsonify(items=[{"target_type": f.follow.target_type, "target_key": f.follow.target_key,
                           "label": f.label, "created_at": iso(f.follow.created_at)} for f in found],
                   offset=args.offset, limit=args.limit)


@bp.post("/follows")
@token_required
@documented("POST", Operation(
    summary="Follow a challenge, an idea or a tag (following twice is following once)",
    request=FollowInput,
    responses={200: ("You already followed it", Follow), 201: ("You follow it now", Follow),
               404: ("Nothing of that kind you may see", Error)},
    tags=["follows"],
))
def follow():
    user = current_api_user()
    data = body(FollowInput)
    if _beyond_ids(data.target_type, data.target_key):
        raise ApiError(404, "There is nothing here, or it is not visible to you.")
    already = notifications.is_following(user, data.target_type, str(data.target_key).strip())
    row = notifications.follow(user, data.target_type, data.target_key)
    return jsonify(target_type=row.target_type, target_key=row.target_key,
                   created_at=iso(row.created_at)), 200 if already else 201


@bp.delete("/follows/<target_type>/<path:target_key>")
@token_required
@documented("DELETE", Operation(
    summary="Stop following a challenge, an idea or a tag",
    path={"target_type": ("What kind of thing", {"type": "string", "enum": list(notifications.FOLLOW_TYPES)}),
          "target_key": ("The challenge's or idea's id, or the tag.", {"type": "string", "maxLength": 40})},
    responses={204: ("No longer followed", None),
               404: ("You do not follow it, or it does not exist for you", Error)},
    tags=["follows"],
))
def unfollow(target_type: str, target_key: str):
    if _beyond_ids(target_type, target_key) or \
            not notifications.unfollow(current_api_user(), target_type, target_key):
        raise ApiError(404, "You do not follow this.")
    return "", 204


# --- search ----------------------------------------------------------------------------

SEARCH_PHASES = tuple(str(p) for p in Phase if p != Phase.DRAFT)


class SearchResult(Model):
    items: list[IdeaSummary]
    total: int
    page: int
    pages: int
    sort: Literal[search_index.SORTS] = Field(description="The order actually used.")
    notices: list[str] = Field(description="What was changed in the query to read it, or why search is "
                                           "unavailable.")


class SimilarIdeas(Model):
    items: list[IdeaSummary] = Field(max_length=5)


class SearchQuery(Query):
    q: Text(300, description='Words, "phrases", AND / OR / NOT.') = ""
    challenge: Id | None = Field(None, description="Only this challenge.")
    pool: Literal[POOLS] | None = Field(None, description="Only ideas from this pool.")
    phase: Literal[SEARCH_PHASES] | None = Field(None, description="Only challenges in this phase.")
    status: Literal[tuple(str(s) for s in search_index.INDEXED_STATUSES)] | None = Field(
        None, description="Only ideas in this state.")
    tag: Text(200, description="Only ideas with this tag.") | None = None
    sort: Literal[search_index.SORTS] = Field("relevance", description="Order of the results.")
    page: Int(1, MAX_OFFSET, description="Page number.") = 1
    per_page: Int(1, MAX_LIMIT, description="Results per page (page × per_page stays within 10,000).") = 20

    def model_post_init(self, _context) -> None:
        if (self.page - 1) * self.per_page > MAX_OFFSET:
            highest = MAX_OFFSET // self.per_page + 1
            raise ApiError(422, f"page must be from 1 to {highest:,}.", {"page": [f"Must be from 1 to {highest:,}."]})


class SimilarQuery(Query):
    title: Text(160, description="The title so far.") = ""
    summary: Text(challenges.MAX_SUMMARY, description="The summary so far.") = ""
    exclude: Id | None = Field(None, description="An idea to leave out (the one being edited).")


@bp.get("/search")
@token_required
@documented("GET", Operation(
    summary="Full-text search over the ideas you may see (title, summary, body, tags, comments)",
    query=SearchQuery,
    responses={200: ("One page of results", SearchResult)},
    tags=["search"],
))
def search():
    user = current_api_user()
    args = query(SearchQuery)
    result = search_index.search_ideas(
        user, args.q, challenge_id=args.challenge, pool=args.pool, phase=args.phase, status=args.status,
        tag=args.tag or None, sort=args.sort, page=args.page, per_page=args.per_page,
        rank_key=current_app.extensions.get("ideas.search_rank"),
    )
    return jsonify(items=summaries(result.items, user), total=result.total, page=result.page, pages=result.pages,
                   sort=result.sort, notices=result.notices)


@bp.get("/challenges/<int:challenge_id>/similar")
@token_required
@documented("GET", Operation(
    summary="Up to five ideas of this challenge like the one being written (to join instead of duplicating)",
    query=SimilarQuery,
    responses={200: ("Similar ideas, best first (none until both title and summary are given)", SimilarIdeas),
               404: ("No such challenge for you", Error)},
    tags=["search"],
))
def similar_ideas(challenge_id: int):
    user = current_api_user()
    challenge = challenges.get_challenge(challenge_id, user)
    args = query(SimilarQuery)
    title, summary = args.title.strip(), args.summary.strip()
    found = search_index.similar_ideas(user, challenge, title, summary, exclude_id=args.exclude) \
        if title and summary else []
    return jsonify(items=summaries(found, user))
