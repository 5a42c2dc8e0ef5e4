"""Employee domains, the outbox and the participation terms, as administrators manage them."""
from __future__ import annotations

import re

from ideas import mail
from ideas.accounts import services
from ideas.accounts.models import EmployeeDomain
from ideas.extensions import db
from tests.conftest import csrf_token

# --- employee domains ------------------------------------------------------------


def test_adding_a_domain_makes_its_verified_people_employees(client, admin, make_user, post_form):
    verified = make_user(pool="external", email="vera@corp.example")
    unverified = make_user(pool="external", email="una@corp.example", verified=False)
    sub = make_user(pool="external", email="sam@eu.corp.example")
    pinned = make_user(pool="external", email="pia@corp.example")  # the factory sets pools by hand
    for person in (verified, unverified, sub):
        person.pool_source = "domain"
    db.session.commit()

    response = post_form("/admin/domains", {"domain": " @Corp.Example "})
    assert response.status_code == 302
    assert "corp.example is an employee domain" in client.get("/admin/domains").get_data(as_text=True)
    for person in (verified, unverified, sub, pinned):
        db.session.refresh(person)
    assert verified.pool == "employee" and sub.pool == "employee"
    assert unverified.pool == "external"  # not before the address is proven
    assert pinned.pool == "external"  # an administrator's choice stays

    domain_id = db.session.scalar(db.select(EmployeeDomain.id))
    response = post_form("/admin/domains", action=f"/admin/domains/{domain_id}/remove")
    assert response.status_code == 302
    db.session.refresh(verified)
    assert verified.pool == "external"
    assert services.employee_domains() == []


def test_domain_errors_sit_next_to_the_field(client, admin, post_form):
    services.add_employee_domain("corp.example")
    db.session.commit()
    for value, message in [
        ("corp.example", "already listed"),
        ("not a domain", "Enter a domain such as"),
        ("", "Enter a domain."),
        ("x" * 300 + ".example", "Field cannot be longer than 253 characters."),
        ("corp\x00.example", "already listed"),  # control characters are dropped at the edge
        ("<b>.example", "Enter a domain such as"),
    ]:
        response = post_form("/admin/domains", {"domain": value})
        assert response.status_code == 422, value
        page = response.get_data(as_text=True)
        assert 'id="domain-error"' in page and message in page, value
    assert services.employee_domains() == ["corp.example"]


def test_removing_an_unknown_domain_is_404(client, admin, post_form):
    assert post_form("/admin/domains", action="/admin/domains/12345/remove").status_code == 404


# --- outbox ----------------------------------------------------------------------

def test_outbox_lists_mail_newest_first_and_reads_one(app, client, admin):
    mail.send_mail("one@x.example", "First message", "Hello one")
    mail.send_mail("two@x.example", "Second <b>message</b>", "Open http://ideas.test/verify/abc and http://evil.example/x")
    db.session.commit()
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert page.index("Second &lt;b&gt;message&lt;/b&gt;") < page.index("First message")

    message_id = re.search(r'href="/admin/outbox/(\d+)">Second', page).group(1)
    body = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert '<a href="http://ideas.test/verify/abc">' in body  # a link to this site
    assert "http://evil.example/x" in body and 'href="http://evil.example' not in body
    assert "<b>message" not in body


def test_outbox_body_is_escaped(client, admin):
    mail.send_mail("x@x.example", "Hi", '<script>alert(1)</script> http://ideas.test/"><script>')
    db.session.commit()
    page = client.get("/admin/outbox").get_data(as_text=True)
    message_id = re.search(r'href="/admin/outbox/(\d+)"', page).group(1)
    body = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert '"><script>' not in body  # the quote ends the link; what follows is text


def test_outbox_pages_and_filters_by_recipient(client, admin):
    for i in range(60):
        mail.send_mail(f"r{i % 2}@x.example", f"Message {i:02d}", "body")
    db.session.commit()
    first = client.get("/admin/outbox").get_data(as_text=True)
    subjects = re.findall(r">Message (\d\d)</a>", first)
    assert len(subjects) == 50 and subjects[0] == "59"
    next_url = re.search(r'href="([^"]*after=\d+[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    rest = re.findall(r">Message (\d\d)</a>", client.get(next_url).get_data(as_text=True))
    assert rest == [f"{i:02d}" for i in range(9, -1, -1)]

    only = client.get("/admin/outbox", query_string={"to": "R1@x.example"}).get_data(as_text=True)
    numbers = [int(n) for n in re.findall(r">Message (\d\d)</a>", only)]
    assert len(numbers) == 30 and all(n % 2 == 1 for n in numbers)


def test_outbox_ignores_bad_parameters_and_404s_unknown_mail(client, admin):
    for i in range(3):
        mail.send_mail(f"r{i}@x.example", f"Message {i:02d}", "body")
    db.session.commit()
    listed = re.compile(r">Message (\d\d)</a>")
    assert listed.findall(client.get("/admin/outbox").get_data(as_text=True)) == ["02", "01", "00"]
    for query in ("?after=zz&before=-1&to=" + "a" * 400, "?to=%00"):
        response = client.get("/admin/outbox" + query)
        assert response.status_code == 200, query
        # A value that cannot be used is dropped: the whole outbox, newest first, as without it.
        assert listed.findall(response.get_data(as_text=True)) == ["02", "01", "00"], query
    assert client.get("/admin/outbox/424242").status_code == 404


def test_outbox_is_for_administrators_only(client, make_user, login):
    mail.send_mail("x@x.example", "Secret link", "http://ideas.test/reset/secret")
    db.session.commit()
    login(make_user(roles=("manager", "reviewer", "owner")))
    assert client.get("/admin/outbox").status_code == 403
    assert client.get("/admin/outbox/1").status_code == 403


# --- site settings ---------------------------------------------------------------

def test_terms_setting_shows_on_register(app, client, admin, post_form):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert services.DEFAULT_TERMS[:40] in page  # the form starts from the text in force

    response = post_form("/admin/settings", {"terms": "Be kind. Share only what is yours to share."})
    assert response.status_code == 302
    assert services.participation_terms() == "Be kind. Share only what is yours to share."

    anonymous = app.test_client()
    assert "Be kind. Share only what is yours to share." in anonymous.get("/register").get_data(as_text=True)
    assert "Be kind." in anonymous.get("/terms").get_data(as_text=True)

    post_form("/admin/settings", {"terms": "Be\x00 fair.\r\nThank you."})
    assert services.participation_terms() == "Be fair.\nThank you."

    post_form("/admin/settings", {"terms": "   "})  # empty: the built-in text again
    assert services.participation_terms() == services.DEFAULT_TERMS


def test_overlong_terms_are_refused_next_to_the_field(client, admin, post_form):
    response = post_form("/admin/settings", {"terms": "x" * 20_001})
    assert response.status_code == 422
    assert 'id="terms-error"' in response.get_data(as_text=True)
    assert services.participation_terms() == services.DEFAULT_TERMS


def test_settings_need_the_csrf_token(client, admin):
    assert client.post("/admin/settings", data={"terms": "Sneaky"}).status_code == 400
    assert client.post("/admin/settings", data={"terms": "Sneaky", "csrf_token": "forged"}).status_code == 400
    assert services.participation_terms() == services.DEFAULT_TERMS
    assert csrf_token(client, "/admin/settings")
