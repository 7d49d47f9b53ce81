"""Workspace coordinates and client settings (base URLs, API version, retry bounds).

Pure data: no I/O, no airflow imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlparse

DEFAULT_MANAGEMENT_URL = "https://management.azure.com"
DEFAULT_API_VERSION = "2024-04-01"
ARM_SCOPE = "https://management.azure.com/.default"
DATA_PLANE_SCOPE = "https://ml.azure.com/.default"

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class RetrySettings:
    """Bounds for automatic retries of HTTP requests.

    ``retry_total`` attempts at most after the first; exponential backoff of
    ``backoff_factor * 2**n`` seconds capped at ``backoff_max``; a server's
    ``Retry-After`` is honored but capped at ``max_retry_after`` seconds.
    """

    retry_total: int = 5
    backoff_factor: float = 0.8
    backoff_max: float = 60.0
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class WorkspaceConfig:
    """Where the workspace lives and how to talk to it.

    :param subscription_id: Azure subscription id.
    :param resource_group: resource group of the workspace.
    :param workspace_name: Azure ML workspace name.
    :param management_url: ARM base URL; override for sovereign clouds or the emulator.
    :param api_version: ARM ``api-version`` query value.
    :param management_scope: AAD scope for ARM calls.
    :param data_plane_scope: AAD scope for the batch-invoke data plane.
    :param data_plane_url: if set, replaces scheme and host of every batch scoring URI
        (for the emulator or a private endpoint); the path is kept.
    :param storage_urls: storage account name -> account URL or connection string,
        for datastore access through a custom endpoint (Azurite).
    :param polling_interval: default seconds between LRO polls when the service sends no Retry-After.
    :param max_polling_interval: cap on a server-sent Retry-After while polling an LRO.
    :param allow_insecure_http: send bearer tokens over plain http; ``None`` allows it for loopback hosts only.
    :param verbose_http: log one INFO line per HTTP request (method, URL without query, status).
    """

    subscription_id: str
    resource_group: str
    workspace_name: str
    management_url: str = DEFAULT_MANAGEMENT_URL
    api_version: str = DEFAULT_API_VERSION
    management_scope: str = ARM_SCOPE
    data_plane_scope: str = DATA_PLANE_SCOPE
    data_plane_url: str | None = None
    storage_urls: dict[str, str] = field(default_factory=dict, repr=False)  # may hold account keys
    retry: RetrySettings = field(default_factory=RetrySettings)
    polling_interval: float = 10.0
    max_polling_interval: float = 60.0
    allow_insecure_http: bool | None = None
    verbose_http: bool = False

    def __post_init__(self) -> None:
        for name in ("subscription_id", "resource_group", "workspace_name"):
            if not getattr(self, name):
                raise ValueError(f"WorkspaceConfig.{name} is required")
        object.__setattr__(self, "management_url", self.management_url.rstrip("/"))

    @property
    def workspace_id(self) -> str:
        """The workspace's ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )

    def arm_url(self, *segments: str) -> str:
        """Absolute ARM URL of a path below the workspace; segments are URL-quoted."""
        tail = "/".join(quote(s, safe="") for s in segments)
        return f"{self.management_url}{self.workspace_id}" + (f"/{tail}" if tail else "")

    def rebase_data_plane(self, url: str) -> str:
        """Apply :attr:`data_plane_url` to a service-given scoring URI."""
        if not self.data_plane_url:
            return url
        base = urlparse(self.data_plane_url)
        parsed = urlparse(url)
        return parsed._replace(scheme=base.scheme, netloc=base.netloc).geturl()

    def insecure_allowed(self, url: str) -> bool:
        """Whether a bearer token may travel to ``url`` over plain http."""
        if self.allow_insecure_http is not None:
            return self.allow_insecure_http
        return (urlparse(url).hostname or "") in _LOOPBACK_HOSTS
