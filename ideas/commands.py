"""`flask --app wsgi ideas …`: the site's command line."""
from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from ideas.extensions import db

ideas_cli = AppGroup("ideas", help="Run and administer the Ideas site.")
users_cli = AppGroup("users", help="People and their roles.")
ideas_cli.add_command(users_cli)


def _register_search() -> None:
    from ideas.search import register_cli  # `ideas reindex`

    register_cli(ideas_cli)


_register_search()


def _register_insight() -> None:
    from ideas.insight.tallies import register_cli  # `ideas recount-tallies`

    register_cli(ideas_cli)


_register_insight()


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
@click.option("--scale", default=None, metavar="small|medium|large",
              help="Instead of the demo, fill an empty database with scale data of this size (for benchmarks).")
@click.option("--force", is_flag=True, help="With --scale: add the scale data even if the database holds data.")
@click.option("--seed", default=1, show_default=True, help="With --scale: the random seed.")
def demo(scale: str | None, force: bool, seed: int) -> None:
    """Load demo content into an empty database (does nothing otherwise)."""
    if scale is not None:
        from ideas.demo_scale import ScaleError, load_scale

        try:
            click.echo(load_scale(scale, force=force, seed=seed, echo=click.echo))
        except ScaleError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        return
    from ideas.demo import load_demo

    printed = load_demo()
    db.session.commit()
    click.echo(printed)


@ideas_cli.command("tick")
def tick() -> None:
    """Run what is due: phase changes, deadlines, digests, mail, the search queue."""
    from ideas import scheduler

    for name, count in scheduler.run().items():
        click.echo(f"{name}: {_job_outcome(count)}")


def _job_outcome(count: int | None) -> str:
    if count is None:
        return "running in another process"
    return "failed (see the log)" if count < 0 else str(count)


@ideas_cli.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and stop (as `tick`, with the worker's log).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between two rounds of the jobs.")
def worker(once: bool, interval: float) -> None:
    """Run the scheduler's jobs in a loop until SIGTERM or SIGINT: phase changes, deadlines,
    digests, mail, webhooks, the search queue. Start one or more on any servers (they
    never run one job twice) and set IDEAS_WORKER=1 on the web servers, so requests
    leave all of it to the workers."""
    from flask import current_app

    from ideas import scheduler

    if not current_app.config.get("IDEAS_WORKER"):
        click.echo("Note: IDEAS_WORKER is not set here; web servers without it still run jobs in requests.")
    scheduler.work(once=once, interval=interval, echo=click.echo)


@ideas_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--manager", "manager_email", default=None,
              help="E-mail of the innovation manager who runs the challenge (default: the first administrator).")
def import_challenge(path: str, manager_email: str | None) -> None:
    """Import a challenge archive (ideas-archive/1), all or nothing; prints the new id last."""
    from ideas.accounts.services import find_by_email
    from ideas.archive import ArchiveError, import_with_result
    from ideas.archive.importing import can_manage

    manager = None
    if manager_email:
        manager = find_by_email(manager_email)
        if not can_manage(manager):
            raise click.ClickException(f"{manager_email} is not an active innovation manager or administrator.")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        result = import_with_result(data, manager)
    except ArchiveError as error:
        db.session.rollback()
        raise click.ClickException(f"{path}: nothing imported. {error}") from error
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    challenge = result.challenge
    counts = ", ".join(_count(n, word) for n, word in (
        (result.ideas, "idea"), (result.comments, "comment"), (result.views, "view"), (result.votes, "vote"),
        (result.decisions, "decision")))
    click.echo(f"Imported “{challenge.title}”: {_count(result.people_created + result.people_matched, 'person')} "
               f"({result.people_matched} already had an account), {counts}.")
    if result.decisions_not_imported:
        click.echo(f"Decisions: {_count(result.decisions_not_imported, 'decision')} in the archive not imported; "
                   "this site has no review module to keep them.")
    click.echo(challenge.id)


@ideas_cli.command("export")
@click.argument("challenge_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of the standard output.")
def export_challenge(challenge_id: int, output: str | None) -> None:
    """Write a challenge as an archive (ideas-archive/1): JSON on the standard output, or to -o FILE."""
    import json

    from ideas.archive import export_with_result
    from ideas.challenges.models import Challenge

    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None:
        raise click.ClickException(f"No challenge with id {challenge_id}.")
    result = export_with_result(challenge)
    data = json.dumps(result.document, ensure_ascii=False, indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(data)
    else:
        click.echo(data, nl=False)
    for kind, count in sorted(result.left_out.items()):
        click.echo(f"Left out {count} {kind}: the archive format has no state for them.", err=True)


def _count(n: int, word: str) -> str:
    plural = "people" if word == "person" else f"{word}s"
    return f"{n:,} {word if n == 1 else plural}"


@ideas_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=True, writable=True))
@click.option("--uploads/--no-uploads", default=True, show_default=True,
              help="Also copy the uploaded files, to PATH-uploads/.")
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
def backup(path: str, uploads: bool, overwrite: bool) -> None:
    """Copy the SQLite database to PATH while the site runs (a consistent snapshot).

    PATH may be a folder: the copy is then named after the time it was taken. On
    PostgreSQL, use pg_dump (docs/operations.md)."""
    from ideas import backup as backups

    try:
        result = backups.backup_sqlite(path, uploads=uploads, overwrite=overwrite)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {result.tables} tables ({result.size:,} bytes, integrity checked) to {result.path}.")
    if result.uploads is not None:
        click.echo(f"Copied {result.uploads_copied} uploaded file(s) to {result.uploads}.")
    click.echo("To restore: docs/operations.md (stop the site, put the file back, then `ideas reindex`).")
