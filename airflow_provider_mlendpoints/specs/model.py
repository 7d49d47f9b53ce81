"""Normalized, typed shapes of Azure ML endpoint and deployment specs.

Every YAML generation (2021-05, 2021-10, current) loads into these classes, so
the rest of the package (engine, client, operators, emulator) sees one shape.
Pure Python: no airflow imports.

Conventions:
- Local paths are absolute (resolved against the YAML file's folder) and kept
  in ``path``; references to registered assets are kept in ``ref`` as an
  :class:`AzureMLRef`.
- Settings carry Azure's defaults when the file leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

OutputAction = Literal["append_row", "summary_only"]
LoggingLevel = Literal["warning", "info", "debug"]
AuthMode = Literal["key", "aml_token", "aad_token"]
EndpointComputeType = Literal["managed", "kubernetes"]


class _RestBodyMixin:
    """``to_rest``, which every spec class has: the spec as its ARM PUT body (:mod:`.rest`)."""

    def to_rest(self, location: str | None = None, resolve: Any = None) -> dict[str, Any]:
        """The PUT body in ``location``, assets named by ``resolve`` (see :mod:`.resolver`)."""
        from .rest import body_of

        return body_of(cast("Spec", self), location, resolve=resolve)


@dataclass(frozen=True)
class AzureMLRef:
    """A parsed ``azureml:`` reference.

    Forms: ``azureml:name:version``, ``azureml:name@label`` (label is usually
    ``latest``), ``azureml:name`` (computes, datastores), and full
    ``azureml://registries/<r>/<kind>/<name>/versions/<v>`` or ``.../labels/<l>``
    or ARM ids (``/subscriptions/...``), kept verbatim in ``raw``.
    """

    raw: str
    name: str
    version: str | None = None
    label: str | None = None
    registry: str | None = None

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class ModelSpec:
    """A model: a local file or folder (``path``), or a registered one (``ref``)."""

    name: str | None = None
    version: str | None = None
    path: str | None = None
    ref: AzureMLRef | None = None
    type: str = "custom_model"  # custom_model | mlflow_model | triton_model


@dataclass(frozen=True)
class CodeSpec:
    """Scoring code: a local folder (``path``) or a registered code asset (``ref``)."""

    scoring_script: str
    path: str | None = None
    ref: AzureMLRef | None = None


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment: inline (image + conda file) or a reference."""

    name: str | None = None
    version: str | None = None
    image: str | None = None
    conda_file: str | None = None  # absolute local path
    ref: AzureMLRef | None = None
    inference_config: dict[str, Any] = field(default_factory=dict)  # custom containers' routes


@dataclass(frozen=True)
class RetrySettings:
    """Retries of one mini-batch after an exception or a timeout."""

    max_retries: int = 3
    timeout: int = 30  # seconds for one run() call


@dataclass(frozen=True)
class BatchEndpointSpec(_RestBodyMixin):
    """A batch endpoint (2021-05 files may inline ``deployments`` and give ``traffic``)."""

    name: str
    description: str | None = None
    auth_mode: AuthMode = "aad_token"
    tags: dict[str, str] = field(default_factory=dict)
    default_deployment: str | None = None
    source: str | None = None  # the YAML file it came from
    traffic: dict[str, int] = field(default_factory=dict)  # 2021-05
    deployments: tuple[BatchDeploymentSpec, ...] = ()  # 2021-05 inline deployments


@dataclass(frozen=True)
class _DeploymentSpecBase(_RestBodyMixin):
    """What every deployment spec starts with: its name, its endpoint's, a description and tags."""

    name: str
    endpoint_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchDeploymentSpec(_DeploymentSpecBase):
    """A batch (model) deployment with Azure's batch settings and defaults."""

    model: ModelSpec | None = None
    code: CodeSpec | None = None  # None: an MLflow model scored by the built-in driver
    environment: EnvironmentSpec | None = None
    compute: AzureMLRef | None = None
    instance_count: int = 1
    max_concurrency_per_instance: int = 1
    mini_batch_size: int | str = 10  # files, or "10MB"/rows for tabular input
    output_action: OutputAction = "append_row"
    output_file_name: str = "predictions.csv"
    retry_settings: RetrySettings = field(default_factory=RetrySettings)
    error_threshold: int = -1
    logging_level: LoggingLevel = "info"
    environment_variables: dict[str, str] = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class OnlineDeploymentSpec(_DeploymentSpecBase):
    """A managed or Kubernetes online deployment."""

    endpoint_compute_type: EndpointComputeType = "managed"
    model: ModelSpec | None = None
    code: CodeSpec | None = None
    environment: EnvironmentSpec | None = None
    instance_type: str | None = None
    instance_count: int = 1
    scale_settings: dict[str, Any] = field(default_factory=dict)
    request_settings: dict[str, Any] = field(default_factory=dict)
    liveness_probe: dict[str, Any] = field(default_factory=dict)
    readiness_probe: dict[str, Any] = field(default_factory=dict)
    environment_variables: dict[str, str] = field(default_factory=dict)
    app_insights_enabled: bool = False
    egress_public_network_access: str | None = None
    source: str | None = None
    model_mount_path: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)  # Kubernetes requests/limits


@dataclass(frozen=True)
class OnlineEndpointSpec(_RestBodyMixin):
    """A managed or Kubernetes online endpoint (2021-05 files may inline deployments)."""

    name: str
    description: str | None = None
    auth_mode: AuthMode = "key"
    compute: AzureMLRef | None = None  # Kubernetes endpoints name their compute
    traffic: dict[str, int] = field(default_factory=dict)
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    identity: dict[str, Any] | None = None
    public_network_access: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    deployments: tuple[OnlineDeploymentSpec, ...] = ()
    source: str | None = None

    @property
    def endpoint_compute_type(self) -> EndpointComputeType:
        return "kubernetes" if self.compute is not None else "managed"


Spec = BatchEndpointSpec | BatchDeploymentSpec | OnlineEndpointSpec | OnlineDeploymentSpec
