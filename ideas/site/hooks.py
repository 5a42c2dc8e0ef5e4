"""Per-request guards: security headers, terms for external participants."""
from __future__ import annotations

from flask import Flask, Request, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property

from ideas.accounts.forms import EmptyForm
from ideas.accounts.models import ROLE_LABELS, Role
from ideas.sanitising import sanitise, without_surrogates

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

def _clean(values: MultiDict) -> ImmutableMultiDict:
    return ImmutableMultiDict([(sanitise(k), sanitise(v)) for k, v in values.items(multi=True)])


class CleanRequest(Request):
    """Form fields and query values by the site's one text rule (ideas.sanitising.sanitise):
    no control characters (NUL and the like), no bidirectional overrides, no lone
    surrogates.

    Nobody types them, PostgreSQL cannot store NUL, and a terminal escape or a reversed
    file name is an attack on whoever reads it: they are dropped at the edge, and
    everything else a person typed is kept. JSON bodies lose only lone surrogates here:
    the API refuses control characters itself, with the field named."""

    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _clean(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _clean(self.__dict__["form"])

    def get_json(self, *args, **kwargs):
        data = super().get_json(*args, **kwargs)
        return without_surrogates(data)


# Pages a signed-in external participant may reach before accepting the terms.
TERMS_EXEMPT = {"accounts.terms", "accounts.logout", "accounts.verify", "static", "site.healthz",
                "accounts.confirm_email_change"}


def register(app: Flask) -> None:
    app.request_class = CleanRequest
    if app.config["IDEAS_TRUST_PROXY"]:
        hops = app.config["IDEAS_TRUST_PROXY"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.before_request
    def require_terms():
        if (
            current_user.is_authenticated
            and current_user.terms_accepted_at is None
            and not current_user.is_employee
            and request.endpoint not in TERMS_EXEMPT
            and not request.path.startswith("/api/")
        ):
            return redirect(url_for("accounts.terms", next=request.full_path.rstrip("?")))
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store" if current_user.is_authenticated else "no-cache"
        return response

    @app.context_processor
    def navigation():
        return {
            "Role": Role,
            "button_form": EmptyForm(),
            "nav_items": nav_items(),
            "public_activity": public_activity,
        }

    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_date, "date")
    app.add_template_filter(_role_label, "role_label")


def nav_items() -> list[dict]:
    """The header links for the current person: each domain adds its own by role."""
    from flask import current_app

    items: list[dict] = [{"label": "Home", "endpoint": "site.home"}]
    for provider in current_app.extensions.get("ideas.nav", []):
        items.extend(provider())
    if current_user.is_authenticated and current_user.is_admin:
        items.append({"label": "Admin", "endpoint": "admin.users"})
    for item in items:
        item.setdefault("url", url_for(item["endpoint"]))
        item["current"] = request.endpoint == item["endpoint"]
    return items


def public_activity(person) -> list:
    from flask import current_app

    found: list = []
    for provider in current_app.extensions.get("ideas.activity", []):
        found.extend(provider(person))
    return sorted(found, key=lambda item: item["at"], reverse=True)[:50]


def _datetime(value) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value else ""


def _date(value) -> str:
    return value.strftime("%d %b %Y") if value else ""


def _role_label(role) -> str:
    return ROLE_LABELS.get(Role(role), str(role))
