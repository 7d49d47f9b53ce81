"""What every Azure-mode operator shares: the connection, waiting, operations and links.

:class:`MLEndpointsBaseOperator` gives every Azure-mode operator

- ``ml_endpoints_conn_id`` (default ``azure_ml_endpoints_default``), a cached :attr:`hook` and
  :attr:`client`;
- ``deferrable`` (default ``[operators] default_deferrable``), ``poll_interval`` (the longest wait
  between polls; the first poll comes after a second, or the operation's own Retry-After) and
  ``timeout``;
- :meth:`wait`: run the one waiting procedure
  (:func:`~airflow_provider_mlendpoints.client.waiting.wait`): check once; when the target is not
  there yet, defer to :class:`~airflow_provider_mlendpoints.triggers.wait.WaitTrigger` when
  ``deferrable``, else poll in this worker; the event it ends with passes :meth:`raise_for`, which
  fails the task at once (``AirflowFailException``) when no retry can fix it;
- operations on a resource of a kind of the registry
  (:data:`~airflow_provider_mlendpoints.client.kinds.KINDS`): :meth:`start_operation` (PUT or
  DELETE without a poller), :meth:`settle` (wait while another operation runs),
  :meth:`wait_for_provisioning`, :meth:`delete_resource`; Studio links (:meth:`persist_links`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..client.kinds import kind_of
from ..client.resources import ENDPOINT_TERMINAL_STATES
from ..client.waiting import (
    JobEvent,
    ResourceEvent,
    WaitEvent,
    WaitSettings,
    WaitTarget,
    event_from_json,
    failure_text,
    run_wait,
)
from ..hooks.ml_endpoints import MLEndpointsHook
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_CONN_ID = MLEndpointsHook.default_conn_name
_OPERATION_KEY = "mlendpoints_operation:"


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (False unless the deployment turns it on)."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def raise_for(event: WaitEvent) -> None:
    """Nothing for a success; else the task fails: at once (no retries) when the event says no
    retry can fix it (a user error, a rejected request), else as a retryable failure."""
    if event.succeeded:
        return
    text = failure_text(event)
    if not event.retryable:
        raise AirflowFailException(text)
    raise AirflowException(text)


def get_or_none(fetch: Callable[[], Any]) -> Any:
    """``fetch()``, or None when the service answers 404."""
    from ..client.errors import NotFoundError

    try:
        return fetch()
    except NotFoundError:
        return None


@contextlib.contextmanager
def service_errors(what: str) -> Iterator[None]:
    """Requests the service rejected (400/422) fail the task without retries, naming ``what``."""
    from ..client.errors import ValidationError

    try:
        yield
    except ValidationError as exc:
        raise AirflowFailException(f"{what}: the service rejected the request: {exc}") from exc


def workspace_location(client: Any) -> str:
    """The workspace's Azure region (``""`` when the service does not say)."""
    return str(client.workspace.get_location())


def _task_state_store() -> Any:
    with contextlib.suppress(Exception):
        from airflow.sdk import get_current_context

        return get_current_context().get("task_state_store")
    return None


