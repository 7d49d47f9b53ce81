"""The one waiting procedure: poll a job, a resource's provisioning, a deletion or a busy resource.

:func:`wait` is a :mod:`._steps` procedure, so the same loop runs synchronously (operators and
sensors, on :class:`~.MLEndpointsClient`) and asynchronously (the trigger, on
:class:`~.AsyncMLEndpointsClient`). What is waited for is a :class:`WaitTarget` (JSON-safe, so a
trigger can carry it); how is :class:`WaitSettings`; the outcome is one typed event,
:class:`JobEvent` or :class:`ResourceEvent`, each with ``to_json`` / :func:`event_from_json`.

The rules, in one place:

- pace: the first poll comes after ``first_poll`` seconds (or the operation's own Retry-After,
  when the PUT/DELETE answer carried one), then the wait doubles up to ``poll_interval``; a
  Retry-After on an answer (or on a throttling error) replaces the next wait, capped at
  ``max_retry_after``;
- transient errors (throttling, 5xx, no answer) are tolerated ``max_transient_errors`` times in a
  row; any other error ends the wait with an ``error`` event;
- ``timeout`` seconds end it with a ``timeout`` event;
- a deletion: the 404 is the success; a Failed/Canceled state counts as the deletion's failure only
  once ``Deleting`` was seen or ``deletion_grace`` seconds passed (right after the DELETE the
  service may still show the old state); the failure's reason comes from the operation's status URL;
- ``idle`` waits while another operation runs on a resource (absent or terminal ends it).

Every event says whether retrying the task could help (:attr:`JobEvent.retryable`): a job or
provisioning that failed (unless the service's code is a system or capacity error), a canceled
one, or a request the service rejected cannot be fixed by a retry; a timeout or an exhausted run
of transient errors can.

Pure: no airflow imports.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar

from ._steps import Call, Procedure, Sleep, drive
from .config import WorkspaceConfig
from .kinds import job_studio_url, kind_of, studio_job_url
from .resources import ENDPOINT_TERMINAL_STATES, JOB_TERMINAL_STATES, Resource

LOG = logging.getLogger("airflow_provider_mlendpoints.client.waiting")

Until = Literal["finished", "provisioned", "deleted", "idle"]
UNTIL: tuple[str, ...] = ("finished", "provisioned", "deleted", "idle")
#: Event ``status`` values; every wait ends with exactly one event with one of them.
EVENT_STATUSES = ("success", "failed", "canceled", "timeout", "error")
#: Service error codes of failures a later attempt may not meet (capacity, system faults).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "systemerror",
        "internalservererror",
        "serviceunavailable",
        "serviceerror",
        "timeout",
        "operationtimedout",
        "requesttimeout",
        "toomanyrequests",
        "capacitynotavailable",
        "outofcapacity",
    }
)


D = TypeVar("D")


def _from_fields(cls: type[D], data: dict[str, Any]) -> D:
    """A ``cls`` dataclass from the keys of ``data`` that are its fields (a ``to_json`` of it)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class WaitSettings:
    """How to wait: the pace, the patience and the tolerance (seconds)."""

    poll_interval: float = 10.0
    first_poll: float = 1.0
    timeout: float | None = None
    max_transient_errors: int = 5
    deletion_grace: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, polls: int) -> float:
        """The wait after the ``polls``-th answer: ``first_poll`` doubling up to ``poll_interval``."""
        first = min(self.first_poll, self.poll_interval)
        return float(min(self.poll_interval, first * (2 ** min(polls, 30))))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaitSettings:
        return _from_fields(cls, data)


@dataclass(frozen=True)
class WaitTarget:
    """What to wait for.

    :param until: ``finished`` (a job), ``provisioned`` (a terminal provisioningState),
        ``deleted`` (the 404) or ``idle`` (no operation running: absent or terminal).
    :param kind: ``job`` or a resource kind of :data:`~.kinds.KINDS`.
    :param name: the job, endpoint or compute name.
    :param deployment_name: for the deployment kinds.
    :param operation_url: status URL of the operation waited for (the failure's reason).
    :param first_delay: the operation's own Retry-After, used for the first wait.
    """

    until: str
    kind: str
    name: str
    deployment_name: str | None = None
    operation_url: str | None = None
    first_delay: float | None = None

    def __post_init__(self) -> None:
        if self.until not in UNTIL:
            raise ValueError(f"wait_for must be one of {', '.join(UNTIL)}, not {self.until!r}")
        if (self.kind == "job") != (self.until == "finished"):
            raise ValueError(f"cannot wait until {self.until} for a {self.kind}")
        if self.kind != "job":
            kind_of(self.kind, self.deployment_name)

    @classmethod
    def job(cls, name: str) -> WaitTarget:
        return cls("finished", "job", name)

    @classmethod
    def resource(
        cls,
        kind: str,
        name: str,
        deployment_name: str | None = None,
        *,
        until: str = "provisioned",
        operation_url: str | None = None,
        first_delay: float | None = None,
    ) -> WaitTarget:
        return cls(until, kind, name, deployment_name, operation_url, first_delay)

    @property
    def label(self) -> str:
        if self.kind == "job":
            return f"batch job {self.name!r}"
        return kind_of(self.kind, self.deployment_name).describe(self.name, self.deployment_name)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaitTarget:
        return _from_fields(cls, data)


