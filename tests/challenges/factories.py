"""Helpers to build challenges and ideas in tests (used by several test modules)."""
from __future__ import annotations

from datetime import timedelta

from ideas import clock
from ideas.challenges import services
from ideas.extensions import db


def open_challenge(manager, *, phase: str = "submission", pool_mode: str = "blended", publish: bool = True,
                   **values):
    """A published challenge currently in `phase` (dates set around now)."""
    now = clock.now()
    offsets = {
        "draft": (1, 5, 10, 20),
        "submission": (-1, 5, 10, 20),
        "voting": (-10, -1, 10, 20),
        "review": (-20, -10, -1, 20),
        "closed": (-30, -20, -10, -1),
    }[phase]
    dates = dict(zip(("opens_at", "voting_at", "review_at", "closes_at"),
                     (now + timedelta(days=d) for d in offsets), strict=True))
    fields = {"title": "Halve check-in time", "brief": "How could we **halve** check-in time?",
              "pool_mode": pool_mode, **dates, **values}
    challenge = services.create_challenge(manager, **fields)
    if publish:
        services.publish(challenge, manager)
    db.session.commit()
    return challenge


def idea_in(challenge, author, title: str = "Self-service kiosks", summary: str = "Let travellers check in alone.",
            body: str = "Kiosks at the entrance.", **kwargs):
    idea = services.submit_idea(challenge, author, title=title, summary=summary, body=body, **kwargs)
    db.session.commit()
    return idea
