"""Small typed views over ARM resources.

Each view keeps the raw dict (``raw``) and exposes the fields callers need.
Unknown or missing fields are ``None``; parsing never fails on extra keys.
Secrets (keys, tokens, datastore secrets) are kept out of ``repr()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

# Non-resource response bodies (keys, tokens, secrets, logs, skus) live in payloads.py.
from .payloads import (
    DatastoreSecrets,
    DeploymentLogs,
    EndpointKeys,
    EndpointToken,
    SkuSetting,
)

R = TypeVar("R", bound="Resource")
V = TypeVar("V")

ENDPOINT_TERMINAL_STATES = frozenset({"Succeeded", "Failed", "Canceled"})
JOB_TERMINAL_STATES = frozenset({"Completed", "Failed", "Canceled"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Field(Generic[V]):
    """A view's field read from the service's JSON: ``properties[key]`` (``raw[key]`` with
    ``top``), passed through ``read`` (e.g. ``bool``, or ``_dict`` for a section: ``{}`` when
    absent); without ``read`` the value itself (None when absent). With several keys (a field
    the service names differently by API version), the first that reads as non-empty. A class
    attribute of a :class:`Resource`."""

    def __init__(self, *keys: str, top: bool = False, read: Callable[[Any], V] | None = None) -> None:
        self.keys = keys
        self.top = top
        self.read = read

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Field[V]: ...
    @overload
    def __get__(self, obj: Resource, owner: type[Any]) -> V: ...
    def __get__(self, obj: Resource | None, owner: type[Any]) -> Field[V] | V:
        if obj is None:
            return self
        source = obj.raw if self.top else obj.properties
        value: Any = None
        for key in self.keys:
            found = source.get(key)
            value = found if self.read is None else self.read(found)
            if value:
                break
        result: V = value
        return result


@dataclass(frozen=True)
class Resource:
    """Common ARM resource fields; ``raw`` is the service's JSON."""

    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_rest(cls: type[R], body: Any) -> R:
        """Build the view from an ARM response body."""
        return cls(raw=_dict(body))

    id = Field[str | None]("id", top=True)
    name = Field[str | None]("name", top=True)
    type = Field[str | None]("type", top=True)
    location = Field[str | None]("location", top=True)

    @property
    def tags(self) -> dict[str, str]:
        return _dict(self.raw.get("tags")) or _dict(self.properties.get("tags"))

    @property
    def properties(self) -> dict[str, Any]:
        return _dict(self.raw.get("properties"))

    provisioning_state = Field[str | None]("provisioningState")
    description = Field[str | None]("description")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, id={self.id!r})"


@dataclass(frozen=True, repr=False)
class _Endpoint(Resource):
    scoring_uri = Field[str | None]("scoringUri")
    swagger_uri = Field[str | None]("swaggerUri")
    auth_mode = Field[str | None]("authMode")

    @property
    def is_terminal(self) -> bool:
        """Whether provisioning has finished (Succeeded, Failed or Canceled)."""
        return self.provisioning_state in ENDPOINT_TERMINAL_STATES


@dataclass(frozen=True, repr=False)
class BatchEndpoint(_Endpoint):
    """A batch endpoint."""

    defaults = Field[dict[str, Any]]("defaults", read=_dict)

    @property
    def default_deployment(self) -> str | None:
        return self.defaults.get("deploymentName")


@dataclass(frozen=True, repr=False)
class OnlineEndpoint(_Endpoint):
    """A managed or Kubernetes online endpoint."""

    traffic = Field[dict[str, int]]("traffic", read=_dict)

    mirror_traffic = Field[dict[str, int]]("mirrorTraffic", read=_dict)


@dataclass(frozen=True, repr=False)
class _Deployment(Resource):
    @property
    def endpoint_name(self) -> str | None:
        parts = (self.id or "").split("/")
        for i, part in enumerate(parts[:-1]):
            if part.lower() in ("batchendpoints", "onlineendpoints"):
                return parts[i + 1]
        return None

    @property
    def model(self) -> Any:
        return self.properties.get("model")

    environment_id = Field[str | None]("environmentId")

    code_configuration = Field[dict[str, Any]]("codeConfiguration", read=_dict)

    @property
    def is_terminal(self) -> bool:
        return self.provisioning_state in ENDPOINT_TERMINAL_STATES


@dataclass(frozen=True, repr=False)
class BatchDeployment(_Deployment):
    """A batch deployment; ``model`` is ``{"referenceType": "Id", "assetId": ...}``."""

    compute = Field[str | None]("compute")
    mini_batch_size = Field[int | None]("miniBatchSize")

    @property
    def instance_count(self) -> int | None:
        return _dict(self.properties.get("resources")).get("instanceCount")


