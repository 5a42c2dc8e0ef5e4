"""Integrations: how the review reaches other systems.

Webhooks (site-wide endpoints an administrator manages, signed deliveries queued with
the review change and sent by the scheduler) and CSV exports of the shortlist and of
the handoffs.  Kept out of `ideas/review/` on purpose: the review announces its steps
(`ideas.events`) and knows nothing of who listens; this package is one
listener, with its own tables, pages and scheduler job.
"""


def register_jobs(app) -> None:
    from ideas import scheduler
    from ideas.integrations import webhooks

    # Shared: each delivery is claimed before it is sent, so every worker may take some.
    scheduler.register_job(app, "webhooks", webhooks.deliver_due, shared=True)
