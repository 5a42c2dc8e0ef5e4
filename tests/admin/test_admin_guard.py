"""Every administration URL: administrators only; others get 403, the anonymous the sign-in page."""
from __future__ import annotations

import pytest

from ideas.extensions import db
from tests.conftest import session_csrf_token

# (method, url); {user} and {domain} are filled in with real rows so a guard failure
# can never hide behind a 404.
ADMIN_URLS = [
    ("GET", "/admin/"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users?q=a&pool=employee"),
    ("GET", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}/pool"),
    ("POST", "/admin/users/{user}/roles"),
    ("POST", "/admin/users/{user}/deactivate"),
    ("POST", "/admin/users/{user}/reactivate"),
    ("GET", "/admin/users/import"),
    ("POST", "/admin/users/import"),
    ("GET", "/admin/domains"),
    ("POST", "/admin/domains"),
    ("POST", "/admin/domains/{domain}/remove"),
    ("GET", "/admin/outbox"),
    ("GET", "/admin/outbox/{mail}"),
    ("GET", "/admin/settings"),
    ("POST", "/admin/settings"),
]

NON_ADMINS = {
    "external": {"pool": "external"},
    "employee": {"pool": "employee"},
    "manager": {"roles": ("manager",)},
    "reviewer": {"roles": ("reviewer",)},
    "owner": {"roles": ("owner",)},
    "all staff roles but admin": {"roles": ("manager", "reviewer", "owner")},
}


@pytest.fixture
def targets(make_user):
    from ideas import mail
    from ideas.accounts import services

    person = make_user(pool="external", name="Target Person")
    domain = services.add_employee_domain("corp.example")
    message = mail.send_mail(person.email, "Hello", "body")
    db.session.commit()
    return {"user": person.id, "domain": domain.id, "mail": message.id, "person": person}


def request(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "pool": "employee", "roles": "admin",
                                  "domain": "evil.example", "terms": "changed", "text": "x"})


@pytest.mark.parametrize(("method", "url"), ADMIN_URLS)
def test_anonymous_is_sent_to_sign_in(client, targets, method, url):
    url = url.format(**targets)
    response = request(client, method, url, session_csrf_token(client))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("who", NON_ADMINS)
@pytest.mark.parametrize(("method", "url"), ADMIN_URLS)
def test_non_admins_are_refused(client, make_user, login, targets, who, method, url):
    login(make_user(**NON_ADMINS[who]))
    response = request(client, method, url.format(**targets), session_csrf_token(client))
    assert response.status_code == 403
    person = targets["person"]
    db.session.refresh(person)
    assert person.active and person.pool == "external" and not person.roles


@pytest.mark.parametrize(("method", "url"), [u for u in ADMIN_URLS if u[0] == "GET"])
def test_administrators_reach_every_page(client, admin, targets, method, url):
    assert client.get(url.format(**targets), follow_redirects=True).status_code == 200


def test_deactivated_admin_loses_access(app, client, admin, make_user, login, post_form):
    other = make_user(roles=("admin",))
    other_browser = app.test_client()
    login(other, target=other_browser)
    assert other_browser.get("/admin/users").status_code == 200
    page = f"/admin/users/{other.id}"
    assert post_form(page, action=f"{page}/deactivate").status_code == 302
    assert other_browser.get("/admin/users").status_code == 302


def test_admin_link_in_navigation_only_for_administrators(app, client, make_user, login, admin):
    assert 'href="/admin/users"' in client.get("/").get_data(as_text=True)
    manager_browser = app.test_client()
    login(make_user(roles=("manager",)), target=manager_browser)
    assert 'href="/admin/users"' not in manager_browser.get("/").get_data(as_text=True)
