"""Accessibility in a real browser: axe-core on every main page in each role, wide tables
on a phone, and a journey done with the keyboard alone.

All checks here share one seeded site and one signed-in tab per role (`shared_site`,
`tab_as` in conftest.py). A new page is one more line in PAGES: its name (the test id),
its path (with {placeholders} from SharedSite.ids) and the roles that open it.
axe-core comes from the npm registry (tests/browser/package.json); `make test` installs it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.site import PARTICIPANTS, ROLES, SIGNED_IN

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# What fails the test; "moderate" and "minor" findings are printed on failure but allowed.
FAILING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class SitePage:
    name: str
    path: str
    roles: tuple[str, ...]
    status: int = 200


PAGES = [
    SitePage("home", "/", ROLES),
    SitePage("login", "/login", ("anonymous",)),
    SitePage("register", "/register", ("anonymous",)),
    SitePage("password reset", "/reset", ("anonymous",)),
    SitePage("participation terms", "/terms", ("anonymous", "external")),
    SitePage("challenge list", "/challenges", ROLES),
    SitePage("challenge page", "/challenges/{checkin}", ROLES),
    SitePage("challenge page in review", "/challenges/{lounge}", ("external", "manager")),
    SitePage("idea page", "/ideas/{idea}", ROLES),
    SitePage("idea history", "/ideas/{idea}/history", ("employee", "manager")),
    SitePage("new idea form", "/challenges/{green}/ideas/new", PARTICIPANTS),
    SitePage("search", "/search?q=check", ROLES),
    SitePage("ranking", "/challenges/{lounge}/ranking", ROLES),
    SitePage("ranking during voting", "/challenges/{checkin}/ranking", ("manager",)),
    SitePage("ballot", "/challenges/{checkin}/vote", PARTICIPANTS),
    SitePage("vote breakdown", "/ideas/{idea}/votes", ("manager",)),
    SitePage("raw and weighted ranks", "/challenges/{checkin}/ranking/compare", ("manager",)),
    SitePage("voting policy", "/challenges/{checkin}/voting-policy", ("manager",)),
    SitePage("new challenge form", "/challenges/new", ("manager",)),
    SitePage("challenge edit form", "/challenges/{checkin}/edit", ("manager",)),
    SitePage("moderation", "/challenges/{checkin}/moderation", ("manager",)),
    SitePage("review dashboard", "/challenges/{lounge}/review", ("manager",)),
    SitePage("review page", "/reviews/{handed}", ("manager", "owner")),
    SitePage("review page awaiting scores", "/reviews/{waiting}", ("manager",)),
    SitePage("scorecard", "/reviews/{waiting}/scorecard", ("reviewer",)),
    SitePage("scorecard sent", "/reviews/{handed}/scorecard", ("reviewer",)),
    SitePage("review queue", "/review/queue", ("reviewer",)),
    SitePage("handoffs", "/review/handoffs", ("owner",)),
    SitePage("my ideas", "/my/ideas", PARTICIPANTS),
    SitePage("vote moves", "/my/vote-moves", PARTICIPANTS),
    SitePage("account", "/account", SIGNED_IN),
    SitePage("notifications", "/notifications", SIGNED_IN),
    SitePage("profile", "/people/{employee}", ("external", "manager")),
    SitePage("admin home", "/admin/", ("admin",)),
    SitePage("admin users", "/admin/users", ("admin",)),
    SitePage("admin user", "/admin/users/{external}", ("admin",)),
    SitePage("admin import", "/admin/users/import", ("admin",)),
    SitePage("admin domains", "/admin/domains", ("admin",)),
    SitePage("admin outbox", "/admin/outbox", ("admin",)),
    SitePage("admin settings", "/admin/settings", ("admin",)),
    SitePage("admin webhooks", "/admin/webhooks", ("admin",)),
    SitePage("not found", "/no-such-page", ("anonymous", "external"), status=404),
]

CHECKS = [pytest.param(page, role, id=f"{page.name.replace(' ', '-')}-as-{role}")
          for page in PAGES for role in page.roles]


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs axe-core with npm "
                    "(npm ci --prefix tests/browser)")
    return AXE.read_text(encoding="utf-8")


def with_axe(page, axe_source: str):
    """The tab, with axe-core in every page it opens from now on (sent to the browser once)."""
    if not getattr(page.context, "has_axe", False):
        page.context.add_init_script(axe_source)
        page.context.has_axe = True
    return page


def axe_violations(page) -> list[dict]:
    return page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ['violations']});
        return results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
        }));
    }""")


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"- {v['impact']}: {v['id']} ({v['help']})\n" + "\n".join(
            f"    {n['target']}: {n['summary']}".replace("\n", " ") for n in v["nodes"])
        for v in violations)


