"""Batch endpoint and batch deployment documents -> spec objects.

Batch settings are read from a ``settings:`` block (current generation) or
from the root of the document (2021-10); problems name the place the user
actually wrote the value.
"""

from __future__ import annotations

from typing import Any

from . import coerce, parts
from .model import BatchDeploymentSpec, BatchEndpointSpec, RetrySettings
from .reader import Reader

SETTING_KEYS = (
    "mini_batch_size", "max_concurrency_per_instance", "output_action", "output_file_name",
    "retry_settings", "error_threshold", "logging_level", "environment_variables",
)  # fmt: skip


def build_batch_endpoint(reader: Reader, doc: dict[str, Any], source: str | None) -> BatchEndpointSpec | None:
    """A :class:`BatchEndpointSpec` from a raw document (problems go to ``reader``)."""
    name = reader.field(doc, "name", "", coerce.endpoint_name, required=True)
    auth = reader.field(doc, "auth_mode", "", coerce.auth_mode, "aad_token")
    if auth != "aad_token":
        reader.add(
            "auth_mode", "aad_token (batch endpoints only support Microsoft Entra tokens)", doc["auth_mode"]
        )
    defaults = reader.mapping(doc, "defaults", "") or {}
    default_deployment = reader.field(defaults, "deployment_name", "defaults", coerce.deployment_name)
    fields = dict(
        name=name,
        description=reader.field(doc, "description", "", coerce.text),
        auth_mode="aad_token",
        tags=parts.string_map(reader, doc, "tags", ""),
        default_deployment=default_deployment,
        source=source,
    )
    if name is None:
        return None
    return BatchEndpointSpec(**fields)


def _settings(reader: Reader, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge root-level (2021-10) and ``settings:`` (current) values; remember where each came from."""
    block = reader.mapping(doc, "settings", "") or {}
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key in SETTING_KEYS:
        if key in block and key in doc:
            reader.add(key, message=f"given both here and in settings.{key}; keep one")
        if key in block:
            values[key], where[key] = block[key], "settings"
        elif key in doc:
            values[key], where[key] = doc[key], ""
    return values, where


def build_batch_deployment(
    reader: Reader, doc: dict[str, Any], source: str | None
) -> BatchDeploymentSpec | None:
    """A :class:`BatchDeploymentSpec` from a raw document (problems go to ``reader``)."""
    name = reader.field(doc, "name", "", coerce.deployment_name, required=True)
    doc_type = doc.get("type")
    if doc_type is not None and str(doc_type).lower() != "model":
        reader.add("type", "model (pipeline component deployments are not supported)", doc_type)
    values, where = _settings(reader, doc)
    resources = reader.mapping(doc, "resources", "") or {}
    retry = RetrySettings()
    if values.get("retry_settings") is not None:
        parent = "settings" if where["retry_settings"] else ""
        raw_retry = reader.mapping(values, "retry_settings", parent) or {}
        retry_path = f"{parent}.retry_settings" if parent else "retry_settings"
        retry = RetrySettings(
            max_retries=reader.field(raw_retry, "max_retries", retry_path, coerce.non_negative_int, 3),
            timeout=reader.field(raw_retry, "timeout", retry_path, coerce.seconds, 30),
        )

    def setting(key: str, convert: Any, default: Any) -> Any:
        return reader.field(values, key, where.get(key, ""), convert, default)

    env_parent = where.get("environment_variables", "")
    model = parts.model(reader, doc)
    code = parts.code(reader, doc)
    if "model" not in doc and code is None:
        reader.add("model", message="required field is missing (a batch deployment scores a model)")
    fields = dict(
        name=name,
        endpoint_name=reader.field(doc, "endpoint_name", "", coerce.endpoint_name),
        description=reader.field(doc, "description", "", coerce.text),
        tags=parts.string_map(reader, doc, "tags", ""),
        model=model,
        code=code,
        environment=parts.environment(reader, doc),
        compute=parts.compute(reader, doc),
        instance_count=reader.field(resources, "instance_count", "resources", coerce.positive_int, 1),
        max_concurrency_per_instance=setting("max_concurrency_per_instance", coerce.concurrency, 1),
        mini_batch_size=setting("mini_batch_size", coerce.mini_batch_size, 10),
        output_action=setting("output_action", coerce.output_action, "append_row"),
        output_file_name=setting("output_file_name", coerce.file_name, "predictions.csv"),
        retry_settings=retry,
        error_threshold=setting("error_threshold", coerce.error_threshold, -1),
        logging_level=setting("logging_level", coerce.logging_level, "info"),
        environment_variables=parts.string_map(reader, values, "environment_variables", env_parent),
        source=source,
    )
    if name is None:
        return None
    return BatchDeploymentSpec(**fields)
