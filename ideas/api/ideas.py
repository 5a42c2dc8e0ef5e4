"""Ideas through the API: the ideas of a challenge (with the challenge page's filters),
reading, submitting, editing and withdrawing.

Vote counts appear only where voting.services.counts_visible allows them (against
herding); content outside a person's audience is a 404, as on the pages."""
from datetime import datetime
from typing import Literal

from flask import jsonify, url_for
from pydantic import Field, create_model
from sqlalchemy import select

from ideas import text
from ideas.api.blueprint import bp
from ideas.api.contract import Body, Model, Paging, Tags, Text, body, query
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
from ideas.challenges import permissions
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea, IdeaStatus
from ideas.extensions import db
from ideas.review import services as review
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
    blind = bool(review.blind_ideas([idea], viewer))
    return {
        **idea_summary(idea, votes, blind),
        "body": idea.body,
        "body_html": str(text.render(idea.body)),
        "coauthors": [] if blind else [person_json(c.user) for c in idea.coauthors if c.accepted_at and c.user_id],
        "you": {"author": viewer.id in idea.author_ids(), "voted": voting.my_vote(idea, viewer) is not None},
    }


def summaries(ideas: list[Idea], viewer) -> list[dict]:
    votes = counts_for(ideas, viewer)
    blind = review.blind_ideas(ideas, viewer)
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
    found = challenges.filter_ideas(challenges.visible_ideas_query(user, challenge),
                                    challenges.idea_filters(tag=args.tag, pool=args.pool, status=args.status))
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
    if not permissions.can_edit_idea(user, idea):
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
