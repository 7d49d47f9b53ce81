"""Validating bodies against the Azure ML OpenAPI 2.0 documents with jsonschema.

OpenAPI 2.0 schemas are not quite JSON Schema; :func:`convert_definitions`
maps the quirks:

- ``x-nullable: true`` -> the value may also be ``null``;
- ``readOnly`` properties may be sent but are never required in requests;
- ``discriminator`` bases: a reference to the base validates the base and,
  by the discriminator value, the subtype (``allOf`` children with
  ``x-ms-discriminator-value``); subtypes refer to the plain base;
- ``additionalProperties: false`` next to ``allOf``: inherited property names
  count as known (a base used as a parent drops its own ``false``);
- references into the common-types files (not shipped) become permissive
  stubs that still name their properties (``id``, ``name``, ``type``...);
- never stricter than the service: in requests, enum values match
  case-insensitively (``aadToken``, ``info``, ``disabled``: the spec marks them
  ``modelAsString`` and the service binds them so), and integers and numbers may also be numeric strings (``"4"``), as the
  service binds them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from starlette.types import ASGIApp, Receive, Scope, Send

SPEC_FILES = ("mfe.json", "machineLearningServices.json")
_EXTERNAL_PROPS = {
    "Resource": ["id", "name", "type", "systemData"],
    "TrackedResource": ["id", "name", "type", "systemData", "tags", "location"],
    "ProxyResource": ["id", "name", "type", "systemData"],
}


def _local_name(ref: str) -> str | None:
    return ref.split("#/definitions/", 1)[1] if ref.startswith("#/definitions/") else None


def _external_stub(ref: str) -> dict[str, Any]:
    name = ref.rsplit("/", 1)[-1]
    props = _EXTERNAL_PROPS.get(name, [])
    return {"type": "object", "properties": {p: {} for p in props}} if props else {}


class _Converter:
    def __init__(self, definitions: dict[str, Any], request: bool) -> None:
        self.defs = definitions
        self.request = request
        self.parents = {
            _local_name(item["$ref"])
            for d in definitions.values()
            for item in d.get("allOf", [])
            if isinstance(item, dict) and "$ref" in item
        } - {None}
        self.subtypes: dict[str, list[tuple[str, str]]] = {}
        for name, d in definitions.items():
            for item in d.get("allOf", []):
                parent = _local_name(item.get("$ref", "")) if isinstance(item, dict) else None
                if parent and "discriminator" in definitions.get(parent, {}):
                    value = d.get("x-ms-discriminator-value", name)
                    self.subtypes.setdefault(parent, []).append((value, name))

    def inherited(self, name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """Property names of ``name`` and all its allOf ancestors."""
        d = self.defs.get(name, {})
        names = set(d.get("properties", {}))
        for item in d.get("allOf", []):
            ref = item.get("$ref", "") if isinstance(item, dict) else ""
            parent = _local_name(ref)
            if parent and parent not in seen:
                names |= self.inherited(parent, seen | {name})
            elif ref and not parent:
                names |= set(_external_stub(ref).get("properties", {}))
            elif isinstance(item, dict):
                names |= set(item.get("properties", {}))
        return names

    def ref(self, ref: str, plain: bool = False) -> dict[str, Any]:
        name = _local_name(ref)
        if name is None:
            return _external_stub(ref)
        if not plain and name in self.subtypes:
            return {"$ref": f"#/definitions/{name}__dispatch"}
        return {"$ref": f"#/definitions/{name}"}

    def node(self, schema: Any, *, top: str | None = None) -> Any:
        """The JSON Schema of a swagger schema (``top``: the definition's name at the top level)."""
        if isinstance(schema, list):
            return [self.node(s) for s in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            out = self.ref(schema["$ref"])
        else:
            out = self._inline(schema, top)
            if self.request:
                out = _lenient(out)
        if schema.get("x-nullable") is True:
            return {"anyOf": [{"type": "null"}, out]}
        return out

    def _inline(self, schema: dict[str, Any], top: str | None) -> dict[str, Any]:
        """A schema without ``$ref``: its keywords converted, swagger's own extensions left out."""
        out = {
            key: self._keyword(key, value, top)
            for key, value in schema.items()
            if not key.startswith("x-") and key not in ("discriminator", "example", "readOnly", "format")
        }
        if self.request and "required" in out:
            props = schema.get("properties", {})
            out["required"] = [r for r in out["required"] if not (props.get(r) or {}).get("readOnly")]
        if top is not None and out.get("additionalProperties") is False:
            if top in self.parents:  # subtypes add properties: the parent cannot be closed
                out.pop("additionalProperties")
            else:
                props = out.setdefault("properties", {})
                for name in self.inherited(top):
                    props.setdefault(name, {})
        return out

    def _keyword(self, key: str, value: Any, top: str | None) -> Any:
        if key == "properties":
            return {k: self.node(v) for k, v in value.items()}
        if key == "allOf" and top is not None:
            return [self.ref(v["$ref"], plain=True) if "$ref" in v else self.node(v) for v in value]
        if key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            return self.node(value)
        return value

    def convert(self) -> dict[str, Any]:
        out = {name: self.node(d, top=name) for name, d in self.defs.items()}
        for base, subs in self.subtypes.items():
            field = self.defs[base]["discriminator"]
            branches = [
                {
                    "if": {"properties": {field: {"const": value}}, "required": [field]},
                    "then": {"$ref": f"#/definitions/{sub}"},
                }
                for value, sub in subs
            ]
            out[f"{base}__dispatch"] = {"allOf": [{"$ref": f"#/definitions/{base}"}, *branches]}
        return out


_NUMERIC_TEXT = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"


def _lenient(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` relaxed as the service binds requests (enums and numbers, see the module docstring)."""
    if "enum" in out and all(isinstance(v, str) for v in out["enum"]):
        values = out.pop("enum")
        out["pattern"] = "(?i)^(?:" + "|".join(re.escape(v) for v in values) + ")$"
    if out.get("type") in ("integer", "number"):
        text = {"type": "string", "pattern": _NUMERIC_TEXT}
        return {"anyOf": [out, text]}
    return out


def convert_definitions(definitions: dict[str, Any], *, request: bool) -> dict[str, Any]:
    """JSON Schema (draft 7) definitions for an OpenAPI 2.0 ``definitions`` object."""
    return _Converter(definitions, request).convert()


@dataclass
class Operation:
    """One path + method of a document with its body and response schemas."""

    method: str
    template: str
    regex: re.Pattern[str]
    doc: int
    body: dict[str, Any] | None
    body_name: str | None
    responses: dict[str, dict[str, Any] | None]


class SpecValidator:
    """Validates request and response bodies of the operations of one or two documents."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self._defs = {
            (i, mode): convert_definitions(doc.get("definitions", {}), request=(mode == "request"))
            for i, doc in enumerate(docs)
            for mode in ("request", "response")
        }
        self._validators: dict[tuple[int, str, str], Draft7Validator] = {}
        self.operations: list[Operation] = []
        for i, doc in enumerate(docs):
            for template, item in doc.get("paths", {}).items():
                shared = item.get("parameters", [])
                for method, op in item.items():
                    if method == "parameters":
                        continue
                    body, body_name = None, None
                    for param in [*shared, *op.get("parameters", [])]:
                        param = self._param(doc, param)
                        if param.get("in") == "body":
                            body, body_name = param.get("schema"), param.get("name")
                    responses = {code: (r or {}).get("schema") for code, r in op.get("responses", {}).items()}
                    pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
                    self.operations.append(
                        Operation(method.upper(), template, re.compile(pattern, re.IGNORECASE), i, body, body_name, responses)
                    )

    @staticmethod
    def _param(doc: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
        ref = param.get("$ref", "")
        if ref.startswith("#/parameters/"):
            shared: dict[str, Any] = doc.get("parameters", {}).get(ref.rsplit("/", 1)[-1], {})
            return shared
        return param if not ref else {}

    @classmethod
    def load(cls, path: Path | str) -> SpecValidator:
        """From ``mfe.json`` (or another document) or a folder holding the documents."""
        path = Path(path)
        files = [path / name for name in SPEC_FILES if (path / name).is_file()] if path.is_dir() else [path]
        if not files:
            raise ValueError(f"no OpenAPI document ({', '.join(SPEC_FILES)}) in {path}")
        return cls([json.loads(f.read_text()) for f in files])

    def property_names(self) -> set[str]:
        """Every property name the documents define (for case-insensitive binding)."""
        names: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                props = node.get("properties")
                if isinstance(props, dict):
                    names.update(k for k in props if isinstance(k, str))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        for doc in self.docs:
            walk(doc.get("definitions", {}))
        return names

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (path without query), or None."""
        for op in self.operations:
            if op.method == method.upper() and op.regex.match(path):
                return op
        return None

    def _validator(self, doc: int, mode: str, schema: dict[str, Any]) -> Draft7Validator:
        key = (doc, mode, json.dumps(schema, sort_keys=True))
        if key not in self._validators:
            conv = _Converter(self.docs[doc].get("definitions", {}), request=(mode == "request"))
            root = {"definitions": self._defs[(doc, mode)], **conv.node(schema)}
            self._validators[key] = Draft7Validator(root)
        return self._validators[key]

    def validate_request(self, method: str, path: str, body: Any) -> list[dict[str, str]]:
        """Problems of a request body (empty when valid or when the operation takes no body)."""
        op = self.find(method, path)
        if op is None or op.body is None:
            return []
        errors = self._validator(op.doc, "request", op.body).iter_errors(body)
        return [_problem(e) for e in errors if not service_accepts(_describe(e))]

    def validate_response(self, method: str, path: str, status: int, body: Any) -> list[dict[str, str]]:
        """Problems of a response body against the documented schema of ``status``."""
        op = self.find(method, path)
        if op is None:
            return [{"target": "", "message": f"no documented operation {method} {path}"}]
        schema = op.responses.get(str(status), op.responses.get("default"))
        if schema is None:
            return []
        return [_problem(e) for e in self._validator(op.doc, "response", schema).iter_errors(body)]


def _describe(error: ValidationError) -> ValidationError:
    """The most telling leaf of an error (skipping the ``null`` branch of nullable values)."""
    while error.context:
        candidates = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
        if not candidates:
            break
        error = best_match(candidates) or candidates[0]
    return error


def service_accepts(leaf: ValidationError) -> bool:
    """Whether the service's JSON binding takes what the schema check refused: an enum value in
    another letter case (enums bind case-insensitively, e.g. the SDK's ``authMode: aadToken``) or a
    number/boolean where a string is declared (it is bound as its text, e.g. the SDK's code version
    ``properties.hash_version: 202208``)."""
    if leaf.validator == "enum" and isinstance(leaf.instance, str) and isinstance(leaf.validator_value, list):
        return leaf.instance.lower() in {str(v).lower() for v in leaf.validator_value}
    return (
        leaf.validator == "type"
        and leaf.validator_value == "string"
        and isinstance(leaf.instance, (int, float, bool))
    )


def _problem(error: ValidationError) -> dict[str, str]:
    leaf = _describe(error)
    target = ".".join(str(p) for p in leaf.absolute_path)
    return {"code": "InvalidProperty", "target": target, "message": f"property '{target or '(body)'}': {leaf.message}"}


class ValidationMiddleware:
    """ASGI middleware answering ARM requests whose JSON body violates the document with a 400."""

    def __init__(self, app: ASGIApp, validator: SpecValidator) -> None:
        self.app = app
        self.validator = validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "PATCH", "POST") or not scope["path"].startswith("/subscriptions/"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        raw = b"".join(chunks)
        problems: list[dict[str, str]] = []
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = None  # the route answers the JSON error
            if body is not None:
                problems = self.validator.validate_request(scope["method"], scope["path"], body)
        if problems:
            from .arm_errors import ArmError

            first = problems[0]
            message = f"The request body is invalid: {first['message']}"
            if len(problems) > 1:
                message += f" (and {len(problems) - 1} more problem(s), see details)"
            response = ArmError(400, "UserError", message, details=problems[:20]).response()
            await response(scope, receive, send)
            return
        from .bodies import replaying

        await self.app(scope, replaying(raw, receive), send)