@pytest.mark.parametrize(("site_page", "role"), CHECKS)
def test_no_serious_accessibility_violation(tab_as, shared_site, axe_source, site_page, role):
    page = with_axe(tab_as(role), axe_source)
    response = page.goto(site_page.path.format(**shared_site.ids))
    assert response.status == site_page.status, f"{site_page.path} answered {response.status} to {role}"
    violations = axe_violations(page)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"{site_page.name} as {role}:\n{describe(violations)}"
    # axe-core no longer checks it, and a label or an error message tied to a repeated id
    # names the wrong field for a screen reader.
    repeated = page.evaluate(DUPLICATE_IDS)
    assert not repeated, f"{site_page.name} as {role}: ids used twice: {repeated}"


DUPLICATE_IDS = """() => {
    const seen = new Map();
    for (const element of document.querySelectorAll('[id]')) seen.set(element.id, (seen.get(element.id) || 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}"""


def test_every_role_is_checked_and_every_page_named_once():
    assert {role for page in PAGES for role in page.roles} == set(ROLES)
    assert len({page.name for page in PAGES}) == len(PAGES)


def test_axe_finds_an_unlabelled_field_and_faint_text(tab_as, axe_source):
    """The check above can fail: the same run flags a field without its label and grey-on-white text."""
    page = with_axe(tab_as("anonymous"), axe_source)
    page.goto("/login")
    page.evaluate("""() => {
        document.querySelector('label[for=email]').remove();
        document.querySelector('h1').style.color = '#c8c8c8';
    }""")
    found = {v["id"] for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS}
    assert {"label", "color-contrast"} <= found, found


PHONE = {"width": 390, "height": 844}
# (page, path, role): the pages whose tables are wider than a phone.
WIDE_TABLES = [
    pytest.param("/challenges/{checkin}/ranking", "manager", id="ranking"),
    pytest.param("/challenges/{lounge}/review", "manager", id="review-dashboard"),
    pytest.param("/reviews/{handed}", "manager", id="review-page"),
    pytest.param("/challenges/{checkin}/ranking/compare", "manager", id="raw-and-weighted-ranks"),
]

CLIPPED = """() => {
    const width = document.documentElement.clientWidth;
    const problems = [];
    const page = document.documentElement.scrollWidth;
    if (page > width) problems.push(`the page itself scrolls sideways: ${page} px wide in ${width} px`);
    const tables = [...document.querySelectorAll('main table')];
    for (const table of tables) {
        let box = table.parentElement;
        while (box !== document.body && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) {
            box = box.parentElement;
        }
        const scroller = box === document.body ? null : box;
        const caption = table.caption ? table.caption.textContent.trim() : '(no caption)';
        for (const cell of table.querySelectorAll('th, td')) {
            const rect = cell.getBoundingClientRect();
            if (rect.width === 0 || (rect.left >= -0.5 && rect.right <= width + 0.5)) continue;
            const what = `"${caption}": cell "${cell.textContent.trim().slice(0, 30)}" spans ${rect.left}-${rect.right} px`;
            if (!scroller) { problems.push(`${what}, cut off with nothing to scroll`); continue; }
            const outer = scroller.getBoundingClientRect();
            if (outer.left < -0.5 || outer.right > width + 0.5) problems.push(`${what}, its scroll box is cut off too`);
            const end = rect.right - outer.left + scroller.scrollLeft;
            if (end > scroller.scrollWidth + 0.5) problems.push(`${what}, beyond the end of its scroll box`);
            if (scroller.tabIndex < 0) problems.push(`${what}, in a scroll box the keyboard cannot reach`);
            const label = scroller.getAttribute('aria-labelledby');
            const labelText = label && document.getElementById(label) ? document.getElementById(label).textContent.trim() : '';
            if (scroller.getAttribute('role') !== 'region' || !labelText) {
                problems.push(`${what}, in a scroll box without a region name`);
            } else if (document.getElementById(label).getBoundingClientRect().width < 2) {
                problems.push(`${what}, in a scroll box whose label "${labelText}" is not visible`);
            }
        }
    }
    return {tables: tables.length, problems: [...new Set(problems)].slice(0, 10)};
}"""


