"""The registry of resource kinds the provider creates, waits for and deletes, and their Studio pages.

One entry per kind (:data:`KINDS`): the client's operation group, the label messages use,
whether it is a deployment (named ``endpoint/deployment``), its Studio page and what makes its
deletion unsafe. Every place that dispatches on a kind string (waiting, sensors, triggers,
operators, links) goes through :func:`kind_of`.

Studio pages: on Azure (the connection's ARM URL is one of Azure's management hosts) they are
``https://ml.azure.com/...?wsid=<workspace ARM id>``; on the emulator they are the emulator's own
Studio-like pages, ``{emulator}/studio/subscriptions/{sub}/resourceGroups/{rg}/workspaces/{ws}/...``.

Pure: no I/O, no airflow imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlparse

from .config import WorkspaceConfig

KindName = Literal["batch_endpoint", "batch_deployment", "online_endpoint", "online_deployment", "compute"]

STUDIO_BASE = "https://ml.azure.com"
#: ARM hosts of Azure's public and sovereign clouds: a connection to any other host is an emulator.
AZURE_MANAGEMENT_HOSTS = frozenset(
    {
        "management.azure.com",
        "management.chinacloudapi.cn",
        "management.usgovcloudapi.net",
        "management.microsoftazure.de",
    }
)


def _q(name: str) -> str:
    return quote(name, safe="")


def on_emulator(config: WorkspaceConfig) -> bool:
    """Whether the connection points at something other than Azure's ARM (the emulator)."""
    return (urlparse(config.management_url).hostname or "").lower() not in AZURE_MANAGEMENT_HOSTS


def _emulator_page(config: WorkspaceConfig, *segments: str) -> str:
    base = (
        f"{config.management_url}/studio/subscriptions/{_q(config.subscription_id)}"
        f"/resourceGroups/{_q(config.resource_group)}/workspaces/{_q(config.workspace_name)}"
    )
    return base + "".join(f"/{_q(s)}" for s in segments)


def _wsid(config: WorkspaceConfig) -> str:
    return f"wsid={config.workspace_id}"


def studio_job_url(config: WorkspaceConfig, job_name: str) -> str:
    """The Studio page of a job (batch-invoke jobs included)."""
    if on_emulator(config):
        return _emulator_page(config, "jobs", job_name)
    return f"{STUDIO_BASE}/runs/{_q(job_name)}?{_wsid(config)}"


def job_studio_url(config: WorkspaceConfig, job: Any) -> str:
    """The page of a fetched job: the service's own link on Azure, the emulator's page on the emulator."""
    given = getattr(job, "studio_url", None)
    if given and not on_emulator(config):
        return str(given)
    return studio_job_url(config, job.name)


def studio_endpoint_url(config: WorkspaceConfig, flavour: str, endpoint_name: str) -> str:
    """The Studio page of a batch (``flavour="batch"``) or online (``"online"``) endpoint."""
    if on_emulator(config):
        return _emulator_page(config, f"{flavour}Endpoints", endpoint_name)
    section = "batch" if flavour == "batch" else "realtime"
    return f"{STUDIO_BASE}/endpoints/{section}/{_q(endpoint_name)}/details?{_wsid(config)}"


def studio_deployment_url(config: WorkspaceConfig, flavour: str, endpoint_name: str, deployment_name: str) -> str:
    """The Studio page of a deployment of a batch or online endpoint."""
    if on_emulator(config):
        return _emulator_page(config, f"{flavour}Endpoints", endpoint_name, "deployments", deployment_name)
    section = "batch" if flavour == "batch" else "realtime"
    return (
        f"{STUDIO_BASE}/endpoints/{section}/{_q(endpoint_name)}/deployments/{_q(deployment_name)}?{_wsid(config)}"
    )


def studio_compute_url(config: WorkspaceConfig, compute_name: str) -> str:
    """The Studio page of a compute cluster."""
    if on_emulator(config):
        return _emulator_page(config, "computes", compute_name)
    return f"{STUDIO_BASE}/compute/{_q(compute_name)}/details?{_wsid(config)}"