class MLEndpointsBaseOperator(BaseOperator):
    """Base of the Azure ML endpoints operators.

    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection.
    :param deferrable: wait in the triggerer instead of a worker slot (default
        ``[operators] default_deferrable``).
    :param poll_interval: the longest wait between state checks (the first check comes after a
        second, or after the operation's Retry-After; the wait then doubles up to this).
    :param timeout: seconds to wait for a terminal state before failing; None waits forever.
    """

    ui_color = "#cce6ff"

    def __init__(
        self,
        *,
        ml_endpoints_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_endpoints_conn_id = ml_endpoints_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    @cached_property
    def hook(self) -> MLEndpointsHook:
        """The sync hook of :attr:`ml_endpoints_conn_id` (cached per task instance)."""
        return MLEndpointsHook(self.ml_endpoints_conn_id)

    @property
    def client(self) -> Any:
        """The sync :class:`~airflow_provider_mlendpoints.client.MLEndpointsClient`."""
        return self.hook.get_conn()

    @property
    def wait_settings(self) -> WaitSettings:
        return WaitSettings(poll_interval=float(self.poll_interval), timeout=self.timeout)

    # -- waiting ----------------------------------------------------------------------------------
    def wait(self, target: WaitTarget, *, method_name: str) -> WaitEvent:
        """Wait for ``target``: check once, then defer (resuming in ``method_name``) or poll here."""
        settings = self.wait_settings
        if self.deferrable:
            event = run_wait(self.client, target, replace(settings, timeout=0.0), log=self.log)
            if event.status != "timeout":
                return event
            self.defer_wait(target, method_name)
        return run_wait(self.client, target, settings, log=self.log)

    def defer_wait(self, target: WaitTarget, method_name: str) -> NoReturn:
        """Defer to the one trigger (never returns)."""
        from ..triggers.wait import WaitTrigger

        what = {"finished": "finishes", "provisioned": "finishes provisioning", "deleted": "is deleted"}
        self.log.info("Deferring until %s %s", target.label, what.get(target.until, "is idle"))
        self.defer(
            trigger=WaitTrigger(
                self.ml_endpoints_conn_id,
                target.to_json(),
                self.wait_settings.to_json(),
                cancel_on_kill=bool(getattr(self, "cancel_on_kill", False)),
            ),
            method_name=method_name,
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer raises

    def wait_for_job(self, job_name: str, *, method_name: str = "execute_complete") -> JobEvent:
        """Wait until the batch job is terminal; Completed returns the event, anything else fails."""
        event = self.wait(WaitTarget.job(job_name), method_name=method_name)
        return self.handle_job_event(event)

    def handle_job_event(self, event: WaitEvent | dict[str, Any]) -> JobEvent:
        """Completed -> the event; anything else fails with the service's message and Studio link."""
        event = event_from_json(event) if isinstance(event, dict) else event
        if not isinstance(event, JobEvent):
            raise AirflowException(f"expected a job event, got {event}")
        raise_for(event)
        self.log.info("%s", event.message)
        return event

    def handle_provisioning_event(self, event: WaitEvent | dict[str, Any]) -> dict[str, Any]:
        """Succeeded (or deleted) -> the resource dict (``{}`` once deleted); else fails with the
        service's message (and the reason of the operation this task started) and the Studio link."""
        event = event_from_json(event) if isinstance(event, dict) else event
        if not isinstance(event, ResourceEvent):
            raise AirflowException(f"expected a resource event, got {event}")
        if not event.succeeded:
            reason = self.failure_reason(event.resource, event.endpoint_name, event.deployment_name)
            if reason and reason not in event.message:
                event.message = f"{event.message}: {reason}"
        raise_for(event)
        self.log.info("%s", event.message)
        return event.details or {}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: the job's event, or the resource's details."""
        parsed = event_from_json(event)
        if isinstance(parsed, JobEvent):
            return self.handle_job_event(parsed).to_json()
        return self.handle_provisioning_event(parsed)

    # -- operations on resources ------------------------------------------------------------------
    def start_operation(
        self,
        method: str,
        kind: str,
        name: str,
        deployment_name: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> str | None:
        """Send a PUT or DELETE and return at once with its status URL (if the service gave one).

        No poller (the client's ``begin_*`` pollers poll in a background thread that outlives
        the task); the URL is remembered (also across a deferral, in the task state store) so a
        failed provisioning can report the service's reason.
        """
        if method not in ("PUT", "DELETE"):
            raise ValueError(f"start_operation sends PUT or DELETE, not {method}")
        entry = kind_of(kind, deployment_name)
        group = entry.client_group(self.client)
        names = entry.names(name, deployment_name)
        handle = group.start_create_or_update(*names, body or {}) if method == "PUT" else group.start_delete(*names)
        url = handle.polling_url
        key = _OPERATION_KEY + entry.describe(name, deployment_name)
        self.__dict__.setdefault("_first_delays", {})[key] = handle.retry_after
        if url:
            self.__dict__.setdefault("_operation_urls", {})[key] = url
            store = _task_state_store()
            if store is not None:
                with contextlib.suppress(Exception):
                    store.set(key, url)
        return url

    def first_delay(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> float | None:
        """The Retry-After of the last operation this task started on the resource (its own pace)."""
        key = _OPERATION_KEY + kind_of(kind, deployment_name).describe(endpoint_name, deployment_name)
        value = self.__dict__.get("_first_delays", {}).get(key)
        return float(value) if value is not None else None

    def operation_url(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> str | None:
        """The status URL of the last operation this task started on the resource (if any)."""
        key = _OPERATION_KEY + kind_of(kind, deployment_name).describe(endpoint_name, deployment_name)
        url = self.__dict__.get("_operation_urls", {}).get(key)
        if url is None:
            store = _task_state_store()
            with contextlib.suppress(Exception):
                url = store.get(key) if store is not None else None
        return url

    def failure_reason(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> str | None:
        """The service's ``code: message`` for the last operation this task started on the resource."""
        url = self.operation_url(kind, endpoint_name, deployment_name)
        if not url:
            return None
        try:
            status = self.client.operations.get_status(url)
        except Exception:  # the operation record may be gone; the state alone still fails the task
            return None
        return status.reason if status.status in ("Failed", "Canceled") else None

    def fetch(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> Any:
        """The resource now, or None when it does not exist."""
        entry = kind_of(kind, deployment_name)
        group = entry.client_group(self.client)
        return get_or_none(lambda: group.get(*entry.names(endpoint_name, deployment_name)))

    def wait_for_provisioning(
        self,
        kind: str,
        endpoint_name: str,
        deployment_name: str | None = None,
        *,
        method_name: str,
    ) -> dict[str, Any]:
        """Wait until the resource's provisioningState is terminal: Succeeded returns its JSON,
        Failed/Canceled/timeout fail with the service's message and the Studio link.

        ``method_name`` is the operator's method that resumes after the trigger (when
        ``deferrable``); it has no default because each operator resumes in its own."""
        target = WaitTarget.resource(
            kind, endpoint_name, deployment_name, first_delay=self.first_delay(kind, endpoint_name, deployment_name)
        )
        return self.handle_provisioning_event(self.wait(target, method_name=method_name))

    def resume_execute(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after waiting for another operation on the resource: run :meth:`execute` again."""
        if event is not None:
            raise_for(event_from_json(event))
        return self.execute(context)

    def settle(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> Any:
        """Wait while another operation (a previous try's PUT or DELETE) runs on the resource.

        Returns the resource as it is now (None when it does not exist). Deferrable: defers and
        resumes in :meth:`resume_execute`, which starts :meth:`execute` over.
        """
        current = self.fetch(kind, endpoint_name, deployment_name)
        if current is None or current.provisioning_state in ENDPOINT_TERMINAL_STATES:
            return current
        label = kind_of(kind, deployment_name).describe(endpoint_name, deployment_name)
        self.log.info("%s is %s; waiting for that operation first", label, current.provisioning_state)
        target = WaitTarget.resource(kind, endpoint_name, deployment_name, until="idle")
        raise_for(self.wait(target, method_name="resume_execute"))
        return self.fetch(kind, endpoint_name, deployment_name)

    def delete_resource(self, kind: str, endpoint_name: str, deployment_name: str | None = None) -> dict[str, Any]:
        """DELETE (a missing resource counts as deleted) and wait until it is gone (the 404)."""
        from ..client.errors import NotFoundError

        label = kind_of(kind, deployment_name).describe(endpoint_name, deployment_name)
        current = self.fetch(kind, endpoint_name, deployment_name)
        if current is None:
            self.log.info("%s does not exist: nothing to delete", label)
            return self.deleted_result(existed=False)
        url = self.operation_url(kind, endpoint_name, deployment_name)
        if current.provisioning_state != "Deleting":
            if current.provisioning_state not in ENDPOINT_TERMINAL_STATES:
                self.settle(kind, endpoint_name, deployment_name)
            with service_errors(f"deleting {label}"), contextlib.suppress(NotFoundError):
                url = self.start_operation("DELETE", kind, endpoint_name, deployment_name)
            self.log.info("Deleting %s", label)
        target = WaitTarget.resource(
            kind,
            endpoint_name,
            deployment_name,
            until="deleted",
            operation_url=url,
            first_delay=self.first_delay(kind, endpoint_name, deployment_name),
        )
        self.handle_provisioning_event(self.wait(target, method_name="deletion_complete"))
        return self.deleted_result(existed=True)

    def deletion_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger waited for a deletion: the result, or fail with the reason."""
        self.handle_provisioning_event(event)
        return self.deleted_result(existed=True)

    def deleted_result(self, *, existed: bool) -> dict[str, Any]:
        return {
            "endpoint_name": getattr(self, "endpoint_name", None),
            "deployment_name": getattr(self, "deployment_name", None),
            "deleted": True,
            "existed": existed,
        }

    # -- links ------------------------------------------------------------------------------------
    def persist_links(
        self, context: Context, flavour: str, endpoint_name: str, deployment_name: str | None = None
    ) -> None:
        """Store the Studio links of the endpoint (and deployment) for the task's extra links."""
        config = self.client.config
        with contextlib.suppress(Exception):
            endpoint = kind_of(f"{flavour}_endpoint")
            AzureMLEndpointLink.persist(context, endpoint.studio_url(config, endpoint_name))
            if deployment_name:
                deployment = kind_of(f"{flavour}_deployment", deployment_name)
                AzureMLDeploymentLink.persist(context, deployment.studio_url(config, endpoint_name, deployment_name))

