"""Account use cases. They take plain values and the acting user, flush, and never commit."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context, url_for
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from ideas import clock, events, mail
from ideas.accounts import rules
from ideas.accounts.models import (
    ApiToken,
    EmployeeDomain,
    OneTimeToken,
    Pool,
    PoolSource,
    Role,
    SiteSetting,
    TokenPurpose,
    User,
    UserExpertise,
    UserRole,
)
from ideas.extensions import db
from ideas.fields import TAG_MAX, TAGS_MAX


class AccountError(ValueError):
    """A request the rules refuse; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- passwords ---------------------------------------------------------------

def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["IDEAS_ARGON2_TIME_COST"], memory_cost=config["IDEAS_ARGON2_MEMORY_COST"]
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    hasher = _hasher()
    if not user.password_hash:
        hasher.hash(password)  # same cost as a real check: timing says nothing
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _require_strong(password: str, email: str, name: str) -> None:
    problems = rules.password_problems(password, email=email, name=name)
    if problems:
        raise AccountError(" ".join(problems), field="password")


# --- lookup ------------------------------------------------------------------

def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == rules.normalise_email(email)))


def employee_domains() -> list[str]:
    return list(db.session.scalars(select(EmployeeDomain.domain).order_by(EmployeeDomain.domain)))


def is_employee_address(email: str) -> bool:
    return rules.domain_matches(rules.email_domain(email), employee_domains())


def refresh_pool(user: User) -> None:
    if user.pool_source == PoolSource.DOMAIN:
        user.pool = rules.pool_for(user.email, user.is_verified, employee_domains())


# --- one-time links ----------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(user: User, purpose: TokenPurpose, hours: int, payload: str | None = None) -> str:
    # A new link replaces the older ones of the same purpose. The retired rows are not
    # read again in this transaction, so the session is not synchronised: that would
    # visit every object it holds, once per link, and make an import quadratic.
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_digest(token),
            payload=payload,
            expires_at=clock.now() + timedelta(hours=hours),
        )
    )
    db.session.flush()
    return token


def _redeem(token: str, purpose: TokenPurpose) -> OneTimeToken:
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == _digest(token or ""), OneTimeToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None:
        raise AccountError("This link is not valid or was already used. Ask for a new one.")
    if clock.as_utc(row.expires_at) < clock.now():
        raise AccountError("This link has expired. Ask for a new one.")
    row.used_at = clock.now()
    return row


def _link(endpoint: str, **values) -> str:
    base = current_app.config.get("IDEAS_BASE_URL", "").rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values) if base else url_for(endpoint, _external=True, **values)
    # From the command line (CSV onboarding) there is no request to take the host from.
    server = current_app.config.get("SERVER_NAME") or "localhost"
    path = current_app.url_map.bind(server).build(endpoint, values)
    return (base or f"http://{server}") + path


def send_verification(user: User) -> None:
    token = _issue_token(user, TokenPurpose.VERIFY, current_app.config["IDEAS_TOKEN_HOURS_VERIFY"])
    mail.send_mail(
        user.email,
        "Confirm your e-mail address for Ideas",
        f"Hello {user.name},\n\nConfirm your address by opening this link:\n"
        f"{_link('accounts.verify', token=token)}\n\n"
        "If you did not create an account, ignore this message.\n",
    )


# --- registration and sign-in -----------------------------------------------

def participation_terms() -> str:
    row = db.session.get(SiteSetting, "participation_terms")
    return row.value if row and row.value.strip() else DEFAULT_TERMS


DEFAULT_TERMS = (
    "By taking part you agree to post only your own work or work you may share, "
    "to treat others with respect, and that what you post in a challenge is visible "
    "to the people that challenge is open to. Each challenge may add its own terms, "
    "for example on the ownership of ideas, which you accept before your first idea there."
)


def register(*, name: str, email: str, password: str, accepted_terms: bool) -> User:
    email = rules.normalise_email(email)
    name = name.strip()
    if find_by_email(email) is not None:
        raise AccountError("An account with this e-mail address already exists.", field="email")
    _require_strong(password, email, name)
    employee_address = is_employee_address(email)
    if not accepted_terms and not employee_address:
        raise AccountError("Accept the participation terms to take part.", field="accept_terms")
    user = User(
        name=name,
        email=email,
        password_hash=hash_password(password),
        pool=Pool.EXTERNAL,
        terms_accepted_at=clock.now() if accepted_terms else None,
    )
    db.session.add(user)
    db.session.flush()
    send_verification(user)
    return user


def verify_email(token: str) -> User:
    row = _redeem(token, TokenPurpose.VERIFY)
    user = row.user
    first = user.email_verified_at is None
    user.email_verified_at = user.email_verified_at or clock.now()
    refresh_pool(user)
    if first:
        _announce_verified(user)
    return user


def _announce_verified(user: User) -> None:
    """Who the person is counted as changed (verified, perhaps another pool): votes still
    open are weighed again with it (voting hears `account.verified`)."""
    db.session.flush()
    events.emit("account.verified", {"user": user})