# -- what makes a deletion unsafe ---------------------------------------------------------------
def _batch_deployment_blocker(endpoint: Any, deployment_name: str) -> str | None:
    if endpoint.default_deployment == deployment_name:
        return (
            f"{deployment_name!r} is the default deployment of batch endpoint {endpoint.name!r}; make "
            "another deployment the default first (SetBatchDefaultDeploymentOperator), or delete the whole endpoint"
        )
    return None


def _online_deployment_blocker(endpoint: Any, deployment_name: str) -> str | None:
    live = int(endpoint.traffic.get(deployment_name, 0) or 0)
    mirrored = int(endpoint.mirror_traffic.get(deployment_name, 0) or 0)
    if live or mirrored:
        return (
            f"online deployment {endpoint.name}/{deployment_name} still gets {live}% of live and "
            f"{mirrored}% of mirrored traffic; shift it away before deleting it"
        )
    return None


@dataclass(frozen=True)
class ResourceKind:
    """One kind of resource: how the client reaches it and how people name and see it.

    :param name: the kind's string (``batch_deployment``...), as triggers serialize it.
    :param group: the client's operation group (``client.batch_deployments``).
    :param label: what messages call it (``batch deployment``).
    :param flavour: ``batch`` or ``online`` (None for compute).
    :param is_deployment: named by endpoint and deployment.
    :param deletion_blocker: ``(endpoint, deployment_name) -> reason or None``: why deleting the
        deployment now would be unsafe (the endpoint is the fetched parent endpoint).
    """

    name: KindName
    group: str
    label: str
    flavour: str | None
    is_deployment: bool
    deletion_blocker: Callable[[Any, str], str | None] | None = None

    def names(self, endpoint_name: str, deployment_name: str | None) -> tuple[str, ...]:
        """The names the client's group methods take (``(endpoint,)`` or ``(endpoint, deployment)``)."""
        if self.is_deployment:
            if not deployment_name:
                raise ValueError(f"resource {self.name!r} needs deployment_name")
            return (endpoint_name, deployment_name)
        return (endpoint_name,)

    def describe(self, endpoint_name: str, deployment_name: str | None = None) -> str:
        """``batch deployment 'ep/blue'`` style name for messages."""
        name = f"{endpoint_name}/{deployment_name}" if self.is_deployment else endpoint_name
        return f"{self.label} {name!r}"

    def client_group(self, client: Any) -> Any:
        """The operation group on a sync or async client."""
        return getattr(client, self.group)

    def parent_group(self, client: Any) -> Any:
        """The endpoints group of a deployment kind's parent endpoint."""
        return getattr(client, f"{self.flavour}_endpoints")

    def studio_url(self, config: WorkspaceConfig, endpoint_name: str, deployment_name: str | None = None) -> str:
        """The Studio page of the resource."""
        if self.flavour is None:
            return studio_compute_url(config, endpoint_name)
        if self.is_deployment and deployment_name:
            return studio_deployment_url(config, self.flavour, endpoint_name, deployment_name)
        return studio_endpoint_url(config, self.flavour, endpoint_name)


KINDS: dict[str, ResourceKind] = {
    kind.name: kind
    for kind in (
        ResourceKind("batch_endpoint", "batch_endpoints", "batch endpoint", "batch", False),
        ResourceKind(
            "batch_deployment", "batch_deployments", "batch deployment", "batch", True, _batch_deployment_blocker
        ),
        ResourceKind("online_endpoint", "online_endpoints", "online endpoint", "online", False),
        ResourceKind(
            "online_deployment", "online_deployments", "online deployment", "online", True, _online_deployment_blocker
        ),
        ResourceKind("compute", "computes", "compute", None, False),
    )
}


def kind_of(name: str, deployment_name: str | None = None, *, check_names: bool = True) -> ResourceKind:
    """The registry entry of ``name``; ValueError naming the valid kinds (or a missing deployment name)."""
    kind = KINDS.get(name)
    if kind is None:
        raise ValueError(f"resource must be one of {', '.join(KINDS)}, not {name!r}")
    if check_names and kind.is_deployment and not deployment_name:
        raise ValueError(f"resource {name!r} needs deployment_name")
    return kind


__all__ = [
    "KINDS",
    "KindName",
    "ResourceKind",
    "job_studio_url",
    "kind_of",
    "on_emulator",
    "studio_compute_url",
    "studio_deployment_url",
    "studio_endpoint_url",
    "studio_job_url",
]
