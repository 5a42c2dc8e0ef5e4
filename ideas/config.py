"""Settings: defaults, then environment overrides (every variable is in README.md).

Outside development and tests the site refuses to start without a secret key,
so a forgotten setting can never leave sessions signed with a known value.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("production", "development", "testing")


class ConfigError(RuntimeError):
    """The environment does not describe a site that can start safely."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_path(env: dict[str, str]) -> Path:
    raw = env.get("IDEAS_INSTANCE_PATH") or str(Path.cwd() / "instance")
    return Path(raw).resolve()


def _secret_key(env: dict[str, str], environment: str, instance: Path) -> str:
    key = env.get("IDEAS_SECRET_KEY")
    if key:
        return key
    if environment == "testing":
        return "testing-only-secret"
    if environment == "development":
        # Development keeps one generated key so sessions survive restarts.
        path = instance / "secret_key"
        if not path.exists():
            instance.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
    raise ConfigError(
        "IDEAS_SECRET_KEY is not set. Set it to a long random value, "
        "or set IDEAS_ENV=development to generate one under the instance folder."
    )


def load(overrides: dict | None = None, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from the environment and explicit overrides."""
    env = dict(os.environ if env is None else env)
    overrides = dict(overrides or {})
    environment = overrides.pop("IDEAS_ENV", None) or env.get("IDEAS_ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"IDEAS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}.")
    instance = Path(overrides.pop("IDEAS_INSTANCE_PATH", None) or _instance_path(env)).resolve()
    testing = environment == "testing"
    behind_https = _flag(env.get("IDEAS_HTTPS"), environment == "production")

    config = {
        "IDEAS_ENV": environment,
        "TESTING": testing,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _secret_key(env, environment, instance),
        "SQLALCHEMY_DATABASE_URI": env.get("IDEAS_DATABASE_URL")
        or f"sqlite:///{instance / 'ideas.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Forms and bodies: a several-megabyte body is refused before it is parsed.
        "MAX_CONTENT_LENGTH": int(env.get("IDEAS_MAX_CONTENT_LENGTH", 8 * 1024 * 1024)),
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": behind_https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": behind_https,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "PREFERRED_URL_SCHEME": "https" if behind_https else "http",
        # Links written without a request (mail, digests, webhooks) need the public address;
        # in development it is where `make run` serves (the Makefile passes its own BIND).
        "IDEAS_BASE_URL": env.get("IDEAS_BASE_URL") or ("http://127.0.0.1:8000" if environment == "development" else ""),
        "IDEAS_TRUST_PROXY": int(env.get("IDEAS_TRUST_PROXY", "0")),
        # Rate limits: in memory per process by default; Redis shares them between workers.
        "RATELIMIT_STORAGE_URI": env.get("IDEAS_RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_ENABLED": _flag(env.get("IDEAS_RATELIMIT_ENABLED"), not testing),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Mail: SMTP when a host is set; otherwise the log and the outbox only.
        "IDEAS_SMTP_HOST": env.get("IDEAS_SMTP_HOST", ""),
        "IDEAS_SMTP_PORT": int(env.get("IDEAS_SMTP_PORT", "587")),
        "IDEAS_SMTP_USER": env.get("IDEAS_SMTP_USER", ""),
        "IDEAS_SMTP_PASSWORD": env.get("IDEAS_SMTP_PASSWORD", ""),
        "IDEAS_SMTP_STARTTLS": _flag(env.get("IDEAS_SMTP_STARTTLS"), True),
        "IDEAS_MAIL_FROM": env.get("IDEAS_MAIL_FROM", "Ideas <no-reply@ideas.invalid>"),
        # Password hashing cost; tests lower it so the suite stays fast.
        "IDEAS_ARGON2_TIME_COST": int(env.get("IDEAS_ARGON2_TIME_COST", "1" if testing else "3")),
        "IDEAS_ARGON2_MEMORY_COST": int(
            env.get("IDEAS_ARGON2_MEMORY_COST", "64" if testing else "65536")
        ),
        "IDEAS_TOKEN_HOURS_VERIFY": int(env.get("IDEAS_TOKEN_HOURS_VERIFY", "72")),
        "IDEAS_TOKEN_HOURS_RESET": int(env.get("IDEAS_TOKEN_HOURS_RESET", "2")),
        # Requests run the scheduler at most this often per process (0: every request, -1: never).
        "IDEAS_LAZY_TICK_SECONDS": int(env.get("IDEAS_LAZY_TICK_SECONDS", "0" if testing else "30")),
        # `flask ideas worker` runs the scheduler: requests run no job and send no mail or webhook.
        "IDEAS_WORKER": _flag(env.get("IDEAS_WORKER"), False),
        # Figures worth keeping (the dashboards' vote aggregates): each process keeps its own,
        # keyed by the state of the votes they came from, so no worker ever serves stale ones;
        # tests keep nothing between requests unless a test asks for it.
        "CACHE_TYPE": env.get("IDEAS_CACHE_TYPE") or ("NullCache" if testing else "SimpleCache"),
        "CACHE_DEFAULT_TIMEOUT": int(env.get("IDEAS_CACHE_SECONDS", "600")),
        "CACHE_THRESHOLD": 500,
        "CACHE_NO_NULL_WARNING": True,
        "IDEAS_SEARCH_INDEX": env.get("IDEAS_SEARCH_INDEX") or str(instance / "search-index"),
        # Which engine answers searches: the embedded Whoosh index, or PostgreSQL's own
        # full-text search (docs/search.md).
        "IDEAS_SEARCH_BACKEND": env.get("IDEAS_SEARCH_BACKEND") or "whoosh",
        "IDEAS_UPLOADS": env.get("IDEAS_UPLOADS") or str(instance / "uploads"),
        # Page and ranking caches (ideas/caching.py): a folder under the instance path by
        # default, redis://… to share them between servers, null to switch them off.
        "IDEAS_CACHE_URL": env.get("IDEAS_CACHE_URL", ""),
    }
    config.update(overrides)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    _check_search_backend(config)
    return config


SEARCH_BACKENDS = ("whoosh", "postgres")


def _check_search_backend(config: dict) -> None:
    backend = config["IDEAS_SEARCH_BACKEND"]
    if backend not in SEARCH_BACKENDS:
        raise ConfigError(f"IDEAS_SEARCH_BACKEND must be one of {', '.join(SEARCH_BACKENDS)}, not {backend!r}.")
    if backend == "postgres" and not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise ConfigError(
            "IDEAS_SEARCH_BACKEND=postgres needs a PostgreSQL database, and IDEAS_DATABASE_URL is not one. "
            "Set IDEAS_DATABASE_URL to a PostgreSQL database (postgresql://…), "
            "or set IDEAS_SEARCH_BACKEND=whoosh (the embedded index, the default)."
        )
