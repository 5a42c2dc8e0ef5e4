"""The errors every domain raises and the site turns into a page or a JSON error.

A use case refuses with `ChallengeError` (or a domain's subclass: `VoteError`,
`ReviewError`): the message is shown next to `field` when there is one, with `status`
as the HTTP-like status. `NotFoundError` means "does not exist for this person":
content outside a person's audience is answered exactly as content that is not there.
They live here, below every domain, so that raising or catching them imports no
domain's services."""
from __future__ import annotations


class ChallengeError(ValueError):
    """A request the rules refuse; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class NotFoundError(LookupError):
    """Does not exist for this person (whether or not it exists at all)."""
