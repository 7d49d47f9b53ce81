"""The shared base of the Azure-mode resource operators (:mod:`.batch`, :mod:`.online`).

:class:`ResourceOperator` sends PUTs and DELETEs without a poller (the client's
``start_create_or_update`` / ``start_delete``), remembers each operation's status URL so a failure can
carry the service's reason, waits while another operation runs on the
resource (:meth:`ResourceOperator.settle`), deletes and waits until a resource
is gone, and stores the Studio links.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..client.errors import NotFoundError
from ..client.errors import ValidationError as RequestRejected
from ..client.resources import ENDPOINT_TERMINAL_STATES
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink, studio_deployment_url, studio_endpoint_url
from ..triggers._common import fetch_resource, resource_label
from ._base import MLEndpointsBaseOperator, poll_until

if TYPE_CHECKING:
    from airflow.sdk import Context


def workspace_location(client: Any) -> str:
    """The workspace's Azure region (``""`` when the service does not say)."""
    return client.workspace.get_location()


@contextlib.contextmanager
def service_errors(what: str) -> Iterator[None]:
    """Requests the service rejected (400/422) fail the task without retries, naming ``what``."""
    try:
        yield
    except RequestRejected as exc:
        raise AirflowFailException(f"{what}: the service rejected the request: {exc}") from exc


def get_or_none(fetch: Any) -> Any:
    try:
        return fetch()
    except NotFoundError:
        return None


#: The client's operation group of each resource kind.
_GROUPS = {
    "batch_endpoint": "batch_endpoints",
    "batch_deployment": "batch_deployments",
    "online_endpoint": "online_endpoints",
    "online_deployment": "online_deployments",
    "compute": "computes",
}


def start_operation(
    client: Any,
    method: str,
    resource: str,
    name: str,
    deployment_name: str | None = None,
    body: dict[str, Any] | None = None,
) -> str | None:
    """Send a PUT or DELETE and return at once with the operation's status URL (if the service gave one).

    Uses the client's ``start_create_or_update`` / ``start_delete``: the ``begin_*`` pollers would
    poll in a background thread that outlives the task (and a deferred task waits in the
    triggerer anyway), so the caller waits by reading the resource's state instead.
    """
    if method not in ("PUT", "DELETE"):
        raise ValueError(f"start_operation sends PUT or DELETE, not {method}")
    group = getattr(client, _GROUPS[resource])
    names = (name, deployment_name) if deployment_name else (name,)
    if method == "PUT":
        handle = group.start_create_or_update(*names, body or {})
    else:
        handle = group.start_delete(*names)
    return handle.polling_url


def operation_error(client: Any, url: str) -> str | None:
    """``code: message`` of a finished long-running operation that failed (None if it did not say)."""
    try:
        status = client.operations.get_status(url)
    except Exception:  # the operation record may be gone; the state alone still fails the task
        return None
    return status.reason if status.status in ("Failed", "Canceled") else None


def _task_state_store() -> Any:
    with contextlib.suppress(Exception):
        from airflow.sdk import get_current_context

        return get_current_context().get("task_state_store")
    return None


_OPERATION_KEY = "mlendpoints_operation:"
#: Seconds a resource may keep showing its old state right after a DELETE was accepted.
DELETE_GRACE_SECONDS = 30.0


