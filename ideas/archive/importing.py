"""Importing an archive: people, the challenge and its history, then every vote replayed.

The whole document is checked first (document.read), so a refused archive has
written nothing at all. Writing then creates rows directly rather than through
the participation services: an archive is history, not activity, so nobody is
notified or mailed, and the phase rules of live participation do not apply.
Only the search index hears of the new ideas (queued jobs, drained after commit).

Votes get the live weights: after the people, ideas, comments and views are in,
every vote is replayed in time order by `voting.replay`, which measures its
signals against the history as it stood then (a view before the vote, the
voter's account age and earlier contributions, the other votes around it) and
weighs it with the same functions and the same inputs as a vote cast on the site
(`voting.services.record_vote`), in memory and in bulk: a few queries in all
rather than a dozen per vote.

Like every service this flushes and never commits; the caller (the command)
commits once, or rolls back on any error.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from ideas import clock, events, text
from ideas.accounts.models import PoolSource, Role, User, UserRole
from ideas.accounts.policy import normalise_email
from ideas.archive import decisions
from ideas.archive.document import Archive, ArchiveError, read
from ideas.challenges.models import (
    Challenge,
    ChallengeRole,
    ChallengeStaff,
    CoAuthor,
    Comment,
    Criterion,
    Idea,
    IdeaRevision,
    IdeaStatus,
    IdeaTag,
    Phase,
)
from ideas.extensions import db
from ideas.voting import replay
from ideas.voting import services as voting
from ideas.voting.models import IdeaView

_CHUNK = 500  # addresses per look-up: well under every backend's limit on bound parameters


@dataclass(frozen=True)
class ImportResult:
    challenge: Challenge
    people_created: int
    people_matched: int
    ideas: int
    comments: int
    views: int
    votes: int
    decisions: int
    decisions_not_imported: int  # where the site has no review module to keep them


def default_manager() -> User | None:
    """The first administrator: who manages an archive imported from the command line."""
    return db.session.scalar(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active).order_by(User.id).limit(1))


def can_manage(user: User | None) -> bool:
    return bool(user is not None and user.active and (user.is_admin or user.has_role(Role.MANAGER)))


def import_archive(document: dict | str | bytes, manager: User | None = None) -> Challenge:
    """Create the challenge an archive describes, with its people and history; returns it."""
    return import_with_result(document, manager).challenge


def import_with_result(document: dict | str | bytes, manager: User | None = None) -> ImportResult:
    manager = manager or default_manager()
    if not can_manage(manager):
        raise ArchiveError("manager", "nobody to manage the imported challenge: create an administrator "
                                      "(flask --app wsgi ideas users create-admin) or name an innovation manager")
    archive = read(document, pools_of=lambda emails: {e: u.pool for e, u in _existing(emails).items()})
    existing = _existing([u.email for u in archive.users])
    users, created = _people(archive, existing)
    challenge = _challenge(archive, manager)
    ideas = _ideas(archive, challenge, users)
    _comments(archive, ideas, users)
    _views(archive, ideas, users)
    db.session.flush()
    _replay_votes(archive, challenge, ideas, users)
    voting.rebuild_scores(challenge)  # the stored aggregates, scores and pools-disagree flags
    decided = decisions.write(archive, challenge, ideas, manager) if decisions.available() else 0
    for idea in ideas.values():
        events.emit("idea.changed", {"idea": idea})
    db.session.flush()
    return ImportResult(challenge=challenge, people_created=created, people_matched=len(users) - created,
                        ideas=len(ideas), comments=len(archive.comments), views=len(archive.views),
                        votes=len(archive.votes), decisions=decided,
                        decisions_not_imported=len(archive.decisions) - decided)


def _existing(emails: list[str]) -> dict[str, User]:
    emails = sorted({normalise_email(e) for e in emails})
    found: dict[str, User] = {}
    for start in range(0, len(emails), _CHUNK):
        for user in db.session.scalars(select(User).where(User.email.in_(emails[start:start + _CHUNK]))):
            found[user.email] = user
    return found


def _people(archive: Archive, existing: dict[str, User]) -> tuple[dict[str, User], int]:
    """People already here keep their account, pool and verification; the archive only
    dates their account back to when they joined the source platform, so that their
    imported votes are not weighed as those of a newcomer. Newcomers get no password
    (they sign in after a password reset), the pool the archive gives them (as an
    administrator's choice, which the employee domains leave alone), and a confirmed
    address unless the archive says otherwise: the source platform knew them."""
    users: dict[str, User] = {}
    created = 0
    for entry in archive.users:
        person = existing.get(entry.email)
        if person is None:
            person = User(name=entry.name, email=entry.email, password_hash=None, pool=entry.pool,
                          pool_source=PoolSource.ADMIN, created_at=entry.joined_at,
                          email_verified_at=entry.joined_at if entry.verified else None)
            db.session.add(person)
            created += 1
        elif entry.joined_at < clock.as_utc(person.created_at):
            person.created_at = entry.joined_at
        users[entry.key] = person
    db.session.flush()
    return users, created


def _challenge(archive: Archive, manager: User) -> Challenge:
    c = archive.challenge
    now = clock.now()
    opens = archive.dates["opens_at"]
    challenge = Challenge(
        title=c.title, **c.texts, pool_mode=c.pool_mode,
        pool_weight_employee=c.pool_weights.employee, pool_weight_external=c.pool_weights.external,
        voting_policy=c.voting_policy, voting_policy_version=1, allow_opposition=c.allow_opposition,
        allow_overlap=c.allow_overlap, phase=c.phase, **archive.dates,
        # Published when it opened (or now, for one that opens later); a draft stays unpublished.
        published_at=None if c.phase == Phase.DRAFT else min(opens or now, now),
        created_by_id=manager.id, created_at=now, updated_at=now, external_ref=c.key,
    )
    if c.budget_k is not None:
        challenge.budget_k = c.budget_k
    challenge.staff.append(ChallengeStaff(user_id=manager.id, role=ChallengeRole.MANAGER))
    challenge.criteria.extend(Criterion(name=item.name, weight=item.weight, description=item.description,
                                        position=position) for position, item in enumerate(c.criteria))
    db.session.add(challenge)
    db.session.flush()
    return challenge


def _ideas(archive: Archive, challenge: Challenge, users: dict[str, User]) -> dict[str, Idea]:
    ideas: dict[str, Idea] = {}
    for entry in archive.ideas:
        author = users[entry.author]
        idea = Idea(
            challenge=challenge, author=author, pool=author.pool, title=entry.title, summary=entry.summary,
            body=entry.body, status=IdeaStatus.PUBLISHED, word_count=text.word_count(entry.title, entry.summary,
                                                                                       entry.body),
            external_ref=entry.key, created_at=entry.created_at, published_at=entry.created_at,
            updated_at=entry.created_at, revision=1,
        )
        idea.tag_rows.extend(IdeaTag(tag=tag) for tag in entry.tags)
        idea.coauthors.extend(
            CoAuthor(email=users[key].email, user_id=users[key].id, invited_at=entry.created_at,
                     accepted_at=entry.created_at) for key in entry.co_authors)
        db.session.add(idea)
        ideas[entry.key] = idea
    db.session.flush()
    for entry in archive.ideas:
        idea = ideas[entry.key]
        db.session.add(IdeaRevision(idea_id=idea.id, number=1, editor_id=idea.author_id, at=entry.created_at,
                                    title=idea.title, summary=idea.summary, body=idea.body,
                                    tags=", ".join(entry.tags), note="imported"))
    return ideas


def _comments(archive: Archive, ideas: dict[str, Idea], users: dict[str, User]) -> None:
    counts: Counter[str] = Counter()
    for entry in archive.comments:
        db.session.add(Comment(idea_id=ideas[entry.idea].id, author_id=users[entry.author].id, body=entry.body,
                               created_at=entry.created_at))
        counts[entry.idea] += 1
    for key, count in counts.items():
        ideas[key].comment_count = count


def _views(archive: Archive, ideas: dict[str, Idea], users: dict[str, User]) -> None:
    """One row per person and idea: their first and latest view (the first is what a vote's
    "read before voting" signal compares with the vote's time)."""
    spans: dict[tuple[str, str], list] = {}
    for entry in archive.views:
        span = spans.setdefault((entry.idea, entry.user), [entry.at, entry.at])
        span[0], span[1] = min(span[0], entry.at), max(span[1], entry.at)
    for (idea, user), (first, last) in spans.items():
        db.session.add(IdeaView(idea_id=ideas[idea].id, user_id=users[user].id, first_at=first, last_at=last))


def _replay_votes(archive: Archive, challenge: Challenge, ideas: dict[str, Idea], users: dict[str, User]) -> None:
    """Every vote at its own time, weighed as the live site would have (voting.replay)."""
    criteria = {c.name: c.id for c in challenge.criteria}
    # The source's network string is hashed like an address on the live site: votes that
    # shared one there share one here, and the string itself is not kept.
    hashes: dict[str, str | None] = {}
    casts = []
    for entry in archive.votes_in_time_order():
        if entry.network is not None and entry.network not in hashes:
            hashes[entry.network] = voting.network_hash(entry.network)
        casts.append(replay.Cast(
            idea_id=ideas[entry.idea].id, voter_id=users[entry.voter].id, at=entry.at, value=entry.value,
            reason=entry.reason, ratings={criteria[name]: rating for name, rating in entry.ratings.items()},
            network=hashes.get(entry.network) if entry.network is not None else None))
    replay.replay(challenge, casts, {idea.id: idea for idea in ideas.values()},
                  {user.id: user for user in users.values()})