@dataclass(frozen=True, repr=False)
class OnlineDeployment(_Deployment):
    """A managed or Kubernetes online deployment; ``model`` is an ARM id string."""

    endpoint_compute_type = Field[str | None]("endpointComputeType")
    instance_type = Field[str | None]("instanceType")

    sku = Field[dict[str, Any]]("sku", top=True, read=_dict)


@dataclass(frozen=True, repr=False)
class Job(Resource):
    """An Azure ML job (ARM ``jobs/{id}``) or a batch-invoke job (data plane)."""

    status = Field[str | None]("status")

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached Completed, Failed or Canceled."""
        return self.status in JOB_TERMINAL_STATES

    job_type = Field[str | None]("jobType")
    display_name = Field[str | None]("displayName")
    experiment_name = Field[str | None]("experimentName")

    #: ARM jobs: ``services``; data-plane batch jobs: ``interactionEndpoints``.
    services = Field[dict[str, Any]]("services", "interactionEndpoints", read=_dict)

    @property
    def studio_url(self) -> str | None:
        """The Azure ML Studio link of the job, if the service gave one."""
        for key, service in self.services.items():
            if key.lower() == "studio" and isinstance(service, dict):
                return service.get("endpoint")
        return None

    inputs = Field[dict[str, Any]]("inputs", "inputData", read=_dict)
    outputs = Field[dict[str, Any]]("outputs", "outputData", read=_dict)
    #: The 2021 body's ``outputDataset`` {datastoreId, path}, when present.
    output_dataset = Field[dict[str, Any]]("outputDataset", read=_dict)

    output_file_name = Field[str | None]("outputFileName")

    #: Error detail if the service reported one (``properties.error``).
    error = Field[dict[str, Any]]("error", read=_dict)

    def __repr__(self) -> str:
        return f"Job(name={self.name!r}, status={self.status!r})"


@dataclass(frozen=True, repr=False)
class AssetVersion(Resource):
    """A code, model or environment version."""

    @property
    def version(self) -> str | None:
        return self.name

    @property
    def asset_name(self) -> str | None:
        parts = (self.id or "").split("/")
        return parts[-3] if len(parts) >= 3 and parts[-2] == "versions" else None

    code_uri = Field[str | None]("codeUri")
    model_uri = Field[str | None]("modelUri")
    image = Field[str | None]("image")

    is_anonymous = Field[bool]("isAnonymous", read=bool)


@dataclass(frozen=True, repr=False)
class Datastore(Resource):
    """A workspace datastore (blob, file, ADLS)."""

    datastore_type = Field[str | None]("datastoreType")

    is_default = Field[bool]("isDefault", read=bool)

    account_name = Field[str | None]("accountName")

    @property
    def container_name(self) -> str | None:
        return (
            self.properties.get("containerName")
            or self.properties.get("fileShareName")
            or self.properties.get("filesystem")
        )

    @property
    def endpoint(self) -> str:
        return self.properties.get("endpoint") or "core.windows.net"

    @property
    def protocol(self) -> str:
        return self.properties.get("protocol") or "https"

    @property
    def credentials_type(self) -> str | None:
        return _dict(self.properties.get("credentials")).get("credentialsType")

    @property
    def account_url(self) -> str | None:
        """``{protocol}://{account}.blob.{endpoint}`` for blob datastores."""
        if not self.account_name:
            return None
        return f"{self.protocol}://{self.account_name}.blob.{self.endpoint}"


@dataclass(frozen=True, repr=False)
class Workspace(Resource):
    """The workspace resource (``location`` is inherited from :class:`Resource`)."""


@dataclass(frozen=True, repr=False)
class Compute(Resource):
    """A workspace compute (AmlCompute cluster)."""

    compute_type = Field[str | None]("computeType")

    compute_properties = Field[dict[str, Any]]("properties", read=_dict)

    @property
    def vm_size(self) -> str | None:
        return self.compute_properties.get("vmSize")

    @property
    def scale_settings(self) -> dict[str, Any]:
        return _dict(self.compute_properties.get("scaleSettings"))


__all__ = [
    "AssetVersion",
    "BatchDeployment",
    "BatchEndpoint",
    "Compute",
    "Datastore",
    "DatastoreSecrets",
    "DeploymentLogs",
    "EndpointKeys",
    "EndpointToken",
    "Job",
    "OnlineDeployment",
    "OnlineEndpoint",
    "Resource",
    "SkuSetting",
]
