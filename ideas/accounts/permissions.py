"""Who may see what of people's accounts. Pure checks on the objects, no queries:
routes turn False into 404."""
from __future__ import annotations


def can_see_profile(viewer, person) -> bool:
    """A deactivated account's profile is gone for everyone but administrators."""
    return bool(person.active or (getattr(viewer, "is_authenticated", False) and viewer.is_admin))
