"""The one trigger: run the waiting procedure of :mod:`~airflow_provider_mlendpoints.client.waiting`
on the async client and yield its single event.

:class:`~.batch_job.BatchJobTrigger` and :class:`~.provisioning.ProvisioningStateTrigger` are this
trigger with their arguments spelled out; all of them serialize as :class:`WaitTrigger`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from operator import attrgetter
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ..client.waiting import WaitSettings, WaitTarget, run_wait


def _read_through(path: str) -> property:
    """A read-only attribute of the trigger that reads its ``settings`` or ``target``: ``path`` is
    the dotted attribute, e.g. ``"settings.timeout"``."""
    return property(attrgetter(path), doc=f"``{path}``, read-only.")


class WaitTrigger(BaseTrigger):
    """Wait in the triggerer for ``target`` (a :class:`WaitTarget` as JSON) with ``settings``.

    Yields exactly one :class:`TriggerEvent` whose payload is a
    :class:`~airflow_provider_mlendpoints.client.waiting.JobEvent` or
    :class:`~airflow_provider_mlendpoints.client.waiting.ResourceEvent` as JSON.

    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection.
    :param target: what to wait for (:meth:`WaitTarget.to_json`).
    :param settings: how (:meth:`WaitSettings.to_json`).
    :param cancel_on_kill: for a job: cancel it when the user kills the deferred task.
    """

    def __init__(
        self,
        ml_endpoints_conn_id: str,
        target: dict[str, Any],
        settings: dict[str, Any] | None = None,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.ml_endpoints_conn_id = ml_endpoints_conn_id
        self.target = WaitTarget.from_json(dict(target))
        self.settings = WaitSettings.from_json(dict(settings or {}))
        self.cancel_on_kill = cancel_on_kill

    # Read by tests and by the operators that build a trigger.
    poll_interval = _read_through("settings.poll_interval")
    timeout = _read_through("settings.timeout")
    wait_for = _read_through("target.until")
    operation_url = _read_through("target.operation_url")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{WaitTrigger.__module__}.{WaitTrigger.__qualname__}",
            {
                "ml_endpoints_conn_id": self.ml_endpoints_conn_id,
                "target": self.target.to_json(),
                "settings": self.settings.to_json(),
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def _hook(self) -> Any:
        from ..hooks.ml_endpoints import AsyncMLEndpointsHook

        return AsyncMLEndpointsHook(self.ml_endpoints_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from ..client.waiting import end_event

        hook = self._hook()
        try:
            try:
                client = await hook.get_async_conn()
            except Exception as exc:  # a broken connection ends the wait as one error event
                yield TriggerEvent(
                    end_event(None, self.target, "error", None, f"polling {self.target.label} failed: {exc}", False).to_json()
                )
                return
            event = await run_wait(client, self.target, self.settings, log=self.log)
            yield TriggerEvent(event.to_json())
        finally:
            await hook.aclose()

    async def on_kill(self) -> None:
        """The user killed the deferred task: request the job's cancellation (without waiting)."""
        if not self.cancel_on_kill or self.target.kind != "job":
            return
        hook = self._hook()
        try:
            client = await hook.get_async_conn()
            await client.jobs.begin_cancel(self.target.name)
            self.log.info("Requested cancellation of batch job %s", self.target.name)
        finally:
            await hook.aclose()
