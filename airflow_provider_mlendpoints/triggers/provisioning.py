"""Trigger that waits for an endpoint, deployment or compute to finish provisioning (or to be deleted)."""

from __future__ import annotations

from typing import Any

from ._common import (
    check_resource_kind,
    check_wait_for,
    deletion_event,
    fetch_resource,
    is_not_found,
    provisioning_event,
    provisioning_payload,
    resource_label,
)
from ._polling import PollingTrigger


class ProvisioningStateTrigger(PollingTrigger):
    """Poll a batch/online endpoint, deployment or AmlCompute cluster until its provisioningState
    is terminal (``wait_for="provisioned"``) or until it is gone (``wait_for="deleted"``).

    Yields exactly one :class:`TriggerEvent`: ``{"status": "success"|"failed"|"canceled"|"timeout"|
    "error", "resource", "endpoint_name", "deployment_name", "provisioning_state", "message",
    "studio_url", "details"}`` (``details``: the resource's JSON on success, else the last one seen).

    In ``"deleted"`` mode a 404 is ``{"status": "success", "deleted": True, ...}``; a Failed or
    Canceled state is a ``failed``/``canceled`` event (``"deleted": False``) whose message carries
    the service's reason (read from ``operation_url`` when given, else the resource's error);
    Succeeded or Deleting keep waiting. In ``"provisioned"`` mode a 404 is an ``error`` event.

    :param conn_id: the ``azure_ml_endpoints`` connection.
    :param resource: ``batch_endpoint``, ``batch_deployment``, ``online_endpoint``,
        ``online_deployment`` or ``compute``.
    :param endpoint_name: the endpoint (for ``compute``: the cluster's name).
    :param deployment_name: the deployment (for the ``*_deployment`` kinds).
    :param poll_interval: seconds between polls (a server Retry-After on throttling wins if longer).
    :param timeout: seconds until a ``timeout`` event; None waits forever.
    :param wait_for: ``"provisioned"`` (default; also what triggers serialized before this
        argument existed resume with) or ``"deleted"``.
    :param operation_url: status URL of the operation being waited for (an
        ``OperationHandle.polling_url``); asked for the failure reason in ``"deleted"`` mode.
    """

    def __init__(
        self,
        conn_id: str,
        resource: str,
        endpoint_name: str,
        deployment_name: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        wait_for: str = "provisioned",
        operation_url: str | None = None,
    ) -> None:
        super().__init__()
        check_resource_kind(resource, deployment_name)
        check_wait_for(wait_for)
        self.wait_for = wait_for
        self.operation_url = operation_url
        self.conn_id = conn_id
        self.resource = resource
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout) if timeout is not None else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "resource": self.resource,
                "endpoint_name": self.endpoint_name,
                "deployment_name": self.deployment_name,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "wait_for": self.wait_for,
                "operation_url": self.operation_url,
            },
        )

    def _mark(self, event: dict[str, Any]) -> dict[str, Any]:
        """In ``"deleted"`` mode every event says whether the resource is gone (timeout/error: no)."""
        if self.wait_for == "deleted":
            event.setdefault("deleted", False)
        return event

    async def event_of(self, client: Any, config: Any, obj: Any) -> dict[str, Any] | None:
        if self.wait_for != "deleted":
            return provisioning_event(config, self.resource, self.endpoint_name, self.deployment_name, obj)
        event = deletion_event(config, self.resource, self.endpoint_name, self.deployment_name, obj)
        if event is not None and event["status"] != "success" and self.operation_url:
            reason = await self._operation_reason(client)
            if reason:
                event = deletion_event(
                    config, self.resource, self.endpoint_name, self.deployment_name, obj, reason=reason
                )
        return event

    async def _operation_reason(self, client: Any) -> str | None:
        try:
            status = await client.operations.get_status(self.operation_url)
        except Exception:  # the operation record may be gone; the state alone still fails
            return None
        return status.reason if status.status in ("Failed", "Canceled") else None

    def label(self) -> str:
        return resource_label(self.resource, self.endpoint_name, self.deployment_name)

    async def poll(self, client: Any) -> Any:
        """The resource; None when it is gone and deletion is what is waited for."""
        try:
            return await fetch_resource(client, self.resource, self.endpoint_name, self.deployment_name)
        except Exception as exc:
            if self.wait_for == "deleted" and is_not_found(exc):
                return None
            raise

    def state_of(self, obj: Any) -> str | None:
        return obj.provisioning_state if obj is not None else None

    def timeout_message(self, state: str | None) -> str:
        return super().timeout_message(state) + (" (waiting for deletion)" if self.wait_for == "deleted" else "")

    def end_event(self, config: Any, status: str, state: str | None, message: str) -> dict[str, Any]:
        return self._mark(
            provisioning_payload(
                config, self.resource, self.endpoint_name, self.deployment_name,
                status=status, state=state, message=message,
            )
        )
