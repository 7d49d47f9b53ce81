"""The client facades: one set of operation groups over sync or async pipelines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._executor import AsyncExecutor, SyncExecutor
from .assets import AssetVersionsOperations
from .batch_endpoints import BatchDeploymentsOperations, BatchEndpointsOperations
from .computes import ComputesOperations
from .config import WorkspaceConfig
from .datastores import DatastoresOperations
from .faces import Flavoured, X
from .invoke import InvokeOperations
from .jobs import JobsOperations
from .online_endpoints import OnlineDeploymentsOperations, OnlineEndpointsOperations
from .operations import OperationsOperations
from .reconcile import DEFAULT_READ_TIMEOUT
from .workspace import WorkspaceOperations


class _ClientBase(Flavoured[X]):
    """What both clients share: the groups over three executors (ARM, batch data plane, scoring).

    The groups are written once for both flavours and typed by the executor ``X`` of the client
    (see :mod:`.faces`): values on the sync client, awaitables on the async one.
    """

    config: WorkspaceConfig
    #: The executor class of the flavour (one executor per pipeline: ARM, batch data plane, scoring).
    _executor: type[X]
    _executors: tuple[X, X, X]
    batch_endpoints: BatchEndpointsOperations[X]
    batch_deployments: BatchDeploymentsOperations[X]
    online_endpoints: OnlineEndpointsOperations[X]
    online_deployments: OnlineDeploymentsOperations[X]
    jobs: JobsOperations[X]
    code_versions: AssetVersionsOperations[X]
    model_versions: AssetVersionsOperations[X]
    environment_versions: AssetVersionsOperations[X]
    data_versions: AssetVersionsOperations[X]
    datastores: DatastoresOperations[X]
    computes: ComputesOperations[X]
    workspace: WorkspaceOperations[X]
    operations: OperationsOperations[X]
    _invoke: InvokeOperations[X]
    invoke_batch_endpoint = InvokeOperations.invoke_batch_endpoint.on("_invoke")
    get_batch_job = InvokeOperations.get_batch_job.on("_invoke")
    score_online = InvokeOperations.score_online.on("_invoke")

    def __init__(
        self,
        config: WorkspaceConfig,
        credential: Any,
        *,
        on_secret: Callable[[str], object] | None = None,
        **transport_kwargs: Any,
    ) -> None:
        self.config = config
        self.credential = credential
        executor = self._executor
        arm = executor.connect(config, credential, config.management_scope, base_url=config.management_url, **transport_kwargs)
        dp = executor.connect(config, credential, config.data_plane_scope, **transport_kwargs)
        score = executor.connect(config, None, None, **transport_kwargs)
        self._executors = (arm, dp, score)
        self._compose(arm, dp, score, credential, on_secret, transport_kwargs.get("read_timeout"))

    def _compose(
        self,
        arm: X,
        dp: X,
        score: X,
        credential: Any,
        on_secret: Callable[[str], object] | None,
        read_timeout: float | None = None,
    ) -> None:
        cfg = self.config
        self.batch_endpoints = BatchEndpointsOperations(arm, cfg, on_secret)
        self.batch_deployments = BatchDeploymentsOperations(arm, cfg, on_secret)
        self.online_endpoints = OnlineEndpointsOperations(arm, cfg, on_secret)
        self.online_deployments = OnlineDeploymentsOperations(arm, cfg, on_secret)
        self.jobs = JobsOperations(arm, cfg, on_secret)
        self.code_versions = AssetVersionsOperations(arm, cfg, "codes")
        self.model_versions = AssetVersionsOperations(arm, cfg, "models")
        self.environment_versions = AssetVersionsOperations(arm, cfg, "environments")
        self.data_versions = AssetVersionsOperations(arm, cfg, "data")
        self.datastores = DatastoresOperations(arm, cfg, on_secret)
        self.computes = ComputesOperations(arm, cfg, on_secret)
        self.workspace = WorkspaceOperations(arm, cfg, on_secret)
        self.operations = OperationsOperations(arm, cfg, on_secret)
        self._invoke = InvokeOperations(
            arm,
            dp,
            score,
            cfg,
            credential,
            self.batch_endpoints,
            self.online_endpoints,
            jobs=self.jobs,
            read_timeout=DEFAULT_READ_TIMEOUT if read_timeout is None else float(read_timeout),
        )

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{type(self).__name__}(subscription_id={c.subscription_id!r}, resource_group={c.resource_group!r}, "
            f"workspace_name={c.workspace_name!r}, management_url={c.management_url!r})"
        )


class MLEndpointsClient(_ClientBase[SyncExecutor]):
    """Synchronous Azure ML endpoints client.

    :param config: workspace coordinates and settings.
    :param credential: an azure-core ``TokenCredential`` (azure-identity credential, or
        :class:`~.credentials.StaticTokenCredential`); used for ARM (management scope) and the
        batch data plane (``https://ml.azure.com/.default``).
    :param on_secret: called with every secret the service returns (endpoint keys, tokens,
        datastore secrets) before it is handed out; the Airflow hook passes its secrets masker.
    :param transport_kwargs: passed to the azure-core transport (e.g. ``connection_timeout``).

    Groups: ``batch_endpoints``, ``batch_deployments``, ``online_endpoints``, ``online_deployments``,
    ``jobs``, ``code_versions``, ``model_versions``, ``environment_versions``, ``data_versions``, ``datastores``,
    ``computes``, ``workspace`` (the workspace itself, e.g. its location) and ``operations``
    (status of a long-running operation); plus ``invoke_batch_endpoint``, ``get_batch_job`` and
    ``score_online``. Their types are the sync faces of :mod:`.faces` (``jobs.get()`` is a
    :class:`~.resources.Job`). ``begin_*`` methods return an :class:`~.pipeline.MLPoller` (``.result()``
    waits; ``.continuation_token()`` resumes later through the group's ``resume``).
    ``start_create_or_update`` / ``start_delete`` send the request and return an
    :class:`~.operation_status.OperationHandle` at once, with no poller (no background thread).
    """

    _executor = SyncExecutor

    def close(self) -> None:
        """Close the HTTP sessions."""
        for x in self._executors:
            x.close()

    def __enter__(self) -> MLEndpointsClient:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


class AsyncMLEndpointsClient(_ClientBase[AsyncExecutor]):
    """Asynchronous Azure ML endpoints client (aiohttp); same groups and methods as
    :class:`MLEndpointsClient`, each returning an awaitable. ``await group.begin_*()`` gives an
    :class:`~.pipeline.AsyncMLPoller`.

    :param credential: an *async* ``TokenCredential`` (``azure.identity.aio`` or
        :class:`~.credentials.AsyncStaticTokenCredential`).

    Its groups are typed by the async faces of :mod:`.faces` (``await jobs.get()`` is a
    :class:`~.resources.Job`).
    """

    _executor = AsyncExecutor

    async def close(self) -> None:
        """Close the HTTP sessions."""
        for x in self._executors:
            await x.close()

    async def __aenter__(self) -> AsyncMLEndpointsClient:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()
