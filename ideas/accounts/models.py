"""Accounts: people, their pool and roles, one-time links, API tokens, employee domains, site settings."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ideas import clock
from ideas.extensions import UTCDateTime, db, one_of


class Pool(enum.StrEnum):
    EMPLOYEE = "employee"
    EXTERNAL = "external"


class Role(enum.StrEnum):
    MANAGER = "manager"
    REVIEWER = "reviewer"
    OWNER = "owner"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.MANAGER: "Innovation manager",
    Role.REVIEWER: "Reviewer",
    Role.OWNER: "R&D owner",
    Role.ADMIN: "Administrator",
}


class PoolSource(enum.StrEnum):
    DOMAIN = "domain"  # follows the verified e-mail and the employee domains
    ADMIN = "admin"  # set by an administrator; domain changes leave it alone


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("pool", Pool), name="pool"),
        CheckConstraint(one_of("pool_source", PoolSource), name="pool_source"),
        CheckConstraint("digest IN ('none', 'daily', 'weekly')", name="digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: e-mail addresses are unique whatever their case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    pool: Mapped[str] = mapped_column(String(16), default=Pool.EXTERNAL)
    pool_source: Mapped[str] = mapped_column(String(16), default=PoolSource.DOMAIN)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation: every other session and cookie ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    bio: Mapped[str] = mapped_column(String(500), default="")
    # E-mail digest of notifications: none, daily or weekly.  Weekly unless the person
    # chooses otherwise: their own ideas are mailed at once (idea_mail), so the digest
    # only gathers what they follow, and once a week is a summary people read rather
    # than a daily mail they learn to ignore.
    digest: Mapped[str] = mapped_column(String(8), default="weekly", server_default="weekly")
    # E-mail at once about one's own ideas (shortlisted, decided, handed off, progress): on
    # unless the person turns it off; everything else waits for the digest.
    idea_mail: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded when asked for: a person comes with most rows (authors, staff, voters) and is
    # read again after every commit, and few of those reads look at roles or expertise.
    # The signed-in person's roles come with them (auth.load_user).
    role_rows: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan")
    expertise_rows: Mapped[list[UserExpertise]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserExpertise.tag"
    )

    # Flask-Login
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, role: Role | str) -> bool:
        return Role(role) in self.roles

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_employee(self) -> bool:
        return self.pool == Pool.EMPLOYEE

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def expertise(self) -> list[str]:
        return [row.tag for row in self.expertise_rows]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(one_of("role", Role), name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class UserExpertise(db.Model):
    """Expertise tags: used to route ideas to the reviewers and owners who fit."""

    __tablename__ = "user_expertise"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    user: Mapped[User] = relationship(back_populates="expertise_rows")


class EmployeeDomain(db.Model):
    __tablename__ = "employee_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TokenPurpose(enum.StrEnum):
    VERIFY = "verify"
    RESET = "reset"
    EMAIL_CHANGE = "email_change"


class OneTimeToken(db.Model):
    """A link sent by e-mail. Only its hash is stored; it works once, until it expires."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (CheckConstraint(one_of("purpose", TokenPurpose), name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For an e-mail change: the new address, applied only when the link is used.
    payload: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A personal bearer token for the JSON API. Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SiteSetting(db.Model):
    """Site-wide settings that administrators edit in the site (participation terms …)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
