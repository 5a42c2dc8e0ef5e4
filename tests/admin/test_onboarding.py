"""Bulk onboarding from CSV: the rules of a file, all-or-nothing, the CLI and the admin page."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from ideas.accounts import services
from ideas.accounts.models import User
from ideas.mail.models import MailMessage
from ideas.accounts.onboarding import ImportResult, OnboardingError, import_csv
from ideas.extensions import db
from tests.conftest import csrf_token, link_in

GOOD = """name,email,pool,roles
Ada Lovelace,Ada@Staff.example,employee,manager;reviewer
Grace Hopper,grace@partner.example,,
Alan Turing,alan@staff.example,external,owner|admin
"""


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def mail_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MailMessage))


def test_new_people_are_created_without_password_and_welcomed(app, outbox):
    result = import_csv(GOOD)
    db.session.commit()
    assert result == ImportResult(created=3, updated=0)

    ada = services.find_by_email("ada@staff.example")
    assert ada.name == "Ada Lovelace" and ada.password_hash is None
    assert (ada.pool, ada.pool_source) == ("employee", "admin")
    assert {r.value for r in ada.roles} == {"manager", "reviewer"}
    assert not ada.is_verified

    grace = services.find_by_email("grace@partner.example")
    assert (grace.pool, grace.pool_source) == ("external", "domain") and not grace.roles
    alan = services.find_by_email("alan@staff.example")
    assert {r.value for r in alan.roles} == {"owner", "admin"}

    welcomes = outbox()
    assert sorted(m.to_address for m in welcomes) == sorted(
        ["ada@staff.example", "grace@partner.example", "alan@staff.example"]
    )
    assert all("/reset/" in m.body for m in welcomes)


def test_welcome_link_sets_password_confirms_address_and_pool_follows_domain(client, outbox, post_form):
    services.add_employee_domain("staff.example")
    import_csv("name,email,pool,roles\nBea Staff,bea@staff.example,,\n")
    db.session.commit()
    bea = services.find_by_email("bea@staff.example")
    assert bea.pool == "external"  # not before the address is proven

    link = link_in(outbox("bea@staff.example")[-1], "/reset/")
    response = post_form(link, {"password": "a long fresh passphrase", "confirm": "a long fresh passphrase"})
    assert response.status_code == 302
    db.session.refresh(bea)
    assert bea.is_verified and bea.pool == "employee"
    assert services.authenticate("bea@staff.example", "a long fresh passphrase") is not None


def test_existing_people_are_updated_by_email_whatever_its_case(make_user, outbox):
    grace = make_user(pool="external", roles=("reviewer",), name="Grace H.", email="grace@partner.example")
    keep = make_user(pool="external", name="Kept Name", email="kept@partner.example")
    result = import_csv(
        "name,email,pool,roles\n"
        "Grace Hopper,GRACE@partner.example,employee,manager\n"
        ",kept@partner.example,,owner\n"
    )
    db.session.commit()
    assert result == ImportResult(created=0, updated=2)
    db.session.refresh(grace)
    db.session.refresh(keep)
    assert grace.name == "Grace Hopper" and grace.pool == "employee" and grace.pool_source == "admin"
    assert {r.value for r in grace.roles} == {"manager"}  # the row's roles, not added to the old ones
    assert keep.name == "Kept Name"  # a blank name keeps the one they have
    assert keep.pool_source == "domain" and {r.value for r in keep.roles} == {"owner"}
    assert outbox() == []  # people who already have an account are not welcomed again


def test_roles_separators_case_blank_lines_bom_and_column_order(app):
    text = (
        "\ufeffEmail, Roles ,Name,POOL\n"
        "\n"
        "a@x.example,Manager  Reviewer,A,\n"
        "b@x.example,participant,B,External\n"
        '"c@x.example","owner|admin;manager","C, the third",\n'
    )
    assert import_csv(text) == ImportResult(created=3, updated=0)
    assert {r.value for r in services.find_by_email("a@x.example").roles} == {"manager", "reviewer"}
    assert not services.find_by_email("b@x.example").roles
    c = services.find_by_email("c@x.example")
    assert c.name == "C, the third" and {r.value for r in c.roles} == {"owner", "admin", "manager"}


def test_bytes_are_read_as_utf8(app):
    data = "name,email,pool,roles\nZoë Ünal,zoe@x.example,,\n".encode("utf-8-sig")
    assert import_csv(data).created == 1
    assert services.find_by_email("zoe@x.example").name == "Zoë Ünal"


HEADER = "name,email,pool,roles\n"
OK_ROW = "Fine Person,fine@x.example,,\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("\n\n", 1, "empty"),
        (HEADER, 2, "no people"),
        ("name,email,pool\nA,a@x.example,\n", 1, "first line must name the columns"),
        ("name,email,pool,roles,extra\n", 1, "first line must name the columns"),
        ("nom,email,pool,roles\n", 1, "first line must name the columns"),
        (HEADER + OK_ROW + "A,a@x.example,,,\n", 3, "expected 4 values"),
        (HEADER + OK_ROW + ",new@x.example,,\n", 3, "name is missing"),
        (HEADER + OK_ROW + "A,,,\n", 3, "e-mail address is missing"),
        (HEADER + OK_ROW + "A,not-an-address,,\n", 3, "not a valid e-mail address"),
        (HEADER + OK_ROW + "A,a@@x.example,,\n", 3, "not a valid e-mail address"),
        (HEADER + OK_ROW + f"A,{'a' * 250}@x.example,,\n", 3, "longer than 254"),
        (HEADER + OK_ROW + f"{'N' * 121},a@x.example,,\n", 3, "longer than 120"),
        (HEADER + OK_ROW + "A,a@x.example,staff,\n", 3, "unknown pool"),
        (HEADER + OK_ROW + "A,a@x.example,,superuser\n", 3, "unknown role"),
        (HEADER + OK_ROW + "\nA,FINE@x.example,,\n", 4, "already on line 2"),
        (HEADER + OK_ROW + 'A,"a@x.example,,\n', 3, "not valid CSV"),
        (HEADER + OK_ROW + "A,a@x.example,,\x00\n", 3, "NUL"),
        (HEADER + OK_ROW + "A\x1b[31m,a@x.example,,\n", 3, "control characters"),
    ],
)
def test_a_bad_row_names_its_line_and_nothing_is_written(app, text, line, words):
    with pytest.raises(OnboardingError) as caught:
        import_csv(text)
    message = str(caught.value)
    assert message.startswith(f"line {line}: "), message
    assert words in message
    assert caught.value.line == line
    db.session.commit()
    assert people_count() == 0 and mail_count() == 0


def test_a_bad_last_row_leaves_earlier_good_rows_unwritten(make_user):
    existing = make_user(pool="external", roles=("reviewer",), email="old@x.example")
    text = HEADER + "Old,old@x.example,employee,manager\nNew,new@x.example,,\nBad,bad@x.example,,wizard\n"
    with pytest.raises(OnboardingError, match=r"^line 4: unknown role"):
        import_csv(text)
    db.session.rollback()
    db.session.refresh(existing)
    assert existing.pool == "external" and {r.value for r in existing.roles} == {"reviewer"}
    assert services.find_by_email("new@x.example") is None and mail_count() == 0


def test_invalid_utf8_bytes_are_refused_with_their_line(app):
    data = HEADER.encode() + OK_ROW.encode() + b"Bj\xf6rn,bjorn@x.example,,\n"
    with pytest.raises(OnboardingError, match=r"^line 3: the file is not UTF-8"):
        import_csv(data)
    assert people_count() == 0


def test_a_quoted_name_over_several_lines_reports_the_line_it_starts_on(app):
    text = HEADER + '"Two\nLines",two@x.example,,\nBad,bad,,\n'
    with pytest.raises(OnboardingError, match=r"^line 4: "):
        import_csv(text)


def test_an_admin_importing_cannot_drop_their_own_admin_role(make_user):
    me = make_user(roles=("admin",), email="me@staff.example")
    with pytest.raises(OnboardingError, match=r"^line 2: this is you"):
        import_csv(HEADER + "Me,ME@staff.example,employee,manager\n", acting=me)
    db.session.rollback()
    assert me.is_admin


# --- the command line ------------------------------------------------------------

def run_cli(app, path):
    return app.test_cli_runner().invoke(args=["ideas", "users", "import", str(path)])


def test_cli_imports_a_file(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = run_cli(app, path)
    assert result.exit_code == 0, result.output
    assert "3 people created, 0 updated" in result.output
    db.session.remove()
    assert people_count() == 3 and mail_count() == 3


def test_cli_reports_the_bad_line_and_imports_nothing(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD + "Eve,eve@x.example,contractor,\n", encoding="utf-8")
    result = run_cli(app, path)
    assert result.exit_code != 0
    assert "line 5: unknown pool" in result.output
    db.session.remove()
    assert people_count() == 0 and mail_count() == 0


# --- the admin page --------------------------------------------------------------

def post_import(client, **data):
    data["csrf_token"] = csrf_token(client, "/admin/users/import")
    return client.post("/admin/users/import", data=data, content_type="multipart/form-data")


def test_page_imports_an_uploaded_file(client, admin, outbox):
    response = post_import(client, csv_file=(io.BytesIO(GOOD.encode()), "people.csv"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 people created" in page and "0 updated" in page
    assert services.find_by_email("grace@partner.example") is not None
    assert len(outbox("grace@partner.example")) == 1


def test_page_imports_pasted_rows(client, admin):
    response = post_import(client, text="name,email,pool,roles\r\nPat,pat@x.example,external,reviewer\r\n")
    assert response.status_code == 302
    assert services.find_by_email("pat@x.example").has_role("reviewer")


def test_page_shows_the_bad_line_next_to_the_field_and_imports_nothing(client, admin):
    bad = GOOD + "Eve,eve@x.example,,wizard\n"
    response = post_import(client, csv_file=(io.BytesIO(bad.encode()), "people.csv"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="csv_file-error"' in page and "line 5: unknown role" in page
    assert people_count() == 1 and mail_count() == 0  # only the signed-in administrator


def test_page_keeps_pasted_text_on_error(client, admin):
    response = post_import(client, text="name,email,pool,roles\nNo Address,,,\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="text-error"' in page and "line 2: the e-mail address is missing" in page
    assert "No Address,,," in page


def test_page_refuses_non_utf8_upload(client, admin):
    response = post_import(client, csv_file=(io.BytesIO(HEADER.encode() + b"\xff\xfe,x,,\n"), "people.csv"))
    assert response.status_code == 422
    assert "line 2: the file is not UTF-8" in response.get_data(as_text=True)


def test_page_asks_for_a_file_or_rows(client, admin):
    response = post_import(client)
    assert response.status_code == 422
    assert "Choose a CSV file or paste its rows." in response.get_data(as_text=True)


def test_a_file_over_the_row_limit_is_refused_whole(app):
    text = HEADER + "".join(f"P {i},p{i}@x.example,,\n" for i in range(4))
    with pytest.raises(OnboardingError, match=r"^line 5: a file may hold at most 3 people here; split it"):
        import_csv(text, max_rows=3)
    assert people_count() == 0
    assert import_csv(text, max_rows=4).created == 4


def test_page_import_is_bounded_and_points_to_the_command_line(client, admin, monkeypatch):
    import ideas.admin.routes

    monkeypatch.setattr(ideas.admin.routes, "MAX_ROWS_PAGE", 2)
    text = HEADER + "".join(f"P {i},p{i}@x.example,,\n" for i in range(3))
    response = post_import(client, text=text)
    assert response.status_code == 422
    assert "line 4: a file may hold at most 2 people here; split it or use the command line." in (
        response.get_data(as_text=True)
    )
