"""Insight: dashboards from idea to delivery, results, track records."""