@pytest.mark.parametrize(("path", "role"), WIDE_TABLES)
def test_wide_tables_scroll_on_a_phone_and_nothing_is_cut_off(tab_as, shared_site, axe_source, path, role):
    tab_as(role)  # the desktop tab signs in; the phone tab reuses its cookies
    page = with_axe(tab_as(role, viewport=PHONE), axe_source)
    page.goto(path.format(**shared_site.ids))
    result = page.evaluate(CLIPPED)
    assert result["tables"], "no table on the page"
    assert not result["problems"], "\n".join(result["problems"])
    # At this width the scroll boxes really scroll, so axe now checks them too.
    failing = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not failing, describe(failing)
    # A keyboard user reaches the first scrolling table and moves it sideways with the arrow keys.
    scroller = page.locator(".table-wrap").filter(has=page.locator("table")).first
    if page.evaluate("el => el.scrollWidth > el.clientWidth", scroller.element_handle()):
        scroller.focus()
        page.keyboard.press("ArrowRight")
        # Chromium scrolls smoothly: the box moves over a few frames, slower on a busy machine.
        page.wait_for_function("el => el.scrollLeft > 0", arg=scroller.element_handle(), timeout=10_000)


# What the focused element is called, the way a screen reader would announce it (roughly).
FOCUSED_NAME = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return '';
    const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
    return (el.getAttribute('aria-label') || label || el.textContent || el.value || '').replace(/\\s+/g, ' ').trim();
}"""


def tab_to(page, name: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element is called `name` (exactly, or starting with it)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_NAME)
        if focused == name or focused.startswith(name):
            visible = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert visible != "none", f"{name!r} has focus but no visible focus ring"
            return
        seen.append(focused)
    raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")


def press_and_load(page, name: str, key: str = "Enter") -> None:
    """Tab to a link or button and press `key` on it; wait for the page it opens."""
    tab_to(page, name)
    with page.expect_navigation():
        page.keyboard.press(key)


def test_keyboard_only_sign_in_submit_an_idea_and_vote(browser, shared_site):
    """Tab, Enter, Space and typing only: no click, no goto after the home page."""
    from tests.conftest import PASSWORD

    person = shared_site.users["external"]
    context = browser.new_context(base_url=shared_site.url)
    try:
        page = context.new_page()
        page.goto("/")
        keys = page.keyboard
        press_and_load(page, "Sign in")
        tab_to(page, "E-mail")
        keys.type(person.email)
        tab_to(page, "Password")
        keys.type(PASSWORD)
        press_and_load(page, "Sign in")
        page.get_by_role("navigation", name="Main").get_by_role("link", name=person.name).wait_for()

        # Submit an idea to the challenge open for submissions.
        press_and_load(page, "Challenges")
        press_and_load(page, "Greener ground operations")
        press_and_load(page, "Submit an idea")
        tab_to(page, "Title")
        keys.type("Solar canopies over the staff car park")
        tab_to(page, "Summary")
        keys.type("Shade for the cars and power for the baggage tractors.")
        tab_to(page, "Description")
        keys.type("The car park faces south; canopies would charge the electric tractors by day.")
        if page.locator("input[name=accept_terms]").count():
            tab_to(page, "I accept")
            keys.press("Space")
        press_and_load(page, "Publish")
        page.get_by_text("Your idea is published.").wait_for()
        assert page.get_by_role("heading", level=1).inner_text() == "Solar canopies over the staff car park"

        # Vote, with a reason, on someone else's idea in the challenge now voting.
        press_and_load(page, "Challenges")
        press_and_load(page, "How could we halve check-in time?")
        press_and_load(page, "Self-service bag drop")
        tab_to(page, "Why do you support it")
        keys.type("Kiosks already work at other airports; it frees the desks for the hard cases.")
        press_and_load(page, "Support this idea", "Space")
        page.get_by_text("Your vote is counted with weight").wait_for()
        assert page.get_by_text("Your vote counts").is_visible()
    finally:
        context.close()
