"""Safe by default: CSRF, headers, cookies, the secret key, rate limits, bad input, error pages."""
from __future__ import annotations

import os
import re
import shutil
import stat

import pytest

from ideas import config, create_app
from ideas.extensions import db
from tests.conftest import PASSWORD, csrf_token

# --- CSRF ------------------------------------------------------------------------

FORMS_WITHOUT_TOKEN = [
    # (page that shows the form, where it posts, a body that would otherwise be accepted, signed in?)
    ("/login", "/login", {"email": "someone@outside.example", "password": PASSWORD}, False),
    ("/register", "/register", {"name": "Ann", "email": "ann@outside.example", "password": PASSWORD,
                                "confirm": PASSWORD, "accept_terms": "y"}, False),
    ("/reset", "/reset", {"email": "someone@outside.example"}, False),
    ("/account", "/account/profile", {"name": "Changed", "bio": "", "expertise": ""}, True),
    ("/account", "/account/tokens", {"name": "sneaky"}, True),
    ("/", "/logout", {}, True),
]


@pytest.mark.parametrize(("page", "action", "body", "signed_in"), FORMS_WITHOUT_TOKEN,
                         ids=[f[1] for f in FORMS_WITHOUT_TOKEN])
def test_a_form_without_its_csrf_token_is_refused(client, make_user, login, page, action, body, signed_in):
    user = make_user()
    if signed_in:
        login(user)
    client.get(page)
    response = client.post(action, data=body)
    assert response.status_code == 400
    assert "This form had expired or came from elsewhere" in response.get_data(as_text=True)
    if signed_in:
        db.session.refresh(user)
        assert user.name != "Changed"
        assert client.get("/account").status_code == 200  # still signed in: logout was refused too


def test_a_token_from_another_session_is_refused(app, client, make_user):
    other = app.test_client()
    stolen = csrf_token(other, "/login")
    csrf_token(client, "/login")
    response = client.post("/login", data={"email": make_user().email, "password": PASSWORD, "csrf_token": stolen})
    assert response.status_code == 400


# --- headers and cookies ------------------------------------------------------------

def _directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/api/v1/openapi.json"])
def test_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    csp = _directives(headers["Content-Security-Policy"])
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("frame-ancestors") == ["'none'"] or headers.get("X-Frame-Options") == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}


def test_pages_carry_no_inline_script(client, make_user, login):
    login(make_user(roles=("admin",)))
    for path in ("/", "/account", "/login"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        for chunk in page.split("<script")[1:]:
            opening = chunk.split(">", 1)[0]
            assert "src=" in opening, f"inline script on {path}"
        assert " onclick=" not in page and " onload=" not in page, path


def test_session_and_remember_cookies_are_httponly_and_lax(client, make_user, login_form):
    response = login_form(make_user(), remember=True)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]  # plain http in tests; see the production case below


