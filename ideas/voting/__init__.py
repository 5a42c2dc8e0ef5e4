"""Votes, their signals, the weighting policy (pure) and rankings."""


def register_jobs(app) -> None:
    from ideas import scheduler
    from ideas.voting import services

    scheduler.register_job(app, "network purge", services.purge_networks)
    scheduler.register_job(app, "pools disagree", services.refresh_flags)
