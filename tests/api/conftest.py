"""Helpers for the API tests: call an endpoint as a person, build a challenge in a phase."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from ideas.challenges import services as challenges
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge
from tests.review.conftest import world  # noqa: F401  (a challenge in review, with its reviewers and owners)


@pytest.fixture
def api(client, api_token) -> Callable:
    """api("GET", "/challenges", user, json=...) — /api/v1 is added, the person's token sent."""
    tokens: dict[int, dict] = {}

    def call(method: str, path: str, user=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            if user.id not in tokens:
                tokens[user.id] = api_token(user)
            headers.update(tokens[user.id])
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def voting_idea(make_user) -> Callable:
    """voting_idea(**challenge_values) -> (challenge, idea, author, manager): one idea, voting open."""

    def build(author=None, **values):
        manager = make_user(roles=("manager",))
        challenge = open_challenge(manager, phase="submission", **values)
        author = author or make_user()
        idea = idea_in(challenge, author)
        challenges.change_phase(challenge, manager, "voting", "Enough ideas")
        db.session.commit()
        return challenge, idea, author, manager

    return build


def fields_of(response) -> dict:
    return response.get_json()["error"]["fields"]