# -- events ---------------------------------------------------------------------------------------
class _Event:
    """What both events do: ``succeeded`` and ``to_json`` (every field but ``last`` and
    ``error``, plus ``event``: the event type)."""

    event_type: ClassVar[str]
    status: str

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("last", "error")}  # type: ignore[arg-type]
        return {"event": self.event_type, **data}


@dataclass
class JobEvent(_Event):
    """The end of waiting for a job."""

    event_type: ClassVar[str] = "job"
    status: str
    job_name: str
    job_status: str | None
    message: str
    studio_url: str | None
    retryable: bool = True
    #: The last job read (not serialized) and the error that ended the wait (not serialized).
    last: Any = field(default=None, repr=False, compare=False)
    error: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass
class ResourceEvent(_Event):
    """The end of waiting for a resource (``details``: its JSON; ``deleted``: set when waiting for
    a deletion)."""

    event_type: ClassVar[str] = "resource"
    status: str
    resource: str
    endpoint_name: str
    deployment_name: str | None
    provisioning_state: str | None
    message: str
    studio_url: str | None
    details: dict[str, Any] | None = None
    deleted: bool | None = None
    retryable: bool = True
    last: Any = field(default=None, repr=False, compare=False)
    error: BaseException | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.deleted is None:
            data.pop("deleted")
        return data


WaitEvent = JobEvent | ResourceEvent


def event_from_json(data: dict[str, Any]) -> WaitEvent:
    """The event a trigger yielded (its ``to_json``)."""
    cls: type[JobEvent] | type[ResourceEvent]
    if data.get("event") == "job":
        cls = JobEvent
    elif data.get("event") == "resource":
        cls = ResourceEvent
    else:
        raise ValueError(f"not a wait event: {sorted(data)}")
    return _from_fields(cls, data)


def failure_text(event: WaitEvent) -> str:
    """The task-failure message of a non-success event: the service's message plus the Studio link."""
    text = event.message or f"wait ended with status {event.status!r}"
    if event.studio_url and event.studio_url not in text:
        text += f" (Azure ML Studio: {event.studio_url})"
    return text


