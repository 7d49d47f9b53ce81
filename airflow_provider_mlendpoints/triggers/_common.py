"""Shared waiting logic of the triggers, sensors and operators (sync and async alike).

Pure functions over client results: which call reads a resource's state, whether that state is
terminal, and the one event dict that describes the outcome. The trigger (async), the sensors'
``poke`` and the operators' synchronous polling all use these, so every waiting path ends with the
same payload and the same message.
"""

from __future__ import annotations

from typing import Any, Literal

from ..client.resources import ENDPOINT_TERMINAL_STATES, JOB_TERMINAL_STATES
from ..links import studio_compute_url, studio_deployment_url, studio_endpoint_url, studio_job_url

ResourceKind = Literal[
    "batch_endpoint", "batch_deployment", "online_endpoint", "online_deployment", "compute"
]
RESOURCE_KINDS: tuple[str, ...] = (
    "batch_endpoint",
    "batch_deployment",
    "online_endpoint",
    "online_deployment",
    "compute",
)

#: What a provisioning wait waits for: a terminal provisioningState, or the resource being gone.
WAIT_FOR_MODES: tuple[str, ...] = ("provisioned", "deleted")

#: Event ``status`` values; every trigger yields exactly one event with one of them.
EVENT_STATUSES = ("success", "failed", "canceled", "timeout", "error")

#: Consecutive transient errors (5xx, throttling, connection) tolerated while polling.
MAX_TRANSIENT_ERRORS = 5


def check_resource_kind(resource: str, deployment_name: str | None) -> None:
    """Validate the ``resource`` argument (and that deployments name one)."""
    if resource not in RESOURCE_KINDS:
        raise ValueError(f"resource must be one of {', '.join(RESOURCE_KINDS)}, not {resource!r}")
    if resource.endswith("_deployment") and not deployment_name:
        raise ValueError(f"resource {resource!r} needs deployment_name")


def check_wait_for(wait_for: str) -> None:
    """Validate the ``wait_for`` argument (``provisioned`` or ``deleted``)."""
    if wait_for not in WAIT_FOR_MODES:
        raise ValueError(f"wait_for must be one of {', '.join(WAIT_FOR_MODES)}, not {wait_for!r}")


def fetch_resource(client: Any, resource: str, endpoint_name: str, deployment_name: str | None) -> Any:
    """GET the endpoint, deployment or compute (a value on the sync client, an awaitable on the
    async one). For ``compute`` the cluster's name is passed as ``endpoint_name``."""
    check_resource_kind(resource, deployment_name)
    if resource == "compute":
        return client.computes.get(endpoint_name)
    if resource == "batch_endpoint":
        return client.batch_endpoints.get(endpoint_name)
    if resource == "online_endpoint":
        return client.online_endpoints.get(endpoint_name)
    if resource == "batch_deployment":
        return client.batch_deployments.get(endpoint_name, deployment_name)
    return client.online_deployments.get(endpoint_name, deployment_name)


def resource_label(resource: str, endpoint_name: str, deployment_name: str | None) -> str:
    """``batch deployment 'ep/blue'`` style name for messages."""
    if resource == "compute":
        return f"compute {endpoint_name!r}"
    kind = resource.replace("_", " ")
    name = f"{endpoint_name}/{deployment_name}" if resource.endswith("_deployment") else endpoint_name
    return f"{kind} {name!r}"


def resource_studio_url(config: Any, resource: str, endpoint_name: str, deployment_name: str | None) -> str:
    """The Studio page of the endpoint, deployment or compute."""
    if resource == "compute":
        return studio_compute_url(config, endpoint_name)
    kind = "batch" if resource.startswith("batch") else "online"
    if resource.endswith("_deployment") and deployment_name:
        return studio_deployment_url(config, kind, endpoint_name, deployment_name)
    return studio_endpoint_url(config, kind, endpoint_name)


def provisioning_event(
    config: Any, resource: str, endpoint_name: str, deployment_name: str | None, obj: Any
) -> dict[str, Any] | None:
    """The terminal event for a fetched endpoint/deployment, or None while it is still provisioning."""
    state = obj.provisioning_state
    if state not in ENDPOINT_TERMINAL_STATES:
        return None
    label = resource_label(resource, endpoint_name, deployment_name)
    status = {"Succeeded": "success", "Failed": "failed", "Canceled": "canceled"}[state]
    message = f"{label} provisioning {state}"
    detail = _service_error_text(obj.properties)
    if detail and status != "success":
        message += f": {detail}"
    return provisioning_payload(
        config,
        resource,
        endpoint_name,
        deployment_name,
        status=status,
        state=state,
        message=message,
        details=obj.raw,
    )


