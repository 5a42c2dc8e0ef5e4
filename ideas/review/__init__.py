"""Shortlists, scorecards, decisions and handoffs: the review of ideas after voting."""


def register_jobs(app) -> None:
    from ideas import scheduler
    from ideas.review import services

    scheduler.register_job(app, "review deadlines", services.run_deadlines)
