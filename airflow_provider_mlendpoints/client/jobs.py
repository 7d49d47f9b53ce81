"""Jobs (ARM ``jobs/{id}``): GET, list, POST cancel, and waiting for a job to finish."""

from __future__ import annotations

import json
import time
from typing import Any

from ._base import LOCATION_LRO, OperationGroup
from ._steps import Call, Sleep, drive
from .errors import ServiceError, ThrottledError
from .resources import Job


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


class JobsOperations(OperationGroup):
    """Read and cancel workspace jobs (batch-invoke jobs appear here too)."""

    def get(self, name: str) -> Any:
        """The :class:`Job`, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", "jobs", name), Job.from_rest)

    def list(
        self,
        *,
        job_type: str | None = None,
        tag: str | None = None,
        list_view_type: str | None = None,
        properties: str | None = None,
        limit: int | None = None,
    ) -> Any:
        """Jobs of the workspace, filtered as the service allows."""
        params = {"jobType": job_type, "tag": tag, "listViewType": list_view_type, "properties": properties}
        return self._x.paged(self._request("GET", "jobs", params=params), Job.from_rest, limit)

    def wait(
        self,
        name: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_poll: Any = None,
    ) -> Any:
        """Poll ``jobs/{name}`` until the job is terminal; returns the final :class:`Job`.

        Between polls it waits the server's ``Retry-After`` when the answer carries one (capped
        at ``max_polling_interval``), else ``poll_interval`` (default: the config's
        ``polling_interval``). A 429 that outlasts the pipeline's bounded retries is waited out
        (its Retry-After) and polling goes on. ``timeout`` (seconds): raise
        :class:`~.errors.ServiceError` when the job is still running then. ``on_poll(job,
        retry_after)`` is called after each answer (e.g. to count or log polls).
        """
        return drive(self._x, self._wait(name, timeout, poll_interval, on_poll))

    def _wait(self, name: str, timeout: float | None, poll_interval: float | None, on_poll: Any) -> Any:
        cfg = self._config
        interval = cfg.polling_interval if poll_interval is None else poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            delay: float | None
            try:
                response = yield Call(lambda: self._x.raw(self._request("GET", "jobs", name)))
            except ThrottledError as exc:
                delay = exc.retry_after
                job = None
            else:
                body = yield Call(response.text)
                job = Job.from_rest(json.loads(body) if body else {})
                delay = _retry_after(response)
                if on_poll is not None:
                    on_poll(job, delay)
                if job.is_terminal:
                    return job
            wait = interval if delay is None else max(0.0, min(delay, cfg.max_polling_interval))
            if deadline is not None and time.monotonic() + wait > deadline:
                status = job.status if job is not None else "unknown"
                raise ServiceError(f"job {name!r} still {status} after {timeout} s", code="WaitTimeout")
            yield Sleep(wait)

    def begin_cancel(self, name: str) -> Any:
        """POST ``cancel`` (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("POST", "jobs", name, "cancel"), None, LOCATION_LRO)

    def cancel(self, name: str) -> Any:
        """Request cancellation without waiting for it to finish (returns the poller)."""
        return self.begin_cancel(name)

    def resume_cancel(self, continuation_token: str) -> Any:
        """A poller for a cancellation started earlier (``poller.continuation_token()``)."""
        return self._x.resume(continuation_token, None, LOCATION_LRO)
