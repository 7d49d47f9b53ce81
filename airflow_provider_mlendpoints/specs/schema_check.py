"""Checking a raw document against the JSON Schema of its kind (shipped in ``specs/schemas``).

The document is checked as the user wrote it, so every problem names the
field path in *their* file (``settings.mini_batch_size``, ``deployments[0].model``).
A schema node may carry ``x-expected``: the phrase used in the problem.
jsonschema is imported on first use only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .errors import Problem, describe, join_path

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

SCHEMA_FILES = {
    "batch_endpoint": "batch_endpoint.schema.json",
    "batch_deployment": "batch_deployment.schema.json",
    "online_endpoint": "online_endpoint.schema.json",
    "online_deployment": "online_deployment.schema.json",
}
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


def load_schema(name: str) -> dict[str, Any]:
    """One of the shipped schema documents, by file name."""
    text = resources.files(__package__).joinpath("schemas", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry = Registry()
    for file_name in ("common.schema.json", *SCHEMA_FILES.values()):
        schema = load_schema(file_name)
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator(load_schema(SCHEMA_FILES[kind]), registry=registry)


def _path(parts: Iterable[str | int]) -> str:
    path = ""
    for part in parts:
        path = join_path(path, part if isinstance(part, int) else str(part))
    return path


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    """The (sub)schema the error is about; empty for a boolean schema."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _expected(error: ValidationError) -> str:
    schema = _schema_of(error)
    if "x-expected" in schema:
        return str(schema["x-expected"])
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)
    if error.validator == "minimum":
        return f"a number >= {error.validator_value}"
    if error.validator == "maximum":
        return f"a number <= {error.validator_value}"
    if error.validator == "minLength":
        return "a non-empty string"
    return str(error.message)


def _problems_for(error: ValidationError, file: str) -> list[Problem]:
    path = _path(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [key for key in required if key not in instance]
        return [Problem(file, join_path(path, key), message="required field is missing") for key in missing]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = sorted(_schema_of(error).get("properties", {}))
        extra = [key for key in instance if key not in known]
        where = "top-level " if not path else ""
        return [
            Problem(
                file,
                join_path(path, str(key)),
                message=f"unknown {where}field {key!r}; known fields: {', '.join(k for k in known if k != '$schema')}",
            )
            for key in extra
        ]
    return [Problem(file, path, _expected(error), describe(instance))]


def schema_problems(kind: str, doc: dict[str, Any], file: str) -> list[Problem]:
    """Problems of ``doc`` against the schema of ``kind``, ordered by field path."""
    validator = _validator(kind)
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_problems_for(error, file))
    return problems
