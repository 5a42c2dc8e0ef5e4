"""Shortlist to delivered in a real browser, without JavaScript doing any of the work:
the manager shortlists and sends to review, two reviewers score, the manager accepts and
hands off, the owner acknowledges, reports progress and closes as delivered.  After each
step the external author opens their idea and sees where it is, and never the staff's
internal note or the reviewers' scores."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ideas.accounts.services import update_profile
from ideas.challenges import services as challenges
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import PASSWORD

TITLE = "Self-service kiosks"
INTERNAL = "Internal: the kiosk vendor is also bidding on the gates"


@pytest.fixture
def cast(make_user):
    manager = make_user(roles=("manager",), name="Mona Manager")
    author = make_user(pool="external", name="Ext Author")
    reviewers = [make_user(roles=("reviewer",), name=name) for name in ("Rita Reviewer", "Ray Reviewer")]
    owner = make_user(roles=("owner",), name="Olga Owner")
    update_profile(owner, name=owner.name, bio="", expertise="kiosks")
    challenge = open_challenge(manager, phase="submission", reviewers_per_idea=2,
                               criteria=[challenges.CriterionInput("impact", weight=3),
                                         challenges.CriterionInput("feasibility")])
    idea = idea_in(challenge, author, title=TITLE, tags="kiosks")
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    return {"manager": manager, "author": author, "reviewers": reviewers, "owner": owner,
            "challenge": challenge, "idea": idea}


def sign_in(page: Page, person) -> None:
    header = page.get_by_role("navigation", name="Main")
    page.goto("/")
    sign_out = header.get_by_role("button", name="Sign out")
    if sign_out.count():
        sign_out.click()
    page.goto("/login")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(header.get_by_role("link", name=person.name)).to_be_visible()


def author_sees(page: Page, cast, *expected: str) -> None:
    """The author opens their idea: every step so far is there, and no secret is."""
    sign_in(page, cast["author"])
    page.goto(f"/ideas/{cast['idea'].id}")
    panel = page.locator("#review")
    for text in expected:
        expect(panel).to_contain_text(text)
    body = page.content()
    for secret in (INTERNAL, "Rita Reviewer", "Ray Reviewer", "Works at two airports already"):
        assert secret not in body, secret


def score(page: Page, cast, reviewer, impact: str, feasibility: str) -> None:
    sign_in(page, reviewer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("group", name=re.compile("^impact")).get_by_label(impact, exact=True).check()
    page.get_by_label("Why, for impact").fill("Works at two airports already")
    page.get_by_role("group", name=re.compile("^feasibility")).get_by_label(feasibility, exact=True).check()
    page.get_by_label("Why, for feasibility").fill("Needs new counters")
    page.get_by_role("button", name="Send my scorecard").click()
    expect(page.get_by_text("Your scorecard is sent")).to_be_visible()


# The longest journey of the suite (six people, every review step) takes close to the
# default 120 s when both backends run side by side on two busy cores.
@pytest.mark.timeout(300)
def test_from_shortlist_to_delivered_the_author_sees_each_step(live_server, page, cast):
    manager, owner = cast["manager"], cast["owner"]

    # The manager shortlists from the challenge page's review dashboard and sends to review.
    sign_in(page, manager)
    page.goto(f"/challenges/{cast['challenge'].id}")
    page.get_by_role("link", name="Review dashboard").click()
    expect(page.get_by_text("0 of 10 review places used")).to_be_visible()
    page.get_by_label(f"Shortlist {TITLE}").check()
    expect(page.get_by_label("Send them to review now")).to_be_checked()
    page.get_by_role("button", name="Shortlist the ticked ideas").click()
    expect(page.get_by_text("1 idea shortlisted; the authors are told. Review has started.")).to_be_visible()
    author_sees(page, cast, "Shortlisted for review", "In review")

    # Two reviewers, chosen automatically, score on the criteria.
    score(page, cast, cast["reviewers"][0], "5", "3")
    score(page, cast, cast["reviewers"][1], "4", "2")

    # The manager reads the scores and accepts, with a reason and an internal note.
    sign_in(page, manager)
    page.goto(f"/challenges/{cast['challenge'].id}/review")
    page.locator("#reviews").get_by_role("link", name=TITLE).click()
    expect(page.locator("#scores")).to_contain_text("Disagreement")
    expect(page.locator("#scores")).to_contain_text("Rita Reviewer")
    page.get_by_label("Accept").check()
    page.get_by_label("Reason").fill("It halves the queue at peak hours")
    page.get_by_label("Internal note (optional)").fill(INTERNAL)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decided: accepted.")).to_be_visible()
    author_sees(page, cast, "Accepted", "It halves the queue at peak hours")

    # … and hands it to the R&D owner the site suggests.
    sign_in(page, manager)
    page.goto(f"/challenges/{cast['challenge'].id}/review")
    page.locator("#reviews").get_by_role("link", name=TITLE).click()
    expect(page.get_by_label("R&D owner", exact=True)).to_contain_text("Olga Owner")
    page.get_by_role("button", name="Hand off").click()
    expect(page.get_by_text("Handed to Olga Owner")).to_be_visible()
    author_sees(page, cast, "Handed to an R&D owner")

    # The owner acknowledges from their queue.
    sign_in(page, owner)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My handoffs").click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged: the idea is yours")).to_be_visible()
    author_sees(page, cast, "Taken on by an R&D owner", "Olga Owner")

    # … reports progress, and closes it as delivered.
    sign_in(page, owner)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My handoffs").click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("Progress update").fill("A first kiosk is live at gate 4")
    page.get_by_role("button", name="Post the update").click()
    expect(page.get_by_text("Posted.")).to_be_visible()
    author_sees(page, cast, "In progress", "A first kiosk is live at gate 4")

    sign_in(page, owner)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My handoffs").click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("Delivered").check()
    page.get_by_label("What happened").fill("Twelve kiosks in terminal 2")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_text("Closed as delivered")).to_be_visible()
    author_sees(page, cast, "Delivered", "Twelve kiosks in terminal 2")

    # Every step is on the author's timeline, each with its date, and on "My ideas".
    steps = page.locator("#review .review-step")
    expect(steps).to_have_count(8)  # 7 steps and one progress update
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My ideas").click()
    expect(page.get_by_role("row", name=re.compile(TITLE))).to_contain_text("Delivered")
