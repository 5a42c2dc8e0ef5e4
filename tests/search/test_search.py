"""Search: filters, orders, paging, the page itself, and whatever people type."""
from __future__ import annotations

from datetime import timedelta

import pytest

from ideas import clock
from ideas.search import search_ideas

# The same expectations on every search backend the database can serve.
pytestmark = pytest.mark.usefixtures("search_backend")


@pytest.fixture
def two_challenges(make_challenge, move_to_phase, submit, employee, external):
    """Kiosks (submission, blended) with three ideas; Lounges (voting) with one."""
    kiosks = make_challenge("Kiosks")
    lounges = make_challenge("Lounges")
    start = clock.now()
    for n, (author, title, tags) in enumerate([
        (employee, "Airport kiosk for bags", "bags, kiosk"),
        (external, "Kiosk that prints boarding passes", "kiosk"),
        (employee, "Quiet corner near the kiosk", "quiet"),
    ]):
        clock.set_now(start + timedelta(minutes=n))
        submit(kiosks, author, title, tags=tags)
    clock.set_now(start + timedelta(minutes=10))
    submit(lounges, external, "Lounge kiosk with coffee", tags="coffee, kiosk")
    clock.set_now(None)
    move_to_phase(lounges, "voting")
    return kiosks, lounges


def test_filters(two_challenges, employee, found):
    _, lounges = two_challenges
    assert len(found(employee, "kiosk")) == 4
    assert set(found(employee, "kiosk", challenge_id=lounges.id)) == {"Lounge kiosk with coffee"}
    assert set(found(employee, "kiosk", pool="external")) == {
        "Kiosk that prints boarding passes", "Lounge kiosk with coffee"}
    assert set(found(employee, "kiosk", phase="voting")) == {"Lounge kiosk with coffee"}
    assert len(found(employee, "kiosk", phase="submission")) == 3
    assert set(found(employee, "", tag="Coffee")) == {"Lounge kiosk with coffee"}
    assert set(found(employee, "", tag="quiet")) == {"Quiet corner near the kiosk"}
    assert found(employee, "kiosk", status="withdrawn") == []
    assert found(employee, "kiosk", challenge_id=999_999) == []


def test_nonsense_filter_values_are_ignored(two_challenges, employee):
    result = search_ideas(employee, "kiosk", challenge_id="abc", pool="martians", phase="later",
                          status="draft", sort="sideways", page="x", per_page="y")
    assert result.total == 4
    assert result.sort == "relevance"
    assert "“abc” is not a challenge number, so every challenge was searched." in result.notices


def test_a_challenge_filter_naming_no_visible_challenge_says_so(two_challenges, employee, client):
    result = search_ideas(employee, "kiosk", challenge_id=999_999)
    assert result.total == 0
    assert result.notices == ["There is no challenge number 999999 that you can see: pick one from the list."]
    page = client.get("/search?q=kiosk&challenge=999999").get_data(as_text=True)
    assert "There is no challenge number 999999 that you can see" in page


def test_newest_first(two_challenges, employee, found):
    assert found(employee, "kiosk", sort="newest") == [
        "Lounge kiosk with coffee", "Quiet corner near the kiosk", "Kiosk that prints boarding passes",
        "Airport kiosk for bags",
    ]
    # Without words there is nothing to be relevant to: newest first.
    assert search_ideas(employee, "").sort == "newest"


def test_relevance_prefers_the_title(make_challenge, submit, employee, found):
    challenge = make_challenge()
    submit(challenge, employee, "Faster security lanes", summary="Lanes.", body="A word on the walrus, once.")
    submit(challenge, employee, "Walrus mascot", summary="A walrus greets travellers.")
    assert found(employee, "walrus") == ["Walrus mascot", "Faster security lanes"]


