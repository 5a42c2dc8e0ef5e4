"""The first journey in a real browser: register, confirm the address from the mail, sign in, see home."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import PASSWORD

NAME = "Grace Hopper"
EMAIL = "grace@outside.example"


def test_register_verify_sign_in_and_see_home(live_server, page):
    page.goto("/register")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I accept the participation terms").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("We sent you a link to confirm your e-mail address")).to_be_visible()

    page.goto(live_server.mail_link(EMAIL, "/verify/"))
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()

    header = page.get_by_role("navigation", name="Main")
    header.get_by_role("button", name="Sign out").click()
    header.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail").fill(EMAIL.upper())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(live_server.url + "/")
    expect(header.get_by_role("link", name=NAME)).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
