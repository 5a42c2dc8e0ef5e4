"""The shapes several API resources answer with: an idea as a list shows it (a challenge's
ideas, search results, a pair to compare), with its vote counts where the viewer may see them and no
authors where blind review hides them. Here, not in one resource module, so that no
resource imports another."""
from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlalchemy import select

from ideas.api.contract import Model
from ideas.api.core import Person, iso, person_json
from ideas.api.links import page_url
from ideas.challenges.models import Idea, IdeaStatus
from ideas.extensions import db
from ideas.review import services as review
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, Vote

POOLS = ("employee", "external")


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


def summaries(ideas: list[Idea], viewer) -> list[dict]:
    votes = counts_for(ideas, viewer)
    blind = review.blind_ideas(ideas, viewer)
    return [idea_summary(i, votes[i.id], i.id in blind) for i in ideas]