def deletion_event(
    config: Any,
    resource: str,
    endpoint_name: str,
    deployment_name: str | None,
    obj: Any,
    *,
    reason: str | None = None,
) -> dict[str, Any] | None:
    """The terminal event of a deletion (``wait_for="deleted"``), or None while it runs.

    ``obj`` is the fetched resource, None once the service answers 404: that is
    ``{"status": "success", "deleted": True, ...}``. A Failed or Canceled state is the deletion's
    failure (``reason``, the operation's ``code: message`` if known, else the resource's own error,
    goes into the message). Any other state (Deleting, or the old state right after the DELETE)
    keeps waiting.
    """
    label = resource_label(resource, endpoint_name, deployment_name)
    if obj is None:
        event = provisioning_payload(
            config, resource, endpoint_name, deployment_name, status="success", state=None,
            message=f"{label} deleted",
        )  # fmt: skip
        event["deleted"] = True
        return event
    state = obj.provisioning_state
    if state not in ("Failed", "Canceled"):
        return None
    detail = reason or _service_error_text(obj.properties)
    event = provisioning_payload(
        config,
        resource,
        endpoint_name,
        deployment_name,
        status="failed" if state == "Failed" else "canceled",
        state=state,
        message=f"deleting {label} ended {state}" + (f": {detail}" if detail else ""),
        details=obj.raw,
    )
    event["deleted"] = False
    return event


def is_not_found(exc: BaseException) -> bool:
    """A 404: the resource does not exist (in ``wait_for="deleted"`` mode: it is gone)."""
    from ..client.errors import NotFoundError

    return isinstance(exc, NotFoundError)


def provisioning_payload(
    config: Any,
    resource: str,
    endpoint_name: str,
    deployment_name: str | None,
    *,
    status: str,
    state: str | None,
    message: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The provisioning event dict (JSON-serializable)."""
    return {
        "status": status,
        "resource": resource,
        "endpoint_name": endpoint_name,
        "deployment_name": deployment_name,
        "provisioning_state": state,
        "message": message,
        "studio_url": resource_studio_url(config, resource, endpoint_name, deployment_name)
        if config is not None
        else None,
        "details": details,
    }


def _service_error_text(props: dict[str, Any]) -> str | None:
    """``code: message`` from ``properties.error`` or the job's ``azureml.error`` property."""
    err = props.get("error")
    if isinstance(err, dict):
        inner = err.get("error") if isinstance(err.get("error"), dict) else err
        code, msg = inner.get("code"), inner.get("message")
        if code or msg:
            return ": ".join(str(p) for p in (code, msg) if p)
    elif isinstance(err, str) and err:
        return err
    nested = props.get("properties")
    if isinstance(nested, dict):
        for key in ("azureml.error", "error"):
            if nested.get(key):
                return str(nested[key])
    return None


def job_error_message(job: Any) -> str | None:
    """The service's error (code and message) of a failed job, if it gave one."""
    return _service_error_text(job.properties)


def job_event(config: Any, job: Any, job_name: str) -> dict[str, Any] | None:
    """The terminal event for a fetched job, or None while it is still running."""
    status = job.status
    if status not in JOB_TERMINAL_STATES:
        return None
    kind = {"Completed": "success", "Failed": "failed", "Canceled": "canceled"}[status]
    message = f"batch job {job_name!r} {status}"
    detail = job_error_message(job)
    if detail and kind != "success":
        message += f": {detail}"
    return job_payload(config, job_name, status=kind, job_status=status, message=message, job=job)


def job_payload(
    config: Any,
    job_name: str,
    *,
    status: str,
    job_status: str | None,
    message: str,
    job: Any = None,
) -> dict[str, Any]:
    """The job event dict (JSON-serializable)."""
    studio = (job.studio_url if job is not None else None) or (
        studio_job_url(config, job_name) if config is not None else None
    )
    return {
        "status": status,
        "job_name": job_name,
        "job_status": job_status,
        "message": message,
        "studio_url": studio,
    }


def failure_text(event: dict[str, Any]) -> str:
    """The task-failure message of a non-success event: service message plus the Studio link."""
    text = str(event.get("message") or f"wait ended with status {event.get('status')!r}")
    if event.get("studio_url") and event["studio_url"] not in text:
        text += f" (Azure ML Studio: {event['studio_url']})"
    return text


def is_transient(exc: BaseException) -> bool:
    """Errors worth another poll: throttling, 5xx, no response at all."""
    from ..client.errors import ServiceError, ThrottledError

    if isinstance(exc, ThrottledError):
        return True
    if isinstance(exc, ServiceError):
        return exc.status is None or exc.status >= 500
    return False


def retry_after_of(exc: BaseException) -> float | None:
    """The server's Retry-After (seconds) carried by a throttling error, if any."""
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None
