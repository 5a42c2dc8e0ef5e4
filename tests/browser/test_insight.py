"""The dashboards in a real browser, with and without JavaScript, on a desktop and a
390-px phone: every chart is drawn (an SVG image that loaded) and its table is there.

Set IDEAS_SCREENSHOTS=<folder> to keep a screenshot of each page."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.browser.conftest import TIMEOUT_MS
from tests.insight.conftest import built  # noqa: F401 - the hand-built challenge, as a fixture

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _sign_in(page, user):
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _charts_render(page, count: int):
    charts = page.locator("img[data-chart]")
    expect(charts).to_have_count(count)
    for i in range(count):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, chart.get_attribute("data-chart")
        slug = chart.get_attribute("data-chart")
        expect(page.locator(f'table[data-figures="{slug}"] tbody tr').first).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
@pytest.mark.parametrize("size", list(SIZES))
def test_dashboards_draw_their_charts_and_tables(built, live_server, browser, javascript, size):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript,
                                  viewport=SIZES[size])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        _sign_in(page, built["manager"])
        page.goto(f"/challenges/{built['challenge'].id}/dashboard")
        expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        _charts_render(page, 7)
        expect(page.get_by_text("Bottleneck:")).to_be_visible()
        _captions_fit(page, SIZES[size]["width"])
        # Nothing wider than the phone: the page never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1
        _keep(page, f"challenge-dashboard-{size}-{'js' if javascript else 'nojs'}")

        page.goto("/dashboard")
        _charts_render(page, 4)
        expect(page.get_by_role("heading", name="Open escalations")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1
        _keep(page, f"site-dashboard-{size}-{'js' if javascript else 'nojs'}")

        page.goto("/dashboard?from=yesterday")
        expect(page.locator("#from-error")).to_contain_text("is not a date")
    finally:
        context.close()


def _captions_fit(page, width: int) -> None:
    """Each table's caption wraps within the screen (never cut off by the sideways scroll of
    a wide table), and the table scrolls in a box named by it that the keyboard reaches."""
    captions = page.locator("p.table-caption:not(.visually-hidden)")
    assert captions.count() >= 7
    for i in range(captions.count()):
        caption = captions.nth(i)
        caption.scroll_into_view_if_needed()
        box = caption.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, caption.inner_text()
    region = page.get_by_role("region", name="Owner load: the figures")
    region.focus()
    assert page.evaluate("document.activeElement.getAttribute('role')") == "region"
    page.keyboard.press("ArrowRight")  # scrolls the table, not the page
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def _keep(page, name: str) -> None:
    folder = os.environ.get("IDEAS_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
