"""Who may see what of a challenge's votes, and who may change how they are weighed.
Pure checks on the objects, no queries: pages, the API and search ask the same function
(routes turn False into 403)."""
from __future__ import annotations

from ideas.challenges import permissions as challenge_permissions


def can_see_weights(viewer, challenge) -> bool:
    """How each vote was weighed and discounted (an idea's breakdown, raw counts against
    weighted ranks): the challenge's staff."""
    return challenge_permissions.is_staff(viewer, challenge)


def can_change_voting_policy(user, challenge) -> bool:
    """Changing how votes are weighed, even after votes exist: the challenge's managers."""
    return challenge_permissions.is_manager(user, challenge)


def can_see_ranking(viewer, challenge) -> bool:
    """The ranking is shown once voting is over, so that early votes do not steer later
    ones; at once where the challenge shows its counts, and always to its staff."""
    return (challenge_permissions.is_staff(viewer, challenge) or not challenge.hide_counts_until_voted
            or challenge.phase in ("review", "closed"))
