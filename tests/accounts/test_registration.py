"""Registering, confirming the address, signing in and out."""
from __future__ import annotations

from sqlalchemy import select

from ideas.accounts import services
from ideas.accounts.models import User
from ideas.extensions import db
from tests.conftest import PASSWORD, csrf_token, link_in


def register(client, **overrides):
    data = {
        "name": "Grace Hopper",
        "email": "grace@outside.example",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "accept_terms": "y",
        "csrf_token": csrf_token(client, "/register"),
    }
    data.update(overrides)
    return client.post("/register", data=data)


def test_register_verify_and_sign_in(client, outbox):
    response = register(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "grace@outside.example"))
    assert user.pool == "external" and not user.is_verified and user.terms_accepted_at

    [message] = outbox("grace@outside.example")
    assert client.get(link_in(message, "/verify/")).status_code == 302
    db.session.refresh(user)
    assert user.is_verified

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    page = client.get("/")
    assert "Sign in" in page.get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": "GRACE@outside.example", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
    )
    assert response.status_code == 302
    assert "Grace Hopper" in client.get("/").get_data(as_text=True)


def test_verification_link_works_once(client, outbox):
    register(client)
    link = link_in(outbox()[0], "/verify/")
    assert client.get(link).status_code == 302
    again = client.get(link)
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)


def test_employee_domain_puts_verified_person_in_employee_pool(app, client, outbox):
    services.add_employee_domain("staff.example")
    db.session.commit()
    register(client, email="ada@staff.example", accept_terms="")
    user = services.find_by_email("ada@staff.example")
    assert user.pool == "external"  # not before the address is proven
    client.get(link_in(outbox()[0], "/verify/"))
    db.session.refresh(user)
    assert user.pool == "employee"


def test_external_must_accept_terms_and_keeps_what_was_typed(client):
    response = register(client, accept_terms="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Accept the participation terms" in page
    assert 'value="Grace Hopper"' in page and 'value="grace@outside.example"' in page
    assert PASSWORD not in page
    assert services.find_by_email("grace@outside.example") is None


def test_duplicate_email_is_refused_whatever_its_case(client, make_user):
    make_user(email="grace@outside.example", pool="external")
    response = register(client, email="Grace@Outside.example")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_weak_password_is_explained_next_to_the_field(client):
    response = register(client, password="password123", confirm="password123")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="password-error"' in page and "most common" in page


def test_bad_email_and_overlong_name(client):
    response = register(client, email="not-an-address", name="x" * 500)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "valid e-mail" in page and 'id="name-error"' in page


def test_wrong_password_message_does_not_reveal_the_account(client, make_user):
    user = make_user()
    token = csrf_token(client, "/login")
    known = client.post("/login", data={"email": user.email, "password": "wrong password!", "csrf_token": token})
    unknown = client.post("/login", data={"email": "nobody@x.example", "password": "wrong password!", "csrf_token": token})
    assert known.status_code == unknown.status_code == 422
    message = "That e-mail and password do not match an active account."
    assert message in known.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_deactivated_person_cannot_sign_in(client, make_user, login):
    user = make_user(active=False)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 422


def test_deactivation_ends_an_open_session(client, make_user, login):
    user = make_user()
    login(user)
    assert client.get("/account").status_code == 200
    services.set_active(user, False)
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_remember_me_sets_a_lasting_cookie(client, make_user, login_form):
    user = make_user()
    response = login_form(user, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


def test_safe_next_redirect(client, make_user):
    user = make_user()
    for target, expected in [("/account", "/account"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")]:
        client.get("/")
        token = csrf_token(client, "/login")
        response = client.post(f"/login?next={target}", data={"email": user.email, "password": PASSWORD,
                                                              "csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_control_characters_are_dropped_at_the_edge(client):
    response = register(client, name="Grace\x00 Hop\x1b[31mper")
    assert response.status_code == 302
    assert services.find_by_email("grace@outside.example").name == "Grace Hop[31mper"
    api = client.post("/api/v1/tokens", json={"email": "a\u0000@x.example", "password": "x"})
    assert api.status_code == 422 and "email" in api.get_json()["error"]["fields"]
