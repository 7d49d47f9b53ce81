"""Trigger that waits for an Azure ML batch job to reach a terminal status."""

from __future__ import annotations

from typing import Any

from ._common import job_event, job_payload
from ._polling import PollingTrigger


class BatchJobTrigger(PollingTrigger):
    """Poll ARM ``jobs/{job_name}`` until the job is Completed, Failed or Canceled.

    Yields exactly one :class:`TriggerEvent`: ``{"status": "success"|"failed"|"canceled"|"timeout"|
    "error", "job_name", "job_status", "message", "studio_url"}``; ``message`` carries the
    service's error code and message for a failed job.

    :param conn_id: the ``azure_ml_endpoints`` connection.
    :param job_name: the job (the batch invoke's answer ``name``).
    :param poll_interval: seconds between polls (a server Retry-After on throttling wins if longer).
    :param timeout: seconds until a ``timeout`` event; None waits forever.
    :param cancel_on_kill: when a user marks the deferred task failed/success or clears it, cancel
        the job (``on_kill``); never on triggerer restarts or timeouts.
    """

    def __init__(
        self,
        conn_id: str,
        job_name: str,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.job_name = job_name
        self.cancel_on_kill = cancel_on_kill
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout) if timeout is not None else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "job_name": self.job_name,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def label(self) -> str:
        return f"batch job {self.job_name!r}"

    async def poll(self, client: Any) -> Any:
        return await client.jobs.get(self.job_name)

    def state_of(self, obj: Any) -> str | None:
        return obj.status

    async def event_of(self, client: Any, config: Any, obj: Any) -> dict[str, Any] | None:
        return job_event(config, obj, self.job_name)

    def end_event(self, config: Any, status: str, state: str | None, message: str) -> dict[str, Any]:
        return job_payload(config, self.job_name, status=status, job_status=state, message=message)

    async def on_kill(self) -> None:
        """The user killed the deferred task: request the job's cancellation (without waiting)."""
        if not self.cancel_on_kill:
            return
        hook = self._hook()
        try:
            client = await hook.get_async_conn()
            await client.jobs.begin_cancel(self.job_name)
            self.log.info("Requested cancellation of batch job %s", self.job_name)
        finally:
            await hook.aclose()
