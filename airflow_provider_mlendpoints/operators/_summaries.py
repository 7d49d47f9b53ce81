"""The JSON-safe summaries of endpoints and deployments that the batch and online operators return
to XCom: no keys, sensitive environment variables hidden, handy top-level fields added."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..compat import should_hide_value_for_key


def safe_details(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON-safe copy of a resource for XCom: no keys, sensitive environment variables hidden."""
    if not raw:
        return {}
    out: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    props = out.get("properties")
    if isinstance(props, dict):
        props.pop("keys", None)
        env = props.get("environmentVariables")
        if isinstance(env, dict):
            props["environmentVariables"] = {
                k: ("***" if should_hide_value_for_key(k) else v) for k, v in env.items()
            }
        out["provisioning_state"] = props.get("provisioningState")
    return out


def endpoint_summary(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe endpoint details plus handy top-level fields."""
    out = safe_details(raw)
    props = out.get("properties") or {}
    out["scoring_uri"] = props.get("scoringUri")
    if "defaults" in props or (out.get("type") or "").endswith("batchEndpoints"):
        out["default_deployment"] = (props.get("defaults") or {}).get("deploymentName")
    if "traffic" in props:
        out["traffic"] = props.get("traffic") or {}
        out["mirror_traffic"] = props.get("mirrorTraffic") or {}
    return out


def deployment_summary(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe deployment details plus handy top-level fields."""
    out = safe_details(raw)
    parts = (out.get("id") or "").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() in ("batchendpoints", "onlineendpoints"):
            out["endpoint_name"] = parts[i + 1]
    return out