@pytest.fixture
def make_app(database_template, tmp_path, monkeypatch):
    """make_app(env={...}, **overrides): an app built from environment variables, as in production."""
    built = []

    def build(env: dict[str, str] | None = None, **overrides):
        for name in [k for k in os.environ if k.startswith("IDEAS_") and k != "IDEAS_TEST_DATABASE_URL"]:
            monkeypatch.delenv(name)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        instance = tmp_path / f"instance{len(built)}"
        instance.mkdir()
        if database_template["kind"] == "sqlite":
            shutil.copy(database_template["path"], instance / "ideas.db")
            url = f"sqlite:///{instance / 'ideas.db'}"
        else:
            url = database_template["url"]
        values = {"IDEAS_INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url, **overrides}
        application = create_app(values)
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_production_over_https_marks_cookies_secure(make_app):
    application = make_app({"IDEAS_ENV": "production", "IDEAS_SECRET_KEY": "x" * 64, "IDEAS_HTTPS": "1"})
    assert application.config["SESSION_COOKIE_SECURE"] and application.config["REMEMBER_COOKIE_SECURE"]
    response = application.test_client().get("/login", base_url="https://ideas.test")
    [session] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_https_is_assumed_in_production_and_not_in_development(tmp_path):
    production = config.load(env={"IDEAS_ENV": "production", "IDEAS_SECRET_KEY": "k" * 40,
                                  "IDEAS_INSTANCE_PATH": str(tmp_path)})
    assert production["SESSION_COOKIE_SECURE"] is True
    plain = config.load(env={"IDEAS_ENV": "production", "IDEAS_SECRET_KEY": "k" * 40, "IDEAS_HTTPS": "0",
                             "IDEAS_INSTANCE_PATH": str(tmp_path)})
    assert plain["SESSION_COOKIE_SECURE"] is False
    development = config.load(env={"IDEAS_ENV": "development", "IDEAS_INSTANCE_PATH": str(tmp_path)})
    assert development["SESSION_COOKIE_SECURE"] is False
    # Mail written by a command (the demo, the tick) links to where `make run` serves.
    assert development["IDEAS_BASE_URL"] == "http://127.0.0.1:8000"


# --- the secret key -------------------------------------------------------------------

@pytest.mark.parametrize("env", [{"IDEAS_ENV": "production"}, {}], ids=["production", "unset"])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, env):
    with pytest.raises(config.ConfigError, match="IDEAS_SECRET_KEY"):
        config.load(env={**env, "IDEAS_INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_create_app_refuses_too(make_app):
    with pytest.raises(config.ConfigError):
        make_app({"IDEAS_ENV": "production"})


def test_an_unknown_environment_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="IDEAS_ENV"):
        config.load(env={"IDEAS_ENV": "prod", "IDEAS_SECRET_KEY": "k" * 40, "IDEAS_INSTANCE_PATH": str(tmp_path)})


def test_development_generates_a_key_under_the_instance_path_and_keeps_it(tmp_path):
    env = {"IDEAS_ENV": "development", "IDEAS_INSTANCE_PATH": str(tmp_path / "instance")}
    first = config.load(env=env)["SECRET_KEY"]
    path = tmp_path / "instance" / "secret_key"
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load(env=env)["SECRET_KEY"] == first
    assert config.load(env={**env, "IDEAS_INSTANCE_PATH": str(tmp_path / "other")})["SECRET_KEY"] != first


def test_a_set_secret_key_wins_everywhere(tmp_path):
    env = {"IDEAS_SECRET_KEY": "s" * 50, "IDEAS_INSTANCE_PATH": str(tmp_path)}
    for environment in config.ENVIRONMENTS:
        assert config.load(env={**env, "IDEAS_ENV": environment})["SECRET_KEY"] == "s" * 50
    assert not (tmp_path / "secret_key").exists()


# --- rate limits --------------------------------------------------------------------------

@pytest.fixture
def limited_app(make_app):
    return make_app({"IDEAS_ENV": "testing", "IDEAS_RATELIMIT_ENABLED": "1"})


def test_sign_in_is_rate_limited_with_a_friendly_page(limited_app):
    client = limited_app.test_client()
    token = csrf_token(client, "/login")
    statuses = [
        client.post("/login", data={"email": "nobody@outside.example", "password": "wrong password",
                                    "csrf_token": token}).status_code
        for _ in range(10)
    ]
    assert statuses == [422] * 10
    response = client.post("/login", data={"email": "nobody@outside.example", "password": "wrong password",
                                            "csrf_token": token})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and 'class="site-header"' in page
    assert "Traceback" not in page
    assert client.get("/login").status_code == 200  # reading the page is not limited


def test_token_exchange_is_rate_limited_with_a_json_error(limited_app):
    client = limited_app.test_client()
    body = {"email": "nobody@outside.example", "password": "wrong password"}
    statuses = [client.post("/api/v1/tokens", json=body).status_code for _ in range(10)]
    assert statuses == [401] * 10
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited" and set(error) == {"code", "message", "fields"}


def test_limits_are_off_in_tests_unless_asked(app):
    assert app.config["RATELIMIT_ENABLED"] is False


# --- bad input ------------------------------------------------------------------------------

def _post_raw(client, path: str, token: str, raw: bytes):
    body = b"csrf_token=" + token.encode() + b"&" + raw
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("raw", [
    b"email=%FF%FE%FD&password=%C3%28%A0%A1",  # percent-encoded bytes that are not UTF-8
    b"email=\xff\xfe@x.example&password=\xc3\x28xxxxxxxx",  # raw bytes that are not UTF-8
    b"email=a%00b%40x.example&password=nul%00inside%00it",  # NUL characters
], ids=["percent-encoded", "raw", "nul"])
@pytest.mark.parametrize("path", ["/login", "/register", "/reset"])
def test_invalid_text_in_a_form_is_refused_not_a_500(client, path, raw):
    token = csrf_token(client, path)
    response = _post_raw(client, path, token, raw + b"&name=%FF%00&confirm=x")
    if path == "/reset":
        # The reset form answers the same whatever the address, so as not to reveal accounts.
        assert response.status_code == 302 or 400 <= response.status_code < 500, response.status_code
    else:
        assert 400 <= response.status_code < 500, response.status_code


def test_overlong_fields_are_refused_next_to_the_field(client):
    token = csrf_token(client, "/register")
    password = "p" * 5000
    response = client.post("/register", data={
        "name": "n" * 5000, "email": "e" * 5000 + "@outside.example", "password": password,
        "confirm": password, "accept_terms": "y", "csrf_token": token,
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and 'id="email-error"' in page and 'id="password-error"' in page
    assert password not in page  # what was typed is kept, except passwords


def test_overlong_fields_on_the_account_page(client, make_user, login, post_form):
    login(make_user())
    response = post_form("/account", action="/account/profile",
                         data={"name": "n" * 1000, "bio": "b" * 10_000, "expertise": "e" * 10_000})
    assert response.status_code == 422


def test_a_huge_form_field_is_refused(client):
    token = csrf_token(client, "/login")
    plain = client.post("/login", data={"csrf_token": token, "email": "x" * (2 * 1024 * 1024), "password": "y"})
    assert plain.status_code == 422
    # Multipart parts are held in memory up to MAX_FORM_MEMORY_SIZE, and refused beyond it.
    parts = [("csrf_token", token.encode()), ("email", b"x" * (2 * 1024 * 1024)), ("password", b"y")]
    body = b"".join(
        b"--b0undary\r\nContent-Disposition: form-data; name=\"" + name.encode() + b"\"\r\n\r\n" + value + b"\r\n"
        for name, value in parts
    ) + b"--b0undary--\r\n"
    multipart = client.post("/login", data=body, content_type="multipart/form-data; boundary=b0undary")
    assert multipart.status_code == 413


def test_a_huge_body_is_refused(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/tokens", data=b"{" + b" " * limit + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("path", ["/people/%FF", "/verify/%FF%FE", "/reset/%00", "/people/-1", "/people/0"])
def test_odd_urls_are_4xx(client, path):
    assert 400 <= client.get(path).status_code < 500


@pytest.mark.parametrize("number", ["99999999999999999999", str(2**31)])
def test_ids_beyond_what_the_database_stores_are_404_never_500(client, make_user, login, api_token, number):
    """Every route with an <int:…> part, called with an id no database column can hold."""
    admin = make_user(roles=("admin",))
    login(admin)
    token = csrf_token(client, "/account")
    bearer = api_token(admin)
    failures = []
    for rule in client.application.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:[a-z_]+>", number, rule.rule)
        url = re.sub(r"<(?:[a-z_]+:)?[a-z_]+>", "x", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if url.startswith("/api/"):
                response = client.open(url, method=method, headers=bearer)
            else:
                response = client.open(url, method=method, data=None if method == "GET" else {"csrf_token": token})
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, failures


# --- the JSON API with bad bodies ------------------------------------------------------------

BAD_JSON = [
    pytest.param(b"{not json", 400, id="malformed"),
    pytest.param(b"", 400, id="empty"),
    pytest.param(b'{"email": "a@b.example", "password": "\xff\xfe"}', 400, id="not-utf8"),
    pytest.param(b"[1, 2]", 422, id="array"),
    pytest.param(b'"a string"', 422, id="string"),
    pytest.param(b"null", 400, id="null"),
    pytest.param(b"{}", 422, id="missing-fields"),
    pytest.param(b'{"email": 5, "password": true}', 422, id="wrong-types"),
    pytest.param(b'{"email": ["a"], "password": {"b": 1}}', 422, id="containers"),
    pytest.param(b'{"email": "a@b.example", "password": "x", "name": 12}', 422, id="wrong-optional"),
    pytest.param(b'{"email": "a@b.example", "password": 1e999}', 422, id="huge-number"),
    pytest.param(b'{"email": "a\\u0000@b.example", "password": "x\\u0000"}', 422, id="nul-escaped"),
]


@pytest.mark.parametrize(("body", "status"), BAD_JSON)
def test_bad_json_gets_a_json_error(client, body, status):
    response = client.post("/api/v1/tokens", data=body, content_type="application/json")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    if status == 422:
        assert isinstance(error["fields"], dict)


def test_wrong_types_name_each_field(client):
    response = client.post("/api/v1/tokens", json={"email": 5, "password": None})
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"email", "password"}
    assert all(isinstance(m, list) and m for m in fields.values())


def test_a_form_body_to_the_api_is_415(client):
    response = client.post("/api/v1/tokens", data={"email": "a@b.example", "password": "x"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


# --- error pages ------------------------------------------------------------------------------

def test_404_page_in_the_site_look(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'class="site-header"' in page and "Nothing here" in page and "Back to the home page" in page


def test_405_page_in_the_site_look(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    page = response.get_data(as_text=True)
    assert 'class="site-header"' in page and "Not allowed here" in page


def test_404_and_405_are_json_under_the_api(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/me")
    assert wrong.status_code == 405 and wrong.mimetype == "application/json"
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
