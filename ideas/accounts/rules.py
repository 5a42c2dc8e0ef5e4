"""Pure account rules: which pool an address belongs to, what makes a password acceptable."""
from __future__ import annotations

from collections.abc import Iterable

from ideas.accounts.models import Pool

PASSWORD_MIN = 10
PASSWORD_MAX = 256

# The most common passwords in public breach lists that reach our minimum length.
COMMON_PASSWORDS = frozenset(
    """
    1234567890 12345678910 0123456789 1q2w3e4r5t 1qaz2wsx3edc qwertyuiop
    qwertyuiop1 password123 password1234 password12 iloveyou12 princess12
    sunshine123 football123 baseball123 welcome123 abc1234567 trustno1234
    qwerty12345 qwerty123456 1234qwerty 123456789a 123456789q a123456789
    passw0rd123 administrator letmein123 changeme123 superman123 starwars123
    dragon12345 monkey12345 michael123 charlie123 9876543210 1111111111
    0000000000 aaaaaaaaaa zaq12wsxcde 1q2w3e4r5t6y asdfghjkl1 asdfghjkl123
    password! password1! p@ssw0rd123 welcome1234 internet123 computer123
    """.split()
)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def domain_matches(domain: str, employee_domains: Iterable[str]) -> bool:
    """An employee domain covers itself and its subdomains (eu.staff.example)."""
    domain = domain.lower()
    return any(domain == d or domain.endswith("." + d) for d in employee_domains)


def pool_for(email: str, verified: bool, employee_domains: Iterable[str]) -> Pool:
    """The pool an address earns on its own: employee only once it is verified."""
    if verified and domain_matches(email_domain(email), employee_domains):
        return Pool.EMPLOYEE
    return Pool.EXTERNAL


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why a password is too weak, in words a person can act on (empty when it is fine)."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Use at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Use at most {PASSWORD_MAX} characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append("This password is one of the most common ones; choose another.")
    elif len(set(password)) < 5:
        problems.append("Use at least five different characters.")
    local = email.split("@", 1)[0].lower() if email else ""
    personal = [part for part in (local, name.strip().lower()) if len(part) >= 4]
    if any(part in lowered for part in personal):
        problems.append("Do not include your name or e-mail address.")
    return problems
