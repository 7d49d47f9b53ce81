"""Azure ML REST client: ARM management plane, batch data plane and online scoring; sync and async.

Never imports airflow. Entry points: :class:`MLEndpointsClient`, :class:`AsyncMLEndpointsClient`,
:class:`WorkspaceConfig`, the credentials in :mod:`.credentials` and the typed errors in :mod:`.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

#: Public name -> the submodule that defines it; imported on first use (PEP 562), so importing the
#: package (or one light submodule such as ``config``) does not pull azure-core's pipelines,
#: aiohttp or azure-storage-blob.
_EXPORTS = {
    "AsyncMLEndpointsClient": "._facade",
    "MLEndpointsClient": "._facade",
    "RetrySettings": ".config",
    "WorkspaceConfig": ".config",
    "create_or_update_and_wait": ".converge",
    "delete_and_wait": ".converge",
    "AsyncStaticTokenCredential": ".credentials",
    "StaticTokenCredential": ".credentials",
    "AuthError": ".errors",
    "ConflictError": ".errors",
    "MLEndpointsError": ".errors",
    "NotFoundError": ".errors",
    "ServiceError": ".errors",
    "ThrottledError": ".errors",
    "ValidationError": ".errors",
    "DuplicateInvocationError": ".errors",
    "InvocationOutcomeUnknownError": ".errors",
    "InvokeOverrides": ".invoke_bodies",
    "ReconcileSettings": ".reconcile",
    "batch_invoke_body": ".invoke_bodies",
    "batch_invoke_body_2021": ".invoke_bodies",
    "OperationHandle": ".operation_status",
    "OperationStatus": ".operation_status",
    "AssetVersion": ".resources",
    "BatchDeployment": ".resources",
    "BatchEndpoint": ".resources",
    "Compute": ".resources",
    "Datastore": ".resources",
    "Job": ".resources",
    "OnlineDeployment": ".resources",
    "OnlineEndpoint": ".resources",
    "Workspace": ".resources",
}

if TYPE_CHECKING:
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

__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
