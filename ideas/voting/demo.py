"""The demo's voters: realistic people, so the demo's weights are the ones a real
challenge would show.

Accounts have ages and histories (from a few hours to years, with or without
ideas and comments), votes come from distinct networks (two colleagues share
their office's), and votes differ as people do: some read, reason about the idea
and rate it, some only read, some click. Every vote is cast through the live
weighting at its own time, so the explanations and the advice in the demo are
exactly what the site would say; a voter who follows the advice ("add a reason")
sees the weight rise as promised.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from ideas.challenges.models import Comment, Idea
from ideas.extensions import db
from ideas.voting import services as voting

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoVoter:
    """How long a person has been on the site, what they did lately, and how they vote."""

    name: str
    age: timedelta  # account age when the challenge's voting opened (negative: joined after)
    comments: int  # substantive comments in the last 90 days
    style: str  # engaged (read, reason, rate), reasoned (read, reason), read, click, praise
    network: str  # where they vote from; colleagues at the office share one


# Keyed by the crowd's names (ideas.challenges.demo.CROWD) and the demo accounts' keys.
VOTERS = {
    "reviewer": DemoVoter("Rei Reviewer", 4 * 365 * DAY, 3, "engaged", "office-hq"),
    "owner": DemoVoter("Oskar Owner", 2 * 365 * DAY, 1, "reasoned", "office-hq"),
    "Aiko Tanaka": DemoVoter("Aiko Tanaka", 3 * 365 * DAY, 2, "engaged", "home-aiko"),
    "Ben Ortiz": DemoVoter("Ben Ortiz", 700 * DAY, 0, "read", "home-ben"),
    "Chloe Martin": DemoVoter("Chloe Martin", 400 * DAY, 1, "reasoned", "mobile-chloe"),
    "Dev Patel": DemoVoter("Dev Patel", 35 * DAY, 0, "click", "home-dev"),
    "Elena Rossi": DemoVoter("Elena Rossi", 9 * DAY, 0, "engaged", "home-elena"),  # a new hire
    "Farid Haddad": DemoVoter("Farid Haddad", 2 * DAY, 0, "reasoned", "home-farid"),  # started this week
    "Grace Kim": DemoVoter("Grace Kim", 365 * DAY, 2, "engaged", "home-grace"),
    "Hugo Silva": DemoVoter("Hugo Silva", 200 * DAY, 0, "praise", "mobile-hugo"),
    "Ines Weber": DemoVoter("Ines Weber", 20 * DAY, 1, "reasoned", "campus-ines"),
    "Jonas Berg": DemoVoter("Jonas Berg", 4 * DAY, 0, "engaged", "home-jonas"),  # registered for this challenge
    "Kira Novak": DemoVoter("Kira Novak", 90 * DAY, 0, "read", "home-kira"),
    # Joined four days into voting, and clicked within the hour.
    "Liam Byrne": DemoVoter("Liam Byrne", -4 * DAY, 0, "click", "mobile-liam"),
}
# The accounts people sign in with have histories too: the manager and the two
# participants have been here for years, so their votes are not "new".
ACCOUNT_AGES = {"admin": 5 * 365 * DAY, "manager": 3 * 365 * DAY, "reviewer": 4 * 365 * DAY,
                "owner": 2 * 365 * DAY, "employee": 600 * DAY, "external": 450 * DAY}

# Reasons of their own, about each check-in idea (by its title): everyone words theirs.
REASONS = {
    "Self-service bag drop": [
        "Bag drop kiosks take the travellers who only drop a bag out of the desk queue, the longest wait at peak.",
        "The kiosks already run at other airports, so a pilot at one belt is cheap and the saving shows at once.",
        "Most of my desk time goes into tagging bags; a kiosk that prints the tag and weighs the bag frees me.",
        "I drop one bag every trip and hate queueing behind full check-ins for it; a kiosk would take a minute.",
        "Staff only step in when a kiosk flags a problem, so the same team serves far more travellers per hour.",
        "Weighing at a self-service belt ends the arguments about overweight bags at the desk, which slow everyone.",
    ],
    "Check in from the taxi": [
        "A link by SMS on the way to the airport means most travellers arrive already checked in, with no queue.",
        "Travellers have their phone in hand in the taxi; one screen to check in there beats any desk.",
        "The pick-up time in the booking tells us exactly when to send the link, so nobody gets it too early.",
        "Half the people at my desk only needed a boarding pass; the taxi link would have sent them straight on.",
        "An SMS works on every phone without installing our app, which is why I think the uptake would be high.",
        "We already send pick-up reminders; adding the check-in link to that message costs almost nothing.",
    ],
    "One queue, many desks": [
        "A single snake queue stops people picking the slow desk and evens out the wait for everyone.",
        "One queue needs no new kit, only tape and a host at the front: we could try it next Monday.",
        "With per-desk lines one slow passport case blocks a whole line; a shared queue spreads the delay.",
        "Banks and post offices moved to one queue years ago because the waiting times become fair and shorter.",
        "A host at the head of the single queue can send families and groups to the larger desks.",
        "Travellers stop switching lines, which is half the crowding I see in the hall on busy mornings.",
    ],
    "Family lane": [
        "Families with children and luggage take longest at the desk; their own lane keeps the other queues moving.",
        "A family lane also calms the hall: parents are less stressed when the desk expects their luggage.",
        "Travelling with two children, a lane where staff expect prams and car seats would save us real time.",
        "The family desk could sit next to the oversize baggage belt, where prams go anyway.",
        "Separating the long family check-ins lets us promise business travellers a short line again.",
        "We could open the family lane only at school holidays, when families are most of the morning peak.",
    ],
    "Document pre-check online": [
        "Checking passports and visas in the app before arrival removes the slowest part of the desk visit.",
        "Document scans online catch expired passports days early instead of at the desk on the morning.",
        "Visa rules change often; checking documents online against the rules of the day avoids desk surprises.",
        "At the desk I spend minutes reading passports by hand; a scan in the app done at home skips that.",
        "Travellers with checked documents could use the bag drop kiosks too, so the two ideas add up.",
        "Online document checks let us warn people about a missing visa while they can still fix it.",
    ],
}
PRAISE = "Great idea, I fully support this, it would really help everyone a lot, please make it happen soon!"
# Substantive comments, each person in their own words (a history of contributions is
# part of a voter's standing).
COMMENTS = (
    ("I tried something close to this at my previous airport: the queue at peak fell by about a third within a "
     "month, mostly because staff could focus on the travellers with real problems."),
    ("Worth checking with the ground handlers first: the early-morning wave is mostly families with heavy bags, "
     "and they are the ones who would need help with this."),
    ("We could pilot it on the two desks by gate B for a fortnight and count the minutes from arrival to bag drop "
     "before and after."),
    ("The accessibility desk should be part of this from the start; travellers with reduced mobility queue the "
     "longest today."),
    "Our desk agents already do half of this by hand when it gets busy, so the training cost would be small.",
    ("Careful with the 5 a.m. shift: there are only three agents then, so anything that needs a supervisor to "
     "unlock it will stall."),
)


def give_histories(context, now: datetime) -> None:
    """Account ages and recent comments for the demo's people (before any vote)."""
    people = _people(context)
    for key, age in ACCOUNT_AGES.items():
        if key in context.users:
            context.users[key].created_at = now - age
    for key, voter in VOTERS.items():
        if key in people:
            people[key].created_at = now - 5 * DAY - voter.age
    db.session.flush()


