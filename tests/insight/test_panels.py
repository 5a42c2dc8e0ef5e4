"""The dashboards' panels from grouped rows: pure, no app."""
from __future__ import annotations

from ideas.insight import services


def test_columns_headed_in_days_show_days_not_hours():
    owners = services.owners_panel([{"name": "Oskar Owner", "handoffs": 3, "waiting": 1, "overdue": 0,
                                     "taken_on": 2, "delivered": 1, "ack_seconds": 38 * 3600.0}])
    assert owners.headers[-1] == "Average time to acknowledge (days)"
    assert owners.display[0][-1] == "1.6"
    stages = services.stages_panel([{"state": "in_review", "stays": 2, "waiting": 0,
                                     "total_seconds": 48 * 3600.0, "longest_seconds": 38 * 3600.0}])
    assert stages.headers[3:] == ["Average (days)", "Longest (days)"]
    assert stages.display[0][3:] == ["1.0", "1.6"]  # not "24 hours", "38 hours"
