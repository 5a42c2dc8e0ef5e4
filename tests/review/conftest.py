"""A challenge ready for review: criteria, ideas by several authors, reviewers and owners
with expertise, and helpers that walk an idea along its path through the services."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ideas import clock
from ideas.accounts.services import update_profile
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.review import services
from ideas.review.services import Rating
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import snapshot

# A Wednesday, so that five working days do not cross a weekend unless a test says so.
WEDNESDAY = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)


@dataclass
class World:
    challenge: object
    manager: object
    authors: list
    ideas: list
    reviewers: list
    owners: list
    extra: dict = field(default_factory=dict)

    @property
    def idea(self):
        return self.ideas[0]

    @property
    def author(self):
        return self.authors[0]

    @property
    def owner(self):
        return self.owners[0]


def _with_expertise(user, *tags):
    update_profile(user, name=user.name, bio="", expertise=", ".join(tags))
    db.session.commit()
    return user


@pytest.fixture
def world(make_user, snapshot):
    """A blended challenge in its review phase with two weighted criteria, three ideas
    (one by an external author), three reviewers and two owners: built once per run and
    put back for each test (`snapshot`, tests/conftest.py)."""
    return snapshot("review world", lambda: build_world(make_user))


def build_world(make_user) -> World:
    clock.set_now(WEDNESDAY)
    manager = make_user(roles=("manager",), name="Mona Manager")
    challenge = open_challenge(manager, phase="submission", review_capacity=2, reviewers_per_idea=2,
                               criteria=[challenges.CriterionInput("impact", weight=3),
                                         challenges.CriterionInput("feasibility", weight=1)],
                               tags="airports")
    authors = [make_user(pool="external", name="Ext Author"), make_user(name="Emp Author"),
               make_user(name="Third Author")]
    ideas = [
        idea_in(challenge, authors[0], title="Self-service kiosks", tags="kiosks, hardware"),
        idea_in(challenge, authors[1], title="Bag drop robots", tags="robots"),
        idea_in(challenge, authors[2], title="Mobile boarding passes", tags="mobile"),
    ]
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    reviewers = [
        _with_expertise(make_user(roles=("reviewer",), name="Rita Reviewer"), "kiosks"),
        _with_expertise(make_user(roles=("reviewer",), name="Rob Reviewer"), "robots"),
        _with_expertise(make_user(roles=("reviewer",), name="Ray Reviewer"), "hardware", "kiosks"),
    ]
    owners = [
        _with_expertise(make_user(roles=("owner",), name="Olga Owner"), "kiosks"),
        _with_expertise(make_user(roles=("owner",), name="Otto Owner"), "robots"),
    ]
    return World(challenge, manager, authors, ideas, reviewers, owners)


def full_scorecard(challenge, impact: int = 4, feasibility: int = 3) -> dict[int, Rating]:
    values = {"impact": impact, "feasibility": feasibility}
    return {c.id: Rating(values[c.name], f"{c.name}: seen it work elsewhere") for c in challenge.criteria}


def walk(world: World, idea, to: str):
    """Take `idea` through the services to the state `to`, the usual way; returns the review.

    Walked once per run from each start (the world just put back, most often) and put
    back after (`snapshot`, tests/conftest.py)."""
    return snapshot(f"idea {idea.id} walked to {to}", lambda: _walk(world, idea, to))


def _walk(world: World, idea, to: str):
    path = ["shortlisted", "in_review", "accepted", "handed_off", "acknowledged", "in_progress", "delivered"]
    detours = {
        "declined": ["shortlisted", "in_review", "declined"],
        "parked": ["shortlisted", "in_review", "parked"],
        "handoff_declined": ["shortlisted", "in_review", "accepted", "handed_off", "handoff_declined"],
        "dropped": path[:-1] + ["dropped"],
    }
    steps = detours.get(to) or path[: path.index(to) + 1]
    m, owner = world.manager, world.owner
    review = None
    for step in steps:
        if step == "shortlisted":
            review = services.shortlist_ideas(world.challenge, m, [idea.id], "walking it")[0]
        elif step == "in_review":
            services.start_review(review, m)
        elif step in ("accepted", "declined", "parked"):
            services.decide(review, m, step, f"Because it is {step}", note="internal: budget talk")
        elif step == "handed_off":
            services.hand_off(review, m, owner)
        elif step == "acknowledged":
            services.acknowledge(review, owner)
        elif step == "handoff_declined":
            services.decline_handoff(review, owner, "No team for it this year")
        elif step == "in_progress":
            services.start_work(review, owner)
        elif step in ("delivered", "dropped"):
            services.close(review, owner, step, f"It was {step}")
        db.session.flush()
    db.session.commit()
    return review


def moderator_reviewing(world: World):
    """Blind review on, and a moderator of the challenge (a reviewer too) assigned to
    review the world's idea, in review: (review, moderator)."""
    from ideas.challenges.models import ChallengeRole, ChallengeStaff

    world.challenge.blind_review = True
    moderator = world.reviewers[0]
    db.session.add(ChallengeStaff(challenge_id=world.challenge.id, user_id=moderator.id,
                                  role=ChallengeRole.MODERATOR))
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [moderator.id])
    db.session.commit()
    return review, moderator
