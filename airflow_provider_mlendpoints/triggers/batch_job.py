"""Trigger that waits for an Azure ML batch job to reach a terminal status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ._common import MAX_TRANSIENT_ERRORS, is_transient, job_event, job_payload, retry_after_of


class BatchJobTrigger(BaseTrigger):
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

    def _hook(self) -> Any:
        from ..hooks.ml_endpoints import AsyncMLEndpointsHook

        return AsyncMLEndpointsHook(self.conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None
        config = None
        last_status: str | None = None
        errors = 0
        try:
            client = await hook.get_async_conn()
            config = client.config
            while True:
                delay = self.poll_interval
                try:
                    job = await client.jobs.get(self.job_name)
                except Exception as exc:
                    if not is_transient(exc) or errors >= MAX_TRANSIENT_ERRORS:
                        raise
                    errors += 1
                    delay = max(delay, retry_after_of(exc) or 0.0)
                    self.log.warning(
                        "Polling job %s failed (%s); retrying in %.1f s", self.job_name, exc, delay
                    )
                else:
                    errors = 0
                    event = job_event(config, job, self.job_name)
                    if event is not None:
                        yield TriggerEvent(event)
                        return
                    if job.status != last_status:
                        last_status = job.status
                        self.log.info("Batch job %s is %s", self.job_name, last_status)
                if deadline is not None and time.monotonic() + delay > deadline:
                    yield TriggerEvent(
                        job_payload(
                            config,
                            self.job_name,
                            status="timeout",
                            job_status=last_status,
                            message=f"batch job {self.job_name!r} still {last_status} after {self.timeout:g} s",
                        )
                    )
                    return
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            yield TriggerEvent(
                job_payload(
                    config,
                    self.job_name,
                    status="error",
                    job_status=last_status,
                    message=f"polling batch job {self.job_name!r} failed: {exc}",
                )
            )
        finally:
            await hook.aclose()

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
