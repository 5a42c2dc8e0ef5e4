"""The API base: tokens, /me, the error shape, and the OpenAPI document kept in step."""
from __future__ import annotations

from ideas.api.core import OPERATIONS
from ideas.api.openapi import api_rules, openapi_path
from tests.conftest import PASSWORD


def test_exchange_password_for_token_and_read_me(client, make_user):
    user = make_user(pool="external", roles=("reviewer",))
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD, "name": "cli"})
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json() == {
        "id": user.id, "name": user.name, "email": user.email, "pool": "external",
        "roles": ["reviewer"], "verified": True, "expertise": [],
    }


def test_wrong_password_is_401_json(client, make_user):
    user = make_user()
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": "nope nope nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_malformed_and_wrong_typed_json(client):
    bad = client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "malformed_json"
    typed = client.post("/api/v1/tokens", json={"email": 5, "password": ["x"]})
    assert typed.status_code == 422
    fields = typed.get_json()["error"]["fields"]
    assert set(fields) == {"email", "password"}
    missing = client.post("/api/v1/tokens", json={})
    assert missing.status_code == 422 and "email" in missing.get_json()["error"]["fields"]
    not_json = client.post("/api/v1/tokens", data="email=x")
    assert not_json.status_code == 415


def test_deactivated_or_revoked_token_is_refused(client, make_user, api_token):
    from ideas.accounts import services
    from ideas.extensions import db

    user = make_user()
    headers = api_token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    services.set_active(user, False)
    db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_no_token_and_bad_scheme(client):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_session_cookie_does_not_authenticate_the_api(client, make_user, login):
    login(make_user())
    assert client.get("/api/v1/me").status_code == 401


def test_openapi_describes_every_endpoint(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    missing = []
    for rule, method in api_rules():
        path = openapi_path(rule.rule.removeprefix("/api/v1"))
        if (rule.endpoint, method) not in OPERATIONS or method.lower() not in document["paths"].get(path, {}):
            missing.append(f"{method} {rule.rule}")
    assert not missing, f"undocumented API endpoints: {missing}"
    documented = {(path, m) for path, ops in document["paths"].items() for m in ops}
    routed = {(openapi_path(r.rule.removeprefix("/api/v1")), m.lower()) for r, m in api_rules()}
    assert documented == routed
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            refs = [v for v in _walk(op) if isinstance(v, str) and v.startswith("#/components/schemas/")]
            for ref in refs:
                assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], (path, method, ref)


def _walk(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    else:
        yield node
