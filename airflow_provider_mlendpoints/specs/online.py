"""Online endpoint and online deployment documents -> spec objects.

Handles the 2021-05 shape too: endpoints with an inline ``deployments:`` list,
``scale_settings.scale_type: manual`` carrying ``instance_count``.
"""

from __future__ import annotations

from typing import Any

from . import coerce, parts
from .errors import Invalid, join_path
from .model import OnlineDeploymentSpec, OnlineEndpointSpec
from .reader import Reader

_REQUEST_KEYS = ("request_timeout_ms", "max_queue_wait_ms", "max_concurrent_requests_per_instance")
_PROBE_KEYS = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
_SCALE_INT_KEYS = ("min_instances", "max_instances", "polling_interval", "target_utilization_percentage")
_IDENTITY_TYPES = {"system_assigned", "user_assigned", "system_assigned,user_assigned", "none"}


def _enabled_disabled(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ("enabled", "disabled"):
        return value.strip().lower()
    raise Invalid("enabled or disabled")


def _int_block(
    reader: Reader, doc: dict[str, Any], key: str, parent: str, keys: tuple[str, ...]
) -> dict[str, Any]:
    """A mapping whose listed keys must be non-negative integers; other keys are kept as given."""
    block = reader.mapping(doc, key, parent)
    if block is None:
        return {}
    path = join_path(parent, key)
    out = dict(block)
    for name in keys:
        if name in block:
            out[name] = reader.field(block, name, path, coerce.non_negative_int)
    return {k: v for k, v in out.items() if v is not None}


def _scale_settings(reader: Reader, doc: dict[str, Any], parent: str) -> tuple[dict[str, Any], int | None]:
    """Normalized scale settings (``type`` default | target_utilization) and a 2021-05 instance_count."""
    block = reader.mapping(doc, "scale_settings", parent)
    if block is None:
        return {}, None  # Azure decides: Default for managed, TargetUtilization for Kubernetes
    path = join_path(parent, "scale_settings")
    type_key = "type" if "type" in block else "scale_type"
    scale_type = reader.field(block, type_key, path, coerce.scale_type, "default")
    legacy_count = reader.field(block, "instance_count", path, coerce.positive_int)
    out: dict[str, Any] = {"type": scale_type}
    if scale_type == "target_utilization":
        for name in _SCALE_INT_KEYS:
            if name in block:
                value = reader.field(block, name, path, coerce.non_negative_int)
                if value is not None:
                    out[name] = value
    return out, legacy_count


def build_online_deployment(
    reader: Reader,
    doc: dict[str, Any],
    *,
    parent: str = "",
    compute_type: str | None = None,
    endpoint_name: str | None = None,
) -> OnlineDeploymentSpec | None:
    """An :class:`OnlineDeploymentSpec` from a raw document or an inline ``deployments[i]`` item."""
    name = reader.field(doc, "name", parent, coerce.deployment_name, required=True)
    doc_type = doc.get("type")
    if doc_type is not None:
        lowered = str(doc_type).lower()
        if lowered not in ("managed", "kubernetes"):
            reader.add(join_path(parent, "type"), "managed or kubernetes", doc_type)
        else:
            compute_type = lowered
    scale_settings, legacy_count = _scale_settings(reader, doc, parent)
    if scale_settings.get("type") == "target_utilization" and (compute_type or "managed") == "managed":
        reader.add(
            join_path(parent, "scale_settings.type"),
            message="target_utilization scaling is for Kubernetes deployments only; a managed online "
            "deployment scales by instance_count (type: default), as Azure and the azure-ai-ml SDK require",
        )
    count = reader.field(doc, "instance_count", parent, coerce.positive_int)
    if count is None:
        count = legacy_count or 1
    model = parts.model(reader, doc, parent)
    environment = parts.environment(reader, doc, parent)
    if "model" not in doc and "environment" not in doc:
        reader.add(
            join_path(parent, "model"),
            message="required field is missing (give a model, an environment or both)",
        )
    egress = reader.field(doc, "egress_public_network_access", parent, _enabled_disabled)
    spec = OnlineDeploymentSpec(
        name=name or "",
        endpoint_name=reader.field(doc, "endpoint_name", parent, coerce.endpoint_name, endpoint_name),
        description=reader.field(doc, "description", parent, coerce.text),
        tags=parts.string_map(reader, doc, "tags", parent),
        endpoint_compute_type="kubernetes" if compute_type == "kubernetes" else "managed",
        model=model,
        code=parts.code(reader, doc, parent),
        environment=environment,
        instance_type=reader.field(doc, "instance_type", parent, coerce.text),
        instance_count=count,
        scale_settings=scale_settings,
        request_settings=_int_block(reader, doc, "request_settings", parent, _REQUEST_KEYS),
        liveness_probe=_int_block(reader, doc, "liveness_probe", parent, _PROBE_KEYS),
        readiness_probe=_int_block(reader, doc, "readiness_probe", parent, _PROBE_KEYS),
        environment_variables=parts.string_map(reader, doc, "environment_variables", parent),
        app_insights_enabled=reader.field(doc, "app_insights_enabled", parent, coerce.boolean, False),
        egress_public_network_access=egress,
        source=reader.source,
        model_mount_path=reader.field(doc, "model_mount_path", parent, coerce.text),
        resources=dict(reader.mapping(doc, "resources", parent) or {}),
    )
    # Every field is read (and its problems recorded) even when the name is missing.
    return spec if name is not None else None


def _traffic(reader: Reader, doc: dict[str, Any], key: str, total: int, exact: bool) -> dict[str, int]:
    block = reader.mapping(doc, key, "")
    if block is None:
        return {}
    out: dict[str, int] = {}
    for name in block:
        percent = reader.field(
            block, str(name), key, lambda v: coerce.integer(v, minimum=0, expected="a percentage 0-100")
        )
        if percent is not None and percent > 100:
            reader.add(join_path(key, str(name)), "a percentage 0-100", percent)
        elif percent is not None:
            out[str(name)] = percent
    summed = sum(out.values())
    if len(out) == len(block) and out:
        if exact and summed not in (0, total):
            reader.add(key, message=f"percentages must sum to {total}, found {summed}")
        if not exact and summed > total:
            reader.add(key, message=f"percentages must sum to at most {total}, found {summed}")
    return out


def _check_identity(reader: Reader, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The ``identity`` block, after recording a problem for an unknown ``identity.type``."""
    identity = reader.mapping(doc, "identity", "")
    if identity is not None:
        identity_type = str(identity.get("type", "")).lower().replace(" ", "")
        if identity_type not in _IDENTITY_TYPES:
            reader.add("identity.type", "one of " + ", ".join(sorted(_IDENTITY_TYPES)), identity.get("type"))
    return dict(identity) if identity is not None else None


def _inline_deployments(
    reader: Reader, doc: dict[str, Any], compute_type: str | None, endpoint_name: str | None
) -> tuple[OnlineDeploymentSpec, ...]:
    """The 2021-05 ``deployments:`` list of an endpoint file, each item built as a deployment."""
    raw_deployments = doc.get("deployments")
    if raw_deployments is not None and not isinstance(raw_deployments, list):
        reader.add("deployments", "a list of deployments", raw_deployments)
        raw_deployments = []
    deployments: list[OnlineDeploymentSpec] = []
    for index, item in enumerate(raw_deployments or []):
        path = f"deployments[{index}]"
        if not isinstance(item, dict):
            reader.add(path, "a deployment mapping", item)
            continue
        built = build_online_deployment(
            reader, item, parent=path, compute_type=compute_type, endpoint_name=endpoint_name
        )
        if built is not None:
            deployments.append(built)
    return tuple(deployments)


def _check_traffic_targets(
    reader: Reader, traffic: dict[str, int], deployments: tuple[OnlineDeploymentSpec, ...]
) -> None:
    """Inline deployments given: every traffic key must name one of them."""
    if not deployments:
        return
    known = {d.name for d in deployments}
    for target in traffic:
        if target not in known:
            reader.add(f"traffic.{target}", message=f"no deployment named {target!r} in deployments")


def build_online_endpoint(
    reader: Reader, doc: dict[str, Any], *, compute_type: str | None = None
) -> OnlineEndpointSpec | None:
    """An :class:`OnlineEndpointSpec`; 2021-05 inline deployments become ``deployments``."""
    name = reader.field(doc, "name", "", coerce.endpoint_name, required=True)
    doc_type = doc.get("type")
    if doc_type is not None and str(doc_type).lower() != "online":
        reader.add("type", "online", doc_type)
    compute = parts.compute(reader, doc)
    if compute is not None:
        compute_type = "kubernetes"
    traffic = _traffic(reader, doc, "traffic", 100, exact=True)
    mirror = _traffic(reader, doc, "mirror_traffic", 50, exact=False)
    identity = _check_identity(reader, doc)
    deployments = _inline_deployments(reader, doc, compute_type, name)
    _check_traffic_targets(reader, traffic, deployments)
    spec = OnlineEndpointSpec(
        name=name or "",
        description=reader.field(doc, "description", "", coerce.text),
        auth_mode=reader.field(doc, "auth_mode", "", coerce.auth_mode, "key"),
        compute=compute,
        traffic=traffic,
        mirror_traffic=mirror,
        identity=identity,
        public_network_access=reader.field(doc, "public_network_access", "", _enabled_disabled),
        tags=parts.string_map(reader, doc, "tags", ""),
        deployments=deployments,
        source=reader.source,
    )
    # Every field is read (and its problems recorded) even when the name is missing.
    return spec if name is not None else None