def test_field_syntax_phrases_and_operators(two_challenges, employee, found):
    assert found(employee, "title:coffee") == ["Lounge kiosk with coffee"]
    assert set(found(employee, "kiosk NOT coffee")) == {
        "Airport kiosk for bags", "Kiosk that prints boarding passes", "Quiet corner near the kiosk"}
    assert set(found(employee, "coffee OR bags")) == {"Lounge kiosk with coffee", "Airport kiosk for bags"}
    assert found(employee, '"boarding passes"') == ["Kiosk that prints boarding passes"]
    assert found(employee, "tags:quiet") == ["Quiet corner near the kiosk"]
    assert found(employee, "Kiosk*") != []


def test_rank_order_comes_from_the_rank_key(two_challenges, employee):
    ideas = {i.title: i.id for i in search_ideas(employee, "kiosk").items}
    wanted = ["Quiet corner near the kiosk", "Airport kiosk for bags", "Lounge kiosk with coffee"]
    scores = {ideas[title]: 10.0 - n for n, title in enumerate(wanted)}

    result = search_ideas(employee, "kiosk", sort="rank", rank_key=lambda ids: {i: scores[i] for i in ids
                                                                               if i in scores})
    assert [i.title for i in result.items] == [*wanted, "Kiosk that prints boarding passes"]
    assert result.sort == "rank"
    assert "follow the ranked ones" in result.error


def test_rank_uses_stored_scores_only_where_the_ranking_is_shown(two_challenges, employee, manager, api):
    from ideas.extensions import db
    from ideas.voting.models import IdeaScore

    kiosks, _ = two_challenges
    items = {i.title: i for i in search_ideas(manager, "kiosk").items}
    for title, score in [("Quiet corner near the kiosk", 0.9), ("Airport kiosk for bags", 0.5),
                         ("Kiosk that prints boarding passes", 0.1), ("Lounge kiosk with coffee", 0.99)]:
        idea = items[title]
        row = db.session.get(IdeaScore, idea.id)  # voting may already keep a row per idea
        if row is None:
            row = IdeaScore(idea_id=idea.id, challenge_id=idea.challenge_id)
            db.session.add(row)
        row.score_blended = score
    kiosks.hide_counts_until_voted = False  # Kiosks shows its ranking; Lounges hides it while voting
    db.session.commit()

    ranked = [i.title for i in search_ideas(employee, "kiosk", sort="rank").items]
    assert ranked[:3] == ["Quiet corner near the kiosk", "Airport kiosk for bags",
                          "Kiosk that prints boarding passes"]
    assert ranked[3] == "Lounge kiosk with coffee"  # its high score is not shown yet
    staff = [i.title for i in search_ideas(manager, "kiosk", sort="rank").items]
    assert staff[0] == "Lounge kiosk with coffee"
    # The API orders by the same stored scores, under the same rule.
    for person, titles in ((employee, ranked), (manager, staff)):
        answer = api("GET", "/search?q=kiosk&sort=rank", person).get_json()
        assert (answer["sort"], [i["title"] for i in answer["items"]]) == ("rank", titles)


def test_paging(make_challenge, submit, employee):
    challenge = make_challenge()
    for n in range(25):
        submit(challenge, employee, f"Runway idea number {n:02d}")

    first = search_ideas(employee, "runway", sort="newest", per_page=10)
    assert (first.total, first.pages, first.page, len(first.items)) == (25, 3, 1, 10)
    last = search_ideas(employee, "runway", sort="newest", per_page=10, page=3)
    assert len(last.items) == 5
    beyond = search_ideas(employee, "runway", sort="newest", per_page=10, page=99)
    assert beyond.page == 3 and len(beyond.items) == 5
    seen = [i.id for p in (1, 2, 3) for i in search_ideas(employee, "runway", sort="newest", per_page=10,
                                                         page=p).items]
    assert len(set(seen)) == 25


