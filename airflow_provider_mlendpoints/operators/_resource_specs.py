"""Resource specs to PUT bodies: loading a YAML/dict spec with overrides, and comparing bodies.

Shared by the batch (:mod:`.batch`) and online (:mod:`.online`) resource operators.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from ..specs import SpecError, apply_overrides, load_spec

#: Properties the service computes; never sent back in a full-body PUT.
READ_ONLY_PROPERTIES = frozenset({"provisioningState", "scoringUri", "swaggerUri", "keys"})
READ_ONLY_TOP = frozenset({"id", "name", "type", "systemData"})


def load_resource_spec(
    spec: Any,
    spec_class: type,
    *,
    name: str | None = None,
    endpoint_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    base_dir: str | None = None,
) -> Any:
    """A spec of ``spec_class`` from a YAML path, a dict or a spec object, with name/endpoint/overrides.

    Raises :class:`AirflowFailException` (no retries) carrying every problem of the spec, each
    naming the file and the field.
    """
    try:
        if isinstance(spec, spec_class):
            loaded = spec
        elif isinstance(spec, str | os.PathLike | Mapping):
            if isinstance(spec, str) and not spec.strip():
                raise AirflowFailException(f"{spec_class.__name__}: the spec path is empty")
            loaded = load_spec(spec, kind=spec_class, base_dir=base_dir, require_local_paths=True)
        else:
            raise AirflowFailException(
                f"spec must be a YAML path, a dict or a {spec_class.__name__}, not {type(spec).__name__}"
            )
        if name:
            loaded = replace(loaded, name=name)
        if endpoint_name and hasattr(loaded, "endpoint_name"):
            loaded = replace(loaded, endpoint_name=endpoint_name)
        cleaned = clean_overrides(overrides)
        if cleaned:
            loaded = apply_overrides(loaded, cleaned)
    except SpecError as exc:
        raise AirflowFailException(f"invalid {spec_class.__name__} spec:\n{exc}") from exc
    return loaded


def clean_overrides(overrides: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Rendered overrides (a dict, or its JSON) without entries that rendered empty."""
    if not overrides:
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError as exc:
            raise AirflowFailException(f"overrides is not a dict nor JSON of one: {overrides!r}") from exc
    if not isinstance(overrides, Mapping):
        raise AirflowFailException(
            f"overrides must be a dict of setting -> value, not {type(overrides).__name__}"
        )
    return {
        str(k): v
        for k, v in overrides.items()
        if v is not None and not (isinstance(v, str) and not v.strip())
    }


def put_body_from(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A full PUT body from a GET answer: read-only fields dropped, everything else kept."""
    body = {k: copy.deepcopy(v) for k, v in raw.items() if k not in READ_ONLY_TOP}
    props = body.get("properties")
    if isinstance(props, dict):
        body["properties"] = {k: v for k, v in props.items() if k not in READ_ONLY_PROPERTIES}
    return body


def contains(have: Any, want: Any) -> bool:
    """Whether ``have`` already holds ``want`` (dicts compared key by key, recursively)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return False
        return all(contains(have.get(k), v) for k, v in want.items())
    if isinstance(want, str) and isinstance(have, str):
        return want == have or (want.startswith("/subscriptions/") and want.lower() == have.lower())
    return want == have


def up_to_date(existing: Any, body: Mapping[str, Any]) -> bool:
    """Whether ``existing`` provisioned successfully with every property, tag and sku of ``body``."""
    if existing is None or existing.provisioning_state != "Succeeded":
        return False
    raw = existing.raw
    if not contains(raw.get("properties") or {}, body.get("properties") or {}):
        return False
    if (body.get("tags") or {}) != (raw.get("tags") or {}):
        return False
    return not (body.get("sku") and not contains(raw.get("sku") or {}, body["sku"]))
