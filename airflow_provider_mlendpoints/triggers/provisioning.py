"""Waiting in the triggerer for an endpoint, deployment or compute's provisioning (or deletion)."""

from __future__ import annotations

from ..client.waiting import WaitSettings, WaitTarget
from .wait import WaitTrigger


class ProvisioningStateTrigger(WaitTrigger):
    """:class:`WaitTrigger` for a batch/online endpoint, deployment or AmlCompute cluster until its
    provisioningState is terminal (``wait_for="provisioned"``) or until it is gone (``"deleted"``).

    Yields one event: ``{"event": "resource", "status": "success"|"failed"|"canceled"|"timeout"|
    "error", "resource", "endpoint_name", "deployment_name", "provisioning_state", "message",
    "studio_url", "details", "retryable"}`` (``details``: the resource's JSON). In ``"deleted"``
    mode the event also says ``deleted``; a 404 is the success, a Failed or Canceled state the
    failure with the service's reason (read from ``operation_url``). In ``"provisioned"`` mode a 404
    is an ``error`` event.

    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection.
    :param resource: a kind of :data:`~airflow_provider_mlendpoints.client.kinds.KINDS`.
    :param endpoint_name: the endpoint (for ``compute``: the cluster's name).
    :param deployment_name: the deployment (for the ``*_deployment`` kinds).
    :param poll_interval: the longest wait between polls (the first is short; a Retry-After wins).
    :param timeout: seconds until a ``timeout`` event; None waits forever.
    :param wait_for: ``"provisioned"``, ``"deleted"`` or ``"idle"`` (no operation running).
    :param operation_url: status URL of the operation waited for (the failure's reason).
    :param first_delay: the operation's own Retry-After, for the first wait.
    """

    def __init__(
        self,
        ml_endpoints_conn_id: str,
        resource: str,
        endpoint_name: str,
        deployment_name: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        wait_for: str = "provisioned",
        operation_url: str | None = None,
        first_delay: float | None = None,
    ) -> None:
        target = WaitTarget.resource(
            resource, endpoint_name, deployment_name, until=wait_for, operation_url=operation_url, first_delay=first_delay
        )
        settings = WaitSettings(poll_interval=float(poll_interval), timeout=timeout)
        super().__init__(ml_endpoints_conn_id, target.to_json(), settings.to_json())

    @property
    def resource(self) -> str:
        return self.target.kind
