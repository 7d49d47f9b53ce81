"""Which kind of spec a document is: from ``$schema``, from ``kind=``, or from its content."""

from __future__ import annotations

from typing import Any

BATCH_ENDPOINT = "batch_endpoint"
BATCH_DEPLOYMENT = "batch_deployment"
ONLINE_ENDPOINT = "online_endpoint"
ONLINE_DEPLOYMENT = "online_deployment"
KINDS = (BATCH_ENDPOINT, BATCH_DEPLOYMENT, ONLINE_ENDPOINT, ONLINE_DEPLOYMENT)

# Azure schema names (lower case, without ".schema.json") -> (kind, compute type hint).
SCHEMA_NAMES: dict[str, tuple[str, str | None]] = {
    "batchendpoint": (BATCH_ENDPOINT, None),
    "batchdeployment": (BATCH_DEPLOYMENT, None),
    "modelbatchdeployment": (BATCH_DEPLOYMENT, None),
    "onlineendpoint": (ONLINE_ENDPOINT, None),
    "managedonlineendpoint": (ONLINE_ENDPOINT, "managed"),
    "kubernetesonlineendpoint": (ONLINE_ENDPOINT, "kubernetes"),
    "onlinedeployment": (ONLINE_DEPLOYMENT, None),
    "managedonlinedeployment": (ONLINE_DEPLOYMENT, "managed"),
    "kubernetesonlinedeployment": (ONLINE_DEPLOYMENT, "kubernetes"),
}
KNOWN_SCHEMAS = (
    "batchEndpoint", "batchDeployment", "modelBatchDeployment", "managedOnlineEndpoint",
    "kubernetesOnlineEndpoint", "managedOnlineDeployment", "kubernetesOnlineDeployment",
)  # fmt: skip
UNSUPPORTED_SCHEMAS = {"pipelinecomponentbatchdeployment": "pipeline component batch deployments"}

_BATCH_ONLY = {
    "settings", "mini_batch_size", "max_concurrency_per_instance", "output_action", "output_file_name",
    "retry_settings", "error_threshold", "logging_level",
}  # fmt: skip
_ONLINE_DEPLOYMENT_ONLY = {
    "instance_type", "instance_count", "scale_settings", "request_settings", "liveness_probe",
    "readiness_probe", "app_insights_enabled", "egress_public_network_access", "model_mount_path",
}  # fmt: skip
_DEPLOYMENT_KEYS = {"model", "code_configuration", "environment", "endpoint_name"} | _ONLINE_DEPLOYMENT_ONLY
_ONLINE_ENDPOINT_ONLY = {"traffic", "mirror_traffic", "deployments", "public_network_access"}


def schema_name(url: str) -> str:
    """``https://.../latest/managedOnlineEndpoint.schema.json`` -> ``managedonlineendpoint``."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".schema.json", ".json"):
        if last.lower().endswith(suffix):
            last = last[: -len(suffix)]
    return last.lower()


def normalize_kind(kind: str) -> tuple[str, str | None] | None:
    """Accept our kind names and Azure's schema names (``modelBatchDeployment``...)."""
    squashed = kind.strip().lower().replace("_", "").replace("-", "")
    for name in KINDS:
        if squashed == name.replace("_", ""):
            return name, None
    return SCHEMA_NAMES.get(squashed)


def from_content(doc: dict[str, Any]) -> tuple[str, str | None] | None:
    """Guess the kind from the fields a document has; None when it cannot tell."""
    keys = set(doc)
    doc_type = str(doc.get("type", "")).lower()
    compute_hint = "kubernetes" if doc_type == "kubernetes" else None
    if doc_type == "batch" and keys & {"deployments", "traffic"}:  # 2021-05 endpoint with inline deployments
        return BATCH_ENDPOINT, None
    if keys & _BATCH_ONLY or doc_type == "model":
        return BATCH_DEPLOYMENT, None
    if keys & _ONLINE_DEPLOYMENT_ONLY or doc_type in ("kubernetes", "managed"):
        return ONLINE_DEPLOYMENT, compute_hint
    if keys & _DEPLOYMENT_KEYS:
        return (BATCH_DEPLOYMENT, None) if "compute" in keys else (ONLINE_DEPLOYMENT, None)
    if keys & _ONLINE_ENDPOINT_ONLY or doc_type == "online":
        return ONLINE_ENDPOINT, None
    auth = str(doc.get("auth_mode", "")).lower().replace("_", "")
    if doc_type == "batch" or auth == "aadtoken" or "defaults" in keys:
        return BATCH_ENDPOINT, None
    if auth in ("key", "amltoken") or "compute" in keys:
        return ONLINE_ENDPOINT, None
    return None


def looks_like_batch_deployment(doc: dict[str, Any]) -> bool:
    """A batchEndpoint-schema file that is really a deployment (2021-05 ``add-deployment.yml`` does this)."""
    keys = set(doc)
    deployment_keys = {"model", "code_configuration", "mini_batch_size", "retry_settings", "output_file_name"}
    return bool(keys & deployment_keys) and not keys & {"auth_mode", "traffic", "deployments", "defaults"}


def looks_like_online_deployment(doc: dict[str, Any]) -> bool:
    """An "endpoint" file that is really a deployment (2021-05 imperative flow files do this)."""
    keys = set(doc)
    return bool(keys & _DEPLOYMENT_KEYS) and not keys & (_ONLINE_ENDPOINT_ONLY | {"auth_mode"})
