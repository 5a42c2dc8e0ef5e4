"""Demo content for `make run`, loaded only into an empty database.

`load_demo()` runs each step of DEMO_STEPS in order with one DemoContext. The first
step makes one account per role; later domains append their own steps (challenges
in different phases and pool modes, then ideas, comments and votes by these people),
reading the accounts from `context.users` and leaving what they made in
`context.made` for the steps after them. Steps call services and flush; the caller
(the `ideas demo` command) commits once, so a failing step leaves nothing behind.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from ideas import clock
from ideas.accounts import services
from ideas.accounts.models import ROLE_LABELS, Pool, Role, User
from ideas.challenges import demo as challenges
from ideas.extensions import db
from ideas.insight import demo as insight
from ideas.voting import demo as voting

EMPLOYEE_DOMAIN = "staff.example"
ALREADY_LOADED = "The database already holds people: the demo is not loaded again and nothing changed."


@dataclass(frozen=True)
class DemoAccount:
    key: str
    name: str
    email: str
    roles: tuple[Role, ...] = ()
    bio: str = ""
    expertise: str = ""


# One person per role. Everyone but the external participant has a staff address,
# so the employee domain below puts them in the employee pool.
DEMO_ACCOUNTS = (
    DemoAccount("admin", "Ada Admin", f"admin@{EMPLOYEE_DOMAIN}", (Role.ADMIN,),
                "Looks after people, roles and the site's settings."),
    DemoAccount("manager", "Mani Manager", f"manager@{EMPLOYEE_DOMAIN}", (Role.MANAGER,),
                "Runs the idea challenges.", "customer experience, operations"),
    DemoAccount("reviewer", "Rei Reviewer", f"reviewer@{EMPLOYEE_DOMAIN}", (Role.REVIEWER,),
                "Evaluates shortlisted ideas.", "logistics, payments"),
    DemoAccount("owner", "Oskar Owner", f"owner@{EMPLOYEE_DOMAIN}", (Role.OWNER,),
                "Takes accepted ideas into R&D.", "mobile, check-in, payments"),
    DemoAccount("employee", "Emma Employee", f"employee@{EMPLOYEE_DOMAIN}", (),
                "Works at the front desk.", "check-in"),
    DemoAccount("external", "Xavier External", "external@customer.example", (),
                "A frequent traveller with opinions.", "travel"),
)


@dataclass
class DemoContext:
    users: dict[str, User] = field(default_factory=dict)
    # (e-mail, password, roles) for the sign-in table printed once.
    credentials: list[tuple[str, str, str]] = field(default_factory=list)
    # Whatever a step made that a later step needs, by name ("challenges", "ideas" …).
    made: dict[str, object] = field(default_factory=dict)
    # Lines a step wants printed after the accounts.
    notes: list[str] = field(default_factory=list)


DemoStep = Callable[[DemoContext], None]


def add_accounts(context: DemoContext) -> None:
    services.add_employee_domain(EMPLOYEE_DOMAIN)
    for account in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(15)
        now = clock.now()
        user = User(
            name=account.name,
            email=account.email,
            password_hash=services.hash_password(password),
            email_verified_at=now,
            terms_accepted_at=now,
        )
        db.session.add(user)
        db.session.flush()
        services.refresh_pool(user)
        services.set_roles(user, account.roles)
        services.update_profile(user, name=account.name, bio=account.bio, expertise=account.expertise)
        context.users[account.key] = user
        context.credentials.append((user.email, password, _describe(user)))
    db.session.flush()
    context.notes.append(f"People with a verified @{EMPLOYEE_DOMAIN} address are in the employee pool.")


def _describe(user: User) -> str:
    labels = [ROLE_LABELS[role] for role in sorted(user.roles)]
    pool = "employee" if user.pool == Pool.EMPLOYEE else "external"
    return ", ".join(labels) + f" ({pool} pool)" if labels else f"{pool.capitalize()} participant"


def _challenge_steps() -> list[DemoStep]:
    return [challenges.add_crowd, challenges.add_challenges, voting.add_votes, insight.add_review_path,
            insight.add_closed_challenge]


# Later domains append here, in the order their content depends on each other.
DEMO_STEPS: list[DemoStep] = [add_accounts]


def load_demo() -> str:
    """Load the demo when nobody has an account yet; the text to print, passwords included."""
    if services.count_users():
        return ALREADY_LOADED
    context = DemoContext()
    for step in [*DEMO_STEPS, *_challenge_steps()]:
        step(context)
    db.session.flush()
    return _report(context)


def _report(context: DemoContext) -> str:
    rows = [("e-mail", "password", "roles"), *context.credentials]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [
        "Demo loaded. Sign in with one of these accounts; the passwords are shown only this once:",
        "",
        *(f"  {email:<{widths[0]}}  {password:<{widths[1]}}  {roles}" for email, password, roles in rows),
        "",
        *context.notes,
    ]
    return "\n".join(lines).rstrip()
