"""Base of the Azure-mode operators: connection, hook, deferral and waiting.

:class:`MLEndpointsBaseOperator` gives every Azure-mode operator

- ``conn_id`` (default ``azure_ml_endpoints_default``) and a cached :attr:`hook`
  (:class:`~airflow_provider_mlendpoints.hooks.ml_endpoints.MLEndpointsHook`) and :attr:`client`;
- ``deferrable`` (default ``[operators] default_deferrable``), ``poll_interval`` and ``timeout``;
- :meth:`wait_for_provisioning` and :meth:`wait_for_job`: check the current state first (return
  at once when it is terminal), else defer to the trigger when ``deferrable``, else poll in the
  worker with the same terminal-state logic the trigger uses;
- :meth:`execute_complete`, which turns the trigger's event into the return value or a task
  failure carrying the service's message and the Azure ML Studio link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import BaseOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException

from ..hooks.ml_endpoints import MLEndpointsHook
from ..triggers._common import (
    MAX_TRANSIENT_ERRORS,
    check_resource_kind,
    check_wait_for,
    deletion_event,
    failure_text,
    fetch_resource,
    is_not_found,
    is_transient,
    job_event,
    job_payload,
    provisioning_event,
    provisioning_payload,
    resource_label,
    retry_after_of,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_CONN_ID = MLEndpointsHook.default_conn_name
ResourceKind = Literal[
    "batch_endpoint", "batch_deployment", "online_endpoint", "online_deployment", "compute"
]


def poll_until(
    fetch: Callable[[], Any],
    to_event: Callable[[Any], dict[str, Any] | None],
    on_timeout: Callable[[Any], dict[str, Any]],
    on_error: Callable[[Exception, Any], dict[str, Any]],
    *,
    poll_interval: float,
    timeout: float | None,
    describe: Callable[[Any], str | None] = lambda obj: None,
    log: Any = None,
) -> dict[str, Any]:
    """Synchronous twin of the triggers' loop: poll until ``to_event`` returns an event.

    Transient errors (throttling, 5xx, no response) are ridden out up to
    ``MAX_TRANSIENT_ERRORS`` times in a row, waiting ``max(poll_interval, Retry-After)``.
    """
    deadline = time.monotonic() + timeout if timeout is not None else None
    errors = 0
    last: Any = None
    last_desc: str | None = None
    while True:
        delay = poll_interval
        try:
            obj = fetch()
        except Exception as exc:
            if not is_transient(exc) or errors >= MAX_TRANSIENT_ERRORS:
                return on_error(exc, last)
            errors += 1
            delay = max(delay, retry_after_of(exc) or 0.0)
            if log is not None:
                log.warning("Polling failed (%s); retrying in %.1f s", exc, delay)
        else:
            errors = 0
            last = obj
            event = to_event(obj)
            if event is not None:
                return event
            desc = describe(obj)
            if log is not None and desc and desc != last_desc:
                log.info("%s", desc)
            last_desc = desc
        if deadline is not None and time.monotonic() + delay > deadline:
            return on_timeout(last)
        time.sleep(delay)


class MLEndpointsBaseOperator(BaseOperator):
    """Base of the Azure ML endpoints operators.

    :param conn_id: the ``azure_ml_endpoints`` connection.
    :param deferrable: wait in the triggerer instead of a worker slot (default
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between state checks while waiting.
    :param timeout: seconds to wait for a terminal state before failing; None waits forever.
    """

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 10.0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    # -- hook -------------------------------------------------------------------------------------
    @cached_property
    def hook(self) -> MLEndpointsHook:
        """The sync hook of :attr:`conn_id` (cached per task instance)."""
        return MLEndpointsHook(self.conn_id)

    @property
    def client(self) -> Any:
        """The sync :class:`~airflow_provider_mlendpoints.client.MLEndpointsClient`."""
        return self.hook.get_conn()

    # -- provisioning -----------------------------------------------------------------------------
    def wait_for_provisioning(
        self,
        context: Context,
        *,
        resource: ResourceKind,
        endpoint_name: str,
        deployment_name: str | None = None,
        method_name: str = "execute_complete",
        wait_for: str = "provisioned",
        operation_url: str | None = None,
        reason: Callable[[], str | None] | None = None,
    ) -> dict[str, Any]:
        """Wait until the endpoint/deployment/compute's provisioningState is terminal
        (``wait_for="provisioned"``) or until it is gone (``wait_for="deleted"``).

        Succeeded (or, when waiting for a deletion, the 404) returns the resource's JSON dict
        (``{}`` once deleted); Failed/Canceled/timeout raise with the service's message and the
        Studio link. Checks the state first; defers to
        :class:`~airflow_provider_mlendpoints.triggers.provisioning.ProvisioningStateTrigger`
        (same ``wait_for``; resuming in ``method_name``) when :attr:`deferrable`, else polls here.
        ``operation_url`` goes to the trigger, ``reason`` (called on a failed deletion while
        polling here) gives the service's ``code: message``.
        """
        check_resource_kind(resource, deployment_name)
        check_wait_for(wait_for)
        client = self.client
        config = client.config
        label = resource_label(resource, endpoint_name, deployment_name)
        deleting = wait_for == "deleted"

        def fetch() -> Any:
            try:
                return fetch_resource(client, resource, endpoint_name, deployment_name)
            except Exception as exc:
                if deleting and is_not_found(exc):
                    return None
                raise

        def to_event(obj: Any) -> dict[str, Any] | None:
            if not deleting:
                return provisioning_event(config, resource, endpoint_name, deployment_name, obj)
            event = deletion_event(config, resource, endpoint_name, deployment_name, obj)
            if event is not None and event["status"] != "success" and reason is not None:
                why = reason()
                if why:
                    event = deletion_event(config, resource, endpoint_name, deployment_name, obj, reason=why)
            return event

        def payload(status: str, obj: Any, message: str) -> dict[str, Any]:
            state = obj.provisioning_state if obj is not None else None
            return provisioning_payload(
                config, resource, endpoint_name, deployment_name, status=status, state=state, message=message
            )

        event = to_event(fetch())
        if event is None and self.deferrable:
            from ..triggers.provisioning import ProvisioningStateTrigger

            self.log.info(
                "Deferring until %s %s", label, "is deleted" if deleting else "finishes provisioning"
            )
            self.defer(
                trigger=ProvisioningStateTrigger(
                    conn_id=self.conn_id,
                    resource=resource,
                    endpoint_name=endpoint_name,
                    deployment_name=deployment_name,
                    poll_interval=self.poll_interval,
                    timeout=self.timeout,
                    wait_for=wait_for,
                    operation_url=operation_url,
                ),
                method_name=method_name,
            )
        if event is None:
            event = poll_until(
                fetch,
                to_event,
                lambda obj: payload("timeout", obj, f"{label} not {wait_for} after {self.timeout:g} s"),
                lambda exc, obj: payload("error", obj, f"polling {label} failed: {exc}"),
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                describe=lambda obj: f"{label} is {obj.provisioning_state}" if obj is not None else None,
                log=self.log,
            )
        return self.handle_provisioning_event(event)

    def handle_provisioning_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Succeeded (or deleted) -> the resource dict (``{}`` once deleted); anything else raises
        with message + Studio link."""
        if event.get("status") != "success":
            raise AirflowException(failure_text(event))
        self.log.info("%s", event.get("message"))
        return event.get("details") or {}

    # -- jobs -------------------------------------------------------------------------------------
    def wait_for_job(
        self, context: Context, job_name: str, *, method_name: str = "execute_complete"
    ) -> dict[str, Any]:
        """Wait until the batch job is terminal; Completed returns the event, else raises.

        Checks the status first; defers to
        :class:`~airflow_provider_mlendpoints.triggers.batch_job.BatchJobTrigger` when
        :attr:`deferrable`, else polls here.
        """
        event = self.job_status_event(job_name)
        if event is None and self.deferrable:
            self.defer_for_job(job_name, method_name=method_name)
        if event is None:
            event = self.poll_job(job_name)
        return self.handle_job_event(event)

    def job_status_event(self, job_name: str) -> dict[str, Any] | None:
        """The terminal event of the job now, or None while it runs."""
        return job_event(self.client.config, self.client.jobs.get(job_name), job_name)

    def defer_for_job(self, job_name: str, *, method_name: str = "execute_complete") -> None:
        """Defer to :class:`BatchJobTrigger` (never returns)."""
        from ..triggers.batch_job import BatchJobTrigger

        self.log.info("Deferring until batch job %s finishes", job_name)
        self.defer(
            trigger=BatchJobTrigger(
                conn_id=self.conn_id,
                job_name=job_name,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                cancel_on_kill=getattr(self, "cancel_on_kill", True),
            ),
            method_name=method_name,
        )

    def poll_job(self, job_name: str) -> dict[str, Any]:
        """Poll the job in this worker until it is terminal (or the timeout); returns the event."""
        client = self.client
        config = client.config

        def payload(status: str, job: Any, message: str) -> dict[str, Any]:
            return job_payload(
                config,
                job_name,
                status=status,
                job_status=job.status if job is not None else None,
                message=message,
                job=job,
            )

        return poll_until(
            lambda: client.jobs.get(job_name),
            lambda job: job_event(config, job, job_name),
            lambda job: payload(
                "timeout", job, f"batch job {job_name!r} not finished after {self.timeout:g} s"
            ),
            lambda exc, job: payload("error", job, f"polling batch job {job_name!r} failed: {exc}"),
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            describe=lambda job: f"batch job {job_name} is {job.status}",
            log=self.log,
        )

    def handle_job_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Completed -> the event; anything else raises with the service's message + Studio link."""
        if event.get("status") != "success":
            raise AirflowException(failure_text(event))
        self.log.info("%s", event.get("message"))
        return event

    # -- resumption -------------------------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after a trigger: a job event or a provisioning event."""
        if "job_name" in event:
            return self.handle_job_event(event)
        return self.handle_provisioning_event(event)
