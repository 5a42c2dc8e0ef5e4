"""Reading an archive with the API's field types: hostile values are refused naming their
path, before anything is written, with the same bounds the API keeps."""
from __future__ import annotations

import json

import pytest

from ideas.archive.document import TEXT_MAX, ArchiveError, read
from ideas.numbers import INT_MAX
from tests.archive.test_archive import rich_archive

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once


def _at(document: dict, where: list, value) -> dict:
    target = document
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    return document


HOSTILE = {
    "budget beyond INTEGER": (["challenge", "budget_k"], INT_MAX + 1, "challenge.budget_k",
                              "from 1 to 100, not 2147483648"),
    "rating beyond INTEGER": (["votes", 0, "ratings"], {"impact": 2**40}, "votes[0].ratings.impact", "from 1 to 5"),
    "rating as a boolean": (["votes", 0, "ratings"], {"impact": True}, "votes[0].ratings.impact", "whole number"),
    "criterion weight over 10": (["challenge", "criteria", 0, "weight"], 11, "challenge.criteria[0].weight",
                                 "from 1 to 10, not 11"),
    "criterion name over its column": (["challenge", "criteria", 0, "name"], "n" * 61,
                                       "challenge.criteria[0].name", "61 characters long; this field takes up to 60"),
    "bidirectional override in a title": (["ideas", 0, "title"], "photo\u202egnp.exe", "ideas[0].title",
                                          "control characters"),
    "terminal escape in a comment": (["comments", 0, "body"], "fine \x1b[2J gone", "comments[0].body",
                                     "control characters"),
    "C1 control in a reason": (["votes", 2, "reason"], "because\x85", "votes[2].reason", "control characters"),
    "line break in a name": (["users", 0, "name"], "Ada\nLovelace", "users[0].name", "control characters"),
    "vote value true": (["votes", 0, "value"], True, "votes[0].value", "1 (support) or -1 (opposition), not true"),
    "weight as text": (["votes", 0, "weight"], "0.4", "votes[0].weight", 'between 0 and 1, not "0.4"'),
    "verified as text": (["users", 1, "verified"], "yes", "users[1].verified", "must be true or false"),
    "not an address": (["users", 1, "email"], "ada-at-example", "users[1].email", "not a valid e-mail address"),
    "a user that is not an object": (["users", 2], "u2", "users[2]", "must be a JSON object"),
    "tags not a list": (["ideas", 0, "tags"], {"kiosk": 1}, "ideas[0].tags", "must be a JSON list"),
    "too many criteria": (["challenge", "criteria"], [{"name": f"c{n}"} for n in range(11)], "challenge.criteria",
                          "at most 10"),
    "key neither text nor number": (["ideas", 0, "key"], ["i0"], "ideas[0].key", "must be a string"),
    "missing phase": (["challenge", "phase"], None, "challenge.phase", "one of draft, submission"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_value_is_refused_naming_its_path(case):
    where, value, path, message = HOSTILE[case]
    document = _at(rich_archive(), where, value)
    if value is None:
        del document[where[0]][where[1]]
    with pytest.raises(ArchiveError) as refused:
        read(document)
    assert refused.value.path == path
    assert message in refused.value.message, refused.value.message


def test_a_text_at_the_hard_cap_is_kept_whole_and_one_more_character_is_refused():
    document = rich_archive()
    document["comments"][0]["body"] = "x" * TEXT_MAX
    assert read(document).comments[0].body == "x" * TEXT_MAX
    document["comments"][0]["body"] += "x"
    with pytest.raises(ArchiveError, match=r"^comments\[0\]\.body: is 100,001 characters long; an imported text "
                                           r"keeps up to 100,000 characters$"):
        read(document)


def test_a_lone_surrogate_in_the_json_becomes_a_replacement_character():
    document = rich_archive()
    document["comments"][0]["body"] = "half \ud800 a character"
    text = json.dumps(document)  # written as the escape "\ud800", which JSON allows
    assert read(text).comments[0].body == "half \ufffd a character"


def test_a_document_nested_too_deeply_is_refused_without_a_crash():
    with pytest.raises(ArchiveError, match=r"^document: is nested too deeply to read$"):
        read('{"format": "ideas-archive/1", "extra": ' + "[" * 200_000 + "]" * 200_000 + "}")


def test_fields_the_format_does_not_know_are_ignored():
    document = rich_archive()
    document["ideas"][0]["likes"] = 12
    document["votes"][0]["source"] = {"platform": "elsewhere"}
    assert len(read(document).votes) == len(document["votes"])
