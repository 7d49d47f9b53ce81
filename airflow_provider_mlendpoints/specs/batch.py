"""Batch endpoint and batch deployment documents -> spec objects.

Batch settings are read from a ``settings:`` block (current generation) or
from the root of the document (2021-10); problems name the place the user
actually wrote the value.
"""

from __future__ import annotations

from typing import Any

from . import coerce, parts
from .errors import join_path
from .model import BatchDeploymentSpec, BatchEndpointSpec, RetrySettings
from .reader import Reader
from .refs import parse_compute

SETTING_KEYS = (
    "mini_batch_size", "max_concurrency_per_instance", "output_action", "output_file_name",
    "retry_settings", "error_threshold", "logging_level", "environment_variables",
)  # fmt: skip


def build_batch_endpoint(reader: Reader, doc: dict[str, Any]) -> BatchEndpointSpec | None:
    """A :class:`BatchEndpointSpec` from a raw document (problems go to ``reader``).

    2021-05 endpoints inline their ``deployments`` and route by ``traffic`` (the deployment
    with all of it is the default).
    """
    name = reader.field(doc, "name", "", coerce.endpoint_name, required=True)
    auth = reader.field(doc, "auth_mode", "", coerce.auth_mode, "aad_token")
    if auth != "aad_token":
        reader.add(
            "auth_mode", "aad_token (batch endpoints only support Microsoft Entra tokens)", doc["auth_mode"]
        )
    defaults = reader.mapping(doc, "defaults", "") or {}
    default_deployment = reader.field(defaults, "deployment_name", "defaults", coerce.deployment_name)
    traffic = {str(k): v for k, v in (reader.mapping(doc, "traffic", "") or {}).items() if isinstance(v, int)}
    deployments: list[BatchDeploymentSpec] = []
    for index, item in enumerate(doc.get("deployments") or [] if isinstance(doc.get("deployments"), list) else []):
        if isinstance(item, dict):
            built = build_batch_deployment(reader, item, parent=f"deployments[{index}]", endpoint_name=name)
            if built is not None:
                deployments.append(built)
    known = {d.name for d in deployments}
    for target in traffic:
        if target not in known:
            reader.add(f"traffic.{target}", message=f"no deployment named {target!r} in deployments")
    if default_deployment is None and traffic:
        default_deployment = max(traffic, key=lambda k: traffic[k])
    spec = BatchEndpointSpec(
        name=name or "",
        description=reader.field(doc, "description", "", coerce.text),
        auth_mode="aad_token",
        tags=parts.string_map(reader, doc, "tags", ""),
        default_deployment=default_deployment,
        source=reader.source,
        traffic=traffic,
        deployments=tuple(deployments),
    )
    # Every field is read (and its problems recorded) even when the name is missing.
    return spec if name is not None else None


def inline_default(spec: BatchEndpointSpec) -> str | None:
    """The default deployment a 2021-05 endpoint file asks for: ``defaults.deployment_name``, the one
    ``traffic`` sends everything to, or its only inline deployment; None when it names none."""
    if spec.default_deployment:
        return spec.default_deployment
    return spec.deployments[0].name if len(spec.deployments) == 1 else None


def scoring_deployment(spec: BatchEndpointSpec, where: str) -> BatchDeploymentSpec:
    """The deployment a 2021-05 endpoint file scores with: its default (or only) inline deployment."""
    if not spec.deployments:
        raise ValueError(f"{where}: the batch endpoint {spec.name!r} has no inline deployments; give a deployment file")
    wanted = inline_default(spec)
    for deployment in spec.deployments:
        if deployment.name == wanted:
            return deployment
    names = ", ".join(d.name for d in spec.deployments)
    raise ValueError(f"{where}: no default deployment among {names}: give traffic or defaults.deployment_name")


