"""ARM PUT bodies (REST API 2024-04-01) for endpoint and deployment specs.

Each ``*_body(spec, location, resolve=...)`` (any of them: :func:`body_of`, what ``spec.to_rest``
calls) returns
``{"location": ..., "tags": ..., "properties": {...}}`` (plus ``sku`` and
``identity`` where they belong). Asset references go through ``resolve``
(:mod:`.resolver`); the default, :func:`default_resolver`, keeps references as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .coerce import iso_duration, size_in_bytes
from .model import BatchDeploymentSpec, BatchEndpointSpec, OnlineDeploymentSpec, OnlineEndpointSpec, Spec
from .resolver import AssetPart as AssetPart  # re-exported
from .resolver import Resolver, default_resolver

AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
OUTPUT_ACTIONS = {"append_row": "AppendRow", "summary_only": "SummaryOnly"}
LOGGING_LEVELS = {"info": "Info", "warning": "Warning", "debug": "Debug"}
SCALE_TYPES = {"default": "Default", "target_utilization": "TargetUtilization"}
IDENTITY_TYPES = {
    "system_assigned": "SystemAssigned",
    "user_assigned": "UserAssigned",
    "system_assigned,user_assigned": "SystemAssigned,UserAssigned",
    "none": "None",
}


def _resolver(resolve: Resolver | None) -> Resolver:
    return resolve or default_resolver


def _envelope(location: str | None, tags: dict[str, str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"location": location or "", "tags": dict(tags), "properties": properties}


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _identity(identity: dict[str, Any] | None) -> dict[str, Any] | None:
    if not identity:
        return None
    kind = str(identity.get("type", "none")).lower().replace(" ", "")
    body: dict[str, Any] = {"type": IDENTITY_TYPES.get(kind, "None")}
    assigned = identity.get("user_assigned_identities")
    if assigned:
        ids = assigned if isinstance(assigned, list) else [{"resource_id": key} for key in assigned]
        body["userAssignedIdentities"] = {
            str(item.get("resource_id") if isinstance(item, dict) else item): {} for item in ids
        }
    return body


def batch_endpoint_body(
    spec: BatchEndpointSpec, location: str | None = None, *, resolve: Resolver | None = None
) -> dict[str, Any]:
    """PUT body of ``batchEndpoints/{name}``."""
    properties = _without_none({"authMode": AUTH_MODES[spec.auth_mode], "description": spec.description})
    if spec.default_deployment:
        properties["defaults"] = {"deploymentName": spec.default_deployment}
    return _envelope(location, spec.tags, properties)


def _code_and_environment(
    spec: BatchDeploymentSpec | OnlineDeploymentSpec, resolve: Resolver, properties: dict[str, Any]
) -> None:
    if spec.code is not None:
        properties["codeConfiguration"] = _without_none(
            {"codeId": resolve("code", spec.code), "scoringScript": spec.code.scoring_script}
        )
    if spec.environment is not None:
        environment_id = resolve("environment", spec.environment)
        if environment_id is not None:
            properties["environmentId"] = environment_id
    if spec.environment_variables:
        properties["environmentVariables"] = dict(spec.environment_variables)
    if spec.description is not None:
        properties["description"] = spec.description


def batch_deployment_body(
    spec: BatchDeploymentSpec, location: str | None = None, *, resolve: Resolver | None = None
) -> dict[str, Any]:
    """PUT body of ``batchEndpoints/{endpoint}/deployments/{name}``."""
    resolver = _resolver(resolve)
    properties: dict[str, Any] = {}
    if spec.model is not None:
        asset_id = resolver("model", spec.model)
        if asset_id is not None:
            properties["model"] = {"referenceType": "Id", "assetId": asset_id}
    _code_and_environment(spec, resolver, properties)
    if spec.compute is not None:
        compute = resolver("compute", spec.compute)
        if compute is not None:
            properties["compute"] = compute
    properties.update(
        {
            "resources": {"instanceCount": spec.instance_count},
            "maxConcurrencyPerInstance": spec.max_concurrency_per_instance,
            "miniBatchSize": size_in_bytes(spec.mini_batch_size),
            "outputAction": OUTPUT_ACTIONS[spec.output_action],
            "outputFileName": spec.output_file_name,
            "retrySettings": {
                "maxRetries": spec.retry_settings.max_retries,
                "timeout": iso_duration(spec.retry_settings.timeout),
            },
            "errorThreshold": spec.error_threshold,
            "loggingLevel": LOGGING_LEVELS[spec.logging_level],
        }
    )
    return _envelope(location, spec.tags, properties)


def _ms(value: Any) -> str:
    return iso_duration(int(value) / 1000)


def _request_settings(settings: dict[str, Any]) -> dict[str, Any] | None:
    body: dict[str, Any] = {}
    if "request_timeout_ms" in settings:
        body["requestTimeout"] = _ms(settings["request_timeout_ms"])
    if "max_queue_wait_ms" in settings:
        body["maxQueueWait"] = _ms(settings["max_queue_wait_ms"])
    if "max_concurrent_requests_per_instance" in settings:
        body["maxConcurrentRequestsPerInstance"] = int(settings["max_concurrent_requests_per_instance"])
    return body or None


def _probe(probe: dict[str, Any]) -> dict[str, Any] | None:
    body: dict[str, Any] = {}
    for key, name in (("initial_delay", "initialDelay"), ("period", "period"), ("timeout", "timeout")):
        if key in probe:
            body[name] = iso_duration(int(probe[key]))
    for key, name in (("success_threshold", "successThreshold"), ("failure_threshold", "failureThreshold")):
        if key in probe:
            body[name] = int(probe[key])
    return body or None


def _scale_settings(settings: dict[str, Any]) -> dict[str, Any]:
    scale_type = settings.get("type", "default")
    body: dict[str, Any] = {"scaleType": SCALE_TYPES.get(scale_type, "Default")}
    if scale_type == "target_utilization":
        for key, name in (
            ("min_instances", "minInstances"),
            ("max_instances", "maxInstances"),
            ("target_utilization_percentage", "targetUtilizationPercentage"),
        ):
            if key in settings:
                body[name] = int(settings[key])
        if "polling_interval" in settings:
            body["pollingInterval"] = iso_duration(int(settings["polling_interval"]))
    return body


def _container_resources(resources: dict[str, Any]) -> dict[str, Any] | None:
    body = {}
    for key, name in (("requests", "containerResourceRequests"), ("limits", "containerResourceLimits")):
        part = resources.get(key)
        if isinstance(part, dict):
            body[name] = {
                k: str(v) for k, v in part.items() if k in ("cpu", "memory", "gpu") or k == "nvidia.com/gpu"
            }
            if "nvidia.com/gpu" in body[name]:
                body[name]["gpu"] = body[name].pop("nvidia.com/gpu")
    return body or None


def online_deployment_body(
    spec: OnlineDeploymentSpec, location: str | None = None, *, resolve: Resolver | None = None
) -> dict[str, Any]:
    """PUT body of ``onlineEndpoints/{endpoint}/deployments/{name}`` (Managed or Kubernetes)."""
    resolver = _resolver(resolve)
    properties: dict[str, Any] = {
        "endpointComputeType": "Kubernetes" if spec.endpoint_compute_type == "kubernetes" else "Managed"
    }
    if spec.model is not None:
        model_id = resolver("model", spec.model)
        if model_id is not None:
            properties["model"] = model_id
    _code_and_environment(spec, resolver, properties)
    optional = {
        "instanceType": spec.instance_type,
        "modelMountPath": spec.model_mount_path,
        "requestSettings": _request_settings(spec.request_settings),
        "livenessProbe": _probe(spec.liveness_probe),
        "readinessProbe": _probe(spec.readiness_probe),
        "egressPublicNetworkAccess": spec.egress_public_network_access.capitalize()
        if spec.egress_public_network_access
        else None,
    }
    properties.update(_without_none(optional))
    if spec.scale_settings:
        properties["scaleSettings"] = _scale_settings(spec.scale_settings)
    properties["appInsightsEnabled"] = spec.app_insights_enabled
    if spec.endpoint_compute_type == "kubernetes":
        container = _container_resources(spec.resources)
        if container:
            properties["containerResourceRequirements"] = container
    body = _envelope(location, spec.tags, properties)
    body["sku"] = {"name": "Default", "capacity": spec.instance_count}
    return body


def online_endpoint_body(
    spec: OnlineEndpointSpec, location: str | None = None, *, resolve: Resolver | None = None
) -> dict[str, Any]:
    """PUT body of ``onlineEndpoints/{name}``; inline deployments are separate PUTs (see ``deployments``)."""
    resolver = _resolver(resolve)
    properties: dict[str, Any] = {"authMode": AUTH_MODES[spec.auth_mode]}
    if spec.description is not None:
        properties["description"] = spec.description
    if spec.traffic:
        properties["traffic"] = dict(spec.traffic)
    if spec.mirror_traffic:
        properties["mirrorTraffic"] = dict(spec.mirror_traffic)
    if spec.compute is not None:
        compute = resolver("compute", spec.compute)
        if compute is not None:
            properties["compute"] = compute
    if spec.public_network_access:
        properties["publicNetworkAccess"] = spec.public_network_access.capitalize()
    body = _envelope(location, spec.tags, properties)
    # Azure gives an online endpoint a system-assigned identity when none is named, and the SDK sends
    # it explicitly (Microsoft's system-assigned-identity example relies on it)
    body["identity"] = _identity(spec.identity) or {"type": "SystemAssigned"}
    return body


_BODIES: dict[type, Callable[..., dict[str, Any]]] = {
    BatchEndpointSpec: batch_endpoint_body,
    BatchDeploymentSpec: batch_deployment_body,
    OnlineEndpointSpec: online_endpoint_body,
    OnlineDeploymentSpec: online_deployment_body,
}


def body_of(spec: Spec, location: str | None = None, *, resolve: Resolver | None = None) -> dict[str, Any]:
    """The PUT body of any spec: the ``*_body`` function of its class."""
    return _BODIES[type(spec)](spec, location, resolve=resolve)
