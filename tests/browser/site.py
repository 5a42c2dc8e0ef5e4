"""One served site shared by a whole test module: the demo content, a challenge walked
through review and handoff, and a signed-in browser tab per role, made once.

Per-test `live_server` fixtures give each test its own database; pages that only read
(the accessibility checks) share this one instead, so a hundred page checks cost one
migration copy, one seed and six sign-ins."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import select
from werkzeug.serving import make_server

from ideas import clock
from ideas.accounts import services as accounts
from ideas.accounts.models import User
from ideas.challenges import services as challenges
from ideas.extensions import db
from tests.conftest import PASSWORD, _empty_tables, build_app

# Every role a person can have on the site; "anonymous" is nobody signed in.
ROLES = ("anonymous", "external", "employee", "manager", "reviewer", "owner", "admin")
SIGNED_IN = ROLES[1:]
PARTICIPANTS = ("external", "employee")
STAFF = ("employee", "manager", "reviewer", "owner", "admin")


@dataclass
class SharedSite:
    url: str
    users: dict[str, User]
    ids: dict[str, int]
    tabs: dict = field(default_factory=dict)


def start_app(database_template, folder):
    """The `app` fixture's app, built at module scope (same settings, same template database)."""
    app = build_app(database_template, folder)
    context = app.app_context()
    context.push()
    if database_template["kind"] == "postgresql":
        _empty_tables()
    return app, context


def seed() -> tuple[dict[str, User], dict[str, int]]:
    """The demo, known passwords, and a review-phase challenge with ideas at each step."""
    from ideas.challenges.models import Challenge, Idea
    from ideas.demo import load_demo
    from ideas.review import services as review
    from ideas.review.services import Rating
    from ideas.voting import services as voting
    from tests.challenges.factories import idea_in, open_challenge

    load_demo()
    db.session.flush()
    users = {}
    for key in SIGNED_IN:
        user = db.session.scalar(select(User).where(User.email.like(f"{key}@%")))
        user.password_hash = accounts.hash_password(PASSWORD)
        users[key] = user
    manager, reviewer, owner = users["manager"], users["reviewer"], users["owner"]
    by_title = {c.title: c for c in db.session.scalars(select(Challenge))}
    checkin = by_title["How could we halve check-in time?"]
    green = by_title["Greener ground operations"]

    # A challenge in review: one idea handed off, one waiting for its scorecard, one not shortlisted.
    lounge = open_challenge(manager, phase="submission", title="Quieter airport lounges", reviewers_per_idea=1,
                            review_capacity=5,
                            criteria=[challenges.CriterionInput("impact", "How many travellers it helps", 2),
                                      challenges.CriterionInput("feasibility", "How easily we could try it")])
    titles = ("Phone booths by the gates", "Silent boarding announcements on screens",
              "A reading corner with charging points")
    authors = (users["external"], users["employee"], users["external"])
    ideas = []
    for title, author in zip(titles, authors, strict=True):
        challenges.accept_challenge_terms(author, lounge)
        ideas.append(idea_in(lounge, author, title=title, tags="lounges"))
    challenges.change_phase(lounge, manager, "voting", "Enough ideas to vote on")
    voting.record_vote(ideas[0], users["owner"], voting.Ballot(reason="Calls at the gate are the loudest noise."),
                       network=None, now=clock.now())
    challenges.change_phase(lounge, manager, "review", "Voting is over")
    db.session.commit()
    handed, waiting = review.shortlist_ideas(lounge, manager, [ideas[0].id, ideas[1].id])
    for item in (handed, waiting):
        review.start_review(item, manager)
        review.assign_reviewers(item, manager, [reviewer.id])  # a no-op where already chosen automatically
    db.session.flush()
    review.submit_scorecard(handed, reviewer, {c.id: Rating(4, f"{c.name}: works at two airports")
                                               for c in lounge.criteria})
    review.decide(handed, manager, "accepted", "Cheap to try at two gates", note="Internal: budget is agreed")
    review.hand_off(handed, manager, owner)
    db.session.commit()
    idea = db.session.scalar(select(Idea).where(Idea.challenge_id == checkin.id).order_by(Idea.id))
    ids = {"checkin": checkin.id, "green": green.id, "lounge": lounge.id, "idea": idea.id,
           "handed": handed.id, "waiting": waiting.id, "employee": users["employee"].id,
           "external": users["external"].id}
    return users, ids


class Server:
    def __init__(self, app):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        app.config.update(SERVER_NAME=f"{host}:{port}", IDEAS_BASE_URL=self.url)
        self.thread = threading.Thread(target=self.server.serve_forever, name="shared-site", daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
