"""An imported vote gets exactly the weight, discounts and scores a vote cast live gets."""
from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from ideas.accounts.models import User
from ideas.archive import import_archive
from ideas.archive.document import parse_time
from ideas.archive.synthetic import synthetic_archive
from ideas.challenges.models import Challenge, Idea
from ideas.extensions import db
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, Vote

VOTE_FIELDS = ("kind", "value", "pool", "reason", "viewed_before", "seconds_since_view", "idea_word_count",
               "reason_words", "reason_near_copy", "criteria_rated", "identity", "account_age_seconds",
               "contributions_90d", "is_author", "network", "effort", "standing", "collusion", "weight",
               "discounts", "collusion_discounts", "policy")
SCORE_FIELDS = ("support_employee", "raw_employee", "support_external", "raw_external", "score_employee",
                "score_external", "score_blended")


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",))


def votes_of(challenge: Challenge) -> dict[tuple[str, str], dict]:
    rows = db.session.execute(select(Vote, User.email, Idea.external_ref)
                              .join(User, User.id == Vote.voter_id).join(Idea, Idea.id == Vote.idea_id)
                              .where(Vote.challenge_id == challenge.id)).all()
    found = {}
    for vote, email, ref in rows:
        found[email, ref] = {name: getattr(vote, name) for name in VOTE_FIELDS}
        found[email, ref]["ratings"] = sorted((r.criterion_id - min(c.id for c in challenge.criteria), r.rating)
                                              for r in vote.ratings)
    return found


def scores_of(challenge: Challenge) -> dict[str, dict]:
    rows = db.session.execute(select(IdeaScore, Idea.external_ref).join(Idea, Idea.id == IdeaScore.idea_id)
                              .where(IdeaScore.challenge_id == challenge.id)).all()
    return {ref: {name: getattr(score, name) for name in SCORE_FIELDS} for score, ref in rows}


def cast_live(document: dict) -> Challenge:
    """The archive's challenge without its votes, then each vote cast through the live path
    at its own time, one by one, as the site records a vote."""
    empty = copy.deepcopy(document)
    empty["votes"] = []
    challenge = import_archive(empty)
    ideas = {i.external_ref: i for i in db.session.scalars(select(Idea).where(Idea.challenge_id == challenge.id))}
    users = {u["key"]: db.session.scalar(select(User).where(User.email == u["email"])) for u in document["users"]}
    criteria = {c.name: c.id for c in challenge.criteria}
    ordered = sorted(enumerate(document["votes"]), key=lambda iv: (parse_time(iv[1]["at"], "at"), iv[0]))
    for _, entry in ordered:
        ballot = voting.Ballot(value=entry["value"], reason=entry.get("reason", ""),
                               ratings={criteria[k]: v for k, v in entry.get("ratings", {}).items()})
        network = voting.network_hash(entry["network"]) if entry.get("network") else None
        voting.record_vote(ideas[entry["idea"]], users[entry["voter"]], ballot, network=network,
                           now=parse_time(entry["at"], "at"))
    db.session.flush()
    return challenge


@pytest.mark.parametrize(("seed", "days", "policy"), [(1, 4, "weighted"), (2, 1, "weighted"), (3, 6, "simple")])
def test_imported_votes_get_exactly_the_live_weights_one_by_one(admin, seed, days, policy):
    # Few ideas and a short span: bursts, shared networks, copied reasons, voters' own bursts
    # and votes judged again by later ones on the same idea all occur.
    document = synthetic_archive(votes=150, seed=seed, days=days, policy=policy, ideas=6)
    imported = import_archive(document)
    bulk, bulk_scores = votes_of(imported), scores_of(imported)
    db.session.rollback()

    live_challenge = cast_live(document)
    live, live_scores = votes_of(live_challenge), scores_of(live_challenge)
    assert len(bulk) == len(live) == len(document["votes"])
    causes = set()
    for key, expected in live.items():
        assert bulk[key] == expected, key
        causes.update(code for code, _ in json.loads(expected["discounts"]))
    # The history is rich enough that the comparison means something.
    if policy == "weighted":
        assert {"burst", "new_account", "not_read", "copied_reason", "voter_burst"} <= causes
        assert "shared_network" in causes
    assert set(bulk_scores) == set(live_scores)
    for ref, expected in live_scores.items():
        # Live scores grow vote by vote, imported ones are summed once (math.fsum): equal
        # up to the last bits of a float.
        assert bulk_scores[ref] == pytest.approx(expected, abs=1e-12), ref
