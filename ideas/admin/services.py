"""Administration use cases: finding people, changing their access, site settings, the outbox.

Like every service these take plain values and the acting administrator, flush and
never commit. Lists are read a page at a time by id (keyset), so a page costs the
same whether the site has a hundred people or a hundred thousand.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from ideas.accounts import services as accounts
from ideas.accounts.models import EmployeeDomain, Pool, Role, SiteSetting, User, UserRole
from ideas.accounts.services import AccountError
from ideas.extensions import db
from ideas.mail.models import MailMessage

PAGE_SIZE = 50
TERMS_KEY = "participation_terms"
TERMS_MAX = 20_000


class AdminError(AccountError):
    """An administrator's request the rules refuse (`field` names the form field)."""


@dataclass(frozen=True)
class Page:
    """One page of a list read by id. `after` / `before` are the cursors for the next
    (further along) and previous pages, or None at either end."""

    items: list
    after: int | None
    before: int | None


# --- people ----------------------------------------------------------------------

@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    pool: str = ""  # employee | external
    role: str = ""  # a Role value
    status: str = ""  # active | deactivated
    verified: str = ""  # yes | no

    def as_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter (empty ones left out)."""
        return {key: value for key, value in asdict(self).items() if value}


def _people_conditions(f: PeopleFilter) -> list:
    conditions = []
    if f.q:
        conditions.append(
            or_(User.name.icontains(f.q, autoescape=True), User.email.icontains(f.q, autoescape=True))
        )
    if f.pool:
        conditions.append(User.pool == Pool(f.pool))
    if f.role:
        conditions.append(
            exists().where(UserRole.user_id == User.id, UserRole.role == Role(f.role))
        )
    if f.status:
        conditions.append(User.active == (f.status == "active"))
    if f.verified == "yes":
        conditions.append(User.email_verified_at.is_not(None))
    elif f.verified == "no":
        conditions.append(User.email_verified_at.is_(None))
    return conditions


def list_people(
    f: PeopleFilter, *, after: int | None = None, before: int | None = None, size: int = PAGE_SIZE
) -> Page:
    """People matching `f`, oldest account first, `size` at a time."""
    listed = select(User).where(*_people_conditions(f)).options(selectinload(User.role_rows))
    return _keyset(listed, User.id, after, before, size, ascending=True)


def _keyset(query, key, after: int | None, before: int | None, size: int, *, ascending: bool) -> Page:
    """Read one page of `query` ordered by the unique integer `key`, one row beyond the page
    to learn whether there is more. Forward means in the list's own order."""
    forward_order = key.asc() if ascending else key.desc()
    backward_order = key.desc() if ascending else key.asc()
    beyond = (lambda k: key > k) if ascending else (lambda k: key < k)
    behind = (lambda k: key < k) if ascending else (lambda k: key > k)

    if before is not None and after is None:
        rows = list(db.session.scalars(query.where(behind(before)).order_by(backward_order).limit(size + 1)))
        more_behind = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            items=rows,
            after=_key_of(rows[-1]) if rows else None,
            before=_key_of(rows[0]) if rows and more_behind else None,
        )
    if after is not None:
        query = query.where(beyond(after))
    rows = list(db.session.scalars(query.order_by(forward_order).limit(size + 1)))
    more_beyond = len(rows) > size
    rows = rows[:size]
    return Page(
        items=rows,
        after=_key_of(rows[-1]) if rows and more_beyond else None,
        # Anything behind the first row? Only possible when we started past a cursor.
        before=_key_of(rows[0]) if rows and after is not None else None,
    )


def _key_of(row) -> int:
    return row.id


def get_person(user_id: int) -> User | None:
    return db.session.get(User, user_id)


POOL_CHOICES = ("domain", Pool.EMPLOYEE.value, Pool.EXTERNAL.value)


def change_pool(actor: User, person: User, choice: str) -> None:
    """`choice` is employee, external, or "domain" to follow the e-mail domain again."""
    if choice not in POOL_CHOICES:
        raise AdminError("Choose employee, external or “follow the e-mail domain”.", field="pool")
    accounts.set_pool(person, None if choice == "domain" else choice)


def change_roles(actor: User, person: User, roles: Iterable[str]) -> None:
    try:
        wanted = {Role(r) for r in roles}
    except ValueError:
        raise AdminError("Choose among the listed roles.", field="roles") from None
    if person.id == actor.id and Role.ADMIN not in wanted:
        raise AdminError(
            "You cannot remove your own administrator role. Ask another administrator.",
            field="roles",
        )
    accounts.set_roles(person, wanted)


def deactivate(actor: User, person: User) -> None:
    """The person can no longer sign in or use a token; what they wrote stays."""
    if person.id == actor.id:
        raise AdminError("You cannot deactivate your own account. Ask another administrator.")
    accounts.set_active(person, False)


def reactivate(actor: User, person: User) -> None:
    accounts.set_active(person, True)


# --- employee domains ------------------------------------------------------------

def list_domains() -> list[EmployeeDomain]:
    return list(db.session.scalars(select(EmployeeDomain).order_by(EmployeeDomain.domain)))


def remove_domain(domain_id: int) -> bool:
    """False when there is no such domain; people whose pool follows the domains move."""
    if db.session.get(EmployeeDomain, domain_id) is None:
        return False
    accounts.remove_employee_domain(domain_id)
    return True


# --- site settings ---------------------------------------------------------------

def stored_terms() -> str:
    """The participation terms as an administrator last saved them ("" when never)."""
    row = db.session.get(SiteSetting, TERMS_KEY)
    return row.value if row else ""


def set_participation_terms(actor: User, text: str) -> None:
    """Empty text brings back the built-in terms."""
    text = text.replace("\r\n", "\n").strip()
    # Invisible control characters (NUL above all, which PostgreSQL refuses) are dropped.
    text = "".join(c for c in text if c >= " " or c in "\n\t")
    if len(text) > TERMS_MAX:
        raise AdminError(f"Keep the terms under {TERMS_MAX} characters.", field="terms")
    row = db.session.get(SiteSetting, TERMS_KEY)
    if row is None:
        db.session.add(SiteSetting(key=TERMS_KEY, value=text))
    else:
        row.value = text
    db.session.flush()


# --- outbox ----------------------------------------------------------------------

def list_mail(*, to: str = "", after: int | None = None, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The mail the site wrote, newest first; `to` narrows it to one recipient."""
    query = select(MailMessage)
    if to:
        query = query.where(MailMessage.to_address == to.strip().lower())
    return _keyset(query, MailMessage.id, after, before, size, ascending=False)


def get_mail(message_id: int) -> MailMessage | None:
    return db.session.get(MailMessage, message_id)


_URL = re.compile(r"https?://[^\s<>\"']+")


def body_segments(body: str, site_hosts: Iterable[str]) -> list[tuple[str, bool]]:
    """Split a plain-text mail body into (text, is_link) pieces. Only links to this site
    become links: anything else in the outbox stays inert text."""
    hosts = {h.lower() for h in site_hosts if h}
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in _URL.finditer(body):
        url = match.group(0).rstrip(".,;:!?)")
        end = match.start() + len(url)
        if urlsplit(url).netloc.lower() not in hosts:
            continue
        if match.start() > position:
            segments.append((body[position : match.start()], False))
        segments.append((url, True))
        position = end
    if position < len(body):
        segments.append((body[position:], False))
    return segments