def _settings(reader: Reader, doc: dict[str, Any], parent: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    """Merge root-level (2021-10) and ``settings:`` (current) values; remember where each came from."""
    block = reader.mapping(doc, "settings", parent) or {}
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key in SETTING_KEYS:
        if key in block and key in doc:
            reader.add(join_path(parent, key), message=f"given both here and in settings.{key}; keep one")
        if key in block:
            values[key], where[key] = block[key], join_path(parent, "settings")
        elif key in doc:
            values[key], where[key] = doc[key], parent
    return values, where


def _compute(reader: Reader, doc: dict[str, Any], parent: str) -> tuple[Any, int | None]:
    """``compute``: a name (current), or the 2021-05 mapping ``{target: ..., instance_count: N}``."""
    value = doc.get("compute")
    if isinstance(value, dict):
        path = join_path(parent, "compute")
        count = reader.field(value, "instance_count", path, coerce.positive_int)
        target = value.get("target")
        ref = reader.coerce(target, join_path(path, "target"), parse_compute) if isinstance(target, str) else None
        return ref, count
    return parts.compute(reader, doc, parent), None


def build_batch_deployment(
    reader: Reader,
    doc: dict[str, Any],
    *,
    parent: str = "",
    endpoint_name: str | None = None,
) -> BatchDeploymentSpec | None:
    """A :class:`BatchDeploymentSpec` from a raw document or a 2021-05 inline ``deployments[i]`` item."""
    name = reader.field(doc, "name", parent, coerce.deployment_name, required=True)
    doc_type = doc.get("type")
    if doc_type is not None and str(doc_type).lower() != "model":
        reader.add(join_path(parent, "type"), "model (pipeline component deployments are not supported)", doc_type)
    values, where = _settings(reader, doc, parent)
    resources = reader.mapping(doc, "resources", parent) or {}
    retry = RetrySettings()
    if values.get("retry_settings") is not None:
        retry_parent = where["retry_settings"]
        raw_retry = reader.mapping(values, "retry_settings", retry_parent) or {}
        retry_path = join_path(retry_parent, "retry_settings")
        retry = RetrySettings(
            max_retries=reader.field(raw_retry, "max_retries", retry_path, coerce.non_negative_int, 3),
            timeout=reader.field(raw_retry, "timeout", retry_path, coerce.seconds, 30),
        )

    def setting(key: str, convert: Any, default: Any) -> Any:
        return reader.field(values, key, where.get(key, parent), convert, default)

    env_parent = where.get("environment_variables", parent)
    model = parts.model(reader, doc, parent)
    code = parts.code(reader, doc, parent)
    if "model" not in doc and code is None:
        reader.add(join_path(parent, "model"), message="required field is missing (a batch deployment scores a model)")
    compute, compute_count = _compute(reader, doc, parent)
    instance_count = reader.field(resources, "instance_count", join_path(parent, "resources"), coerce.positive_int)
    spec = BatchDeploymentSpec(
        name=name or "",
        endpoint_name=reader.field(doc, "endpoint_name", parent, coerce.endpoint_name) or endpoint_name,
        description=reader.field(doc, "description", parent, coerce.text),
        tags=parts.string_map(reader, doc, "tags", parent),
        model=model,
        code=code,
        environment=parts.environment(reader, doc, parent),
        compute=compute,
        instance_count=instance_count or compute_count or 1,
        max_concurrency_per_instance=setting("max_concurrency_per_instance", coerce.concurrency, 1),
        mini_batch_size=setting("mini_batch_size", coerce.mini_batch_size, 10),
        output_action=setting("output_action", coerce.output_action, "append_row"),
        output_file_name=setting("output_file_name", coerce.file_name, "predictions.csv"),
        retry_settings=retry,
        error_threshold=setting("error_threshold", coerce.error_threshold, -1),
        logging_level=setting("logging_level", coerce.logging_level, "info"),
        environment_variables=parts.string_map(reader, values, "environment_variables", env_parent),
        source=reader.source,
    )
    # Every field is read (and its problems recorded) even when the name is missing.
    return spec if name is not None else None
