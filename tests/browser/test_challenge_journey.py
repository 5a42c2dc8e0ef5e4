"""Journeys of the challenges and voting issues in a real browser.

1. A manager publishes a challenge; an external participant registers, accepts the
   challenge's terms, is shown a similar idea while writing, submits, and a comment
   on the idea notifies them.
2. A voter reads an idea, votes with a reason and sees the weight explained.
"""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from ideas import clock
from ideas.challenges import services as challenges
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import PASSWORD

REASON = ("I travel every week and the queue is always at the desk; moving document checks into the app before "
          "arrival removes the slowest step for most people.")


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()


def test_manager_publishes_external_submits_after_a_similar_idea_and_hears_of_a_comment(
        live_server, page, make_user):
    manager = make_user(roles=("manager",), email="mani@staff.example")
    colleague = make_user(email="colleague@staff.example")
    db.session.commit()

    # The manager writes and publishes a challenge.
    sign_in(page, manager.email)
    page.goto("/challenges/new")
    page.get_by_label("Title").fill("How could we halve check-in time?")
    page.get_by_label("Brief").fill("Queues at the desk are long.")
    page.get_by_label("Challenge terms").fill("Ideas may be used by the company; authors are credited.")
    page.get_by_label("Who takes part").select_option("blended")
    now = clock.now()
    for label, days in (("Submission opens", -1), ("Voting opens", 5), ("Review starts (voting ends)", 10),
                        ("Challenge closes", 20)):
        page.get_by_label(label).fill((now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("saved as a draft")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The challenge is published")).to_be_visible()
    challenge = db.session.scalars(select(Challenge)).one()
    # An idea already exists that the external participant's will resemble.
    idea_in(challenge, colleague, title="Self-service check-in kiosks",
            summary="Kiosks let travellers check in and print bag tags without queuing at a desk.")
    sign_out(page)

    # An external participant registers and confirms the address.
    page.goto("/register")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@outside.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I accept the participation terms").check()
    page.get_by_role("button", name="Register").click()
    page.goto(live_server.mail_link("grace@outside.example", "/verify/"))

    # Writing an idea: the site shows the similar one first.
    page.goto(f"/challenges/{challenge.id}")
    page.get_by_role("link", name="Submit an idea").click()
    page.get_by_label("Title", exact=True).fill("Check-in kiosks for travellers")
    page.get_by_label("Summary").fill("Kiosks so travellers check in and print bag tags without a desk queue.")
    page.get_by_role("button", name="Check for similar ideas").click()
    similar = page.locator("#similar-ideas")
    expect(similar.get_by_role("link", name="Self-service check-in kiosks")).to_be_visible()
    # Nothing typed is lost; the external accepts the challenge's terms and submits.
    expect(page.get_by_label("Title", exact=True)).to_have_value("Check-in kiosks for travellers")
    page.get_by_label("Description").fill("At the entrance of each hall.")
    page.get_by_label("I accept this challenge's terms").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Your idea is published")).to_be_visible()
    mine = db.session.scalars(select(Idea).where(Idea.title == "Check-in kiosks for travellers")).one()
    assert mine.pool == "external"
    sign_out(page)

    # A colleague comments; the author is notified.
    sign_in(page, colleague.email)
    page.goto(f"/ideas/{mine.id}")
    page.get_by_label("Add a comment").fill("Could the kiosks also take payment for extra bags?")
    page.get_by_role("button", name="Post the comment").click()
    expect(page.get_by_role("paragraph").filter(has_text="Could the kiosks also take payment")).to_be_visible()
    sign_out(page)

    sign_in(page, "grace@outside.example")
    header = page.get_by_role("navigation", name="Main")
    expect(header.get_by_role("link", name="Notifications")).to_contain_text("1")
    header.get_by_role("link", name="Notifications").click()
    expect(page.get_by_text("Check-in kiosks for travellers").first).to_be_visible()


def test_voter_reads_votes_with_a_reason_and_sees_the_weight_explained(live_server, page, make_user):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, criteria=[challenges.CriterionInput("impact", weight=2),
                                                  challenges.CriterionInput("feasibility")])
    idea = idea_in(challenge, make_user(), title="Document pre-check online",
                   summary="Check passports in the app before arrival.")
    challenges.change_phase(challenge, manager, "voting", "Enough ideas to vote on")
    voter = make_user(email="voter@staff.example", created_at=clock.now() - timedelta(days=60))
    db.session.commit()

    sign_in(page, voter.email)
    page.goto(f"/challenges/{challenge.id}")
    page.get_by_role("link", name="Vote", exact=True).click()
    page.get_by_role("link", name="Document pre-check online").click()
    expect(page.get_by_text("Counts are shown once you have voted")).to_be_visible()
    # Reading takes time: the server measures it from the view to the vote.
    clock.set_now(clock.now() + timedelta(minutes=2))
    page.get_by_label("Why do you support it?").fill(REASON)
    page.get_by_role("button", name="Support this idea").click()
    expect(page.get_by_text("Your vote is counted with weight")).to_be_visible()
    explanation = page.locator(".explanation")
    expect(explanation).to_contain_text("Your vote counts")
    expect(explanation).to_contain_text("What would raise it")
    expect(explanation).to_contain_text("rate the idea on all of the challenge's criteria: this vote would count ×")
    expect(page.get_by_text("Support so far")).to_be_visible()
