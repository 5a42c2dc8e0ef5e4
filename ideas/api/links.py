"""Links from the API to the site's pages, absolute so an R&D tool can show them as they are.

On the site's public address (IDEAS_BASE_URL) when it is set, as e-mails do; otherwise on
the host the request came to."""
from flask import current_app, url_for


def page_url(endpoint: str, **values) -> str:
    base = current_app.config.get("IDEAS_BASE_URL", "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
