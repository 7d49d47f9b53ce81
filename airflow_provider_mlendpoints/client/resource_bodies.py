"""Full-body PUTs from what the service answered, and whether a resource already holds a body.

Pure: no I/O, no airflow imports.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: Properties the service computes; never sent back in a full-body PUT.
READ_ONLY_PROPERTIES = frozenset({"provisioningState", "scoringUri", "swaggerUri", "keys"})
READ_ONLY_TOP = frozenset({"id", "name", "type", "systemData"})


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
    return bool(want == have)


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