def add_votes(context) -> None:
    """The demo's step after challenges': votes on the check-in challenge's ideas, then
    every challenge's stored scores."""
    challenge, ideas, now = context.made["voting_ideas"]
    cast_votes(context, challenge, ideas, now)
    for each in context.made["challenges"]:
        voting.rebuild_scores(each)


def cast_votes(context, challenge, ideas: list[Idea], now: datetime) -> None:
    """The check-in challenge's votes: each person votes on two or three ideas in their own way."""
    rng = random.Random(11)
    people = _people(context)
    opened = now - 5 * DAY
    give_histories(context, now)
    used: Counter = Counter()
    written = 0  # comments so far: each takes the next text
    for position, (key, voter) in enumerate(VOTERS.items()):
        person = people.get(key)
        if person is None:
            continue
        start = opened + timedelta(hours=2 + position * 5)
        if person.created_at > start:
            start = person.created_at + timedelta(minutes=20)
        others = [idea for idea in ideas if person.id not in idea.author_ids()]  # not on their own ideas
        for k in range(voter.comments):  # substantive comments before the votes
            idea = others[(position + k) % len(others)]
            db.session.add(Comment(idea_id=idea.id, author_id=person.id, body=COMMENTS[written % len(COMMENTS)],
                                   created_at=start - timedelta(days=3 + k)))
            written += 1
            idea.comment_count = (idea.comment_count or 0) + 1
        db.session.flush()
        for n, idea in enumerate(rng.sample(others, 3 if voter.style in ("engaged", "click") else 2)):
            at = start + timedelta(minutes=40 * n + rng.randint(0, 20))
            reads = voter.style != "click"
            if reads:
                voting.record_view(idea, person, now=at - timedelta(seconds=45 + rng.randint(0, 120)))
            reason = ""
            if voter.style in ("engaged", "reasoned"):
                own = REASONS[idea.title]
                reason = own[used[idea.id] % len(own)]  # the next reason nobody has given yet
                used[idea.id] += 1
            elif voter.style == "praise":
                reason = PRAISE
            ratings = ({c.id: rng.randint(3, 5) for c in challenge.criteria}
                       if voter.style == "engaged" else {})
            voting.record_vote(idea, person, voting.Ballot(reason=reason, ratings=ratings),
                               network=voting.network_hash(f"demo-{voter.network}"), now=at)
    db.session.flush()


def _people(context) -> dict:
    found = {user.name: user for user in context.made.get("crowd", [])}
    found.update({key: user for key, user in context.users.items()})
    return found
