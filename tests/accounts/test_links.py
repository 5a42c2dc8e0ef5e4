"""Password reset, password and e-mail changes."""
from __future__ import annotations

import re
from datetime import timedelta

from ideas import clock
from ideas.accounts import services
from ideas.extensions import db
from tests.conftest import PASSWORD, link_in

NEW_PASSWORD = "a brand new passphrase"


def test_reset_by_one_time_link(client, make_user, outbox, post_form):
    user = make_user()
    response = post_form("/reset", {"email": user.email.upper()})
    assert response.status_code == 302
    link = link_in(outbox(user.email)[-1], "/reset/")
    response = post_form(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert services.authenticate(user.email, NEW_PASSWORD) is not None
    # The link works once.
    assert client.get(link).status_code == 400


def test_reset_message_is_the_same_for_unknown_addresses(client, make_user, post_form, outbox):
    user = make_user()
    known = post_form("/reset", {"email": user.email}, follow_redirects=True).get_data(as_text=True)
    unknown = post_form("/reset", {"email": "nobody@nowhere.example"}, follow_redirects=True).get_data(as_text=True)
    assert "If an account uses this address" in known
    assert "If an account uses this address" in unknown
    assert [m.to_address for m in outbox()] == [user.email]


def test_expired_reset_link_is_refused(client, make_user, outbox, post_form):
    user = make_user()
    post_form("/reset", {"email": user.email})
    link = link_in(outbox(user.email)[-1], "/reset/")
    clock.set_now(clock.now() + timedelta(hours=3))
    page = client.get(link)
    assert page.status_code == 400 and "expired" in page.get_data(as_text=True)


def test_newer_reset_link_replaces_the_older(client, make_user, outbox, post_form):
    user = make_user()
    post_form("/reset", {"email": user.email})
    post_form("/reset", {"email": user.email})
    first, second = (link_in(m, "/reset/") for m in outbox(user.email))
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_weak_new_password_on_reset_keeps_the_link_usable(client, make_user, outbox, post_form):
    user = make_user()
    post_form("/reset", {"email": user.email})
    link = link_in(outbox(user.email)[-1], "/reset/")
    response = post_form(link, {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert client.get(link).status_code == 200


def test_change_password_signs_out_other_devices(app, client, make_user, login, post_form):
    user = make_user()
    other = app.test_client()
    login(user)
    login(user, target=other)
    response = post_form("/account", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                      "confirm": NEW_PASSWORD}, action="/account/password")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_change_password_needs_the_current_one(client, make_user, login, post_form):
    login(make_user())
    response = post_form("/account", {"current_password": "not it at all", "password": NEW_PASSWORD,
                                      "confirm": NEW_PASSWORD}, action="/account/password")
    assert response.status_code == 422
    assert 'id="current_password-error"' in response.get_data(as_text=True)


def test_change_email_applies_only_once_confirmed(client, make_user, login, post_form, outbox):
    user = make_user(pool="external")
    login(user)
    response = post_form("/account", {"email": "new@outside.example", "password": PASSWORD}, action="/account/email")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email != "new@outside.example"
    link = link_in(outbox("new@outside.example")[-1], "/account/email/")
    assert outbox(user.email)  # the old address is warned
    client.get(link)
    db.session.refresh(user)
    assert user.email == "new@outside.example"


def test_profile_edit_keeps_expertise_tags(client, make_user, login, post_form):
    user = make_user()
    login(user)
    post_form("/account", {"name": "Ada L.", "bio": "Engines.", "expertise": "Payments, logistics, payments"},
              action="/account/profile")
    db.session.refresh(user)
    assert user.name == "Ada L." and user.expertise == ["logistics", "payments"]
    page = client.get(f"/people/{user.id}").get_data(as_text=True)
    assert "Engines." in page and "logistics" in page


def test_token_page_shows_secret_once_and_revokes(client, make_user, login, post_form):
    user = make_user()
    login(user)
    response = post_form("/account", {"name": "laptop"}, action="/account/tokens")
    assert response.status_code == 201
    secret = re.search(r'id="secret" readonly value="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert secret.startswith("ideas_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/account").get_data(as_text=True)
    token_id = db.session.scalars(db.select(services.ApiToken)).one().id
    post_form("/account", {}, action=f"/account/tokens/{token_id}/revoke")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_reloading_the_new_token_page_makes_no_second_token(client, make_user, login):
    user = make_user()
    login(user)
    page = client.get("/account").get_data(as_text=True)
    form = {name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)
            for name in ("csrf_token", "request_id")}
    first = client.post("/account/tokens", data={**form, "name": "laptop"})
    assert first.status_code == 201 and 'id="secret"' in first.get_data(as_text=True)
    again = client.post("/account/tokens", data={**form, "name": "laptop"})  # what a reload sends
    assert again.status_code == 200 and 'id="secret"' not in again.get_data(as_text=True)
    assert "already created" in again.get_data(as_text=True)
    assert len(db.session.scalars(db.select(services.ApiToken).where(services.ApiToken.user_id == user.id)).all()) == 1
    fresh = client.get("/account").get_data(as_text=True)  # a new form makes a new token
    form["request_id"] = re.search(r'name="request_id" type="hidden" value="([^"]+)"', fresh).group(1)
    assert client.post("/account/tokens", data={**form, "name": "desktop"}).status_code == 201
    assert len(db.session.scalars(db.select(services.ApiToken).where(services.ApiToken.user_id == user.id)).all()) == 2


def test_unverified_person_sees_a_resend_banner(client, make_user, login, post_form, outbox):
    user = make_user(verified=False)
    login(user)
    assert "Please confirm your e-mail address" in client.get("/").get_data(as_text=True)
    post_form("/", {}, action="/verify?next=/")
    assert outbox(user.email)


def test_external_without_accepted_terms_is_asked_first(client, make_user, login, post_form):
    user = make_user(pool="external", terms_accepted_at=None)
    login(user)
    response = client.get("/account")
    assert response.status_code == 302 and "/terms" in response.headers["Location"]
    post_form("/terms", {"accept": "y"})
    assert client.get("/account").status_code == 200


def test_a_deactivated_persons_profile_is_gone_except_for_administrators(client, make_user, login):
    gone, other, admin = make_user(active=False, name="Gone Person"), make_user(), make_user(roles=("admin",))
    assert client.get(f"/people/{gone.id}").status_code == 404
    login(other)
    assert client.get(f"/people/{gone.id}").status_code == 404
    assert client.get(f"/people/{other.id}").status_code == 200
    login(admin)
    response = client.get(f"/people/{gone.id}")
    assert response.status_code == 200 and "Gone Person" in response.get_data(as_text=True)
