"""Challenge archives: import all or nothing, votes weighed by the live code, export back to the same ranking."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select

from ideas import clock
from ideas.accounts.models import User
from ideas.mail.models import MailMessage
from ideas.archive import (
    FORMAT,
    ArchiveError,
    decisions,
    export_challenge,
    export_with_result,
    import_archive,
)
from ideas.challenges import services as challenges
from ideas.challenges.models import (
    Challenge,
    Comment,
    Idea,
)
from ideas.search.models import IndexJob
from ideas.notifications.models import Follow, Notification
from ideas.extensions import db
from ideas.voting import services as voting
from ideas.voting.models import IdeaScore, IdeaView, Vote
from ideas.voting.services import Ballot
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import _empty_tables

# The example of ../shared/archive-format.md, as printed there.
EXAMPLE = {
    "format": "ideas-archive/1",
    "challenge": {
        "key": "c-2026-checkin",
        "title": "Halve check-in time",
        "brief": "Markdown text",
        "pool_mode": "blended",
        "pool_weights": {"employee": 0.5, "external": 0.5},
        "voting_policy": "weighted",
        "criteria": [{"name": "impact", "weight": 2}, {"name": "feasibility", "weight": 1}],
        "phase": "voting",
        "opens_at": "2026-09-01T00:00:00Z",
        "closes_at": "2026-10-01T00:00:00Z",
    },
    "users": [
        {"key": "u1", "name": "Ada", "email": "ada@staff.example", "pool": "employee",
         "joined_at": "2024-03-02T10:00:00Z"}
    ],
    "ideas": [
        {"key": "i1", "author": "u1", "co_authors": [], "title": "Self-service kiosks",
         "summary": "one paragraph", "body": "Markdown", "tags": ["kiosk"],
         "created_at": "2026-09-03T08:00:00Z"}
    ],
    "comments": [
        {"idea": "i1", "author": "u2", "body": "Markdown", "created_at": "2026-09-04T09:00:00Z"}
    ],
    "views": [
        {"idea": "i1", "user": "u2", "at": "2026-09-04T08:58:10Z"}
    ],
    "votes": [
        {"idea": "i1", "voter": "u2", "at": "2026-09-04T09:01:00Z",
         "value": 1, "reason": "optional text", "ratings": {"impact": 4}, "network": "optional opaque string"}
    ],
    "decisions": [
        {"idea": "i1", "decision": "accepted", "reason": "text", "at": "2026-10-10T00:00:00Z"}
    ],
}
BOB = {"key": "u2", "name": "Bob", "email": "Bob@Outside.example", "pool": "external",
       "joined_at": "2025-01-10T12:00:00Z"}

REASONS = [
    ("Kiosks cut the queue at peak hours because most travellers only need a boarding pass and a bag tag, "
     "which a machine prints faster than a desk agent can."),
    ("Staff at the desks would then handle only the difficult cases such as rebookings and special luggage, "
     "which is where their experience actually matters to travellers."),
    ("We tried a similar pilot in the regional terminal last spring and the average wait dropped by about a "
     "third during the morning rush without any extra staff."),
    ("The idea is cheap to test with two rented machines for a month, and the data on queue length would "
     "settle the question far better than a long debate would."),
    ("Families travelling with children benefit most, since they can check in while one parent keeps an eye "
     "on the kids instead of standing in a line for twenty minutes."),
    ("Maintenance is the real risk here, so the proposal should include a service contract with a response "
     "time of under one hour during opening hours of the terminal."),
]


def at(base: datetime, **delta) -> str:
    return (base + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def rich_archive() -> dict:
    """Employees and externals, reasoned and rated votes after reading, one-click votes, a burst
    ring of fresh accounts on one idea, a group sharing one network, a co-authored idea."""
    t = datetime(2026, 6, 1, tzinfo=UTC)
    users = []
    for n in range(6):
        users.append({"key": f"e{n}", "name": f"Employee {n}", "email": f"e{n}@staff.example", "pool": "employee",
                      "joined_at": at(t, days=-200 - n)})
    for n in range(6):
        users.append({"key": f"x{n}", "name": f"External {n}", "email": f"x{n}@outside.example", "pool": "external",
                      "joined_at": at(t, days=-100 - n)})
    for n in range(10):  # a ring of accounts made minutes before they vote
        users.append({"key": f"r{n}", "name": f"Ring {n}", "email": f"ring{n}@burner.example", "pool": "external",
                      "joined_at": at(t, days=3, minutes=-20 + n)})
    for n in range(4):  # sockpuppets on one network
        users.append({"key": f"n{n}", "name": f"Net {n}", "email": f"net{n}@outside.example", "pool": "external",
                      "joined_at": at(t, days=-2)})
    ideas = [
        {"key": f"i{n}", "author": author, "co_authors": co, "title": f"Idea number {n}",
         "summary": "A short summary of what changes for travellers and for staff at the desks.",
         "body": "Longer text " * (20 * (n + 1)), "tags": ["kiosk"] if n % 2 else ["queue"],
         "created_at": at(t, hours=1 + n)}
        for n, (author, co) in enumerate([("e0", ["e1"]), ("e2", []), ("x0", []), ("x1", ["x2"]), ("e3", [])])
    ]
    comments = [
        {"idea": "i0", "author": "x3", "body": REASONS[3], "created_at": at(t, days=1)},
        {"idea": "i2", "author": "e4", "body": "Nice.", "created_at": at(t, days=1, hours=1)},
    ]
    views, votes = [], []
    engaged = ["e1", "e2", "e3", "e4", "e5", "x3", "x4", "x5"]
    for v, voter in enumerate(engaged):
        for n, idea in enumerate(ideas):
            if voter == idea["author"] or voter in idea["co_authors"] or (v + n) % 3 == 0:
                continue
            moment = t + timedelta(days=2, hours=v, minutes=10 * n)
            views.append({"idea": idea["key"], "user": voter, "at": at(moment, minutes=-3)})
            vote = {"idea": idea["key"], "voter": voter, "at": at(moment), "value": 1}
            if (v + n) % 2:
                vote["reason"] = REASONS[(v + n) % len(REASONS)] + f" ({voter} on {idea['key']})"
            if n % 2:
                vote["ratings"] = {"impact": 1 + (v + n) % 5, "feasibility": 1 + v % 5}
            votes.append(vote)
    for n in range(10):  # the ring one-clicks idea i4 within two minutes
        votes.append({"idea": "i4", "voter": f"r{n}", "at": at(t, days=3, seconds=10 * n), "value": 1})
    for n in range(4):  # the network group on i2, with copy-pasted reasons
        votes.append({"idea": "i2", "voter": f"n{n}", "at": at(t, days=4, minutes=n), "value": 1,
                      "reason": REASONS[0], "network": "203.0.113.7"})
    views.append({"idea": "i1", "user": "x0", "at": at(t, days=5)})  # read after voting: does not count
    votes.append({"idea": "i1", "voter": "x0", "at": at(t, days=4, hours=12), "value": 1, "reason": REASONS[5]})
    return {
        "format": FORMAT,
        "challenge": {"key": "c-rich", "title": "Halve check-in time", "brief": "How could we halve it?",
                      "pool_mode": "blended", "pool_weights": {"employee": 0.6, "external": 0.4},
                      "voting_policy": "weighted",
                      "criteria": [{"name": "impact", "weight": 2}, {"name": "feasibility", "weight": 1}],
                      "phase": "closed", "opens_at": at(t), "closes_at": at(t, days=30)},
        "users": users, "ideas": ideas, "comments": comments, "views": views, "votes": votes,
    }


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",))


def row_counts() -> dict[str, int]:
    # No rollback first: a refused import must leave nothing pending either (counting
    # would flush it into the transaction and show it).
    present = set(inspect(db.engine).get_table_names())
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name in present}


def ranking(challenge, viewer) -> dict[str, list[tuple[str, float]]]:
    return {pool: [(line.idea.external_ref, line.score)
                   for line in voting.ranking_page(challenge, viewer, pool, limit=100)]
            for pool in ("employee", "external", "blended")}


def same_ranking(a, b) -> None:
    for pool in ("employee", "external", "blended"):
        assert [key for key, _ in a[pool]] == [key for key, _ in b[pool]], pool
        for (_, score_a), (_, score_b) in zip(a[pool], b[pool], strict=True):
            assert score_a == pytest.approx(score_b, abs=1e-9), pool


# --- the example ----------------------------------------------------------------------

def test_the_example_as_printed_is_refused_naming_its_missing_user(admin):
    before = row_counts()
    with pytest.raises(ArchiveError) as refused:
        import_archive(copy.deepcopy(EXAMPLE))
    assert refused.value.path == "comments[0].author"
    assert str(refused.value) == 'comments[0].author: no user with key "u2"'
    assert row_counts() == before


def test_the_example_imports_with_its_second_person(admin, app):
    document = copy.deepcopy(EXAMPLE)
    document["users"].append(BOB)
    challenge = import_archive(json.dumps(document))
    db.session.commit()

    assert (challenge.title, challenge.phase, challenge.external_ref) == ("Halve check-in time", "voting",
                                                                          "c-2026-checkin")
    assert challenge.staff_ids() == {admin.id} and challenge.published_at is not None
    assert [(c.name, c.weight) for c in challenge.criteria] == [("impact", 2), ("feasibility", 1)]
    opens, voting_at, review_at, closes = (clock.as_utc(getattr(challenge, n))
                                           for n in ("opens_at", "voting_at", "review_at", "closes_at"))
    assert opens == datetime(2026, 9, 1, tzinfo=UTC) and closes == datetime(2026, 10, 1, tzinfo=UTC)
    assert voting_at == datetime(2026, 9, 4, 9, 1, tzinfo=UTC)  # no later than the first vote
    assert opens < voting_at < review_at < closes

    ada = db.session.scalar(select(User).where(User.email == "ada@staff.example"))
    bob = db.session.scalar(select(User).where(User.email == "bob@outside.example"))
    assert ada.password_hash is None and ada.is_verified and ada.pool == "employee"
    assert clock.as_utc(ada.created_at) == datetime(2024, 3, 2, 10, tzinfo=UTC)
    assert bob.pool == "external" and bob.is_verified

    idea = db.session.scalar(select(Idea).where(Idea.challenge_id == challenge.id))
    assert (idea.external_ref, idea.author_id, idea.tags, idea.status) == ("i1", ada.id, ["kiosk"], "published")
    assert idea.word_count == 6 and idea.comment_count == 1
    assert clock.as_utc(idea.published_at) == datetime(2026, 9, 3, 8, tzinfo=UTC)

    vote = db.session.scalar(select(Vote))
    assert (vote.voter_id, vote.pool, vote.kind, vote.reason) == (bob.id, "external", "ratings", "optional text")
    assert vote.viewed_before and vote.seconds_since_view == 170
    assert {r.criterion_id: r.rating for r in vote.ratings} == {challenge.criteria[0].id: 4}
    assert vote.network == voting.network_hash("optional opaque string")
    assert clock.as_utc(vote.created_at) == datetime(2026, 9, 4, 9, 1, tzinfo=UTC)
    assert vote.identity == "external_verified" and 0 < vote.weight <= 1
    assert db.session.get(IdeaScore, idea.id).support_external == pytest.approx(vote.weight)
    assert [line.idea.id for line in voting.ranking_page(challenge, admin, "blended")] == [idea.id]
    assert db.session.scalar(select(func.count(IndexJob.id)).where(IndexJob.idea_id == idea.id)) == 1


# --- replay ---------------------------------------------------------------------------

def test_imported_twice_into_an_empty_site_gives_the_same_ranking(admin, make_user):
    first = import_archive(rich_archive())
    db.session.commit()
    expected, weights = ranking(first, admin), vote_weights(first)
    assert len(expected["blended"]) == 5
    _empty_tables()
    importer = make_user(roles=("admin",))
    second = import_archive(rich_archive(), importer)
    db.session.commit()
    same_ranking(ranking(second, importer), expected)
    assert vote_weights(second) == pytest.approx(weights, abs=1e-12)


def test_a_second_import_into_the_same_site_is_a_new_challenge(admin):
    """Its people are the same accounts, so the first copy's ideas and comments count among
    their contributions on this site, as any contribution does: weights may differ a little."""
    first = import_archive(rich_archive())
    second = import_archive(rich_archive())
    db.session.commit()
    assert first.id != second.id and first.external_ref == second.external_ref == "c-rich"
    assert db.session.scalar(select(func.count(User.id)).where(User.email.like("e%@staff.example"))) == 6
    assert sorted(key for key, _ in ranking(first, admin)["blended"]) == \
        sorted(key for key, _ in ranking(second, admin)["blended"])


def test_replayed_votes_carry_the_live_signals_and_discounts(admin):
    challenge = import_archive(rich_archive())
    db.session.commit()
    votes = {(v.voter.email.split("@")[0], db.session.get(Idea, v.idea_id).external_ref): v
             for v in db.session.scalars(select(Vote).where(Vote.challenge_id == challenge.id))}
    ring = [votes[f"ring{n}", "i4"] for n in range(10)]
    assert all(v.account_age_seconds < 3600 for v in ring)
    assert sum(v.weight for v in ring) < 0.1  # a burst of fresh one-click accounts counts as about one vote
    assert any(code == "burst" for v in ring for code, _ in json.loads(v.discounts))
    network = [votes[f"net{n}", "i2"] for n in range(4)]
    assert len({v.network for v in network}) == 1
    assert all(v.reason_near_copy for v in network[1:])
    assert any(code == "shared_network" for v in network for code, _ in json.loads(v.discounts))
    late_reader = votes["x0", "i1"]
    assert not late_reader.viewed_before  # the view came after the vote
    read = votes["e1", "i1"]
    assert read.viewed_before and read.seconds_since_view == 180


def test_existing_people_are_matched_by_address_whatever_its_case(admin, make_user, outbox):
    known = make_user(pool="external", email="x3@outside.example", created_at=clock.now())
    password = known.password_hash
    document = rich_archive()
    next(u for u in document["users"] if u["key"] == "x3")["email"] = "X3@Outside.Example"
    challenge = import_archive(document)
    db.session.commit()
    db.session.refresh(known)
    assert known.password_hash == password and known.pool == "external"
    # Dated back to when they joined the source platform: their old votes are not a newcomer's.
    assert clock.as_utc(known.created_at) == datetime(2026, 6, 1, tzinfo=UTC) - timedelta(days=103)
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "x3@outside.example")) == 1
    assert db.session.scalar(select(func.count(Vote.id)).where(Vote.voter_id == known.id,
                                                               Vote.challenge_id == challenge.id)) > 0


def test_import_sends_no_notifications_and_no_mail(admin, make_user, outbox):
    follower = make_user(email="x5@outside.example")
    db.session.add_all([Follow(user_id=follower.id, target_type="tag", target_key="kiosk"),
                        Follow(user_id=follower.id, target_type="tag", target_key="queue")])
    db.session.commit()
    mail_before = len(outbox())
    import_archive(rich_archive())
    db.session.commit()
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert len(outbox()) == mail_before == db.session.scalar(select(func.count(MailMessage.id)))


def test_a_running_challenge_keeps_the_phase_the_archive_names(admin):
    now = clock.now()
    document = rich_archive()
    document["challenge"].update(phase="voting", opens_at=at(now, days=-10), closes_at=at(now, days=20))
    for vote in document["votes"]:
        vote["at"] = at(now, days=-1)
    challenge = import_archive(document)
    db.session.commit()
    assert clock.as_utc(challenge.voting_at) <= now < clock.as_utc(challenge.review_at)
    assert challenges.tick() == 0 and challenge.phase == "voting"


# --- refusals -------------------------------------------------------------------------

def _vote_index(document, voter, idea) -> int:
    return next(i for i, v in enumerate(document["votes"]) if v["voter"] == voter and v["idea"] == idea)


def _set(path, value):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _drop(name):
    return lambda document: document.pop(name)


def _add_vote(**vote):
    return lambda document: document["votes"].append({"at": "2026-06-05T00:00:00Z", "value": 1, **vote})


LAST = len(rich_archive()["votes"])  # the index of a vote appended to them

REFUSALS = {
    "unknown format version": (_set(["format"], "ideas-archive/2"), "format", 'unknown format "ideas-archive/2"'),
    "no format": (_drop("format"), "format", "missing"),
    "missing users": (_drop("users"), "users", "required"),
    "missing ideas": (_drop("ideas"), "ideas", "required"),
    "missing votes": (_drop("votes"), "votes", "required"),
    "dangling voter": (_add_vote(idea="i0", voter="u99"), f"votes[{LAST}].voter", 'no user with key "u99"'),
    "dangling idea": (_add_vote(idea="i9", voter="x4"), f"votes[{LAST}].idea", 'no idea with key "i9"'),
    "dangling comment author": (_set(["comments", 1, "author"], "zz"), "comments[1].author", 'no user with key "zz"'),
    "dangling view": (_set(["views", 0, "idea"], "nope"), "views[0].idea", 'no idea with key "nope"'),
    "dangling co-author": (_set(["ideas", 1, "co_authors"], ["e5", "u0"]), "ideas[1].co_authors[1]",
                           'no user with key "u0"'),
    "duplicate vote": (_add_vote(idea="i1", voter="e1"), f"votes[{LAST}]", "a second vote by \"e1\" on idea \"i1\""),
    "vote by the author": (_add_vote(idea="i2", voter="x0"), f"votes[{LAST}].voter", "author of idea \"i2\""),
    "vote by a co-author": (_add_vote(idea="i0", voter="e1"), f"votes[{LAST}].voter", "author of idea \"i0\""),
    "unparseable time": (_add_vote(idea="i3", voter="e0", at="yesterday"), f"votes[{LAST}].at",
                         "not an ISO 8601 time"),
    "time without a zone": (_set(["ideas", 2, "created_at"], "2026-06-01T03:00:00"), "ideas[2].created_at",
                            "has no zone"),
    "date without a time or zone": (_set(["users", 3, "joined_at"], "2026-01-01"), "users[3].joined_at",
                                    "has no zone"),
    "rating out of range": (_add_vote(idea="i3", voter="e0", ratings={"impact": 6}), f"votes[{LAST}].ratings.impact",
                            "from 1 to 5"),
    "rating zero": (_add_vote(idea="i3", voter="e0", ratings={"feasibility": 0}),
                    f"votes[{LAST}].ratings.feasibility", "from 1 to 5"),
    "unknown criterion": (_add_vote(idea="i3", voter="e0", ratings={"beauty": 3}), f"votes[{LAST}].ratings.beauty",
                          "not one of the challenge's criteria"),
    "opposition not allowed": (_add_vote(idea="i3", voter="e0", value=-1), f"votes[{LAST}].value", "support only"),
    "value neither 1 nor -1": (_add_vote(idea="i3", voter="e0", value=2), f"votes[{LAST}].value", "1 (support)"),
    "unknown phase": (_set(["challenge", "phase"], "judging"), "challenge.phase", 'unknown value "judging"'),
    "unknown pool mode": (_set(["challenge", "pool_mode"], "mixed"), "challenge.pool_mode", "unknown value"),
    "unknown policy": (_set(["challenge", "voting_policy"], "likes"), "challenge.voting_policy", "unknown value"),
    "pool weights off": (_set(["challenge", "pool_weights"], {"employee": 0.7, "external": 0.7}),
                         "challenge.pool_weights", "add up to 1"),
    "pool weight negative": (_set(["challenge", "pool_weights"], {"employee": -0.5, "external": 1.5}),
                             "challenge.pool_weights.employee", "between 0 and 1"),
    "duplicate user key": (_set(["users", 1, "key"], "e0"), "users[1].key", "a second user"),
    "duplicate address": (_set(["users", 1, "email"], "E0@staff.example"), "users[1].email", "already users[0]"),
    "control character in a title": (_set(["ideas", 0, "title"], "Kiosks\x00"), "ideas[0].title",
                                      "control characters"),
    "decision without a reason": (lambda d: d.update(decisions=[{"idea": "i1", "decision": "declined",
                                                                 "at": "2026-07-02T00:00:00Z"}]),
                                  "decisions[0].reason", "missing"),
    "unknown decision": (lambda d: d.update(decisions=[{"idea": "i1", "decision": "maybe", "reason": "Why not",
                                                        "at": "2026-07-02T00:00:00Z"}]),
                         "decisions[0].decision", 'unknown value "maybe"'),
    "decided again after acceptance": (lambda d: d.update(decisions=[
        {"idea": "i1", "decision": "declined", "reason": "Too costly", "at": "2026-07-03T00:00:00Z"},
        {"idea": "i1", "decision": "accepted", "reason": "Worth a pilot", "at": "2026-07-02T00:00:00Z"}]),
        "decisions[0]", 'idea "i1" was already accepted (decisions[1])'),
    "closes before it opens": (_set(["challenge", "closes_at"], "2026-05-01T00:00:00Z"), "challenge.closes_at",
                               "after opens_at"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_archive_is_refused_naming_the_entry_and_writes_nothing(admin, case):
    change, path, message = REFUSALS[case]
    document = rich_archive()
    assert len(document["votes"]) == LAST
    change(document)
    before = row_counts()
    with pytest.raises(ArchiveError) as refused:
        import_archive(document)
    assert refused.value.path == path
    assert str(refused.value).startswith(f"{path}: ") and message in refused.value.message
    assert row_counts() == before


def test_the_first_bad_entry_is_the_one_named(admin):
    document = rich_archive()
    document["votes"][3]["voter"] = "ghost"
    document["votes"][9]["at"] = "soon"
    with pytest.raises(ArchiveError, match=r'^votes\[3\]\.voter: no user with key "ghost"$'):
        import_archive(document)


def test_not_json_is_refused(admin):
    with pytest.raises(ArchiveError, match=r"^document: is not valid JSON \(line 1"):
        import_archive('{"format": ')


def test_opposition_is_imported_where_the_archive_allows_it(admin):
    document = rich_archive()
    document["challenge"]["allow_opposition"] = True
    _add_vote(idea="i3", voter="e0", value=-1)(document)
    challenge = import_archive(document)
    assert challenge.allow_opposition
    assert db.session.scalar(select(func.count(Vote.id)).where(Vote.value == -1)) == 1


# --- the command line -----------------------------------------------------------------

def run(app, *args):
    """`output` holds what a terminal shows (both streams), `stdout` the standard output alone."""
    return app.test_cli_runner().invoke(args=["ideas", *args])


def test_cli_import_prints_the_new_id_on_its_last_line(app, admin, tmp_path):
    path = tmp_path / "archive.json"
    document = copy.deepcopy(EXAMPLE)
    document["users"].append(BOB)
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    challenge = db.session.get(Challenge, int(lines[-1]))
    assert challenge is not None and challenge.external_ref == "c-2026-checkin"
    assert "2 people (0 already had an account), 1 idea, 1 comment, 1 view, 1 vote" in result.output
    if decisions.available():
        assert "1 decision." in result.output
    else:  # said plainly, never pretended
        assert "1 decision in the archive not imported" in result.output


def test_cli_import_with_a_named_manager(app, admin, make_user, tmp_path):
    manager = make_user(roles=("manager",))
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(rich_archive()), encoding="utf-8")
    result = run(app, "import", str(path), "--manager", manager.email.upper())
    assert result.exit_code == 0, result.output
    challenge = db.session.get(Challenge, int(result.output.strip().splitlines()[-1]))
    assert challenge.staff_ids() == {manager.id} and challenge.created_by_id == manager.id
    refused = run(app, "import", str(path), "--manager", make_user().email)
    assert refused.exit_code != 0 and "not an active innovation manager" in refused.output


def test_cli_import_refuses_with_the_path_and_writes_nothing(app, admin, tmp_path):
    document = rich_archive()
    document["votes"][17]["voter"] = "u99"
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    before = row_counts()
    result = run(app, "import", str(path))
    assert result.exit_code == 1
    assert 'votes[17].voter: no user with key "u99"' in result.output
    assert row_counts() == before


def test_cli_import_needs_someone_to_manage_the_challenge(app, tmp_path):
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(rich_archive()), encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 1 and "create-admin" in result.output


def test_cli_export_to_stdout_and_to_a_file(app, admin, tmp_path):
    challenge = import_archive(rich_archive())
    db.session.commit()
    result = run(app, "export", str(challenge.id))
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["format"] == FORMAT and len(document["votes"]) == LAST
    target = tmp_path / "out.json"
    assert run(app, "export", str(challenge.id), "-o", str(target)).exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == document
    assert run(app, "export", "999999").exit_code == 1


# --- export, then import into an empty site -------------------------------------------

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def build_live_challenge(make_user):
    """A challenge voted on through the site, in time order, with every kind of signal."""
    clock.set_now(T0)
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="blended", criteria=[
        challenges.CriterionInput("impact", weight=2), challenges.CriterionInput("feasibility")])
    old = T0 - timedelta(days=120)
    employees = [make_user(pool="employee", created_at=old - timedelta(days=n)) for n in range(6)]
    externals = [make_user(pool="external", created_at=old - timedelta(days=n)) for n in range(5)]
    authors = employees[:3] + externals[:2]
    ideas = []
    for n, author in enumerate(authors):
        clock.set_now(T0 + timedelta(hours=1 + n))
        ideas.append(idea_in(challenge, author, title=f"Idea {n}", body="Because " * (30 * (n + 1))))
    clock.set_now(T0 + timedelta(days=1))
    db.session.add(Comment(idea_id=ideas[0].id, author_id=externals[3].id, body=REASONS[2],
                           created_at=clock.now()))
    db.session.commit()
    clock.set_now(T0 + timedelta(days=5, hours=1))  # voting opened at T0 + 5 days
    challenges.tick()
    db.session.commit()

    def vote(idea, voter, moment, read_before=None, **ballot):
        if read_before is not None:
            voting.record_view(idea, voter, now=moment - read_before)
        clock.set_now(moment)
        voting.cast_vote(idea, voter, Ballot(**{k: v for k, v in ballot.items() if k != "network"}),
                         network=ballot.get("network"), now=moment)
        db.session.commit()

    start = T0 + timedelta(days=5, hours=2)
    people = employees + externals
    for v, voter in enumerate(people):
        for n, idea in enumerate(ideas):
            if voter.id == idea.author_id or (v * 7 + n) % 3 == 0:
                continue
            moment = start + timedelta(hours=v, minutes=7 * n)
            reason = REASONS[(v + n) % len(REASONS)] + f" (voter {v} on idea {n})" if (v + n) % 2 else ""
            ratings = {"impact": 1 + (v + n) % 5, "feasibility": 2} if n % 2 else None
            vote(idea, voter, moment, timedelta(minutes=2) if (v + n) % 4 else timedelta(seconds=3),
                 reason=reason, ratings=ratings)
    ring_start = start + timedelta(days=1)
    ring = [make_user(pool="external", created_at=ring_start - timedelta(minutes=15)) for _ in range(8)]
    for n, voter in enumerate(ring):  # fresh accounts one-clicking idea 4 within two minutes
        vote(ideas[4], voter, ring_start + timedelta(seconds=15 * n))
    group = [make_user(pool="external", created_at=ring_start - timedelta(days=2)) for _ in range(4)]
    shared = voting.network_hash("198.51.100.23")
    for n, voter in enumerate(group):  # one network, one copied reason
        vote(ideas[3], voter, ring_start + timedelta(hours=3, minutes=n), timedelta(minutes=1),
             reason=REASONS[1], network=shared)
    voting.record_view(ideas[1], externals[4], now=ring_start + timedelta(days=2))  # after its vote
    clock.set_now(None)
    return challenge, manager


def vote_weights(challenge) -> dict[tuple[str, str], float]:
    rows = db.session.execute(
        select(Idea.id, Idea.external_ref, User.email, Vote.weight)
        .join(Vote, Vote.idea_id == Idea.id).join(User, User.id == Vote.voter_id)
        .where(Vote.challenge_id == challenge.id))
    return {(ref or f"i{idea_id}", email): weight for idea_id, ref, email, weight in rows}


def test_export_then_import_into_an_empty_site_gives_the_same_ranking(app, make_user):
    source, manager = build_live_challenge(make_user)
    expected = {pool: [(line.idea.external_ref or f"i{line.idea.id}", line.score)
                       for line in voting.ranking_page(source, manager, pool, limit=100)]
                for pool in ("employee", "external", "blended")}
    weights = vote_weights(source)
    assert len(weights) > 40 and len(expected["blended"]) == 5
    assert len({round(w, 6) for w in weights.values()}) > 5  # the votes really do weigh differently
    causes = {code for (discounts,) in db.session.execute(select(Vote.discounts))
              for code, _ in json.loads(discounts)}
    assert causes >= {"burst", "shared_network", "not_read", "no_reason", "copied_reason"}
    document = json.loads(json.dumps(export_challenge(source)))  # through JSON, as on disk

    _empty_tables()
    assert db.session.scalar(select(func.count(Vote.id))) == 0
    importer = make_user(roles=("admin",))
    imported = import_archive(document, importer)
    db.session.commit()

    same_ranking(ranking(imported, importer), expected)
    again = vote_weights(imported)
    assert again.keys() == weights.keys()
    for key, weight in weights.items():
        assert again[key] == pytest.approx(weight, abs=1e-9), key
    views = db.session.scalar(select(func.count()).select_from(IdeaView))
    assert views == len({(v["idea"], v["user"]) for v in document["views"]})


def test_export_leaves_out_what_the_format_cannot_carry(admin, make_user):
    challenge = import_archive(rich_archive())
    idea = db.session.scalar(select(Idea).where(Idea.external_ref == "i1"))
    idea.hidden_at = clock.now()
    db.session.commit()
    result = export_with_result(challenge)
    assert "i1" not in {i["key"] for i in result.document["ideas"]}
    assert all(v["idea"] != "i1" for v in result.document["votes"])
    assert result.left_out["hidden ideas"] == 1
    # The stored salted hash goes out as the opaque network string, the address never does.
    networks = [v["network"] for v in result.document["votes"] if "network" in v]
    assert networks == [voting.network_hash("203.0.113.7")] * 4


# --- decisions ------------------------------------------------------------------------

DECISIONS = [
    {"idea": "i0", "decision": "parked", "reason": "Good, but not before the new terminal opens.",
     "at": "2026-07-02T10:00:00Z"},
    {"idea": "i2", "decision": "declined", "reason": "The airline owns the desks; we cannot change them.",
     "at": "2026-07-02T11:00:00Z"},
    {"idea": "i0", "decision": "accepted", "reason": "The terminal opens sooner: let us pilot it.",
     "at": "2026-07-20T09:00:00Z"},
]


def test_decisions_become_reviews_with_their_log_and_export_again(admin):
    pytest.importorskip("ideas.review.models")
    from ideas.review.models import IdeaReview, ReviewTransition

    document = rich_archive()
    document["decisions"] = copy.deepcopy(DECISIONS)
    challenge = import_archive(document)
    db.session.commit()
    reviews = {r.idea.external_ref: r for r in db.session.scalars(
        select(IdeaReview).where(IdeaReview.challenge_id == challenge.id))}
    assert set(reviews) == {"i0", "i2"}
    accepted = reviews["i0"]
    assert (accepted.state, accepted.decision, accepted.decision_reason) == (
        "accepted", "accepted", "The terminal opens sooner: let us pilot it.")
    assert clock.as_utc(accepted.decided_at) == datetime(2026, 7, 20, 9, tzinfo=UTC)
    log = db.session.execute(select(ReviewTransition.from_state, ReviewTransition.to_state)
                             .where(ReviewTransition.review_id == accepted.id).order_by(ReviewTransition.id)).all()
    assert [tuple(step) for step in log] == [(None, "shortlisted"), ("shortlisted", "in_review"),
                                             ("in_review", "parked"), ("parked", "in_review"),
                                             ("in_review", "accepted")]
    assert reviews["i2"].state == "declined"
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert export_challenge(challenge)["decisions"] == DECISIONS
