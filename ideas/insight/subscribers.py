"""What insight hears (ideas/events.py): a challenge's weights rewritten in bulk are
tallied once for the challenge, not row by row by the triggers."""
from __future__ import annotations

from flask import Flask

from ideas import events
from ideas.insight import tallies


def _reweighing(_name, p) -> None:
    tallies.set_aside_weights([p["challenge"].id])
    tallies.hold_reweigh_trigger(True)


def _reweighed(_name, p) -> None:
    tallies.hold_reweigh_trigger(False)
    tallies.count_weights([p["challenge"].id])


def init_app(app: Flask) -> None:
    events.subscribe(app, "votes.reweighing", _reweighing)
    events.subscribe(app, "votes.reweighed", _reweighed)
