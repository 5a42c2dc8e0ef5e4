"""A segment of the index emptied or deleted behind the site's back (a full disk, a
crash half-way through a write, a careless clean-up), in a process that already has the
index open and in one that opens it afresh: search answers from a rebuild, on the page,
in the API and in the similar-ideas hint, and the next idea is indexed. Never a 500."""
from __future__ import annotations

import pytest

from ideas import search
from tests.search.test_index import index_path, indexed  # noqa: F401  (the fixture)

# Which of a segment's files, and what happens to them.
DAMAGE = {
    "every file emptied": ("", "empty"),
    "every file deleted": ("", "delete"),
    # These two open fine and then fail every search: the opening check reads them too.
    "postings emptied": (".pst", "empty"),
    "title lengths emptied": ("_title_len.col", "empty"),
}


def _damage(path, how: str) -> None:
    ending, action = DAMAGE[how]
    segments = [p for p in path.iterdir() if p.is_file() and p.name != "CURRENT" and p.suffix != ".toc"
                and not p.name.endswith("WRITELOCK") and p.name.endswith(ending)]
    assert segments
    for segment in segments:
        if action == "empty":
            segment.write_bytes(b"")
        else:
            segment.unlink()


@pytest.mark.parametrize("how", list(DAMAGE))
@pytest.mark.parametrize("running", [True, False], ids=["running process", "new process"])
def test_a_damaged_segment_is_answered_from_a_rebuild(app, indexed, employee, client, login, api_token, submit,  # noqa: F811
                                                      how, running):
    if running:
        assert search.search_ideas(employee, "kiosk").total == 2  # the searcher is open on the segment
    else:
        search.close()
    _damage(index_path(app), how)

    login(employee)
    page = client.get("/search?q=kiosk")
    assert page.status_code == 200 and "Kiosk for passports" in page.get_data(as_text=True)
    found = client.get("/api/v1/search?q=kiosk", headers=api_token(employee))
    assert found.status_code == 200 and found.get_json()["total"] == 2
    similar = client.get(f"/api/v1/challenges/{indexed.id}/similar?title=Kiosk+for+bags&summary=A+kiosk+for+bags",
                         headers=api_token(employee))
    assert similar.status_code == 200 and similar.get_json()["items"]

    submit(indexed, employee, "Kiosk for umbrellas")
    assert search.search_ideas(employee, "kiosk").total == 3
