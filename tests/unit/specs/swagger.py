"""Turn the Swagger 2.0 definitions of mfe.json into a JSON Schema our bodies can be checked against.

Swagger's ``allOf`` + ``additionalProperties: false`` means "the base's fields
plus mine", which JSON Schema reads differently, so bases are merged into each
definition; discriminated bases become an ``anyOf`` of their subtypes, each
pinned to its discriminator value. References outside mfe.json (ARM common
types) accept anything.
"""

from __future__ import annotations

from typing import Any

_LOCAL = "#/definitions/"


def _local_name(ref: str) -> str | None:
    return ref[len(_LOCAL) :] if ref.startswith(_LOCAL) else None


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = _local_name(node["$ref"])
            return {"$ref": f"#/$defs/{name}"} if name else {}
        return {key: _rewrite(value) for key, value in node.items() if key != "discriminator"}
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node


def to_json_schema(swagger: dict[str, Any]) -> dict[str, Any]:
    """A ``{"$defs": {...}}`` document with one entry per Swagger definition."""
    defs: dict[str, Any] = swagger["definitions"]

    def bases(name: str) -> list[str]:
        return [n for part in defs[name].get("allOf", []) if (n := _local_name(part.get("$ref", "")))]

    def merged(name: str) -> tuple[dict[str, Any], list[str]]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for base in bases(name):
            base_props, base_required = merged(base)
            props.update(base_props)
            required += base_required
        props.update(defs[name].get("properties", {}))
        required += defs[name].get("required", [])
        return props, required

    def discriminator(name: str) -> str | None:
        if "discriminator" in defs[name]:
            return defs[name]["discriminator"]
        for base in bases(name):
            found = discriminator(base)
            if found:
                return found
        return None

    out: dict[str, Any] = {}
    subtypes: dict[str, list[str]] = {}
    for name, definition in defs.items():
        props, required = merged(name)
        node = {k: v for k, v in definition.items() if k not in ("allOf", "properties", "required")}
        if props:
            node["properties"] = dict(props)
        if required:
            node["required"] = sorted(set(required))
        value = definition.get("x-ms-discriminator-value")
        if value is not None:
            field = discriminator(name)
            if field:
                node["properties"][field] = {"const": value}
            for base in bases(name):
                subtypes.setdefault(base, []).append(name)
        out[name] = _rewrite(node)
    for base, names in subtypes.items():
        if "discriminator" in defs[base]:
            out[base] = {"anyOf": [{"$ref": f"#/$defs/{n}"} for n in names]}
    return {"$defs": out}


def envelope_schema(document: dict[str, Any], tracked: str) -> dict[str, Any]:
    """Schema of a tracked-resource PUT body; ARM's common ``location`` and ``tags`` added."""
    schema = dict(document["$defs"][tracked])
    schema["properties"] = {
        **schema["properties"],
        "location": {"type": "string"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    return {**schema, "$defs": document["$defs"]}
