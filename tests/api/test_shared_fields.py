"""The API and archives read with one set of field types (ideas.fields): the same bounds
in the OpenAPI document and in the archive's records, the same refusals."""
from __future__ import annotations

import pytest

from ideas.archive.document import ArchiveError, CriterionEntry, read
from tests.api.conftest import fields_of
from tests.api.test_challenges_api import charter
from tests.archive.test_archive import rich_archive


def test_the_api_and_the_archive_bound_a_criterion_alike(api, make_user):
    """Declared once (ideas.fields): the same bounds in both documents and both refusals."""
    manager = make_user(roles=("manager",))
    openapi = api("GET", "/openapi.json").get_json()
    weight = openapi["components"]["schemas"]["CriterionInput"]["properties"]["weight"]
    name = openapi["components"]["schemas"]["CriterionInput"]["properties"]["name"]
    archived = CriterionEntry.model_json_schema()["properties"]
    assert (weight["minimum"], weight["maximum"]) == (archived["weight"]["minimum"], archived["weight"]["maximum"]) \
        == (1, 10)
    assert name["maxLength"] == archived["name"]["maxLength"] == 60

    refused = api("POST", "/challenges", manager, json=charter(criteria=[{"name": "impact", "weight": 11}]))
    assert refused.status_code == 422
    assert "whole number from 1 to 10" in " ".join(fields_of(refused)["criteria"])
    document = rich_archive()
    document["challenge"]["criteria"][0]["weight"] = 11
    with pytest.raises(ArchiveError, match=r"^challenge\.criteria\[0\]\.weight: must be a whole number from 1 to 10"):
        read(document)
