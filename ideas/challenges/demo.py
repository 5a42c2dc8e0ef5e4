"""Demo challenges for `make run`: every phase and pool mode, with ideas, comments and votes.

Votes are cast through the live weighting code at their own (past) times, after a
recorded view for the engaged voters, so the rankings and explanations in the demo
are what the site would really show."""
from __future__ import annotations

import random
from datetime import timedelta

from ideas import clock, events
from ideas.accounts import services as accounts
from ideas.accounts.models import User
from ideas.challenges import services
from ideas.challenges.models import Comment, Idea
from ideas.challenges.services import CriterionInput
from ideas.extensions import db

CROWD = [
    ("Aiko Tanaka", "employee"), ("Ben Ortiz", "employee"), ("Chloe Martin", "employee"),
    ("Dev Patel", "employee"), ("Elena Rossi", "employee"), ("Farid Haddad", "employee"),
    ("Grace Kim", "external"), ("Hugo Silva", "external"), ("Ines Weber", "external"),
    ("Jonas Berg", "external"), ("Kira Novak", "external"), ("Liam Byrne", "external"),
]

CHECKIN_IDEAS = [
    ("Self-service bag drop", "Travellers tag and drop their own bags at kiosks, as many airports already do.",
     "Kiosks print the tag, weigh the bag and take it on a belt. Staff help only when a kiosk flags a problem.",
     "kiosk, baggage"),
    ("Check in from the taxi", "Send a check-in link by SMS when the booking's pick-up time nears.",
     "Most travellers have a phone in hand on the way. A link that opens a one-screen check-in removes the queue.",
     "mobile, sms"),
    ("One queue, many desks", "Replace per-desk queues with a single snake queue.",
     "A single queue evens out waiting times and stops people from choosing the slow line.", "queues"),
    ("Family lane", "A desk for families with children and lots of luggage.",
     "Families take longer at the desk; a separate lane keeps everyone else moving.", "queues, families"),
    ("Document pre-check online", "Check passports and visas when checking in online, not at the desk.",
     "Most of the time at the desk goes into documents. Scanning them in the app before arrival saves it.",
     "mobile, documents"),
]

REASONS = [
    "This removes the single slowest step at the desk, and the kiosks already exist at other airports, so the "
    "risk is low and the saving shows up on the first busy morning.",
    "I travel every week and the queue is always at the desk, not at security; anything that moves work out of "
    "the desk before I arrive helps travellers like me the most.",
    "Cheap to try in one terminal for a month, and easy to measure: time from entering the hall to leaving "
    "the desk, before and after, on comparable days.",
]


def add_crowd(context) -> None:
    """A dozen established participants in both pools (they sign in after a password reset)."""
    joined = clock.now() - timedelta(days=120)
    crowd = []
    for name, pool in CROWD:
        first = name.split()[0].lower()
        email = f"{first}@staff.example" if pool == "employee" else f"{first}@customers.example"
        user = User(name=name, email=email, password_hash=None, email_verified_at=joined,
                    terms_accepted_at=joined, created_at=joined)
        db.session.add(user)
        db.session.flush()
        accounts.refresh_pool(user)
        crowd.append(user)
    context.made["crowd"] = crowd


def add_challenges(context) -> None:
    manager = context.users["manager"]
    now = clock.now()
    rng = random.Random(7)
    day = timedelta(days=1)

    checkin = services.create_challenge(
        manager, title="How could we halve check-in time?", pool_mode="blended",
        brief="Check-in takes **23 minutes** on a busy morning. We want ideas that halve it "
              "without hiring more desk staff.",
        goal="Median time from entering the hall to leaving the desk under 12 minutes.",
        scope_in="Check-in hall, desks, kiosks, apps and messages before arrival.",
        scope_out="Security screening and boarding.",
        rules="Be kind, build on each other's ideas, and flag anything that breaks the rules.",
        prize="The three best ideas are tried in Terminal 2, and their authors join the pilot team.",
        terms="Ideas you submit may be used by the company; you are credited as their author.",
        tags="check-in, airport", opens_at=now - 20 * day, voting_at=now - 5 * day, review_at=now + 9 * day,
        closes_at=now + 30 * day, pool_weight_employee=0.5, pool_weight_external=0.5,
        criteria=[CriterionInput("impact", "How much time it saves", 2),
                  CriterionInput("feasibility", "How easily we could try it", 1)],
    )
    services.publish(checkin, manager)
    authors = [context.users["employee"], context.users["external"], *context.made["crowd"][:3]]
    ideas: list[Idea] = []
    for author, (title, summary, body, tags) in zip(authors, CHECKIN_IDEAS, strict=True):
        services.accept_challenge_terms(author, checkin)
        idea = Idea(challenge=checkin, author=author, pool=author.pool, title=title, summary=summary, body=body,
                    status="published", published_at=now - rng.randint(6, 14) * day,
                    created_at=now - 15 * day, updated_at=now - 15 * day, word_count=len(f"{title} {summary} {body}".split()))
        db.session.add(idea)
        db.session.flush()
        services._set_tags(idea, tags)
        services._record_revision(idea, author, "first version")
        events.emit("idea.changed", {"idea": idea})
        ideas.append(idea)
    db.session.add(Comment(idea_id=ideas[0].id, author_id=context.users["reviewer"].id,
                           body="Which airports run this today? Their numbers would help the review.",
                           created_at=now - 4 * day))
    db.session.add(Comment(idea_id=ideas[0].id, author_id=ideas[0].author_id,
                           body="Amsterdam and Helsinki; both report shorter queues at peak.", created_at=now - 3 * day))
    ideas[0].comment_count = 2
    # The votes on these ideas are voting's step, next (ideas/voting/demo.py).
    context.made["voting_ideas"] = (checkin, ideas, now)

    green = services.create_challenge(
        manager, title="Greener ground operations", pool_mode="separate", cross_visibility=False,
        brief="Our vehicles and buildings on the ground burn fuel all day. Employees and customers each "
              "rank ideas in their own pool.", tags="sustainability",
        opens_at=now - 2 * day, voting_at=now + 12 * day, review_at=now + 20 * day, closes_at=now + 40 * day,
    )
    services.publish(green, manager)
    services.submit_idea(green, context.users["employee"], title="Electric baggage tractors",
                         summary="Replace diesel tractors as they come up for renewal.",
                         body="Charging points fit in the existing depot.", tags="vehicles")

    tooling = services.create_challenge(
        manager, title="Staff tooling wish list", pool_mode="employees_only",
        brief="What slows you down at work? Only employees take part.", tags="tools",
        opens_at=now - 40 * day, voting_at=now - 25 * day, review_at=now - 2 * day, closes_at=now + 20 * day,
    )
    services.publish(tooling, manager)

    services.create_challenge(
        manager, title="Next year's loyalty programme", pool_mode="externals_only",
        brief="A draft: only its managers see it until it is published.",
        opens_at=now + 10 * day, voting_at=now + 30 * day, review_at=now + 45 * day, closes_at=now + 60 * day,
    )
    db.session.flush()
    context.made["challenges"] = [checkin, green, tooling]
    context.notes.append("Challenges: one in voting (blended), one in submission (separate pools), one in review "
                         "(employees only) and an unpublished draft (externals only).")