def test_search_page_with_filters_and_paging(client, make_challenge, submit, employee, login):
    challenge = make_challenge("Runways")
    for n in range(25):
        submit(challenge, employee, f"Runway idea number {n:02d}", tags="runway")
    login(employee)

    response = client.get(f"/search?q=runway&challenge={challenge.id}&sort=newest&tag=runway")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "25 ideas found" in page
    assert "Page 1 of 2" in page
    assert 'rel="next"' in page and "page=2" in page and f"challenge={challenge.id}" in page
    assert 'role="search"' in page and '<label for="search-q">' in page
    assert "Runway idea number 24" in page and "Runway idea number 04" not in page

    second = client.get(f"/search?q=runway&challenge={challenge.id}&sort=newest&tag=runway&page=2")
    assert "Runway idea number 04" in second.get_data(as_text=True)
    assert 'rel="prev"' in second.get_data(as_text=True)


BAD_QUERIES = [
    '"unbalanced quote', 'kiosk"', "title:", "title:(", "AND OR NOT (", "((((", "))", "NOT", "*", "?",
    "pool:employee", "hidden:y", "status:draft", "id:1", "published:[0 TO 99999999999999]",
    "title:[a TO", "{x TO y}", "kiosk^^^", "kiosk~~", "a" * 5000, "\x00\x01", "'", "'''", ":::",
    "tags:", "kiosk AND", "OR kiosk", "-kiosk", "title:kiosk:coffee", "café", "ü" * 50, "%", "\\",
    "<script>alert(1)</script>", "kiosk OR OR OR", "[", "]", "{", "}", "NOT NOT NOT kiosk",
]


def test_odd_queries_never_fail(two_challenges, employee):
    for query in BAD_QUERIES:
        for sort in ("relevance", "newest", "rank"):
            result = search_ideas(employee, query, sort=sort)
            assert result.total >= 0, query
            assert "not available" not in (result.error or ""), query


def test_odd_queries_on_the_page_answer_200(client, two_challenges):
    for query in BAD_QUERIES:
        response = client.get("/search", query_string={"q": query, "sort": "newest"})
        if "\x00" in query:  # the site may refuse NUL characters anywhere, with a clear 400 page
            assert response.status_code in (200, 400), query
            continue
        assert response.status_code == 200, query
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_unbalanced_quotes_and_brackets_get_a_gentle_notice(two_challenges, employee, client):
    result = search_ideas(employee, '"boarding passes')
    assert [i.title for i in result.items] == ["Kiosk that prints boarding passes"]
    assert "quotation mark" in result.error

    result = search_ideas(employee, "(kiosk AND coffee")
    assert [i.title for i in result.items] == ["Lounge kiosk with coffee"]
    assert "Brackets" in result.error

    page = client.get("/search", query_string={"q": '"boarding'}).get_data(as_text=True)
    assert "quotation mark had no partner" in page
    assert 'role="status"' in page


def test_a_query_of_nothing_but_operators_lists_everything(two_challenges, employee):
    result = search_ideas(employee, "((((")
    assert result.total == 4 and len(result.items) == 4
    # The person is told why everything is listed: their brackets were set aside.
    assert result.notices == ["Brackets did not pair up, so they were ignored."]
    assert result.error == "Brackets did not pair up, so they were ignored."


def test_filter_fields_cannot_be_searched_by_syntax(make_challenge, submit, employee, external, manager):
    from ideas import search
    from ideas.extensions import db

    challenge = make_challenge(pool_mode="separate")
    hidden = submit(challenge, employee, "Hidden walkway")
    hidden.hidden_at = clock.now()
    search.enqueue(hidden.id)
    db.session.commit()
    for query in ("hidden:y", "pool:employee", f"challenge_id:{challenge.id}", "walkway OR hidden:y"):
        assert search_ideas(external, query).items == [], query
    assert search_ideas(manager, "walkway").total == 1


def test_long_query_is_cut_with_a_notice(two_challenges, employee):
    result = search_ideas(employee, "kiosk " * 200)
    assert result.total == 4
    assert "first 300 characters" in result.error
