"""Waiting in the triggerer for an Azure ML batch job to reach a terminal status."""

from __future__ import annotations

from ..client.waiting import WaitSettings, WaitTarget
from .wait import WaitTrigger


class BatchJobTrigger(WaitTrigger):
    """:class:`WaitTrigger` for ``jobs/{job_name}`` until Completed, Failed or Canceled.

    Yields one event: ``{"event": "job", "status": "success"|"failed"|"canceled"|"timeout"|"error",
    "job_name", "job_status", "message", "studio_url", "retryable"}``; ``message`` carries the
    service's error code and message for a failed job.

    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection.
    :param job_name: the job (the batch invoke's answer ``name``).
    :param poll_interval: the longest wait between polls (the first is short; a Retry-After wins).
    :param timeout: seconds until a ``timeout`` event; None waits forever.
    :param cancel_on_kill: when a user marks the deferred task failed/success or clears it, cancel
        the job (``on_kill``); never on triggerer restarts or timeouts.
    """

    def __init__(
        self,
        ml_endpoints_conn_id: str,
        job_name: str,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        settings = WaitSettings(poll_interval=float(poll_interval), timeout=timeout)
        super().__init__(ml_endpoints_conn_id, WaitTarget.job(job_name).to_json(), settings.to_json(), cancel_on_kill)

    @property
    def job_name(self) -> str:
        return self.target.name
