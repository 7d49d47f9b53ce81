"""The polling loop the triggers share: poll, retry transient errors, time out, yield one event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ._common import MAX_TRANSIENT_ERRORS, is_transient, retry_after_of


class PollingTrigger(BaseTrigger):
    """Poll an Azure ML resource until :meth:`event_of` returns an event; yield exactly one.

    Transient errors (throttling, 5xx, dropped connections) are retried up to
    ``MAX_TRANSIENT_ERRORS`` times in a row, waiting at least a server's Retry-After;
    any other error ends with an ``error`` event, and ``timeout`` seconds with a
    ``timeout`` event. Subclasses set ``conn_id``, ``poll_interval`` and ``timeout``
    and say what to poll and what its answers mean.
    """

    conn_id: str
    poll_interval: float
    timeout: float | None

    def _hook(self) -> Any:
        from ..hooks.ml_endpoints import AsyncMLEndpointsHook

        return AsyncMLEndpointsHook(self.conn_id)

    def label(self) -> str:
        """What is waited for, as log lines and messages name it."""
        raise NotImplementedError

    async def poll(self, client: Any) -> Any:
        """Fetch the current state (may raise)."""
        raise NotImplementedError

    def state_of(self, obj: Any) -> str | None:
        """The status or provisioning state of a polled object, logged when it changes."""
        raise NotImplementedError

    async def event_of(self, client: Any, config: Any, obj: Any) -> dict[str, Any] | None:
        """The final event for a polled object, or None to keep waiting."""
        raise NotImplementedError

    def end_event(self, config: Any, status: str, state: str | None, message: str) -> dict[str, Any]:
        """The ``timeout`` or ``error`` event."""
        raise NotImplementedError

    def timeout_message(self, state: str | None) -> str:
        return f"{self.label()} still {state} after {self.timeout:g} s"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None
        config = None
        label = self.label()
        last_state: str | None = None
        errors = 0
        try:
            client = await hook.get_async_conn()
            config = client.config
            while True:
                delay = self.poll_interval
                try:
                    obj = await self.poll(client)
                except Exception as exc:
                    if not is_transient(exc) or errors >= MAX_TRANSIENT_ERRORS:
                        raise
                    errors += 1
                    delay = max(delay, retry_after_of(exc) or 0.0)
                    self.log.warning("Polling %s failed (%s); retrying in %.1f s", label, exc, delay)
                else:
                    errors = 0
                    event = await self.event_of(client, config, obj)
                    if event is not None:
                        yield TriggerEvent(event)
                        return
                    state = self.state_of(obj)
                    if state != last_state:
                        last_state = state
                        self.log.info("%s is %s", label, last_state)
                if deadline is not None and time.monotonic() + delay > deadline:
                    yield TriggerEvent(self.end_event(config, "timeout", last_state, self.timeout_message(last_state)))
                    return
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            yield TriggerEvent(self.end_event(config, "error", last_state, f"polling {label} failed: {exc}"))
        finally:
            await hook.aclose()
