"""Administrators find people and change their pool, roles and whether they may sign in."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from ideas import clock
from ideas.accounts import services
from ideas.accounts.models import User
from ideas.admin.services import PeopleFilter, list_people
from ideas.extensions import db
from tests.conftest import csrf_token

ROW_LINK = re.compile(r'href="/admin/users/(\d+)"')
NEXT = re.compile(r'href="(/admin/users\?[^"]*after=\d+[^"]*)" rel="next"')
PREV = re.compile(r'href="(/admin/users\?[^"]*before=\d+[^"]*)" rel="prev"')


def listed_ids(page_html: str) -> list[int]:
    return [int(i) for i in ROW_LINK.findall(page_html)]


def unescape(url: str) -> str:
    return url.replace("&amp;", "&")


# --- the list --------------------------------------------------------------------

def test_keyset_paging_walks_every_person_exactly_once(client, admin, add_people):
    add_people(120)
    seen: list[int] = []
    url = "/admin/users"
    pages = 0
    while url:
        page = client.get(url).get_data(as_text=True)
        ids = listed_ids(page)
        assert len(ids) <= 50
        seen.extend(ids)
        pages += 1
        match = NEXT.search(page)
        url = unescape(match.group(1)) if match else None
    assert pages == 3
    everyone = [admin.id] + [u.id for u in db.session.scalars(db.select(User).where(User.id != admin.id))]
    assert sorted(seen) == sorted(everyone) and len(seen) == len(set(seen)) == 121
    assert seen == sorted(seen)  # by id: a new sign-up never shifts the pages already read


def test_previous_page_goes_back_to_the_same_rows(client, admin, add_people):
    add_people(120)
    first = client.get("/admin/users").get_data(as_text=True)
    second_url = unescape(NEXT.search(first).group(1))
    second = client.get(second_url).get_data(as_text=True)
    third = client.get(unescape(NEXT.search(second).group(1))).get_data(as_text=True)
    back = client.get(unescape(PREV.search(third).group(1))).get_data(as_text=True)
    assert listed_ids(back) == listed_ids(second)
    back_to_first = client.get(unescape(PREV.search(back).group(1))).get_data(as_text=True)
    assert listed_ids(back_to_first) == listed_ids(first)
    assert PREV.search(back_to_first) is None and NEXT.search(back_to_first)


def test_a_page_is_one_bounded_query_without_offset_or_count(app, add_people):
    add_people(120)
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = list_people(PeopleFilter(q="member", role="reviewer"), after=60)
        page = list_people(PeopleFilter(), after=60)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # One query per page for the people (their roles come in one more, by primary key).
    people_queries = [(s, p) for s, p in statements if s.lstrip().startswith("SELECT users.")]
    assert len(people_queries) == 2 and len(statements) <= 4
    for sql, parameters in people_queries:
        sql = sql.upper()
        assert "COUNT(" not in sql and "LIMIT" in sql
        # SQLite always writes "LIMIT ? OFFSET ?"; the offset must be 0, never a skip.
        if "OFFSET" in sql:
            values = list(parameters.values() if isinstance(parameters, dict) else parameters)
            assert values[-1] == 0
    assert len(page.items) == 50 and page.items[0].id > 60


def test_search_is_a_case_insensitive_substring_of_name_or_email(client, admin, make_user):
    make_user(name="Katherine Johnson", email="kj@outside.example", pool="external")
    make_user(name="Dorothy Vaughan", email="dorothy@staff.example")
    make_user(name="Mary Jackson", email="mary_j@outside.example", pool="external")

    def names(query: str) -> set[str]:
        page = client.get("/admin/users", query_string={"q": query}).get_data(as_text=True)
        return set(re.findall(r'href="/admin/users/\d+">([^<]+)</a>', page))

    assert names("JOHN") == {"Katherine Johnson"}
    assert names("STAFF.EX") == {"Dorothy Vaughan", "Root Admin"}
    assert names("_j@") == {"Mary Jackson"}  # LIKE wildcards are plain characters here
    assert names("%") == set()


def test_filters_by_pool_role_status_and_verification(client, admin, make_user):
    make_user(name="Emp Manager", roles=("manager",))
    make_user(name="Ext Reviewer", pool="external", roles=("reviewer",))
    make_user(name="Gone Person", pool="external", active=False)
    make_user(name="Unconfirmed", pool="external", verified=False)

    def names(**args) -> set[str]:
        page = client.get("/admin/users", query_string=args).get_data(as_text=True)
        return set(re.findall(r'href="/admin/users/\d+">([^<]+)</a>', page))

    assert names(pool="employee") == {"Root Admin", "Emp Manager"}
    assert names(pool="external", role="reviewer") == {"Ext Reviewer"}
    assert names(role="admin") == {"Root Admin"}
    assert names(status="deactivated") == {"Gone Person"}
    assert "Gone Person" not in names(status="active")
    assert names(verified="no") == {"Unconfirmed"}
    assert "Unconfirmed" not in names(verified="yes")


def test_filters_survive_paging(client, admin, add_people):
    add_people(60, prefix="alpha")
    add_people(60, prefix="beta")
    page = client.get("/admin/users", query_string={"q": "beta"}).get_data(as_text=True)
    next_url = unescape(NEXT.search(page).group(1))
    assert "q=beta" in next_url
    rest = client.get(next_url).get_data(as_text=True)
    assert len(listed_ids(page)) == 50 and len(listed_ids(rest)) == 10
    assert "Alpha" not in rest


@pytest.mark.parametrize(
    "query",
    [
        "?pool=wizards", "?role=king", "?status=maybe", "?verified=perhaps", "?after=abc",
        "?after=-5", "?before=1e9", "?after=99999999999999999999999", "?q=" + "x" * 500,
        "?q=%00", "?after=&before=",
    ],
)
def test_bad_query_parameters_are_ignored(client, admin, make_user, query):
    make_user(pool="external", name="Xena Unconfirmed", verified=False)
    make_user(name="Dee Deactivated", active=False)
    everyone = listed_ids(client.get("/admin/users").get_data(as_text=True))
    assert len(everyone) == 3
    response = client.get("/admin/users" + query)
    assert response.status_code == 200
    # A value that cannot be used is dropped, not half-applied: the whole list, as without it.
    assert listed_ids(response.get_data(as_text=True)) == everyone, query


def test_list_shows_pool_source_roles_status_and_joined(client, admin, make_user):
    services.add_employee_domain("staff.example")
    person = make_user(name="Dora Domain", roles=("owner", "reviewer"))
    person.pool_source = "domain"
    db.session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    row = page[page.index("Dora Domain"):].split("</tr>")[0]
    assert "Employee" in row and "by e-mail domain" in row
    assert "R&amp;D owner, Reviewer" in row and "Active" in row
    assert clock.now().strftime("%d %b %Y") in row
    assert 'class="table-wrap" role="region" tabindex="0"' in page and 'scope="col"' in page


# --- the person page -------------------------------------------------------------

def test_unknown_person_is_404(client, admin):
    assert client.get("/admin/users/999999").status_code == 404
    token = csrf_token(client, "/admin/users")
    for action in ("pool", "roles", "deactivate", "reactivate"):
        assert client.post(f"/admin/users/999999/{action}", data={"csrf_token": token}).status_code == 404


def test_change_pool_sticks_and_can_follow_the_domain_again(client, admin, make_user, post_form):
    person = make_user(pool="external", email="pat@staff.example")
    page = f"/admin/users/{person.id}"
    response = post_form(page, {"pool": "employee"}, action=f"{page}/pool")
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    db.session.refresh(person)
    assert (person.pool, person.pool_source) == ("employee", "admin")
    assert "is now in the employee pool" in client.get(page).get_data(as_text=True)

    response = post_form(page, {"pool": "domain"}, action=f"{page}/pool")
    db.session.refresh(person)
    assert person.pool_source == "domain" and person.pool == "external"  # no employee domain yet


def test_an_unknown_pool_is_refused_next_to_the_field(client, admin, make_user, post_form):
    person = make_user(pool="external")
    page = f"/admin/users/{person.id}"
    response = post_form(page, {"pool": "martians"}, action=f"{page}/pool")
    assert response.status_code == 422
    assert 'id="pool-error"' in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.pool == "external"


def test_change_roles_with_checkboxes(client, admin, make_user, post_form):
    person = make_user(roles=("reviewer",))
    page = f"/admin/users/{person.id}"
    response = post_form(page, {"roles": ["manager", "owner"]}, action=f"{page}/roles")
    assert response.status_code == 302
    db.session.refresh(person)
    assert {r.value for r in person.roles} == {"manager", "owner"}
    html = client.get(page).get_data(as_text=True)
    assert 'checked id="roles-0" name="roles" type="checkbox" value="manager"' in html

    post_form(page, {}, action=f"{page}/roles")  # nothing ticked: participant only
    db.session.refresh(person)
    assert person.roles == frozenset()


def test_unknown_role_is_refused(client, admin, make_user, post_form):
    person = make_user(roles=("reviewer",))
    page = f"/admin/users/{person.id}"
    response = post_form(page, {"roles": ["emperor"]}, action=f"{page}/roles")
    assert response.status_code == 422
    db.session.refresh(person)
    assert {r.value for r in person.roles} == {"reviewer"}


def test_admin_cannot_remove_their_own_admin_role(client, admin, post_form):
    page = f"/admin/users/{admin.id}"
    response = post_form(page, {"roles": ["manager"]}, action=f"{page}/roles")
    assert response.status_code == 422
    assert "You cannot remove your own administrator role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.is_admin and not admin.has_role("manager")


def test_admin_may_remove_another_admins_role(client, admin, make_user, post_form):
    other = make_user(roles=("admin",))
    page = f"/admin/users/{other.id}"
    assert post_form(page, {"roles": []}, action=f"{page}/roles").status_code == 302
    db.session.refresh(other)
    assert not other.is_admin


def test_admin_cannot_deactivate_themselves(client, admin, post_form):
    page = f"/admin/users/{admin.id}"
    response = post_form(page, action=f"{page}/deactivate")
    assert response.status_code == 422
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_deactivation_ends_sessions_and_tokens_and_keeps_the_account(
    app, client, admin, make_user, login, post_form, api_token
):
    person = make_user(pool="external", name="Soon Gone")
    their_browser = app.test_client()
    login(person, target=their_browser)
    headers = api_token(person)
    assert their_browser.get("/account").status_code == 200
    assert their_browser.get("/api/v1/me", headers=headers).status_code == 200

    page = f"/admin/users/{person.id}"
    response = post_form(page, action=f"{page}/deactivate")
    assert response.status_code == 302
    assert "Soon Gone is deactivated" in client.get(page).get_data(as_text=True)

    assert their_browser.get("/account").status_code == 302  # back to the sign-in page
    assert their_browser.get("/api/v1/me", headers=headers).status_code == 401
    assert services.authenticate(person.email, "correct horse battery staple") is None
    db.session.refresh(person)
    assert not person.active and db.session.get(User, person.id) is not None

    # Reactivated: they sign in again; the old token stays revoked.
    assert post_form(page, action=f"{page}/reactivate").status_code == 302
    fresh = app.test_client()
    login(person, target=fresh)
    assert fresh.get("/account").status_code == 200
    assert fresh.get("/api/v1/me", headers=headers).status_code == 401


def test_changes_need_the_csrf_token(client, admin, make_user):
    person = make_user()
    response = client.post(f"/admin/users/{person.id}/deactivate")
    assert response.status_code == 400
    db.session.refresh(person)
    assert person.active
