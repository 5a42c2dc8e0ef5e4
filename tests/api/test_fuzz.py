"""Schemathesis against the OpenAPI document, as each role: no 5xx, every response as
documented, valid requests accepted and invalid ones refused.

Bounded so that it stays cheap in the suite: a fixed number of examples per operation
and mode, a fixed seed (derandomized), no shrinking and no example database. The run
prints its figures (operations, cases, failures). FUZZ_EXAMPLES raises the count for
a longer run by hand:  FUZZ_EXAMPLES=50 .venv/bin/pytest tests/api/test_fuzz.py -s"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ideas.extensions import db
from tests.review.conftest import walk

EXAMPLES = {GenerationMode.POSITIVE: int(os.environ.get("FUZZ_EXAMPLES", "1")),
            GenerationMode.NEGATIVE: int(os.environ.get("FUZZ_EXAMPLES", "1"))}
ROLES = tuple(os.environ.get("FUZZ_ROLES", "external employee manager reviewer owner admin anonymous").split())
# What the contract says when it refuses a request; a domain rule (dates out of order,
# an unknown person) speaks in its own words, and may refuse a well-formed request.
CONTRACT_REFUSALS = ("Some fields are missing, wrong or not known.", "Some query parameters are not valid.",
                     "The body must be a JSON object.")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def people(world, make_user, api_token):
    walk(world, world.ideas[0], "acknowledged")  # a handoff for the owner, a review for reviewers
    db.session.commit()
    users = {
        "external": world.authors[0], "employee": world.authors[1], "manager": world.manager,
        "reviewer": world.reviewers[0], "owner": world.owners[0], "admin": make_user(roles=("admin",)),
    }
    return {role: api_token(user) for role, user in users.items()} | {"anonymous": {}}


@pytest.mark.timeout(900)  # seconds on a quiet machine; the limit is for a shared, busy one
# Generated edits sometimes leave the search index with an empty segment file; whoosh then
# leaks the files it opened while failing to read it (search.drain logs and retries; no
# request fails). That is the search index's to mend, not the API contract's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_api_answers_every_generated_request_as_documented(app, client, people, capsys):
    document = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    cases: Counter = Counter()
    failures: list[str] = []
    # The baseline, measured in the same run: one plain authenticated read.
    started = time.perf_counter()
    for _ in range(20):
        assert client.get("/api/v1/me", headers=people["manager"]).status_code == 200
    plain = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    # Each generated request is sent as every role in turn: drawing it costs more than
    # sending it, and the same request shows what each role is let through to.
    for operation in operations:
        secured = document["paths"][operation.path][operation.method.lower()]["security"]
        for mode, examples in EXAMPLES.items():
            # The anonymous are refused at the door (401) whatever the body of a secured
            # operation: the valid cases show it.
            roles = [(role, people[role]) for role in ROLES
                     if not (role == "anonymous" and mode is GenerationMode.NEGATIVE and secured)]
            run = _runner(operation, mode, examples, app, roles, cases, failures)
            try:
                run()
            except Unsatisfiable:  # nothing to make invalid: no parameters and no body (GET /me)
                continue

    total = sum(cases.values())
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations × {len(ROLES)} roles, {total} cases "
              f"({cases[GenerationMode.POSITIVE]} valid, {cases[GenerationMode.NEGATIVE]} invalid), "
              f"{len(failures)} failures, in {elapsed:.1f} s "
              f"(a case costs {elapsed / max(total, 1) / plain:.0f}× a plain GET /me)")
    assert not failures, "\n\n".join(failures[:15])


def _runner(operation, mode, examples, app, roles, cases, failures):
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        for role, headers in roles:
            cases[mode] += 1
            db.session.rollback()  # each request starts from what is committed, as in production
            response = case.call(app=app, headers=headers)
            label = f"{role} {operation.label} [{mode.value}] → {response.status_code}"
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            try:
                case.validate_response(response, checks=checks)
            except BaseExceptionGroup as error:  # schemathesis's FailureGroup: collected, reported together
                failures.append(f"{label}: {str(error)[:600]}")
                continue
            if mode is GenerationMode.POSITIVE and response.status_code == 422:
                message = (response.json() or {}).get("error", {}).get("message")
                if message in CONTRACT_REFUSALS:
                    failures.append(f"{label}: a valid request refused by the contract: {response.text[:400]}")

    return run
