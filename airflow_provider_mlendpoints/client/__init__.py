"""Azure ML REST client: ARM management plane, batch data plane and online scoring; sync and async.

Never imports airflow. Entry points: :class:`MLEndpointsClient`, :class:`AsyncMLEndpointsClient`,
:class:`WorkspaceConfig`, the credentials in :mod:`.credentials` and the typed errors in :mod:`.errors`.
"""

from __future__ import annotations

from ._facade import AsyncMLEndpointsClient, MLEndpointsClient
from .config import RetrySettings, WorkspaceConfig
from .converge import create_or_update_and_wait, delete_and_wait
from .credentials import AsyncStaticTokenCredential, StaticTokenCredential
from .errors import (
    AuthError,
    ConflictError,
    DuplicateInvocationError,
    InvocationOutcomeUnknownError,
    MLEndpointsError,
    NotFoundError,
    ServiceError,
    ThrottledError,
    ValidationError,
)
from .invoke_bodies import InvokeOverrides, batch_invoke_body, batch_invoke_body_2021
from .operation_status import OperationHandle, OperationStatus
from .reconcile import ReconcileSettings
from .resources import (
    AssetVersion,
    BatchDeployment,
    BatchEndpoint,
    Compute,
    Datastore,
    Job,
    OnlineDeployment,
    OnlineEndpoint,
    Workspace,
)

__all__ = [
    "AssetVersion",
    "AsyncMLEndpointsClient",
    "AsyncStaticTokenCredential",
    "AuthError",
    "BatchDeployment",
    "BatchEndpoint",
    "Compute",
    "ConflictError",
    "Datastore",
    "DuplicateInvocationError",
    "InvocationOutcomeUnknownError",
    "InvokeOverrides",
    "Job",
    "MLEndpointsClient",
    "MLEndpointsError",
    "NotFoundError",
    "OnlineDeployment",
    "OnlineEndpoint",
    "OperationHandle",
    "OperationStatus",
    "ReconcileSettings",
    "RetrySettings",
    "ServiceError",
    "StaticTokenCredential",
    "ThrottledError",
    "ValidationError",
    "Workspace",
    "WorkspaceConfig",
    "batch_invoke_body",
    "batch_invoke_body_2021",
    "create_or_update_and_wait",
    "delete_and_wait",
]
