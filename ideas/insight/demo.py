"""Demo content that walks ideas the whole path, so dashboards, results and track
records show something true on the first `make run`.

* The challenge in review ("Staff tooling wish list") gets employees' ideas and
  votes, a shortlist with enough reviewers (three more employees take the reviewer
  role), scorecards, decisions, handoffs: one acknowledged and in progress, one
  overdue and escalated, one delivered.
* A closed challenge ("Faster baggage reclaim", blended) with its results: rankings
  per pool, decisions with their reasons, an idea delivered and one in progress.

Everything goes through the review services at its own past time, as a manager,
reviewers and an owner would have done it.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from ideas import clock, events
from ideas.accounts import services as accounts
from ideas.accounts.models import Role
from ideas.challenges import services as challenges
from ideas.challenges.models import Criterion, Idea, PhaseEvent
from ideas.extensions import db
from ideas.review import services as review
from ideas.review.services import Rating
from ideas.voting import services as voting

DAY = timedelta(days=1)

TOOLING_IDEAS = [
    ("One login for every rota tool", "Sign in once for the rota, the time sheet and the swap board.",
     "Three passwords for three tools that all come from the same vendor. Single sign-on removes the daily "
     "lock-outs at shift change.", "accounts"),
    ("Handheld scanners that survive the cold", "Replace the scanners that die on the apron in winter.",
     "Below zero the batteries last an hour. Ruggedised models exist and cost less than the lost hours.",
     "hardware"),
    ("Shared glossary for incident reports", "One list of terms so reports mean the same thing.",
     "Reports say 'delay', 'hold' and 'stop' for the same event, which makes the monthly numbers useless.",
     "reporting"),
    ("Offline mode for the baggage app", "Keep working when the Wi-Fi drops in the hold.",
     "The app loses the scan queue when the network drops; caching it on the device would save re-scans.",
     "mobile"),
    ("Printer jams reported from the desk", "A button at each desk that reports a printer jam.",
     "Jams are reported by phone and often forgotten; a button files the ticket with the printer's name.",
     "hardware"),
    ("Fewer mandatory e-learning modules", "Merge the five safety modules into one.",
     "The same content is repeated in five modules of an hour each.", "training"),
]

BAGGAGE_IDEAS = [
    ("Text when your bag is on the belt", "Send an SMS when the bag is scanned onto the reclaim belt.",
     "Travellers wait at the belt not knowing whether their bag made the flight; the scan already exists.",
     "employee", "mobile"),
    ("Priority tags that work", "Unload priority bags first, for real.",
     "Priority bags are loaded first and so come out last; loading them last fixes it for free.",
     "external", "baggage"),
    ("Belt number on the arrival screens", "Show the belt on the gate screens before landing.",
     "People walk to the wrong hall; the belt is known when the aircraft is on approach.", "external", "screens"),
    ("Robot carts for heavy bags", "Self-driving carts that follow you from the belt.",
     "Carts are always at the wrong end of the hall.", "employee", "robots"),
]

# What the managers and owners said of each idea they decided or delivered: each in its
# own words, as a real review would be (the results page and track records show them).
DECISION_REASONS = {
    "One login for every rota tool": "All three reviewers put it first on impact; the vendor already offers single "
                                     "sign-on, so it costs a configuration change.",
    "Handheld scanners that survive the cold": "Scanners failing on the apron stop loading twice a week in winter; "
                                               "cold-rated models cost little more.",
    "Offline mode for the baggage app": "Re-scans after a Wi-Fi drop cost about ten minutes a flight; the reviewers "
                                        "found it feasible within the app's next release.",
    "Text when your bag is on the belt": "The belt scan already exists, so the message is cheap; travellers asked "
                                         "for it more than for anything else.",
    "Priority tags that work": "Loading priority bags last costs nothing and keeps a promise we already sell.",
    "Shared glossary for incident reports": "The vendor's next release does this already; we will tell you when it "
                                            "lands.",
    "Belt number on the arrival screens": "Worth doing, but not before the new terminal's screens are installed; "
                                          "we will look again then.",
    "Robot carts for heavy bags": "Travellers liked it most, but self-driving carts in a crowded hall need a safety "
                                  "case we cannot make this year; more carts at the belt end come first.",
}
DELIVERIES = {
    "One login for every rota tool": "Rolled out to every team; the daily lock-outs at shift change are gone.",
    "Text when your bag is on the belt": "Live on every arrival belt; travellers now get a text when their bag is "
                                         "scanned onto the belt.",
}

REASONS = [
    "I hit this every single shift, and the fix is small compared with the time it wastes across the whole team; "
    "it would pay for itself within a month.",
    "We already tried a workaround last winter and it helped a little, so a proper fix would help much more; "
    "easy to measure before and after.",
    "This is the one change my colleagues at the desk ask for most often, and nothing else on the list comes close "
    "to how often it hurts.",
]


def _scorecard(challenge, rng: random.Random) -> dict[int, Rating]:
    return {c.id: Rating(rng.randint(3, 5), f"{c.name.capitalize()}: I have seen this work at another airport.")
            for c in challenge.criteria}


def _move_dates_back(challenge, days: int) -> None:
    """Shift the challenge's dates and phase log `days` earlier, so its review has had
    time to run its course (the phases stay as they are)."""
    shift = timedelta(days=days)
    for name in ("opens_at", "submission_ends_at", "voting_at", "review_at"):
        value = getattr(challenge, name)
        if value is not None:
            setattr(challenge, name, value - shift)
    for event in db.session.scalars(select(PhaseEvent).where(PhaseEvent.challenge_id == challenge.id)):
        event.at = clock.as_utc(event.at) - shift
    db.session.flush()


def _publish_ideas(challenge, authors_and_ideas, when) -> list[Idea]:
    made = []
    for author, title, summary, body, tags in authors_and_ideas:
        challenges.accept_challenge_terms(author, challenge)
        idea = Idea(challenge=challenge, author=author, pool=author.pool, title=title, summary=summary, body=body,
                    status="published", published_at=when, created_at=when, updated_at=when,
                    word_count=len(f"{title} {summary} {body}".split()))
        db.session.add(idea)
        db.session.flush()
        challenges._set_tags(idea, tags)
        challenges._record_revision(idea, author, "first version")
        events.emit("idea.changed", {"idea": idea})
        made.append(idea)
        when += timedelta(hours=7)
    return made


def _vote(challenge, ideas, voters, start, rng: random.Random, per_voter: int = 3) -> None:
    for position, voter in enumerate(voters):
        for idea in rng.sample(ideas, min(per_voter, len(ideas))):
            if voter.id == idea.author_id:
                continue
            moment = start + timedelta(hours=position * 5 + rng.randint(0, 3))
            if voter.created_at and clock.as_utc(voter.created_at) > moment - timedelta(days=1):
                continue  # nobody votes before they joined (nor on their first minutes' click)
            engaged = position % 4 != 3
            if engaged:
                voting.record_view(idea, voter, now=moment - timedelta(minutes=2))
            ratings = {c.id: rng.randint(3, 5) for c in challenge.criteria} if engaged and position % 2 else {}
            voting.record_vote(idea, voter, voting.Ballot(reason=rng.choice(REASONS) if engaged else "",
                                                          ratings=ratings), network=None, now=moment)
    voting.rebuild_scores(challenge)


def _walk(challenge, manager, reviewers, owner, ideas, start, rng, plan) -> None:
    """Take each idea along its path at its own times.  `plan`: idea title → final step."""
    reviews = {r.idea.title: r for r in review.shortlist_ideas(challenge, manager, [i.id for i in ideas], now=start)}
    for title, end in plan.items():
        r = reviews[title]
        t = start + DAY
        review.start_review(r, manager, now=t)
        review.assign_reviewers(r, manager, [p.id for p in reviewers[:challenge.reviewers_per_idea]], now=t)
        if end == "in_review":
            # One reviewer has sent a scorecard, the others are still on it.
            review.submit_scorecard(r, reviewers[0], _scorecard(challenge, rng), now=t + 2 * DAY)
            continue
        for i, person in enumerate(reviewers[:challenge.reviewers_per_idea]):
            review.submit_scorecard(r, person, _scorecard(challenge, rng), now=t + (2 + i) * DAY)
        t += 5 * DAY
        if end in ("declined", "parked"):
            review.decide(r, manager, end, DECISION_REASONS[title], note="Budget for this year is committed.", now=t)
            continue
        review.decide(r, manager, "accepted", DECISION_REASONS[title], note="Pilot budget from the operations line.",
                      now=t)
        t += DAY
        review.hand_off(r, manager, owner, now=t)
        if end == "overdue":
            continue
        t += 2 * DAY
        review.acknowledge(r, owner, now=t)
        t += 2 * DAY
        review.post_progress(r, owner, "A first version is running with one team; feedback so far is good.", now=t)
        if end == "delivered":
            review.close(r, owner, "delivered", DELIVERIES[title], now=t + 4 * DAY)


def add_review_path(context) -> None:
    """The challenge in review, walked from ideas to delivery (see the module's docstring)."""
    now = clock.now()
    rng = random.Random(12)
    tooling = next(c for c in context.made["challenges"] if c.title == "Staff tooling wish list")
    _move_dates_back(tooling, 18)  # review began 20 days ago
    crowd = context.made["crowd"]
    employees = [p for p in crowd if p.pool == "employee"]
    # Enough reviewers for three per idea, none of them an author.
    reviewers = [context.users["reviewer"], *employees[4:6]]
    for person in reviewers[1:]:
        accounts.set_roles(person, (*person.roles, Role.REVIEWER))
    tooling.reviewers_per_idea = 3
    tooling.review_capacity = 6
    tooling.criteria  # noqa: B018 - load them now; the challenge was made without any
    if not tooling.criteria:
        tooling.criteria.extend([Criterion(name="impact", description="Time it saves every week", weight=2,
                                           position=0),
                                 Criterion(name="effort", description="How easily we could do it", weight=1,
                                           position=1)])
        db.session.flush()
    authors = [context.users["employee"], *employees[:4], context.users["employee"]]
    ideas = _publish_ideas(tooling, [(a, *idea) for a, idea in zip(authors, TOOLING_IDEAS, strict=True)],
                           now - 55 * DAY)
    # Reviewers do not vote: a vote on an idea is a conflict of interest in its review.
    voters = [context.users["owner"], *employees[:4], context.users["employee"], context.users["manager"]]
    _vote(tooling, ideas, voters, now - 42 * DAY, rng)
    plan = {"One login for every rota tool": "delivered",
            "Handheld scanners that survive the cold": "overdue",
            "Offline mode for the baggage app": "in_progress",
            "Shared glossary for incident reports": "declined",
            "Printer jams reported from the desk": "in_review"}
    shortlisted = [i for i in ideas if i.title in plan]
    _walk(tooling, context.users["manager"], reviewers, context.users["owner"], shortlisted, now - 19 * DAY, rng, plan)
    # The overdue handoff was handed 12 days ago: its owner was reminded, then the managers told.
    review.run_deadlines(now)
    db.session.flush()
    context.notes.append("The challenge in review walks ideas the whole path: shortlisted with three reviewers, "
                         "scored, decided, handed off (one delivered, one overdue and escalated).")


def add_closed_challenge(context) -> None:
    """A blended challenge that closed last month, with its results."""
    now = clock.now()
    rng = random.Random(5)
    manager = context.users["manager"]
    crowd = context.made["crowd"]
    baggage = challenges.create_challenge(
        manager, title="Faster baggage reclaim", pool_mode="blended",
        brief="Bags take **35 minutes** to reach the belt at peak. How could we get them there faster?",
        goal="The last bag on the belt within 20 minutes of arrival.",
        prize="The best idea's author visits the baggage hall and meets the team that built it.",
        tags="baggage, airport", opens_at=now - 90 * DAY, voting_at=now - 70 * DAY, review_at=now - 55 * DAY,
        closes_at=now - 20 * DAY, pool_weight_employee=0.5, pool_weight_external=0.5,
        criteria=[challenges.CriterionInput("impact", "Minutes saved at peak", 2)],
    )
    baggage.reviewers_per_idea = 2
    challenges.publish(baggage, manager)
    people = {"employee": [p for p in crowd if p.pool == "employee"],
              "external": [p for p in crowd if p.pool == "external"]}
    authors = [people[pool][i] for i, (*_, pool, _tags) in enumerate(BAGGAGE_IDEAS)]
    ideas = _publish_ideas(baggage, [(a, t, s, b, tags) for a, (t, s, b, _pool, tags)
                                     in zip(authors, BAGGAGE_IDEAS, strict=True)], now - 85 * DAY)
    _vote(baggage, ideas, [*people["employee"][:4], *people["external"], context.users["external"]], now - 68 * DAY,
          rng, per_voter=2)
    plan = {"Text when your bag is on the belt": "delivered", "Priority tags that work": "in_progress",
            "Belt number on the arrival screens": "parked", "Robot carts for heavy bags": "declined"}
    _walk(baggage, manager, [context.users["reviewer"], *people["employee"][4:6]], context.users["owner"],
          [i for i in ideas if i.title in plan], now - 54 * DAY, rng, plan)
    db.session.flush()
    context.made.setdefault("challenges", []).append(baggage)
    context.notes.append("A closed challenge (blended) publishes its results: rankings, decisions and deliveries.")