# -- reading answers ------------------------------------------------------------------------------
def service_error(props: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(code, "code: message")`` of ``properties.error`` or a job's ``azureml.error`` property."""
    err = props.get("error")
    if isinstance(err, dict):
        nested_error = err.get("error")
        inner: dict[str, Any] = nested_error if isinstance(nested_error, dict) else err
        code, msg = inner.get("code"), inner.get("message")
        if code or msg:
            return (str(code) if code else None), ": ".join(str(p) for p in (code, msg) if p)
    elif isinstance(err, str) and err:
        return None, err
    nested = props.get("properties")
    if isinstance(nested, dict):
        for key in ("azureml.error", "error"):
            if nested.get(key):
                return None, str(nested[key])
    return None, None


def retryable_code(code: str | None) -> bool:
    """Whether a failure with this service error code might pass on another attempt: only the
    system and capacity codes; a job or provisioning that failed on its input, script, model or
    settings (``UserError``, ``InputError``..., or no code) fails the same way again."""
    return code is not None and code.lower() in TRANSIENT_ERROR_CODES


def is_transient(exc: BaseException) -> bool:
    """Errors worth another poll: throttling, 5xx, no response at all."""
    from .errors import ServiceError, ThrottledError

    if isinstance(exc, ThrottledError):
        return True
    if isinstance(exc, ServiceError):
        return exc.status is None or exc.status >= 500
    return False


def is_not_found(exc: BaseException) -> bool:
    from .errors import NotFoundError

    return isinstance(exc, NotFoundError)


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def job_event(config: WorkspaceConfig | None, job: Any, job_name: str) -> JobEvent | None:
    """The terminal event of a fetched job, or None while it runs."""
    status = job.status
    if status not in JOB_TERMINAL_STATES:
        return None
    outcome, message, retryable = _ending(status, "Completed", f"batch job {job_name!r}", job.properties)
    studio = job_studio_url(config, job) if config is not None else getattr(job, "studio_url", None)
    return JobEvent(outcome, job_name, status, message, studio, retryable)


def _ending(state: str, success: str, what: str, properties: dict[str, Any]) -> tuple[str, str, bool]:
    """``(status, message, retryable)`` of a terminal ``state`` (``success``, ``Failed`` or
    ``Canceled``): the message says what ended how, plus the service's error unless it succeeded."""
    status = "success" if state == success else state.lower()
    message = f"{what} {state}"
    code, detail = service_error(properties)
    if detail and status != "success":
        message += f": {detail}"
    return status, message, status == "success" or (status == "failed" and retryable_code(code))


def _resource_event(
    config: WorkspaceConfig | None,
    target: WaitTarget,
    *,
    status: str,
    state: str | None,
    message: str,
    details: dict[str, Any] | None = None,
    retryable: bool = True,
) -> ResourceEvent:
    kind = kind_of(target.kind, target.deployment_name)
    return ResourceEvent(
        status=status,
        resource=target.kind,
        endpoint_name=target.name,
        deployment_name=target.deployment_name,
        provisioning_state=state,
        message=message,
        studio_url=kind.studio_url(config, target.name, target.deployment_name) if config is not None else None,
        details=details,
        deleted=(status == "success") if target.until == "deleted" else None,
        retryable=retryable,
    )


def provisioning_event(config: WorkspaceConfig | None, target: WaitTarget, obj: Any) -> ResourceEvent | None:
    """The terminal event of a fetched endpoint/deployment/compute, or None while it provisions."""
    state = obj.provisioning_state
    if state not in ENDPOINT_TERMINAL_STATES:
        return None
    status, message, retryable = _ending(state, "Succeeded", f"{target.label} provisioning", obj.properties)
    return _resource_event(
        config, target, status=status, state=state, message=message, details=obj.raw, retryable=retryable
    )


def end_event(
    config: WorkspaceConfig | None,
    target: WaitTarget,
    status: str,
    last: Any,
    message: str,
    retryable: bool,
    error: BaseException | None = None,
) -> WaitEvent:
    event = _end_event_of(config, target, status, last, message, retryable)
    event.last, event.error = last, error
    return event


def _end_event_of(
    config: WorkspaceConfig | None, target: WaitTarget, status: str, last: Any, message: str, retryable: bool
) -> WaitEvent:
    if target.kind == "job":
        state = last.status if last is not None else None
        studio = (
            job_studio_url(config, last) if config is not None and last is not None
            else studio_job_url(config, target.name) if config is not None else None
        )  # fmt: skip
        return JobEvent(status, target.name, state, message, studio, retryable)
    state = last.provisioning_state if last is not None else None
    return _resource_event(config, target, status=status, state=state, message=message, retryable=retryable)


# -- the procedure --------------------------------------------------------------------------------
def _group_and_names(client: Any, target: WaitTarget) -> tuple[Any, tuple[str, ...]]:
    if target.kind == "job":
        return client.jobs, (target.name,)
    kind = kind_of(target.kind, target.deployment_name)
    return kind.client_group(client), kind.names(target.name, target.deployment_name)


def _operation_reason(client: Any, url: str | None) -> Procedure[str | None]:
    """``code: message`` of a finished operation that failed (None when unknown)."""
    if not url:
        return None
    try:
        status = yield Call(lambda: client.operations.get_status(url))
    except Exception:  # the operation record may be gone; the state alone still fails
        return None
    return status.reason if status.status in ("Failed", "Canceled") else None


def _deletion_event(
    client: Any, config: WorkspaceConfig, target: WaitTarget, obj: Any, settled: bool
) -> Procedure[ResourceEvent | None]:
    if obj is None:
        return _resource_event(config, target, status="success", state=None, message=f"{target.label} deleted")
    state = obj.provisioning_state
    if state not in ("Failed", "Canceled") or not settled:
        return None
    reason = yield from _operation_reason(client, target.operation_url)
    code, detail = service_error(obj.properties)
    detail = reason or detail
    return _resource_event(
        config,
        target,
        status="failed" if state == "Failed" else "canceled",
        state=state,
        message=f"deleting {target.label} ended {state}" + (f": {detail}" if detail else ""),
        details=obj.raw,
        retryable=state == "Failed" and retryable_code(code),
    )


def _read(group: Any, names: tuple[str, ...], until: str) -> Procedure[tuple[Resource | None, float | None]]:
    """One GET: ``(object, Retry-After)``; the object is None when the resource is gone and that
    ends the wait (``deleted``, ``idle``). Other errors propagate."""
    try:
        response = yield Call(lambda: group.get_response(*names))
        text = yield Call(response.text)
    except Exception as exc:
        if is_not_found(exc) and until in ("deleted", "idle"):
            return None, None
        raise
    return group.parse_answer(json.loads(text) if text else {}), _retry_after(response)


def _state_of(target: WaitTarget, obj: Any) -> str | None:
    if obj is None:
        return None
    return str(obj.status) if target.kind == "job" else obj.provisioning_state


def _next_delay(settings: WaitSettings, target: WaitTarget, polls: int, retry_after: float | None) -> float:
    if retry_after is None:
        first = target.first_delay if polls == 0 and target.first_delay is not None else None
        retry_after = settings.delay(polls) if first is None else first
    return min(retry_after, settings.max_retry_after)


def _timeout_event(config: WorkspaceConfig, target: WaitTarget, settings: WaitSettings, last: Any) -> WaitEvent:
    msg = f"{target.label} still {_state_of(target, last)} after {settings.timeout:g} s"
    if target.until == "deleted":
        msg += " (waiting for deletion)"
    return end_event(config, target, "timeout", last, msg, True)


def wait(
    client: Any,
    target: WaitTarget,
    settings: WaitSettings | None = None,
    *,
    log: logging.Logger | logging.LoggerAdapter[Any] | Any = LOG,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[Any, float | None], object] | None = None,
) -> Procedure[WaitEvent]:
    """The waiting procedure (drive it with :func:`run_wait`); returns one :class:`JobEvent` /
    :class:`ResourceEvent`. For ``until="idle"`` the event's ``details`` is the resource's JSON
    (None when it does not exist). ``on_poll(obj, retry_after)`` is called after each answer."""
    settings = settings or WaitSettings()
    config = client.config
    group, names = _group_and_names(client, target)
    started = clock()
    errors = polls = 0
    last: Any = None
    deleting_seen = False
    while True:
        try:
            obj, retry_after = yield from _read(group, names, target.until)
        except Exception as exc:
            if not is_transient(exc) or errors >= settings.max_transient_errors:
                msg = f"polling {target.label} failed: {exc}"
                return end_event(config, target, "error", last, msg, is_transient(exc), exc)
            errors += 1
            retry_after = max(settings.delay(polls), float(getattr(exc, "retry_after", None) or 0.0))
            log.warning("Polling %s failed (%s); retrying in %.1f s", target.label, exc, retry_after)
        else:
            errors = 0
            settled = deleting_seen or clock() - started >= settings.deletion_grace
            event = yield from _event_of(client, config, target, obj, settled)
            if on_poll is not None and obj is not None:
                on_poll(obj, retry_after)
            if event is not None:
                event.last = obj
                return event
            state = _state_of(target, obj)
            deleting_seen = deleting_seen or state == "Deleting"
            if state != _state_of(target, last) or last is None:
                log.info("%s is %s", target.label, state)
            last = obj if obj is not None else last
        delay = _next_delay(settings, target, polls, retry_after)
        polls += 1
        if settings.timeout is not None and clock() + delay > started + settings.timeout:
            return _timeout_event(config, target, settings, last)
        yield Sleep(delay)


