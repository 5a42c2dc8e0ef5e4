"""`flask --app wsgi ideas reindex`."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ideas.extensions import db
from ideas.search.models import IndexJob
from ideas.search.store import SearchUnavailableError, reindex


@click.command("reindex")
@click.option("--batch", default=1000, show_default=True, help="Ideas read from the database at a time.")
@click.option("--wait", default=60.0, show_default=True,
              help="Seconds to wait for another process that is writing the index.")
@with_appcontext
def reindex_command(batch: int, wait: float) -> None:
    """Rebuild the search index from the database."""
    started = time.monotonic()
    try:
        count = reindex(batch=max(1, batch), wait=max(0.0, wait))
    except SearchUnavailableError as error:
        raise click.ClickException(
            "Another process is writing the search index; try again when it has finished."
        ) from error
    queued = db.session.scalar(select(func.count(IndexJob.id))) or 0
    click.echo(f"Search index rebuilt: {count} ideas in {time.monotonic() - started:.1f} s"
               f" ({queued} queued changes will be applied by the next drain).")


def register_cli(group: click.Group) -> None:
    """Add `reindex` to the `ideas` command group."""
    if "reindex" not in group.commands:
        group.add_command(reindex_command)

