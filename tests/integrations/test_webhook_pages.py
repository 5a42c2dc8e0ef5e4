"""The administrators' webhook pages: add (the secret shown once), refuse bad URLs with the
reason next to the field, change, pause, test, replace the secret, read the log."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas import clock, scheduler
from ideas.extensions import db
from ideas.integrations import webhooks
from ideas.integrations.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import csrf_token

PUBLIC_URL = "https://93.184.215.14/ideas-hook"


@pytest.fixture(autouse=True)
def no_lazy_tick(app):
    # The pages' own requests would otherwise send what they queue to the outside world.
    app.config["IDEAS_LAZY_TICK_SECONDS"] = -1


@pytest.fixture
def signed_in_admin(admin, login):
    login(admin)
    return admin


def add(client, **fields):
    data = {"url": PUBLIC_URL, "description": "R&D tracker", "events": ["decision", "close"], "active": "y",
            **fields}
    return client.post("/admin/webhooks", data={"csrf_token": csrf_token(client, "/admin/webhooks"), **data})


def test_adding_a_webhook_shows_its_secret_once_then_masked(client, signed_in_admin):
    response = add(client)
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = re.search(r'id="secret" readonly value="(whsec_[^"]+)"', page).group(1)
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.secret == secret and endpoint.events == ["decision", "close"]
    assert endpoint.url == PUBLIC_URL and endpoint.description == "R&D tracker" and endpoint.active
    with client.get("/admin/webhooks") as listing, client.get(f"/admin/webhooks/{endpoint.id}") as detail:
        for shown in (listing, detail):
            text = shown.get_data(as_text=True)
            assert secret not in text and endpoint.masked_secret in text


@pytest.mark.parametrize(("url", "words"), [
    ("file:///etc/passwd", "http:// or https://"),
    ("ftp://example.com/hook", "http:// or https://"),
    ("http://127.0.0.1", "loopback address"),
    ("http://10.0.0.1", "private address"),
    ("http://[::1]", "loopback address"),
    ("http://169.254.169.254", "link-local address"),
    ("http://0x7f000001", "unusual form"),
    ("http://user:pass@host", "user name and password"),
])
def test_bad_urls_are_refused_on_the_page_next_to_the_field(url, words, client, signed_in_admin):
    with add(client, url=url) as response:
        assert response.status_code == 422
        page = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="url-error">[^<]*' + re.escape(words), page)
    assert 'aria-invalid="true"' in page
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_no_events_is_refused_next_to_the_events(client, signed_in_admin):
    with add(client, events=[]) as response:
        assert response.status_code == 422
        assert 'id="events-error">Choose at least one event' in response.get_data(as_text=True)


def test_the_page_says_whether_private_addresses_are_allowed(client, signed_in_admin, app):
    with client.get("/admin/webhooks") as page:
        assert "Private and loopback addresses are refused." in page.get_data(as_text=True)
    app.config["IDEAS_WEBHOOK_ALLOW_PRIVATE"] = True
    with client.get("/admin/webhooks") as page:
        assert "Private and loopback addresses are allowed" in page.get_data(as_text=True)
    response = add(client, url="http://127.0.0.1:9/hook")
    assert response.status_code == 201


def test_changing_pausing_testing_and_deleting(client, signed_in_admin, post_form):
    add(client)
    endpoint = db.session.scalar(select(WebhookEndpoint))
    page = f"/admin/webhooks/{endpoint.id}"
    changed = post_form(page, {"url": PUBLIC_URL + "/v2", "description": "", "events": ["handoff"]})
    assert changed.status_code == 302
    db.session.refresh(endpoint)
    assert (endpoint.url, endpoint.events, endpoint.active) == (PUBLIC_URL + "/v2", ["handoff"], False)
    with post_form(page, {"url": "http://10.0.0.1/", "events": ["handoff"]}) as refused:
        assert refused.status_code == 422 and "private address" in refused.get_data(as_text=True)
    db.session.refresh(endpoint)
    assert endpoint.url == PUBLIC_URL + "/v2"

    assert post_form(page, action=f"{page}/ping").status_code == 302
    [ping] = db.session.scalars(select(WebhookDelivery)).all()
    assert (ping.event, ping.status) == ("ping", "pending")

    old = endpoint.secret
    with post_form(page, action=f"{page}/secret") as rotated:
        assert rotated.status_code == 200
        db.session.refresh(endpoint)
        assert endpoint.secret != old and endpoint.secret in rotated.get_data(as_text=True)

    assert post_form(page, action=f"{page}/delete").status_code == 302
    assert db.session.scalar(select(WebhookEndpoint)) is None
    assert db.session.scalar(select(WebhookDelivery)) is None


def test_the_log_shows_each_attempt(client, signed_in_admin, admin, allow_private, receiver, post_form):
    receiver.answers = [500, 500, 200]
    start = clock.now().replace(microsecond=0)
    clock.set_now(start)
    endpoint, _ = webhooks.create_endpoint(admin, receiver.url, ["decision"])
    delivery = webhooks.send_ping(endpoint, admin)
    db.session.commit()
    for minutes in (0, 1, 6):
        clock.set_now(start + timedelta(minutes=minutes))
        scheduler.run()
    with client.get(f"/admin/webhooks/{endpoint.id}") as log:
        text = log.get_data(as_text=True)
    assert f"#{delivery.id}" in text and "delivered" in text
    with client.get(f"/admin/webhooks/deliveries/{delivery.id}") as detail:
        assert detail.status_code == 200
        text = detail.get_data(as_text=True)
    rows = re.findall(r'<tr>\s*<th scope="row">(\d)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>', text)
    assert [(n, answer.strip()[:3]) for n, _, answer in rows] == [("1", "500"), ("2", "500"), ("3", "200")]
    assert "The receiver answered 500" in text and "&#34;event&#34;:&#34;ping&#34;" in text
    again = post_form(f"/admin/webhooks/deliveries/{delivery.id}", action=f"/admin/webhooks/deliveries/"
                                                                           f"{delivery.id}/redeliver")
    assert again.status_code == 302
    assert db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.redelivery_of_id == delivery.id))


def test_the_log_pages_and_filters(client, signed_in_admin, admin):
    endpoint, _ = webhooks.create_endpoint(admin, PUBLIC_URL, ["decision"])
    made = [webhooks.send_ping(endpoint, admin) for _ in range(30)]
    db.session.commit()
    with client.get(f"/admin/webhooks/{endpoint.id}") as first:
        text = first.get_data(as_text=True)
    assert f"#{made[-1].id}<" in text and f"#{made[4].id}<" not in text
    older = re.search(r'href="([^"]+before=\d+[^"]*)"[^>]*rel="next"', text).group(1).replace("&amp;", "&")
    with client.get(older) as second:
        assert f"#{made[4].id}<" in second.get_data(as_text=True)
    with client.get(f"/admin/webhooks/{endpoint.id}?status=failed") as failed:
        assert "No deliveries failed" in failed.get_data(as_text=True)


@pytest.mark.parametrize("role", ["manager", "owner", "reviewer"])
def test_other_people_may_not_manage_webhooks(role, client, make_user, login):
    login(make_user(roles=(role,)))
    with client.get("/admin/webhooks") as page:
        assert page.status_code == 403