def _event_of(
    client: Any, config: WorkspaceConfig, target: WaitTarget, obj: Any, settled: bool
) -> Procedure[WaitEvent | None]:
    if target.until == "finished":
        return job_event(config, obj, target.name)
    if target.until == "deleted":
        return (yield from _deletion_event(client, config, target, obj, settled))
    if target.until == "idle":
        if obj is None or obj.provisioning_state in ENDPOINT_TERMINAL_STATES:
            state = obj.provisioning_state if obj is not None else None
            raw = obj.raw if obj is not None else None
            return _resource_event(config, target, status="success", state=state, message=f"{target.label} is idle", details=raw)
        return None
    return provisioning_event(config, target, obj)


def run_wait(client: Any, target: WaitTarget, settings: WaitSettings | None = None, **kwargs: Any) -> Any:
    """Run :func:`wait` on ``client``: the event (sync client) or a coroutine of it (async client)."""
    return drive(client.jobs._x, wait(client, target, settings, **kwargs))


__all__ = [
    "EVENT_STATUSES",
    "JobEvent",
    "ResourceEvent",
    "WaitEvent",
    "WaitSettings",
    "WaitTarget",
    "event_from_json",
    "failure_text",
    "is_transient",
    "job_event",
    "provisioning_event",
    "run_wait",
    "wait",
]
