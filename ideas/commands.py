"""`flask --app wsgi ideas …`: the site's command line."""
from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from ideas.extensions import db

ideas_cli = AppGroup("ideas", help="Run and administer the Ideas site.")
users_cli = AppGroup("users", help="People and their roles.")
ideas_cli.add_command(users_cli)


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part before @).")
def create_admin(email: str, name: str | None) -> None:
    """Create the first administrator (or give an existing person the role)."""
    from ideas.accounts import services
    from ideas.accounts.services import AccountError

    password = os.environ.get("IDEAS_ADMIN_PASSWORD")
    if services.find_by_email(email) is None and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_admin(email, password or "", name)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{user.email} is an administrator (id {user.id}).")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_users(path: str) -> None:
    """Onboard people from a CSV file with columns name,email,pool,roles."""
    from ideas.accounts.onboarding import OnboardingError, import_csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        try:
            result = import_csv(handle.read())
        except OnboardingError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"{result.created} people created, {result.updated} updated.")


@ideas_cli.command("demo")
def demo() -> None:
    """Load demo content into an empty database (does nothing otherwise)."""
    from ideas.demo import load_demo

    printed = load_demo()
    db.session.commit()
    click.echo(printed)


@ideas_cli.command("tick")
def tick() -> None:
    """Run what is due: phase changes, deadlines, digests, mail, the search queue."""
    from ideas import scheduler

    for name, count in scheduler.run().items():
        click.echo(f"{name}: {'failed (see the log)' if count < 0 else count}")
