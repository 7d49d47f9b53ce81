"""Jobs (ARM ``jobs/{id}``): GET, list, POST cancel, and waiting for a job to finish."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._base import LOCATION_LRO, NamedGroup
from ._executor import MaybeAwaitable, Poller
from ._steps import Procedure, drive
from .errors import ServiceError
from .faces import X, long_running, value
from .resources import Job

if TYPE_CHECKING:
    from .waiting import WaitEvent


class JobsOperations(NamedGroup[X, Job]):
    """Read and cancel workspace jobs (batch-invoke jobs appear here too)."""

    collection = "jobs"
    resource = Job

    @value
    def list(
        self,
        *,
        job_type: str | None = None,
        tag: str | None = None,
        list_view_type: str | None = None,
        properties: str | None = None,
        limit: int | None = None,
    ) -> MaybeAwaitable[list[Job]]:
        """Jobs of the workspace, filtered as the service allows."""
        params = {"jobType": job_type, "tag": tag, "listViewType": list_view_type, "properties": properties}
        return self._x.paged(self._request("GET", "jobs", params=params), Job.from_rest, limit)

    @value
    def wait(
        self,
        name: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_poll: Callable[[Job, float | None], object] | None = None,
    ) -> MaybeAwaitable[Job]:
        """Poll ``jobs/{name}`` until the job is terminal; returns the final :class:`Job`.

        The waiting procedure of :mod:`.waiting`: the server's ``Retry-After`` when an answer
        carries one, else a short first wait backing off to ``poll_interval`` (default: the
        config's ``polling_interval``); throttling and 5xx are ridden out. ``timeout`` (seconds):
        :class:`~.errors.ServiceError` (code ``WaitTimeout``) when the job is still running then.
        ``on_poll(job, retry_after)`` is called after each answer (e.g. to count or log polls).
        """
        from .waiting import WaitSettings, WaitTarget, wait

        cfg = self._config
        settings = WaitSettings(
            poll_interval=cfg.polling_interval if poll_interval is None else poll_interval,
            timeout=timeout,
            max_retry_after=cfg.max_polling_interval,
        )
        return drive(self._x, self._final_job(wait(_Client(self), WaitTarget.job(name), settings, on_poll=on_poll)))

    @staticmethod
    def _final_job(procedure: Procedure[WaitEvent]) -> Procedure[Job]:
        event = yield from procedure
        if event.status == "error" and event.error is not None:
            raise event.error
        if event.status == "timeout":
            raise ServiceError(event.message, code="WaitTimeout")
        if not isinstance(event.last, Job):  # a job target's answers parse as Job
            raise ServiceError(f"waiting for a job ended without one: {event.message}", code="WaitFailed")
        return event.last

    @long_running
    def begin_cancel(self, name: str) -> Poller[None]:
        """POST ``cancel`` (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("POST", "jobs", name, "cancel"), None, LOCATION_LRO)

    @long_running
    def cancel(self, name: str) -> Poller[None]:
        """Request cancellation without waiting for it to finish (returns the poller)."""
        return self.begin_cancel(name)


class _Client:
    """The view of a client :func:`~.waiting.wait` needs to wait for a job: its jobs and config."""

    def __init__(self, jobs: JobsOperations[Any]) -> None:
        self.jobs = jobs
        self.config = jobs._config
