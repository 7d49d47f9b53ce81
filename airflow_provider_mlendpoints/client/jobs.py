"""Jobs (ARM ``jobs/{id}``): GET, list, POST cancel."""

from __future__ import annotations

from typing import Any

from ._base import LOCATION_LRO, OperationGroup
from .resources import Job


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

    def begin_cancel(self, name: str) -> Any:
        """POST ``cancel`` (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("POST", "jobs", name, "cancel"), None, LOCATION_LRO)

    def cancel(self, name: str) -> Any:
        """Request cancellation without waiting for it to finish (returns the poller)."""
        return self.begin_cancel(name)

    def resume_cancel(self, continuation_token: str) -> Any:
        """A poller for a cancellation started earlier (``poller.continuation_token()``)."""
        return self._x.resume(continuation_token, None, LOCATION_LRO)
