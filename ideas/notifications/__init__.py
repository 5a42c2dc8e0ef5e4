"""What people follow, and what they are told: in-app notifications and e-mail digests."""


def register_jobs(app) -> None:
    from ideas import scheduler
    from ideas.notifications import services

    scheduler.register_job(app, "digests", services.send_digests)