class ResourceOperator(MLEndpointsBaseOperator):
    """Common machinery of the endpoint/deployment operators (settle, wait for deletion, links)."""

    ui_color = "#cce6ff"

    # -- operations -------------------------------------------------------------------------------
    def start_operation(
        self,
        method: str,
        resource: str,
        name: str,
        deployment_name: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> str | None:
        """Send the PUT/DELETE; remember its status URL (also across a deferral, in the task
        state store) so a failed provisioning can report the service's reason."""
        url = start_operation(self.client, method, resource, name, deployment_name, body)
        if url:
            key = _OPERATION_KEY + resource_label(resource, name, deployment_name)
            self.__dict__.setdefault("_operation_urls", {})[key] = url
            store = _task_state_store()
            if store is not None:
                with contextlib.suppress(Exception):
                    store.set(key, url)
        return url

    def operation_url(
        self, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> str | None:
        """The status URL of the last operation this task started on the resource (if any)."""
        key = _OPERATION_KEY + resource_label(resource, endpoint_name, deployment_name)
        url = self.__dict__.get("_operation_urls", {}).get(key)
        if url is None:
            store = _task_state_store()
            with contextlib.suppress(Exception):
                url = store.get(key) if store is not None else None
        return url

    def failure_reason(
        self, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> str | None:
        """The service's ``code: message`` for the last operation this task started on the resource."""
        url = self.operation_url(resource, endpoint_name, deployment_name)
        return operation_error(self.client, url) if url else None

    def handle_provisioning_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """As the base, with the service's reason added to a failure."""
        if event.get("status") != "success" and event.get("resource") and event.get("endpoint_name"):
            reason = self.failure_reason(
                event["resource"], event["endpoint_name"], event.get("deployment_name")
            )
            if reason and reason not in str(event.get("message")):
                event = {**event, "message": f"{event.get('message')}: {reason}"}
        return super().handle_provisioning_event(event)

    def resume_execute(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after waiting for another operation on the resource: run :meth:`execute` again."""
        return self.execute(context)

    def settle(
        self, context: Context, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> Any:
        """Wait while another operation (a previous try's PUT or DELETE) runs on the resource.

        Returns the resource as it is now (None when it does not exist). Deferrable: defers and
        resumes in :meth:`resume_execute`, which starts :meth:`execute` over.
        """
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)
        current = get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))
        if current is None or current.provisioning_state in ENDPOINT_TERMINAL_STATES:
            return current
        self.log.info("%s is %s; waiting for that operation first", label, current.provisioning_state)
        if self.deferrable:
            self._defer_on(resource, endpoint_name, deployment_name, "resume_execute")

        def fetch() -> Any:
            return get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

        def to_event(obj: Any) -> dict[str, Any] | None:
            if obj is None or obj.provisioning_state in ENDPOINT_TERMINAL_STATES:
                return {"status": "success"}
            return None

        event = poll_until(
            fetch,
            to_event,
            lambda obj: {"status": "timeout", "message": f"{label} still busy after {self.timeout} s"},
            lambda exc, obj: {"status": "error", "message": f"polling {label} failed: {exc}"},
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            log=self.log,
        )
        if event["status"] != "success":
            raise AirflowException(event["message"])
        return get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

    def _defer_on(self, resource: str, endpoint_name: str, deployment_name: str | None, method: str) -> None:
        from ..triggers.provisioning import ProvisioningStateTrigger

        self.defer(
            trigger=ProvisioningStateTrigger(
                conn_id=self.conn_id,
                resource=resource,
                endpoint_name=endpoint_name,
                deployment_name=deployment_name,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
            ),
            method_name=method,
        )

    # -- deletion ---------------------------------------------------------------------------------
    def delete_and_wait(
        self, context: Context, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> dict[str, Any]:
        """DELETE (a missing resource counts as deleted) and wait until it is gone."""
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)
        current = get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))
        if current is None:
            self.log.info("%s does not exist: nothing to delete", label)
            return self.deleted_result(existed=False)
        if current.provisioning_state != "Deleting":
            if current.provisioning_state not in ENDPOINT_TERMINAL_STATES:
                self.settle(context, resource, endpoint_name, deployment_name)
            with service_errors(f"deleting {label}"), contextlib.suppress(NotFoundError):
                self.start_operation("DELETE", resource, endpoint_name, deployment_name)
            self.log.info("Deleting %s", label)
        return self._wait_gone(context, resource, endpoint_name, deployment_name)

    def _wait_gone(
        self, context: Context, resource: str, endpoint_name: str, deployment_name: str | None
    ) -> dict[str, Any]:
        """Wait until the resource is gone: :meth:`wait_for_provisioning` with ``wait_for="deleted"``
        (deferred to the trigger in that mode when deferrable; resumes in :meth:`deletion_complete`)."""
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)

        def fetch() -> Any:
            return get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

        current = fetch()
        # Right after the DELETE the service may still show the old state (e.g. a Failed
        # provisioning) for a moment; a Failed/Canceled state counts as the deletion's outcome only
        # once Deleting was seen (or this grace period is over).
        grace = time.monotonic() + DELETE_GRACE_SECONDS
        while current is not None and current.provisioning_state != "Deleting" and time.monotonic() < grace:
            time.sleep(min(self.poll_interval, 1.0))
            current = fetch()
        if current is None:
            self.log.info("%s deleted", label)
            return self.deleted_result(existed=True)
        self.wait_for_provisioning(
            context,
            resource=resource,  # type: ignore[arg-type]
            endpoint_name=endpoint_name,
            deployment_name=deployment_name,
            method_name="deletion_complete",
            wait_for="deleted",
            operation_url=self.operation_url(resource, endpoint_name, deployment_name),
            reason=lambda: self.failure_reason(resource, endpoint_name, deployment_name),
        )  # logs "<label> deleted"
        return self.deleted_result(existed=True)

    def deletion_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the provisioning trigger (``wait_for="deleted"``) fired during a deletion.

        ``{"status": "success", "deleted": True}`` is the deletion's end; a failed, canceled or
        timeout event fails the task with the service's reason. Events of triggers serialized
        before the ``deleted`` mode existed (a 404 arrived as an ``error``) are still understood.
        """
        event = event or {}
        resource = event.get("resource") or self._resource_kind
        endpoint_name = event.get("endpoint_name") or self.endpoint_name
        deployment_name = event.get("deployment_name") or getattr(self, "deployment_name", None)
        label = resource_label(resource, endpoint_name, deployment_name)
        if "deleted" in event:  # the explicit "deleted" mode
            self.handle_provisioning_event(event)  # raises unless success; logs "<label> deleted"
            return self.deleted_result(existed=True)
        # An older trigger in "provisioned" mode: the 404 came as an "error" event.
        current = get_or_none(lambda: fetch_resource(self.client, resource, endpoint_name, deployment_name))
        if current is None:
            self.log.info("%s deleted", label)
            return self.deleted_result(existed=True)
        if event.get("status") in ("failed", "canceled", "timeout"):
            self.handle_provisioning_event(
                {**event, "message": f"deleting: {event.get('message')}"}
            )  # raises
        return self._wait_gone(context, resource, endpoint_name, deployment_name)

    _resource_kind = "batch_endpoint"

    def deleted_result(self, *, existed: bool) -> dict[str, Any]:
        return {
            "endpoint_name": self.endpoint_name,
            "deployment_name": getattr(self, "deployment_name", None),
            "deleted": True,
            "existed": existed,
        }

    # -- links ------------------------------------------------------------------------------------
    def persist_links(
        self, context: Context, kind: str, endpoint_name: str, deployment_name: str | None = None
    ) -> None:
        """Store the Studio links of the endpoint (and deployment) for the task's extra links."""
        config = self.client.config
        with contextlib.suppress(Exception):
            AzureMLEndpointLink.persist(context, studio_endpoint_url(config, kind, endpoint_name))
            if deployment_name:
                AzureMLDeploymentLink.persist(
                    context, studio_deployment_url(config, kind, endpoint_name, deployment_name)
                )


# ------------------------------------------------------------------------------------------------
