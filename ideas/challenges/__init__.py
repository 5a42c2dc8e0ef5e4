"""Challenges, ideas, comments and moderation."""


def register_jobs(app) -> None:
    from ideas import scheduler
    from ideas.challenges import services

    scheduler.register_job(app, "phases", services.tick)
