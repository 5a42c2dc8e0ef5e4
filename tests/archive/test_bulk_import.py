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
from ideas.voting import ranking
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


def same_scores(got: dict[str, dict], expected: dict[str, dict]) -> None:
    """Equal aggregates and pool scores. Live scores grow vote by vote and batch ones are
    summed once (math.fsum): equal up to the last bits of a float. Blended scores use
    the pools' scales, which lie on a grid (ranking.SCALE_STEP): the same step, unless
    those last bits fall on a step's edge."""
    assert set(got) == set(expected)
    for ref, scores in expected.items():
        pools = {k: v for k, v in scores.items() if k != "score_blended"}
        assert {k: got[ref][k] for k in pools} == pytest.approx(pools, abs=1e-12), ref
        assert got[ref]["score_blended"] == pytest.approx(scores["score_blended"], rel=ranking.SCALE_STEP - 1,
                                                          abs=1e-12), ref


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
    document = synthetic_archive(votes=70, seed=seed, days=days, policy=policy, ideas=5)
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
        assert {"burst", "new_account", "not_read", "voter_burst"} <= causes
        assert "shared_network" in causes
    same_scores(bulk_scores, live_scores)


# --- real archives: long keys and texts, and what is refused ---------------------------

def test_an_archive_with_a_long_comment_and_a_long_key_imports_whole(admin):
    from tests.archive.test_archive import rich_archive

    document = rich_archive()
    long_key = "idea/" + "k" * 118  # 123 characters, as another platform wrote it
    document["ideas"][0]["key"] = long_key
    for entry in (*document["votes"], *document["views"], *document["comments"]):
        if entry.get("idea") == "i0":
            entry["idea"] = long_key
    comment = ("A long discussion of the pilot. " * 400)[:10_211]
    document["comments"][0]["body"] = comment
    document["ideas"][1]["summary"] = "A summary longer than the form's paragraph. " * 60
    document["ideas"][2]["key"] = "x" * 255
    for entry in (*document["votes"], *document["views"], *document["comments"]):
        if entry.get("idea") == "i2":
            entry["idea"] = "x" * 255
    challenge = import_archive(document)
    db.session.commit()
    refs = set(db.session.scalars(select(Idea.external_ref).where(Idea.challenge_id == challenge.id)))
    assert {long_key, "x" * 255} <= refs
    from ideas.challenges.models import Comment

    assert comment.strip() in set(db.session.scalars(select(Comment.body)))
    assert document["ideas"][1]["summary"].strip() in set(db.session.scalars(select(Idea.summary)))


TOO_LONG = {
    "comment over the cap": (["comments", 0, "body"], "comments[0].body"),
    "idea body over the cap": (["ideas", 1, "body"], "ideas[1].body"),
    "vote reason over the cap": (["votes", 2, "reason"], "votes[2].reason"),
    "brief over the cap": (["challenge", "brief"], "challenge.brief"),
}


@pytest.mark.parametrize("case", list(TOO_LONG))
def test_a_text_over_the_hard_cap_is_refused_naming_it_and_nothing_is_written(admin, case):
    from ideas.archive import ArchiveError
    from ideas.archive.document import TEXT_MAX
    from tests.archive.test_archive import rich_archive, row_counts

    where, path = TOO_LONG[case]
    document = rich_archive()
    target = document
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = "word " * (TEXT_MAX // 5) + "over"
    before = row_counts()
    with pytest.raises(ArchiveError) as refused:
        import_archive(document)
    assert refused.value.path == path
    assert "100,000 characters" in refused.value.message and f"{TEXT_MAX + 4:,}" in refused.value.message
    assert row_counts() == before


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"ideas": [0, "key", "k" * 256]}, "ideas[0].key", "up to 255 characters"),
    ({"votes": [1, "discounts", ["not_read", "too_cheerful"]]}, "votes[1].discounts[1]",
     'unknown discount code "too_cheerful"'),
    ({"votes": [1, "discounts", "not_read"]}, "votes[1].discounts", "must be a JSON list"),
    ({"votes": [1, "weight", 1.5]}, "votes[1].weight", "between 0 and 1"),
])
def test_bad_keys_weights_and_discount_codes_are_refused_naming_the_field(admin, change, path, message):
    from ideas.archive import ArchiveError
    from tests.archive.test_archive import rich_archive, row_counts

    document = rich_archive()
    (name, (index, field, value)), = change.items()
    document[name][index][field] = value
    before = row_counts()
    with pytest.raises(ArchiveError) as refused:
        import_archive(document)
    assert refused.value.path == path and message in refused.value.message
    assert row_counts() == before


def test_exported_weights_and_discounts_are_known_to_the_import(admin):
    from ideas.archive import export_challenge

    challenge = import_archive(synthetic_archive(votes=60, seed=4, ideas=4))
    exported = export_challenge(challenge)
    assert all("weight" in v and isinstance(v["discounts"], list) for v in exported["votes"])
    assert any(v["discounts"] for v in exported["votes"])
    exported["challenge"]["key"] = "again"
    again = import_archive(exported)  # every code the site writes, it reads back
    assert len(votes_of(again)) == len(exported["votes"])
