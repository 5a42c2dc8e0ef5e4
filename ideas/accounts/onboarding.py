"""Bulk onboarding: people from a CSV file (name,email,pool,roles), all or nothing.

Every row is checked before anything is written, so a file with one bad row leaves
the database exactly as it was and the error names that row's line number.

What an import does to a person:

* Someone already registered (matched by e-mail, whatever its case) keeps their
  name unless the row gives one; their pool and roles become what the row says.
  A blank pool hands the pool back to the e-mail domain. Whether the account is
  active is left alone: deactivating is a separate, deliberate act.
* Someone new gets an account without a password and a welcome e-mail with a
  link to choose one. Their address is *not* marked as confirmed: the link
  proves it when it is used, and only then can a blank pool follow an employee
  domain. A pool given in the file is the administrator's choice and sticks.
  External participants still accept the participation terms at their first visit.

Like every service it flushes and never commits: the CLI command or the request does.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import email_validator
from sqlalchemy import select

from ideas.accounts import rules, services
from ideas.accounts.models import Pool, PoolSource, Role, User
from ideas.extensions import db

COLUMNS = ("name", "email", "pool", "roles")
NAME_MAX = 120
EMAIL_MAX = 254
# One file is one transaction. From the command line it may be large; through the
# page it must finish well within a web worker's timeout (about 4 ms a newcomer).
MAX_ROWS = 100_000
MAX_ROWS_PAGE = 2_000
# "participant" is everyone's role; accepted in a file and changes nothing.
IMPLICIT_ROLES = {"participant"}
_ROLE_SEPARATORS = re.compile(r"[;|,\s]+")


class OnboardingError(ValueError):
    """The file cannot be imported; the message names the line (`line 4: …`)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    email: str
    pool: Pool | None
    roles: frozenset[Role]


def import_csv(data: str | bytes, acting: User | None = None, max_rows: int = MAX_ROWS) -> ImportResult:
    """Create or update the people listed in `data`; raises OnboardingError and writes nothing
    when any row is wrong. `acting` is the administrator importing from the site, who may not
    take their own administrator role away."""
    rows = _parse(_decode(data), max_rows)
    existing = _existing_people([row.email for row in rows])
    for row in rows:
        _check_against_database(row, existing.get(row.email), acting)

    newcomers: list[User] = []
    domains = services.employee_domains()
    with db.session.no_autoflush:
        for row in rows:
            person = existing.get(row.email)
            if person is None:
                person = User(name=row.name, email=row.email, password_hash=None)
                db.session.add(person)
                newcomers.append(person)
            elif row.name:
                person.name = row.name
            _set_pool(person, row.pool, domains)
            services.set_roles(person, row.roles)
    db.session.flush()  # one flush for everyone: the welcome links need their ids
    for person in newcomers:
        services.send_welcome(person)
    db.session.flush()
    return ImportResult(created=len(newcomers), updated=len(rows) - len(newcomers))


# --- reading -------------------------------------------------------------------

def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise OnboardingError(
                "the file is not UTF-8 text; save it as “CSV UTF-8” and try again.", line
            ) from error
    if "\x00" in data:
        line = data[: data.index("\x00")].count("\n") + 1
        raise OnboardingError("the file contains a NUL character; is it really a CSV file?", line)
    return data.removeprefix("\ufeff")


