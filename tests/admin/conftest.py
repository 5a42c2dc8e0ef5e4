"""Fixtures for the administration pages: a signed-in administrator, and quick bulk people."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from ideas.extensions import db


@pytest.fixture
def admin(make_user, login):
    """An administrator, signed in on the default client."""
    user = make_user(roles=("admin",), name="Root Admin", email="root@staff.example")
    login(user)
    return user


@pytest.fixture
def add_people(app) -> Callable:
    """add_people(n, **fields): n people straight into the database, no password hashing."""
    from ideas.accounts.models import User

    def add(count: int, prefix: str = "member", **fields) -> list[User]:
        people = [
            User(name=f"{prefix.title()} {i:04d}", email=f"{prefix}{i:04d}@outside.example", **fields)
            for i in range(count)
        ]
        db.session.add_all(people)
        db.session.commit()
        return people

    return add
