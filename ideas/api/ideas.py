"""Ideas through the API: the ideas of a challenge (with the challenge page's filters),
reading, submitting, editing and withdrawing.

Vote counts appear only where voting.services.counts_visible allows them (against
herding); content outside a person's audience is a 404, as on the pages."""
from typing import Literal

from flask import jsonify, url_for
from pydantic import Field, create_model

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
    keyset,
    person_json,
    token_required,
)
from ideas.api.errors import ApiError
from ideas.api.shapes import POOLS, IdeaSummary, idea_summary, summaries, vote_counts
from ideas.challenges import permissions
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea, IdeaStatus
from ideas.review import services as review
from ideas.voting import services as voting

LISTED_STATUSES = ("published", "withdrawn", "merged", "any")


# --- JSON ------------------------------------------------------------------------------

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