def authenticate(email: str, password: str) -> User | None:
    """The person these credentials belong to, or None; never says which part was wrong."""
    user = find_by_email(email)
    if user is None:
        _hasher().hash(password)  # same cost as a real check
        return None
    if not check_password(user, password) or not user.active:
        return None
    user.last_login_at = clock.now()
    return user


def request_password_reset(email: str) -> None:
    """Mails a reset link when the address is known; the caller says the same either way."""
    user = find_by_email(email)
    if user is None or not user.active:
        return
    token = _issue_token(user, TokenPurpose.RESET, current_app.config["IDEAS_TOKEN_HOURS_RESET"])
    mail.send_mail(
        user.email,
        "Reset your Ideas password",
        f"Hello {user.name},\n\nSomeone asked to reset the password of this account. "
        f"To choose a new one, open this link within "
        f"{current_app.config['IDEAS_TOKEN_HOURS_RESET']} hours:\n"
        f"{_link('accounts.reset_password', token=token)}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n",
    )


def check_reset_token(token: str) -> None:
    """Raises AccountError when the link cannot be used, without using it up."""
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == _digest(token or ""),
            OneTimeToken.purpose == TokenPurpose.RESET,
        )
    )
    if row is None or row.used_at is not None:
        raise AccountError("This link is not valid or was already used. Ask for a new one.")
    if clock.as_utc(row.expires_at) < clock.now():
        raise AccountError("This link has expired. Ask for a new one.")


def reset_password(token: str, password: str) -> User:
    row = _redeem(token, TokenPurpose.RESET)
    user = row.user
    _require_strong(password, user.email, user.name)
    _set_password(user, password)
    # The link reached this inbox, so the address is proven.
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        refresh_pool(user)
        _announce_verified(user)
    return user


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_version += 1


def change_password(user: User, current: str, new: str) -> None:
    if not check_password(user, current):
        raise AccountError("Your current password is not right.", field="current_password")
    _require_strong(new, user.email, user.name)
    _set_password(user, new)


def request_email_change(user: User, new_email: str, password: str) -> None:
    new_email = rules.normalise_email(new_email)
    if not check_password(user, password):
        raise AccountError("Your password is not right.", field="password")
    if new_email == user.email:
        raise AccountError("This is already your address.", field="email")
    if find_by_email(new_email) is not None:
        raise AccountError("An account with this e-mail address already exists.", field="email")
    token = _issue_token(
        user, TokenPurpose.EMAIL_CHANGE, current_app.config["IDEAS_TOKEN_HOURS_VERIFY"], new_email
    )
    mail.send_mail(
        new_email,
        "Confirm your new e-mail address for Ideas",
        f"Hello {user.name},\n\nTo use this address for your Ideas account, open this link:\n"
        f"{_link('accounts.confirm_email_change', token=token)}\n",
    )
    mail.send_mail(
        user.email,
        "Your Ideas e-mail address is about to change",
        f"Hello {user.name},\n\nSomeone asked to change the address of your account to "
        f"{new_email}. It changes only when that address confirms. If it was not you, "
        "change your password.\n",
    )


def confirm_email_change(token: str) -> User:
    row = _redeem(token, TokenPurpose.EMAIL_CHANGE)
    user = row.user
    new_email = row.payload or ""
    if find_by_email(new_email) is not None:
        raise AccountError("An account with this e-mail address already exists.")
    user.email = new_email
    user.email_verified_at = clock.now()
    refresh_pool(user)
    _announce_verified(user)  # a new address may put the person in the other pool
    return user


# --- profile -----------------------------------------------------------------

def normalise_tag(raw: str) -> str:
    """One tag as tags are stored: lower case, single spaces, at most TAG_MAX characters."""
    return " ".join(raw.strip().lower().split())[:TAG_MAX]


def normalise_tags(raw: str | Iterable[str]) -> list[str]:
    parts = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for part in parts:
        tag = normalise_tag(part)
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:TAGS_MAX]


def update_profile(user: User, *, name: str, bio: str, expertise: str | Iterable[str]) -> None:
    user.name = name.strip()
    user.bio = bio.strip()
    wanted = normalise_tags(expertise)
    user.expertise_rows[:] = [r for r in user.expertise_rows if r.tag in wanted]
    have = set(user.expertise)
    user.expertise_rows.extend(UserExpertise(tag=t) for t in wanted if t not in have)


def accept_terms(user: User) -> None:
    user.terms_accepted_at = user.terms_accepted_at or clock.now()


# --- administration ------------------------------------------------------------

def set_roles(user: User, roles: Iterable[Role | str]) -> None:
    wanted = {Role(r) for r in roles}
    user.role_rows[:] = [r for r in user.role_rows if Role(r.role) in wanted]
    have = user.roles
    user.role_rows.extend(UserRole(role=str(r)) for r in sorted(wanted - have))


