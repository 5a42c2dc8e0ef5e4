"""A challenge's voting settings as the use cases read them: its weighting policy and pool weights, and the refusal every voting use case raises."""
from __future__ import annotations

from dataclasses import replace

from ideas.challenges.models import (
    Challenge,
    PoolMode,
)
from ideas.errors import ChallengeError
from ideas.voting import weighting


class VoteError(ChallengeError):
    """A vote the rules refuse."""


def active_policy(challenge: Challenge) -> weighting.WeightingPolicy:
    base = weighting.get_policy(challenge.voting_policy)
    # The challenge's own settings: opposition and the budget.
    return replace(base, allows_opposition=bool(challenge.allow_opposition),
                             budget_k=challenge.budget_k if base.name == "budget" else base.budget_k)


def pool_weights(challenge: Challenge) -> dict[str, float]:
    mode = PoolMode(challenge.pool_mode)
    if mode == PoolMode.EMPLOYEES_ONLY:
        return {"employee": 1.0, "external": 0.0}
    if mode == PoolMode.EXTERNALS_ONLY:
        return {"employee": 0.0, "external": 1.0}
    return {"employee": challenge.pool_weight_employee, "external": challenge.pool_weight_external}
