"""The typed faces of the operation groups: what each method returns on each client.

The operation groups (:mod:`.jobs`, :mod:`.batch_endpoints`, ...) are written once for both
clients: their methods return a value on :class:`~.MLEndpointsClient` and an awaitable of it on
:class:`~.AsyncMLEndpointsClient` (annotated :data:`~._executor.MaybeAwaitable`). The clients
expose each group through the protocols below, so a type checker sees
``client.jobs.get(name)`` as a :class:`~.resources.Job` and ``aclient.jobs.get(name)`` as an
awaitable of one. ``tests/client/test_typed_facades.py`` checks both that these protocols match
the groups' signatures and that mypy reads them so.

Naming: ``JobsGroup`` is the sync face, ``AsyncJobsGroup`` the async one; ``begin_*`` methods
give an :class:`~.pipeline.MLPoller` (sync) or an :class:`~.pipeline.AsyncMLPoller` (async).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from azure.core.rest import AsyncHttpResponse, HttpResponse

from .assets import AssetKind
from .operation_status import OperationHandle, OperationStatus
from .pipeline import AsyncMLPoller, MLPoller
from .reconcile import ReconcileSettings
from .resources import (
    AssetVersion,
    BatchDeployment,
    BatchEndpoint,
    Compute,
    Datastore,
    DatastoreSecrets,
    DeploymentLogs,
    EndpointKeys,
    EndpointToken,
    Job,
    OnlineDeployment,
    OnlineEndpoint,
    SkuSetting,
    Workspace,
)

R = TypeVar("R")  # invariant, as list[R] is

KeyType = Literal["Primary", "Secondary"]
ContainerType = Literal["InferenceServer", "StorageInitializer"]
UnderlyingAction = Literal["Delete", "Detach"]
OnPoll = Callable[[Job, "float | None"], object]


# -- endpoints and deployments (batch and online share these) ------------------------------------
class EndpointsGroup(Protocol[R]):
    """``batch_endpoints`` / ``online_endpoints`` on the sync client."""

    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> MLPoller[R]: ...
    def begin_update(self, name: str, body: dict[str, Any]) -> MLPoller[R]: ...
    def get(self, name: str) -> R: ...
    def get_response(self, name: str) -> HttpResponse: ...
    def parse_answer(self, body: Any) -> R: ...
    def list(self, *, limit: int | None = None) -> list[R]: ...
    def begin_delete(self, name: str) -> MLPoller[None]: ...
    def start_create_or_update(self, name: str, body: dict[str, Any]) -> OperationHandle[R]: ...
    def start_delete(self, name: str) -> OperationHandle[None]: ...
    def resume(self, continuation_token: str, *, delete: bool = False) -> MLPoller[R | None]: ...


class AsyncEndpointsGroup(Protocol[R]):
    """``batch_endpoints`` / ``online_endpoints`` on the async client."""

    async def begin_create_or_update(self, name: str, body: dict[str, Any]) -> AsyncMLPoller[R]: ...
    async def begin_update(self, name: str, body: dict[str, Any]) -> AsyncMLPoller[R]: ...
    async def get(self, name: str) -> R: ...
    async def get_response(self, name: str) -> AsyncHttpResponse: ...
    def parse_answer(self, body: Any) -> R: ...
    async def list(self, *, limit: int | None = None) -> list[R]: ...
    async def begin_delete(self, name: str) -> AsyncMLPoller[None]: ...
    async def start_create_or_update(self, name: str, body: dict[str, Any]) -> OperationHandle[R]: ...
    async def start_delete(self, name: str) -> OperationHandle[None]: ...
    async def resume(self, continuation_token: str, *, delete: bool = False) -> AsyncMLPoller[R | None]: ...


class DeploymentsGroup(Protocol[R]):
    """``batch_deployments`` / ``online_deployments`` on the sync client."""

    def begin_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> MLPoller[R]: ...
    def begin_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> MLPoller[R]: ...
    def get(self, endpoint_name: str, name: str) -> R: ...
    def get_response(self, endpoint_name: str, name: str) -> HttpResponse: ...
    def parse_answer(self, body: Any) -> R: ...
    def list(self, endpoint_name: str, *, limit: int | None = None) -> list[R]: ...
    def begin_delete(self, endpoint_name: str, name: str) -> MLPoller[None]: ...
    def start_create_or_update(
        self, endpoint_name: str, name: str, body: dict[str, Any]
    ) -> OperationHandle[R]: ...
    def start_delete(self, endpoint_name: str, name: str) -> OperationHandle[None]: ...
    def resume(self, continuation_token: str, *, delete: bool = False) -> MLPoller[R | None]: ...


class AsyncDeploymentsGroup(Protocol[R]):
    """``batch_deployments`` / ``online_deployments`` on the async client."""

    async def begin_create_or_update(
        self, endpoint_name: str, name: str, body: dict[str, Any]
    ) -> AsyncMLPoller[R]: ...
    async def begin_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> AsyncMLPoller[R]: ...
    async def get(self, endpoint_name: str, name: str) -> R: ...
    async def get_response(self, endpoint_name: str, name: str) -> AsyncHttpResponse: ...
    def parse_answer(self, body: Any) -> R: ...
    async def list(self, endpoint_name: str, *, limit: int | None = None) -> list[R]: ...
    async def begin_delete(self, endpoint_name: str, name: str) -> AsyncMLPoller[None]: ...
    async def start_create_or_update(
        self, endpoint_name: str, name: str, body: dict[str, Any]
    ) -> OperationHandle[R]: ...
    async def start_delete(self, endpoint_name: str, name: str) -> OperationHandle[None]: ...
    async def resume(self, continuation_token: str, *, delete: bool = False) -> AsyncMLPoller[R | None]: ...


class BatchEndpointsGroup(EndpointsGroup[BatchEndpoint], Protocol):
    def list_keys(self, name: str) -> EndpointKeys: ...


class AsyncBatchEndpointsGroup(AsyncEndpointsGroup[BatchEndpoint], Protocol):
    async def list_keys(self, name: str) -> EndpointKeys: ...


class OnlineEndpointsGroup(EndpointsGroup[OnlineEndpoint], Protocol):
    def list_keys(self, name: str) -> EndpointKeys: ...
    def begin_regenerate_keys(
        self, name: str, key_type: KeyType = "Primary", key_value: str | None = None
    ) -> MLPoller[None]: ...
    def get_token(self, name: str) -> EndpointToken: ...


class AsyncOnlineEndpointsGroup(AsyncEndpointsGroup[OnlineEndpoint], Protocol):
    async def list_keys(self, name: str) -> EndpointKeys: ...
    async def begin_regenerate_keys(
        self, name: str, key_type: KeyType = "Primary", key_value: str | None = None
    ) -> AsyncMLPoller[None]: ...
    async def get_token(self, name: str) -> EndpointToken: ...


class BatchDeploymentsGroup(DeploymentsGroup[BatchDeployment], Protocol):
    """``batch_deployments`` on the sync client."""


class AsyncBatchDeploymentsGroup(AsyncDeploymentsGroup[BatchDeployment], Protocol):
    """``batch_deployments`` on the async client."""


class OnlineDeploymentsGroup(DeploymentsGroup[OnlineDeployment], Protocol):
    def get_logs(
        self, endpoint_name: str, name: str, container_type: ContainerType = "InferenceServer", tail: int | None = None
    ) -> DeploymentLogs: ...
    def list_skus(self, endpoint_name: str, name: str, *, count: int | None = None) -> list[SkuSetting]: ...


class AsyncOnlineDeploymentsGroup(AsyncDeploymentsGroup[OnlineDeployment], Protocol):
    async def get_logs(
        self, endpoint_name: str, name: str, container_type: ContainerType = "InferenceServer", tail: int | None = None
    ) -> DeploymentLogs: ...
    async def list_skus(self, endpoint_name: str, name: str, *, count: int | None = None) -> list[SkuSetting]: ...


# -- jobs -------------------------------------------------------------------------------------------
class JobsGroup(Protocol):
    """``jobs`` on the sync client."""

    def get(self, name: str) -> Job: ...
    def list(
        self,
        *,
        job_type: str | None = None,
        tag: str | None = None,
        list_view_type: str | None = None,
        properties: str | None = None,
        limit: int | None = None,
    ) -> list[Job]: ...
    def get_response(self, name: str) -> HttpResponse: ...
    def parse_answer(self, body: Any) -> Job: ...
    def wait(
        self,
        name: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_poll: OnPoll | None = None,
    ) -> Job: ...
    def begin_cancel(self, name: str) -> MLPoller[None]: ...
    def cancel(self, name: str) -> MLPoller[None]: ...


class AsyncJobsGroup(Protocol):
    """``jobs`` on the async client."""

    async def get(self, name: str) -> Job: ...
    async def list(
        self,
        *,
        job_type: str | None = None,
        tag: str | None = None,
        list_view_type: str | None = None,
        properties: str | None = None,
        limit: int | None = None,
    ) -> list[Job]: ...
    async def get_response(self, name: str) -> AsyncHttpResponse: ...
    def parse_answer(self, body: Any) -> Job: ...
    async def wait(
        self,
        name: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_poll: OnPoll | None = None,
    ) -> Job: ...
    async def begin_cancel(self, name: str) -> AsyncMLPoller[None]: ...
    async def cancel(self, name: str) -> AsyncMLPoller[None]: ...


# -- assets, datastores, computes, workspace, operations ---------------------------------------------
class AssetVersionsGroup(Protocol):
    """``code_versions`` / ``model_versions`` / ``environment_versions`` / ``data_versions`` (sync)."""

    kind: AssetKind

    def create_or_update(self, name: str, version: str, body: dict[str, Any]) -> AssetVersion: ...
    def get(self, name: str, version: str) -> AssetVersion: ...
    def list(
        self,
        name: str,
        *,
        order_by: str | None = None,
        top: int | None = None,
        params: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[AssetVersion]: ...
    def get_latest(self, name: str) -> AssetVersion: ...
    def version_id(self, name: str, version: str) -> str: ...


class AsyncAssetVersionsGroup(Protocol):
    """The asset version groups on the async client."""

    kind: AssetKind

    async def create_or_update(self, name: str, version: str, body: dict[str, Any]) -> AssetVersion: ...
    async def get(self, name: str, version: str) -> AssetVersion: ...
    async def list(
        self,
        name: str,
        *,
        order_by: str | None = None,
        top: int | None = None,
        params: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[AssetVersion]: ...
    async def get_latest(self, name: str) -> AssetVersion: ...
    def version_id(self, name: str, version: str) -> str: ...


class DatastoresGroup(Protocol):
    """``datastores`` on the sync client."""

    def list(self, *, is_default: bool | None = None, limit: int | None = None) -> list[Datastore]: ...
    def get(self, name: str) -> Datastore: ...
    def list_secrets(self, name: str) -> DatastoreSecrets: ...
    def get_default(self) -> Datastore: ...


class AsyncDatastoresGroup(Protocol):
    """``datastores`` on the async client."""

    async def list(self, *, is_default: bool | None = None, limit: int | None = None) -> list[Datastore]: ...
    async def get(self, name: str) -> Datastore: ...
    async def list_secrets(self, name: str) -> DatastoreSecrets: ...
    async def get_default(self) -> Datastore: ...


class ComputesGroup(Protocol):
    """``computes`` on the sync client."""

    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> MLPoller[Compute]: ...
    def get(self, name: str) -> Compute: ...
    def get_response(self, name: str) -> HttpResponse: ...
    def parse_answer(self, body: Any) -> Compute: ...
    def begin_delete(self, name: str, *, underlying_resource_action: UnderlyingAction = "Delete") -> MLPoller[None]: ...
    def start_create_or_update(self, name: str, body: dict[str, Any]) -> OperationHandle[Compute]: ...
    def start_delete(
        self, name: str, *, underlying_resource_action: UnderlyingAction = "Delete"
    ) -> OperationHandle[None]: ...
    def resume(self, continuation_token: str, *, delete: bool = False) -> MLPoller[Compute | None]: ...


class AsyncComputesGroup(Protocol):
    """``computes`` on the async client."""

    async def begin_create_or_update(self, name: str, body: dict[str, Any]) -> AsyncMLPoller[Compute]: ...
    async def get(self, name: str) -> Compute: ...
    async def get_response(self, name: str) -> AsyncHttpResponse: ...
    def parse_answer(self, body: Any) -> Compute: ...
    async def begin_delete(
        self, name: str, *, underlying_resource_action: UnderlyingAction = "Delete"
    ) -> AsyncMLPoller[None]: ...
    async def start_create_or_update(self, name: str, body: dict[str, Any]) -> OperationHandle[Compute]: ...
    async def start_delete(
        self, name: str, *, underlying_resource_action: UnderlyingAction = "Delete"
    ) -> OperationHandle[None]: ...
    async def resume(self, continuation_token: str, *, delete: bool = False) -> AsyncMLPoller[Compute | None]: ...


class WorkspaceGroup(Protocol):
    """``workspace`` on the sync client."""

    def get(self) -> Workspace: ...
    def get_location(self) -> str: ...


class AsyncWorkspaceGroup(Protocol):
    """``workspace`` on the async client."""

    async def get(self) -> Workspace: ...
    async def get_location(self) -> str: ...


class OperationsGroup(Protocol):
    """``operations`` on the sync client."""

    def get_status(self, polling_url: str) -> OperationStatus: ...


class AsyncOperationsGroup(Protocol):
    """``operations`` on the async client."""

    async def get_status(self, polling_url: str) -> OperationStatus: ...


# -- invocation (methods of the clients themselves) -------------------------------------------------
class InvokeBatchEndpoint(Protocol):
    """``client.invoke_batch_endpoint``: the started batch :class:`~.resources.Job`."""

    def __call__(
        self,
        endpoint_name: str,
        body: dict[str, Any],
        *,
        deployment_name: str | None = None,
        scoring_uri: str | None = None,
        reconcile: bool = True,
        correlation_id: str | None = None,
        reconcile_settings: ReconcileSettings | None = None,
    ) -> Job: ...


class AsyncInvokeBatchEndpoint(Protocol):
    """``aclient.invoke_batch_endpoint``: awaitable of the started batch job."""

    async def __call__(
        self,
        endpoint_name: str,
        body: dict[str, Any],
        *,
        deployment_name: str | None = None,
        scoring_uri: str | None = None,
        reconcile: bool = True,
        correlation_id: str | None = None,
        reconcile_settings: ReconcileSettings | None = None,
    ) -> Job: ...


class GetBatchJob(Protocol):
    """``client.get_batch_job``: the batch job as the data plane sees it."""

    def __call__(self, scoring_uri: str, job_name: str) -> Job: ...


class AsyncGetBatchJob(Protocol):
    """``aclient.get_batch_job``."""

    async def __call__(self, scoring_uri: str, job_name: str) -> Job: ...


class ScoreOnline(Protocol):
    """``client.score_online``: the scoring answer, parsed JSON (``Any``) or text."""

    def __call__(
        self,
        endpoint_name: str,
        payload: Any,
        *,
        deployment_name: str | None = None,
        key: str | None = None,
        token: str | None = None,
        scoring_uri: str | None = None,
        content_type: str = "application/json",
    ) -> Any: ...


class AsyncScoreOnline(Protocol):
    """``aclient.score_online``."""

    async def __call__(
        self,
        endpoint_name: str,
        payload: Any,
        *,
        deployment_name: str | None = None,
        key: str | None = None,
        token: str | None = None,
        scoring_uri: str | None = None,
        content_type: str = "application/json",
    ) -> Any: ...
