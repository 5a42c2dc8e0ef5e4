"""Who may reach what: every route of the site, for every kind of person.

EXPECTED is the one table of record. Each row is a route as Flask knows it
(method and rule, e.g. ("POST", "/admin/users/<int:user_id>/roles")) and the status
each role gets when it calls it: GET plainly, POST/PUT/DELETE with a valid CSRF
token and an otherwise empty body (so the row says who gets *through*, not
whether an empty form is accepted). API routes (/api/…) are called with a bearer
token of the role's person, and without any for the anonymous.

`test_every_route_is_in_the_table` fails when the site has a route that is not
here: a new route joins the table in the same commit. For a route with URL
parameters, add the parameter to SAMPLES, and the object it points at to the
`world` fixture below. A row whose route the site does not have (yet, or any
more) is skipped, and the summary lists it: remove rows of routes that are gone.

Statuses: an int, or LOGIN for "302 to the sign-in page" (a redirect elsewhere
would not be a guard).
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import pytest
from flask import session as flask_session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, select
from werkzeug.routing import Rule

from ideas import clock, create_app
from ideas.extensions import db
from ideas.insight.models import ActivityDay, VoteWeightTally
from tests.conftest import _base_overrides

LOGIN = "login"  # 302 to /login?next=…

ROLES = ("anonymous", "external", "employee", "manager", "reviewer", "owner", "admin")
SIGNED_IN = ROLES[1:]

# The person behind each role (make_user's keyword arguments).
PEOPLE = {
    "external": {"pool": "external"},
    "employee": {"pool": "employee"},
    "manager": {"pool": "employee", "roles": ("manager",)},
    "reviewer": {"pool": "employee", "roles": ("reviewer",)},
    "owner": {"pool": "employee", "roles": ("owner",)},
    "admin": {"pool": "employee", "roles": ("admin",)},
}


# --- compact rows --------------------------------------------------------------

def everyone(status) -> dict:
    return dict.fromkeys(ROLES, status)


def signed_in(status, anonymous=LOGIN) -> dict:
    """Any signed-in person gets `status`; the anonymous are sent to sign in."""
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, status)}


def only(roles: tuple[str, ...], status, others=403, anonymous=LOGIN) -> dict:
    """`roles` get `status`; other signed-in people `others`. Administrators pass every
    role gate (ideas.web.roles_required), so list "admin" whenever they do."""
    return {"anonymous": anonymous, **{r: status if r in roles else others for r in SIGNED_IN}}


def api(status, anonymous=401) -> dict:
    """An API route for any token holder; without a token, a 401 JSON error."""
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, status)}


def row(anonymous, external, employee, manager, reviewer, owner, admin) -> dict:
    """Spelled out, in ROLES order, where no pattern fits."""
    return dict(zip(ROLES, (anonymous, external, employee, manager, reviewer, owner, admin), strict=True))


ADMIN = ("admin",)
# The sample challenge's own managers (administrators manage every challenge).
MANAGERS = ("manager", "admin")

EXPECTED: dict[tuple[str, str], dict] = {
    # site
    ("GET", "/"): everyone(200),
    ("GET", "/healthz"): everyone(200),
    ("GET", "/favicon.ico"): everyone(200),
    # accounts: signing up and in
    ("GET", "/register"): signed_in(302, anonymous=200),  # the signed-in go home
    ("POST", "/register"): signed_in(302, anonymous=422),
    ("GET", "/login"): signed_in(302, anonymous=200),
    ("POST", "/login"): signed_in(302, anonymous=422),
    ("POST", "/logout"): everyone(302),
    ("GET", "/verify/<token>"): everyone(400),  # a made-up link
    ("POST", "/verify"): signed_in(302),
    ("GET", "/reset"): everyone(200),
    ("POST", "/reset"): everyone(422),
    ("GET", "/reset/<token>"): everyone(400),
    ("POST", "/reset/<token>"): everyone(400),
    ("GET", "/terms"): everyone(200),
    ("POST", "/terms"): everyone(200),  # an unticked box shows the terms again
    # accounts: one's own account
    ("GET", "/account"): signed_in(200),
    ("POST", "/account/profile"): signed_in(422),
    ("POST", "/account/password"): signed_in(422),
    ("POST", "/account/email"): signed_in(422),
    ("GET", "/account/email/<token>"): everyone(400),
    ("POST", "/account/tokens"): signed_in(422),
    ("POST", "/account/tokens/<int:token_id>/revoke"): signed_in(404),  # someone else's token
    ("GET", "/people/<int:user_id>"): everyone(200),
    # administration
    ("GET", "/admin/"): only(ADMIN, 302),
    ("GET", "/admin/users"): only(ADMIN, 200),
    ("GET", "/admin/users/<int:user_id>"): only(ADMIN, 200),
    ("POST", "/admin/users/<int:user_id>/pool"): only(ADMIN, 422),
    ("POST", "/admin/users/<int:user_id>/roles"): only(ADMIN, 302),  # no box ticked: no roles
    ("POST", "/admin/users/<int:user_id>/deactivate"): only(ADMIN, 302),
    ("POST", "/admin/users/<int:user_id>/reactivate"): only(ADMIN, 302),
    ("GET", "/admin/users/import"): only(ADMIN, 200),
    ("POST", "/admin/users/import"): only(ADMIN, 422),
    ("GET", "/admin/domains"): only(ADMIN, 200),
    ("POST", "/admin/domains"): only(ADMIN, 422),
    ("POST", "/admin/domains/<int:domain_id>/remove"): only(ADMIN, 302),
    ("GET", "/admin/outbox"): only(ADMIN, 200),
    ("GET", "/admin/outbox/<int:message_id>"): only(ADMIN, 200),
    ("GET", "/admin/settings"): only(ADMIN, 200),
    ("POST", "/admin/settings"): only(ADMIN, 302),  # empty terms: back to the default
    # challenges and ideas (the sample challenge: blended pools, open for submissions)
    ("GET", "/challenges"): everyone(200),
    ("GET", "/challenges/new"): only(MANAGERS, 200),
    ("POST", "/challenges/new"): only(MANAGERS, 422),
    ("GET", "/challenges/<int:challenge_id>"): everyone(200),
    ("GET", "/challenges/<int:challenge_id>/cover"): everyone(200),
    ("GET", "/challenges/<int:challenge_id>/edit"): only(MANAGERS, 200),
    ("POST", "/challenges/<int:challenge_id>/edit"): only(MANAGERS, 422),
    ("POST", "/challenges/<int:challenge_id>/publish"): only(MANAGERS, 302),  # already published: a message
    ("POST", "/challenges/<int:challenge_id>/phase"): only(MANAGERS, 302),  # no phase chosen: a message
    ("GET", "/challenges/<int:challenge_id>/terms"): signed_in(200),
    ("POST", "/challenges/<int:challenge_id>/terms"): signed_in(422),
    ("GET", "/challenges/<int:challenge_id>/ideas/new"): signed_in(200),
    ("POST", "/challenges/<int:challenge_id>/ideas/new"): signed_in(422),
    ("GET", "/challenges/<int:challenge_id>/moderation"): only(MANAGERS, 200),
    ("POST", "/challenges/<int:challenge_id>/moderation"): only(MANAGERS, 422),
    ("GET", "/ideas/<int:idea_id>"): everyone(200),
    ("GET", "/ideas/<int:idea_id>/history"): everyone(200),
    ("GET", "/ideas/<int:idea_id>/edit"): signed_in(403),  # only its authors
    ("POST", "/ideas/<int:idea_id>/edit"): signed_in(403),
    ("POST", "/ideas/<int:idea_id>/withdraw"): signed_in(403),
    ("POST", "/ideas/<int:idea_id>/delete"): signed_in(403),
    ("POST", "/ideas/<int:idea_id>/coauthors"): signed_in(403),
    ("POST", "/ideas/<int:idea_id>/coauthors/answer"): signed_in(400),  # nobody invited them
    ("POST", "/ideas/<int:idea_id>/merge"): only(MANAGERS, 302),  # no target: a message
    ("GET", "/attachments/<int:attachment_id>"): everyone(200),
    ("GET", "/my/ideas"): signed_in(200),
    ("GET", "/challenges/<int:challenge_id>/similar"): everyone(200),  # "similar ideas" while writing
    ("GET", "/search"): everyone(200),
    # discussion and moderation
    ("POST", "/ideas/<int:idea_id>/comments"): signed_in(422),
    ("GET", "/comments/<int:comment_id>"): everyone(302),  # to the comment on its idea's page
    ("POST", "/comments/<int:comment_id>/edit"): signed_in(403),  # only its author
    ("POST", "/comments/<int:comment_id>/replies"): signed_in(422),
    ("POST", "/flags"): signed_in(404),  # nothing named to flag
    # voting
    ("GET", "/challenges/<int:challenge_id>/vote"): everyone(200),
    ("GET", "/challenges/<int:challenge_id>/pairs"): signed_in(409),  # not a pairwise challenge
    ("POST", "/challenges/<int:challenge_id>/pairs"): signed_in(409),
    ("GET", "/challenges/<int:challenge_id>/ranking"): only(MANAGERS, 200, anonymous=403),  # hidden until voting ends
    ("GET", "/challenges/<int:challenge_id>/ranking/compare"): only(MANAGERS, 200),  # raw counts against weights
    ("GET", "/challenges/<int:challenge_id>/voting-policy"): only(MANAGERS, 200),
    ("POST", "/challenges/<int:challenge_id>/voting-policy"): only(MANAGERS, 422),
    ("POST", "/ideas/<int:idea_id>/vote"): signed_in(409),  # refused on the idea page with the message: not the voting phase
    ("POST", "/ideas/<int:idea_id>/vote/withdraw"): signed_in(302),
    ("GET", "/ideas/<int:idea_id>/votes"): only(MANAGERS, 200),
    ("GET", "/my/vote-moves"): signed_in(200),
    ("POST", "/my/vote-moves"): signed_in(400),
    # following and notifications (the sample notification is someone else's)
    ("POST", "/follow"): signed_in(404),  # nothing named to follow
    ("POST", "/unfollow"): signed_in(404),
    ("GET", "/notifications"): signed_in(200),
    ("GET", "/notifications/<int:notification_id>"): signed_in(404),
    ("POST", "/notifications/<int:notification_id>/read"): signed_in(404),
    ("POST", "/notifications/read"): signed_in(302),
    ("POST", "/notifications/digest"): signed_in(422),
    # JSON API
    ("GET", "/api/v1/openapi.json"): everyone(200),
    ("POST", "/api/v1/tokens"): everyone(415),  # an empty body is not JSON
    ("DELETE", "/api/v1/tokens/<int:token_id>"): api(404),  # someone else's token
    ("GET", "/api/v1/me"): api(200),
    # JSON API: challenges, ideas, discussion, follows, search (the sample challenge as above)
    ("GET", "/api/v1/challenges"): api(200),
    ("POST", "/api/v1/challenges"): only(MANAGERS, 415, anonymous=401),  # through, then not JSON
    ("GET", "/api/v1/challenges/<int:challenge_id>"): api(200),
    ("PATCH", "/api/v1/challenges/<int:challenge_id>"): only(MANAGERS, 415, anonymous=401),
    ("POST", "/api/v1/challenges/<int:challenge_id>/publish"): only(MANAGERS, 422, anonymous=401),  # already is
    ("POST", "/api/v1/challenges/<int:challenge_id>/phase"): only(MANAGERS, 415, anonymous=401),
    ("GET", "/api/v1/challenges/<int:challenge_id>/ideas"): api(200),
    ("POST", "/api/v1/challenges/<int:challenge_id>/ideas"): api(415),
    ("GET", "/api/v1/challenges/<int:challenge_id>/similar"): api(200),
    ("GET", "/api/v1/ideas/<int:idea_id>"): api(200),
    ("PATCH", "/api/v1/ideas/<int:idea_id>"): api(403),  # only its authors
    ("POST", "/api/v1/ideas/<int:idea_id>/withdraw"): api(403),
    ("GET", "/api/v1/ideas/<int:idea_id>/comments"): api(200),
    ("POST", "/api/v1/ideas/<int:idea_id>/comments"): api(415),
    ("GET", "/api/v1/comments/<int:comment_id>"): api(200),
    ("PATCH", "/api/v1/comments/<int:comment_id>"): api(403),  # only its author
    ("POST", "/api/v1/flags"): api(415),
    ("GET", "/api/v1/follows"): api(200),
    ("POST", "/api/v1/follows"): api(415),
    ("DELETE", "/api/v1/follows/<target_type>/<path:target_key>"): api(404),  # not followed
    ("GET", "/api/v1/search"): api(200),
    # JSON API: voting (the sample challenge takes ideas, not votes, yet)
    ("POST", "/api/v1/ideas/<int:idea_id>/vote"): api(415),
    ("GET", "/api/v1/ideas/<int:idea_id>/vote"): api(404),  # no vote of theirs
    ("DELETE", "/api/v1/ideas/<int:idea_id>/vote"): api(409),  # not the voting phase
    ("GET", "/api/v1/challenges/<int:challenge_id>/ranking"): only(MANAGERS, 200, anonymous=401),
    ("GET", "/api/v1/challenges/<int:challenge_id>/pair"): api(409),  # not a pairwise challenge
    ("POST", "/api/v1/challenges/<int:challenge_id>/pair"): api(415),
    # review and handoff (the sample review: the sample idea, shortlisted, no reviewers, no owner)
    ("GET", "/challenges/<int:challenge_id>/review"): only(MANAGERS, 200),
    ("POST", "/challenges/<int:challenge_id>/review/shortlist"): only(MANAGERS, 422),  # no idea ticked
    ("GET", "/reviews/<int:review_id>"): only(MANAGERS, 200),
    ("POST", "/reviews/<int:review_id>/start"): only(MANAGERS, 302),
    ("POST", "/reviews/<int:review_id>/reviewers"): only(MANAGERS, 302),  # assigned automatically
    ("POST", "/reviews/<int:review_id>/decide"): only(MANAGERS, 422),  # no decision chosen
    ("POST", "/reviews/<int:review_id>/revisit"): only(MANAGERS, 409),  # not parked
    ("POST", "/reviews/<int:review_id>/handoff"): only(MANAGERS, 409),  # not accepted
    ("POST", "/reviews/<int:review_id>/park"): only(MANAGERS, 409),
    ("POST", "/reviews/<int:review_id>/acknowledge"): signed_in(403),  # only its owner
    ("POST", "/reviews/<int:review_id>/decline-handoff"): signed_in(403),
    ("POST", "/reviews/<int:review_id>/progress"): signed_in(403),
    ("POST", "/reviews/<int:review_id>/close"): signed_in(403),
    ("GET", "/reviews/<int:review_id>/scorecard"): signed_in(403),  # only its reviewers
    ("POST", "/reviews/<int:review_id>/scorecard"): signed_in(403),
    ("POST", "/reviews/<int:review_id>/conflict"): signed_in(403),
    ("GET", "/review/queue"): only(("reviewer", "admin"), 200),
    ("GET", "/review/handoffs"): only(("owner", "admin"), 200),
    ("POST", "/review/handoffs/wip"): only(("owner", "admin"), 422),  # no limit given
    # insight: dashboards (the sample challenge's managers only), results, how it works
    ("GET", "/challenges/<int:challenge_id>/dashboard"): only(MANAGERS, 200),
    ("GET", "/challenges/<int:challenge_id>/dashboard/<chart>.csv"): only(MANAGERS, 200),
    ("GET", "/dashboard"): only(MANAGERS, 200),  # innovation managers see the challenges they manage
    ("GET", "/dashboard/<chart>.csv"): only(MANAGERS, 200),
    ("GET", "/challenges/<int:challenge_id>/results"): everyone(200),  # not closed yet: says when
    ("GET", "/how-it-works"): everyone(200),
    # integrations: webhooks (the sample endpoint is paused, its delivery failed) and CSV exports
    ("GET", "/admin/webhooks"): only(ADMIN, 200),
    ("POST", "/admin/webhooks"): only(ADMIN, 422),  # no URL
    ("GET", "/admin/webhooks/<int:endpoint_id>"): only(ADMIN, 200),
    ("POST", "/admin/webhooks/<int:endpoint_id>"): only(ADMIN, 422),  # no URL
    ("POST", "/admin/webhooks/<int:endpoint_id>/secret"): only(ADMIN, 200),  # the new secret, shown once
    ("POST", "/admin/webhooks/<int:endpoint_id>/ping"): only(ADMIN, 302),
    ("POST", "/admin/webhooks/<int:endpoint_id>/delete"): only(ADMIN, 302),
    ("GET", "/admin/webhooks/deliveries/<int:delivery_id>"): only(ADMIN, 200),
    ("POST", "/admin/webhooks/deliveries/<int:delivery_id>/redeliver"): only(ADMIN, 302),
    ("GET", "/challenges/<int:challenge_id>/review/shortlist.csv"): only(MANAGERS, 200),
    ("GET", "/review/handoffs.csv"): only(MANAGERS, 200),
    # JSON API: review and handoffs (the sample review as above)
    ("GET", "/api/v1/handoffs"): row(401, 403, 403, 200, 403, 200, 200),  # R&D staff, never outsiders
    ("GET", "/api/v1/reviews/<int:review_id>"): api(200),  # the steps, for whoever sees the idea
    ("GET", "/api/v1/ideas/<int:idea_id>/review"): api(200),
    ("POST", "/api/v1/challenges/<int:challenge_id>/shortlist"): only(MANAGERS, 415, anonymous=401),
    ("POST", "/api/v1/reviews/<int:review_id>/start"): only(MANAGERS, 200, anonymous=401),  # no body needed
    ("POST", "/api/v1/reviews/<int:review_id>/reviewers"): only(MANAGERS, 200, anonymous=401),  # automatic
    ("POST", "/api/v1/reviews/<int:review_id>/decide"): only(MANAGERS, 415, anonymous=401),
    ("POST", "/api/v1/reviews/<int:review_id>/handoff"): only(MANAGERS, 415, anonymous=401),
    ("POST", "/api/v1/reviews/<int:review_id>/scorecard"): api(403),  # only its reviewers
    ("POST", "/api/v1/reviews/<int:review_id>/acknowledge"): api(403),  # only its owner
    ("POST", "/api/v1/reviews/<int:review_id>/decline-handoff"): api(403),
    ("POST", "/api/v1/reviews/<int:review_id>/progress"): api(403),
    ("POST", "/api/v1/reviews/<int:review_id>/close"): api(403),
}

# URL parameter -> the value to put in it, from the objects of the `world` fixture.
SAMPLES = {
    "user_id": lambda world: world["person"].id,
    "token_id": lambda world: world["api_token"].id,
    "token": lambda world: "not-a-link-we-sent",
    "domain_id": lambda world: world["domain"].id,
    "message_id": lambda world: world["message"].id,
    "challenge_id": lambda world: world["challenge"].id,
    "idea_id": lambda world: world["idea"].id,
    "attachment_id": lambda world: world["attachment"].id,
    "comment_id": lambda world: world["comment"].id,
    "notification_id": lambda world: world["notification"].id,
    "review_id": lambda world: world["review"].id,
    "endpoint_id": lambda world: world["webhook"].id,
    "delivery_id": lambda world: world["delivery"].id,
    "target_type": lambda world: "challenge",  # DELETE /api/v1/follows/<target_type>/<target_key>
    "target_key": lambda world: world["challenge"].id,
    "chart": lambda world: "funnel",  # a dashboard's CSV download
}

IGNORED_ENDPOINTS = {"static"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def matrix_app(database_template, tmp_path_factory):
    """One app for the whole matrix. Building an app compiles every URL rule, which
    grows with the site and would dominate hundreds of cases; each case starts from
    empty tables instead (the rest of the suite keeps a fresh app per test)."""
    instance = tmp_path_factory.mktemp("matrix") / "instance"
    instance.mkdir()
    if database_template["kind"] == "sqlite":
        shutil.copy(database_template["path"], instance / "ideas.db")
        url = f"sqlite:///{instance / 'ideas.db'}"
    else:
        url = database_template["url"]
    # The scheduler's jobs are not what this table is about, and would run on every request.
    application = create_app({**_base_overrides(instance, url), "IDEAS_LAZY_TICK_SECONDS": -1})
    with application.app_context():
        event.listen(db.engine, "before_cursor_execute", _note_writes)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def app(matrix_app):
    with matrix_app.app_context():
        yield matrix_app
        db.session.remove()
    clock.set_now(None)


# A tiny PNG: attachments are recognised by their bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def build_world(make_user) -> dict:
    """The people behind the roles, and one of each object a URL can point at.

    The manager manages the sample challenge (blended pools, open for submissions);
    the sample idea, its attachment and comment, the notification and the API token
    belong to someone else (Sample Person, an external).
    """
    from ideas import mail
    from ideas.accounts import services
    from ideas.challenges import attachments, comments
    from ideas.notifications.models import Notification
    from ideas.notifications import services as notifications
    from tests.challenges.factories import idea_in, open_challenge

    people = {role: make_user(**fields) for role, fields in PEOPLE.items()}
    person = make_user(pool="external", name="Sample Person")
    api_token, _ = services.create_api_token(person, "sample")
    domain = services.add_employee_domain("sample.example")
    message = mail.send_mail(person.email, "Sample", "A sample message.")
    challenge = open_challenge(people["manager"], phase="submission", pool_mode="blended")
    attachments.set_cover(challenge, people["manager"], "cover.png", PNG)
    idea = idea_in(challenge, person)
    attachment = attachments.add_to_idea(idea, person, "sketch.png", PNG)
    comment = comments.post_comment(idea, person, "A first comment.")
    notifications.notify([person.id], "sample", "Something happened.", "/", challenge=challenge)
    notification = db.session.scalar(select(Notification).where(Notification.user_id == person.id))
    from ideas.review.models import IdeaReview  # shortlisted as it stands: no phase needed for the guard

    review = IdeaReview(idea=idea, challenge_id=challenge.id, state="shortlisted")
    db.session.add(review)
    from ideas.integrations.models import (
        WebhookDelivery,
        WebhookEndpoint,
        WebhookSubscription,
    )

    webhook = WebhookEndpoint(url="https://93.184.215.14/hook", secret="whsec_" + "s" * 40, active=False,
                              subscriptions=[WebhookSubscription(event="decision")])
    delivery = WebhookDelivery(endpoint=webhook, event="decision", payload="{}", status="failed", attempts=6)
    db.session.add_all([webhook, delivery])
    db.session.commit()
    return {
        "people": people, "person": person, "api_token": api_token, "domain": domain, "message": message,
        "challenge": challenge, "idea": idea, "attachment": attachment, "comment": comment,
        "notification": notification, "review": review, "webhook": webhook, "delivery": delivery,
    }


@dataclass(frozen=True)
class Sample:
    """What a case needs of an object of the world: its id (and, for a person, how to sign in)."""

    id: int
    email: str = ""
    login_id: str = ""

    @classmethod
    def of(cls, row) -> Sample:
        if hasattr(row, "get_id") and hasattr(row, "email"):
            return cls(id=row.id, email=row.email, login_id=row.get_id())
        return cls(id=row.id)


# The tables a statement since the last restore wrote to (the engine's statements are
# read as they go: INSERT INTO, UPDATE, DELETE FROM; the triggers' tallies and the rows a
# cascade deletes are found through the foreign keys, in `_to_restore`).
_written: set[str] = set()
_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+\"?(\w+)", re.IGNORECASE)


def _note_writes(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    _written.update(name.lower() for name in _WRITE.findall(statement))  # or a word after FOR UPDATE


def _to_restore(written: set[str]) -> list:
    """The tables written to, and every table that refers to one of them (a row deleted
    there may have taken theirs with it, by ON DELETE CASCADE), in foreign-key order."""
    tables = db.metadata.sorted_tables
    dirty = {t.name for t in tables if t.name in written}
    if dirty & {"votes", "ideas"}:
        dirty |= TALLIES  # kept by the triggers on votes and ideas
    grew = True
    while grew:
        referring = {t.name for t in tables for fk in t.foreign_keys if fk.column.table.name in dirty}
        grew = not referring <= dirty
        dirty |= referring
    return [t for t in tables if t.name in dirty]


@pytest.fixture
def world(app, make_user) -> dict:
    """The world, built once per run of the matrix and put back before every case.

    Building it takes dozens of writes; restoring it deletes and inserts again the rows
    of the tables the previous case wrote to (and of those whose rows a cascade from
    them may have deleted), on SQLite and PostgreSQL alike: most cases only read."""
    snapshot = app.extensions.get("matrix.world")
    if snapshot is None:
        _delete_all()
        objects = build_world(make_user)
        from ideas import search

        search.drain()  # the index holds the world; no job is left to drain in every case
        samples = {
            name: {k: Sample.of(v) for k, v in value.items()} if isinstance(value, dict) else Sample.of(value)
            for name, value in objects.items()
        }
        rows = {table.name: [dict(r) for r in db.session.execute(table.select()).mappings()]
                for table in db.metadata.sorted_tables}
        db.session.commit()
        snapshot = app.extensions["matrix.world"] = (samples, rows)
    else:
        samples, rows = snapshot
        dirty = _to_restore(_written)
        for table in reversed(dirty):
            db.session.execute(table.delete())
        for table in dirty:
            # The dashboards' tallies are kept by triggers on votes and ideas: putting
            # those rows back counts them again, so the tallies' own rows stay out.
            if rows[table.name] and table.name not in TALLIES:
                db.session.execute(table.insert(), rows[table.name])
        db.session.commit()
    db.session.expunge_all()
    _written.clear()
    return samples


TALLIES = {ActivityDay.__tablename__, VoteWeightTally.__tablename__}


def _delete_all() -> None:
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table costs far more
    # than deleting the few rows a case leaves behind.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def enter_session(client, person: Sample | None) -> str:
    """Sign `person` in as Flask-Login would (None: stay anonymous); returns a CSRF token
    for this session. Signing in through the form is tested in tests/accounts."""
    app = client.application
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    with app.test_request_context():
        token = generate_csrf()
        raw = flask_session[field]
    with client.session_transaction() as session:
        session[field] = raw
        if person is not None:
            session["_user_id"] = person.login_id
            session["_fresh"] = True
    return token


_PARAM = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>")


def sample_url(rule: str, world: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in SAMPLES:
            pytest.fail(f"no sample value for <{name}> in {rule}: add it to SAMPLES in {__name__}")
        return str(SAMPLES[name](world))

    return _PARAM.sub(fill, rule)


def site_routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        rule: Rule
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((method, rule.rule))
    return found


@pytest.fixture(scope="module")
def routed(matrix_app) -> set[tuple[str, str]]:
    return site_routes(matrix_app)


def test_every_route_is_in_the_table(routed):
    missing = sorted(routed - set(EXPECTED), key=lambda k: (k[1], k[0]))
    hint = "\n".join(f"    ({m!r}, {r!r}): only(ADMIN, 200)," for m, r in missing)
    assert not missing, (
        f"routes without a row in EXPECTED ({__name__}); add one per route, e.g.\n{hint}"
    )


def test_every_row_names_every_role():
    for key, statuses in EXPECTED.items():
        assert set(statuses) == set(ROLES), key


CASES = [
    pytest.param(method, rule, role, id=f"{method} {rule} {role}")
    for (method, rule) in EXPECTED
    for role in ROLES
]


@pytest.mark.parametrize(("method", "rule", "role"), CASES)
def test_who_may_reach(method, rule, role, routed, client, api_token, world):
    if (method, rule) not in routed:
        # Rows may land before their route (several people extend the site at once).
        pytest.skip(f"the site has no route {method} {rule}: remove the row if the route is gone")
    expected = EXPECTED[(method, rule)][role]
    url = sample_url(rule, world)
    user = world["people"].get(role)

    if rule.startswith("/api/"):
        headers = api_token(user) if user else {}
        response = client.open(url, method=method, headers=headers)
    else:
        token = enter_session(client, user)
        data = None if method == "GET" else {"csrf_token": token}
        response = client.open(url, method=method, data=data)
    response.close()  # a file sent from disk stays open until then

    where = f"{method} {url} as {role}"
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if expected == LOGIN:
        assert response.status_code == 302, f"{where}: {response.status_code}, expected a sign-in redirect"
        assert response.headers["Location"].startswith("/login"), f"{where}: to {response.headers['Location']}"
    else:
        assert response.status_code == expected, f"{where}: {response.status_code}, expected {expected}"
    if rule.startswith("/api/") and response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}, where
