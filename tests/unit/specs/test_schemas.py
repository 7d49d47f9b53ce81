"""The shipped JSON Schemas are valid Draft 2020-12 and catch what the builders do not."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from airflow_provider_mlendpoints.specs.schema_check import SCHEMA_FILES, load_schema, schema_problems


@pytest.mark.parametrize("name", ["common.schema.json", *SCHEMA_FILES.values()])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(name)


def test_schema_problems_use_the_users_paths() -> None:
    doc = {
        "name": "e",
        "deployments": [{"name": "b", "model": {"path": "m"}, "instance_count": "two", "colour": 1}],
        "traffic": {"b": 150},
    }
    problems = {p.path: p for p in schema_problems("online_endpoint", doc, "e.yml")}
    assert problems["deployments[0].instance_count"].expected == "a positive integer"
    assert problems["deployments[0].instance_count"].found == '"two"'
    assert "unknown field 'colour'" in problems["deployments[0].colour"].message
    assert problems["traffic.b"].expected == "a percentage 0-100"


def test_required_name_and_unknown_top_level_field() -> None:
    problems = schema_problems("batch_endpoint", {"auth_mode": "aad_token", "owner": "me"}, "b.yml")
    assert [(p.path, p.message.split(";")[0]) for p in problems] == [
        ("name", "required field is missing"),
        ("owner", "unknown top-level field 'owner'"),
    ]
