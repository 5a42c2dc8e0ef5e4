"""Exporting a challenge as an archive (`ideas-archive/1`) that imports back to the same ranking.

What goes out is what an import can bring back as live content: published ideas
that moderation has not hidden, with their votes, visible comments and views,
and the people involved. Drafts are private and never leave; withdrawn, merged
and hidden ideas and hidden comments are left out and counted in `left_out`,
because the format has no state for them and an import would publish them.

Keys: people are `u<id>`; an idea keeps its `external_ref` (what it was imported
with) or gets `i<id>`; the challenge likewise (`c<id>`). A vote's `network` is
the salted hash the site stores, written as an opaque string: an import hashes
it again, so votes that shared a network still share one after the round trip,
and the address behind it is never written anywhere.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from ideas.accounts.models import User
from ideas.archive import decisions
from ideas.archive.document import CHARTER_TEXTS, FORMAT, format_time
from ideas.challenges.models import Challenge, CoAuthor, Comment, Idea, IdeaStatus
from ideas.extensions import db
from ideas.voting.models import IdeaView, Vote

_CHUNK = 500


@dataclass
class ExportResult:
    document: dict
    left_out: Counter = field(default_factory=Counter)  # what the format cannot carry, by kind


def export_challenge(challenge: Challenge) -> dict:
    return export_with_result(challenge).document


def export_with_result(challenge: Challenge) -> ExportResult:
    left_out: Counter = Counter()
    ideas = list(db.session.scalars(
        select(Idea).where(Idea.challenge_id == challenge.id, Idea.status != IdeaStatus.DRAFT).order_by(Idea.id)))
    for idea in ideas:
        if idea.status != IdeaStatus.PUBLISHED:
            left_out[f"{idea.status} ideas"] += 1
        elif idea.hidden_at is not None:
            left_out["hidden ideas"] += 1
    ideas = [i for i in ideas if i.status == IdeaStatus.PUBLISHED and i.hidden_at is None]
    keys = _idea_keys(ideas)
    by_id = {idea.id: idea for idea in ideas}
    ids = sorted(by_id)
    people: set[int] = set()

    coauthors: dict[int, list[int]] = {}
    for row in _chunked(ids, lambda part: select(CoAuthor).where(
            CoAuthor.idea_id.in_(part), CoAuthor.accepted_at.is_not(None), CoAuthor.user_id.is_not(None))
            .order_by(CoAuthor.id)):
        coauthors.setdefault(row.idea_id, []).append(row.user_id)
    idea_entries = []
    for idea in ideas:
        people.add(idea.author_id)
        people.update(coauthors.get(idea.id, []))
        idea_entries.append({
            "key": keys[idea.id], "author": _user_key(idea.author_id),
            "co_authors": [_user_key(u) for u in coauthors.get(idea.id, [])],
            "title": idea.title, "summary": idea.summary, "body": idea.body, "tags": idea.tags,
            "created_at": format_time(idea.published_at or idea.created_at),
        })

    comments = []
    for comment in _chunked(ids, lambda part: select(Comment).where(Comment.idea_id.in_(part))):
        if comment.hidden_at is not None:
            left_out["hidden comments"] += 1
            continue
        people.add(comment.author_id)
        comments.append((comment.created_at, comment.id, {
            "idea": keys[comment.idea_id], "author": _user_key(comment.author_id), "body": comment.body,
            "created_at": format_time(comment.created_at)}))

    views = []
    for view in _chunked(ids, lambda part: select(IdeaView).where(IdeaView.idea_id.in_(part))):
        people.add(view.user_id)
        # The first view is what a vote's "read before voting" compares with; the latest
        # goes along as a second view so both survive an import.
        for at in sorted({view.first_at, view.last_at}):
            views.append((at, view.idea_id, view.user_id, {
                "idea": keys[view.idea_id], "user": _user_key(view.user_id), "at": format_time(at)}))

    criteria = {c.id: c.name for c in challenge.criteria}
    votes = []
    for vote in _chunked(ids, lambda part: select(Vote).where(Vote.idea_id.in_(part))):
        people.add(vote.voter_id)
        # A changed vote goes out at the time it was first cast: the time the burst,
        # lockstep and network rules look at.
        entry = {"idea": keys[vote.idea_id], "voter": _user_key(vote.voter_id), "at": format_time(vote.created_at),
                 "value": vote.value}
        if vote.reason:
            entry["reason"] = vote.reason
        if vote.ratings:
            entry["ratings"] = {criteria[r.criterion_id]: r.rating
                                for r in sorted(vote.ratings, key=lambda r: r.criterion_id)}
        if vote.network:
            entry["network"] = vote.network
        # What this site computed, for whoever reads the archive; an import weighs again.
        entry["weight"] = vote.weight
        entry["discounts"] = [code for code, _ in json.loads(vote.discounts)]
        votes.append((vote.created_at, vote.id, entry))

    users = []
    for user in _chunked(sorted(people), lambda part: select(User).where(User.id.in_(part))):
        entry = {"key": _user_key(user.id), "name": user.name, "email": user.email, "pool": user.pool,
                 "joined_at": format_time(user.created_at)}
        if not user.is_verified:
            entry["verified"] = False
        users.append((user.id, entry))

    document = {
        "format": FORMAT,
        "challenge": _challenge(challenge),
        "users": [entry for _, entry in sorted(users, key=lambda t: t[0])],
        "ideas": idea_entries,
        "comments": [entry for *_, entry in sorted(comments, key=lambda t: t[:2])],
        "views": [entry for *_, entry in sorted(views, key=lambda t: t[:3])],
        "votes": [entry for *_, entry in sorted(votes, key=lambda t: t[:2])],
    }
    if decisions.available():
        document["decisions"], beyond = decisions.read(keys)
        left_out.update(beyond)
    return ExportResult(document=document, left_out=left_out)


def _challenge(challenge: Challenge) -> dict:
    entry = {"key": challenge.external_ref or f"c{challenge.id}", "title": challenge.title}
    for name in CHARTER_TEXTS:
        if getattr(challenge, name) or name == "brief":
            entry[name] = getattr(challenge, name) or ""
    entry.update({
        "pool_mode": challenge.pool_mode,
        "pool_weights": {"employee": challenge.pool_weight_employee, "external": challenge.pool_weight_external},
        "voting_policy": challenge.voting_policy,
    })
    # Settings the weights depend on, beyond the format's example (optional on import).
    if challenge.allow_opposition:
        entry["allow_opposition"] = True
    if challenge.voting_policy == "budget":
        entry["budget_k"] = challenge.budget_k
    if challenge.allow_overlap:
        entry["allow_overlap"] = True
    entry["criteria"] = [{"name": c.name, "weight": c.weight, **({"description": c.description}
                                                                  if c.description else {})}
                         for c in challenge.criteria]
    entry["phase"] = challenge.phase
    for name in ("opens_at", "submission_ends_at", "voting_at", "review_at", "closes_at"):
        value = getattr(challenge, name)
        if value is not None:
            entry[name] = format_time(value)
    return entry


def _user_key(user_id: int) -> str:
    return f"u{user_id}"


def _idea_keys(ideas: list[Idea]) -> dict[int, str]:
    """external_ref where there is one, else i<id>; never the same key twice."""
    keys: dict[int, str] = {}
    taken = {idea.external_ref for idea in ideas if idea.external_ref}
    for idea in ideas:
        if idea.external_ref:
            keys[idea.id] = idea.external_ref
            continue
        key, n = f"i{idea.id}", 1
        while key in taken:
            n += 1
            key = f"i{idea.id}-{n}"
        taken.add(key)
        keys[idea.id] = key
    return keys


def _chunked(ids: list[int], query):
    for start in range(0, len(ids), _CHUNK):
        yield from db.session.scalars(query(ids[start:start + _CHUNK]))