def set_pool(user: User, pool: str | None) -> None:
    """An administrator's choice sticks; None hands the pool back to the e-mail domain."""
    if pool is None:
        user.pool_source = PoolSource.DOMAIN
        refresh_pool(user)
    else:
        user.pool = Pool(pool)
        user.pool_source = PoolSource.ADMIN


def set_active(user: User, active: bool) -> None:
    if user.active and not active:
        user.session_version += 1  # ends every session and "remember me" cookie
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
    user.active = active


def add_employee_domain(domain: str) -> EmployeeDomain:
    domain = domain.strip().lower().lstrip("@")
    if not domain or "." not in domain or any(c in domain for c in " /@\\") or len(domain) > 253:
        raise AccountError("Enter a domain such as staff.example.", field="domain")
    if db.session.scalar(select(EmployeeDomain).where(EmployeeDomain.domain == domain)):
        raise AccountError("This domain is already listed.", field="domain")
    row = EmployeeDomain(domain=domain)
    db.session.add(row)
    db.session.flush()
    _recompute_pools()
    return row


def remove_employee_domain(domain_id: int) -> None:
    row = db.session.get(EmployeeDomain, domain_id)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
        _recompute_pools()


def _recompute_pools() -> None:
    """Set-based: everyone whose pool follows the domains gets it again."""
    domains = employee_domains()
    employee_clauses = [User.email.like(f"%@{d}") for d in domains] + [
        User.email.like(f"%.{d}") for d in domains
    ]
    base = update(User).where(User.pool_source == PoolSource.DOMAIN)
    db.session.execute(base.values(pool=Pool.EXTERNAL), execution_options={"synchronize_session": False})
    if employee_clauses:
        db.session.execute(
            base.where(User.email_verified_at.is_not(None), db.or_(*employee_clauses)).values(
                pool=Pool.EMPLOYEE
            ),
            execution_options={"synchronize_session": False},
        )
    db.session.expire_all()


def create_admin(email: str, password: str, name: str | None = None) -> User:
    """The first administrator (from the command line): verified, with every staff role kept."""
    email = rules.normalise_email(email)
    user = find_by_email(email)
    if user is None:
        name = name or email.split("@", 1)[0]
        _require_strong(password, email, name)
        user = User(
            name=name, email=email, password_hash=hash_password(password),
            email_verified_at=clock.now(), terms_accepted_at=clock.now(),
        )
        db.session.add(user)
        db.session.flush()
        refresh_pool(user)
    set_roles(user, user.roles | {Role.ADMIN})
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


# --- API tokens ----------------------------------------------------------------

TOKEN_PREFIX = "ideas_"


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the secret, which is shown once and never stored."""
    name = name.strip()[:80] or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:12])
    db.session.add(row)
    db.session.flush()
    return row, secret


def revoke_api_token(user: User, token_id: int) -> bool:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return False
    row.revoked_at = row.revoked_at or clock.now()
    return True


@dataclass(frozen=True)
class TokenHolder:
    """Who a bearer token speaks for, and the token's id when its "last used" time is
    more than a minute old (else None): both from the one read of the token."""

    user: User
    touch_id: int | None


def _token_read():
    # The person and their roles in the same query; their expertise only where asked for.
    person = joinedload(ApiToken.user, innerjoin=True)
    return (select(ApiToken).options(person.joinedload(User.role_rows))
            .where(ApiToken.token_hash == bindparam("token_hash")))


_TOKEN_READ = _token_read()  # every API request runs it: built once (building costs more than the read)


def user_for_token(secret: str) -> TokenHolder | None:
    row = db.session.execute(_TOKEN_READ, {"token_hash": _digest(secret)}).unique().scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    last = clock.as_utc(row.last_used_at)
    stale = last is None or clock.now() - last > timedelta(minutes=1)
    return TokenHolder(row.user, row.id if stale else None)


def touch_token(token_id: int) -> None:
    """Record that a token was used. Done after the request's own commit, in a short
    transaction of its own: an informational time must not hold the database's write
    lock for the whole of a vote (SQLite has one writer at a time)."""
    db.session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )


# --- onboarding ------------------------------------------------------------------

def send_welcome(user: User) -> None:
    """Welcome someone an administrator onboarded: a one-time link to choose a password.

    It is a password-reset link that lives as long as a confirmation link; using it
    also confirms the address (see reset_password), which lets the pool follow an
    employee domain.
    """
    hours = current_app.config["IDEAS_TOKEN_HOURS_VERIFY"]
    token = _issue_token(user, TokenPurpose.RESET, hours)
    mail.send_mail(
        user.email,
        "Welcome to Ideas: choose your password",
        f"Hello {user.name},\n\nAn administrator has created an Ideas account for you, "
        "where you can take part in idea challenges.\n\n"
        f"To choose your password, open this link within {hours} hours:\n"
        f"{_link('accounts.reset_password', token=token)}\n\n"
        "After that, use “Forgot your password?” on the sign-in page to get a new link.\n",
    )
