"""Ideas: idea challenges open to employees and outsiders."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter

from ideas import config as config_module


class BoundedIntConverter(IntegerConverter):
    """Ids in URLs fit a database integer (32-bit in PostgreSQL's INTEGER): a larger
    number is simply not found (404), instead of overflowing inside the driver."""

    def __init__(self, map, *args, **kwargs):
        from ideas.numbers import INT_MAX

        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def create_app(overrides: dict | None = None) -> Flask:
    """Build the site. `overrides` beat the environment (tests use it)."""
    settings = config_module.load(overrides)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.update(settings)
    app.url_map.converters["int"] = BoundedIntConverter
    configure_logging(app)
    register_extensions(app)
    register_subscribers(app)
    register_blueprints(app)
    register_jobs(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    import ideas.models  # noqa: F401  (the metadata must know every table)
    from ideas import caching, mail, scheduler
    from ideas.database import init_database
    from ideas.extensions import cache, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(_project_path("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    scheduler.init_app(app)
    caching.init_app(app)

    from ideas.accounts import auth

    auth.init_login(login_manager)


def register_subscribers(app: Flask) -> None:
    """Who listens to the events domains announce (ideas/events.py), each package in its own init_app."""
    from ideas import integrations, search
    from ideas.insight import subscribers as insight
    from ideas.notifications import subscribers as notifications
    from ideas.voting import subscribers as voting

    for package in (voting, insight, notifications, search, integrations):
        package.init_app(app)


def register_blueprints(app: Flask) -> None:
    from ideas.accounts.routes import bp as accounts
    from ideas.admin.routes import bp as admin
    from ideas.api import bp as api
    from ideas.challenges.routes import bp as challenges
    from ideas.insight.routes import bp as insight
    from ideas.integrations.routes import bp as integrations
    from ideas.notifications.routes import bp as notifications
    from ideas.review.routes import bp as review
    from ideas.site.routes import bp as site
    from ideas.voting.routes import bp as voting

    _attach_listener_pages()
    for blueprint in (site, accounts, challenges, voting, review, insight, integrations, notifications, admin,
                      api):
        app.register_blueprint(blueprint)


def _attach_listener_pages() -> None:
    """The pages and API endpoints of the packages reached through events attach to the
    challenges and API blueprints: imported here, before those are registered."""
    from ideas.notifications import api as _follows  # noqa: F401  (GET/POST /follows, DELETE /follows/…)
    from ideas.search import api as _search  # noqa: F401  (GET /search, GET /challenges/<id>/similar)
    from ideas.search import pages as _pages  # noqa: F401  (the search page, similar ideas while writing)


def register_jobs(app: Flask) -> None:
    """What the scheduler runs (`ideas worker`, `ideas tick`, or lazily in requests), in
    this order: each package registers its own jobs. Mail goes last, so what the others
    wrote in a tick is sent in the same tick."""
    from ideas import (
        challenges,
        integrations,
        mail,
        notifications,
        review,
        search,
        voting,
    )

    for package in (challenges, review, voting, notifications, search, integrations, mail):
        package.register_jobs(app)


def register_errorhandlers(app: Flask) -> None:
    from ideas.site.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from ideas.site.hooks import register

    register(app)


def register_commands(app: Flask) -> None:
    from ideas.commands import ideas_cli

    app.cli.add_command(ideas_cli)


def _project_path(*parts: str):
    from pathlib import Path

    return Path(__file__).resolve().parent.parent.joinpath(*parts)