def _parse(text: str, max_rows: int) -> list[_Row]:
    if not text.strip():
        raise OnboardingError(f"the file is empty; the first line should be {','.join(COLUMNS)}.", 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    columns: dict[str, int] | None = None
    next_line = 1  # where the record being read starts (quoted fields may span lines)
    while True:
        start = next_line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise OnboardingError(f"this line is not valid CSV ({error}).", start) from error
        next_line = reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # blank lines are allowed anywhere
        if columns is None:
            columns = _header(record, start)
            continue
        if len(rows) >= max_rows:
            raise OnboardingError(
                f"a file may hold at most {max_rows} people here; split it"
                f"{' or use the command line' if max_rows < MAX_ROWS else ''}.",
                start,
            )
        row = _row(record, columns, start)
        if row.email in seen:
            raise OnboardingError(f"{row.email} is already on line {seen[row.email]}.", start)
        seen[row.email] = start
        rows.append(row)
    if columns is None:
        raise OnboardingError(f"the file is empty; the first line should be {','.join(COLUMNS)}.", 1)
    if not rows:
        raise OnboardingError("the file has a header but no people.", 2)
    return rows


def _header(record: list[str], line: int) -> dict[str, int]:
    names = [cell.strip().lower() for cell in record]
    if sorted(names) != sorted(COLUMNS):
        raise OnboardingError(
            f"the first line must name the columns {','.join(COLUMNS)} "
            f"(found {','.join(names)[:200]}).",
            line,
        )
    return {name: index for index, name in enumerate(names)}


def _row(record: list[str], columns: dict[str, int], line: int) -> _Row:
    if len(record) != len(COLUMNS):
        raise OnboardingError(
            f"expected {len(COLUMNS)} values ({','.join(COLUMNS)}), found {len(record)}.", line
        )
    value = {name: record[index].strip() for name, index in columns.items()}
    name = " ".join(value["name"].split())
    if len(name) > NAME_MAX:
        raise OnboardingError(f"the name is longer than {NAME_MAX} characters.", line)
    if any(c < " " or c == "\x7f" for c in name):
        raise OnboardingError("the name contains control characters.", line)
    return _Row(
        line=line,
        name=name,
        email=_email(value["email"], line),
        pool=_pool(value["pool"], line),
        roles=_roles(value["roles"], line),
    )


def _email(raw: str, line: int) -> str:
    if not raw:
        raise OnboardingError("the e-mail address is missing.", line)
    if len(raw) > EMAIL_MAX:
        raise OnboardingError(f"the e-mail address is longer than {EMAIL_MAX} characters.", line)
    try:
        # The same check as the registration form: what people may register, we may import.
        email_validator.validate_email(raw, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise OnboardingError(f"“{raw[:80]}” is not a valid e-mail address ({error}).", line) from error
    return rules.normalise_email(raw)


def _pool(raw: str, line: int) -> Pool | None:
    if not raw:
        return None
    try:
        return Pool(raw.lower())
    except ValueError:
        raise OnboardingError(
            f"unknown pool “{raw[:40]}”; use employee, external, or leave it blank to follow "
            "the e-mail domain.",
            line,
        ) from None


def _roles(raw: str, line: int) -> frozenset[Role]:
    roles: set[Role] = set()
    for word in _ROLE_SEPARATORS.split(raw.lower()):
        if not word or word in IMPLICIT_ROLES:
            continue
        try:
            roles.add(Role(word))
        except ValueError:
            raise OnboardingError(
                f"unknown role “{word[:40]}”; use {', '.join(r.value for r in Role)} "
                "(separated by ; or | or spaces).",
                line,
            ) from None
    return frozenset(roles)


# --- checking against who is already here --------------------------------------

def _existing_people(emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), 500):  # bounded IN lists on every backend
        chunk = emails[start : start + 500]
        found.update((u.email, u) for u in db.session.scalars(select(User).where(User.email.in_(chunk))))
    return found


def _check_against_database(row: _Row, person: User | None, acting: User | None) -> None:
    if person is None and not row.name:
        raise OnboardingError(f"the name is missing (needed for the new person {row.email}).", row.line)
    if (
        person is not None
        and acting is not None
        and person.id == acting.id
        and Role.ADMIN not in row.roles
    ):
        raise OnboardingError(
            "this is you: keep the admin role on your own row (you cannot remove your own "
            "administrator role).",
            row.line,
        )


def _set_pool(person: User, pool: Pool | None, domains: list[str]) -> None:
    """services.set_pool, with the employee domains read once for the whole file."""
    if pool is None:
        person.pool_source = PoolSource.DOMAIN
        person.pool = rules.pool_for(person.email, person.is_verified, domains)
    else:
        person.pool = pool
        person.pool_source = PoolSource.ADMIN
