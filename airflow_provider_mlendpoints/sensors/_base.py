"""Shared base of the Azure ML sensors: poke in the worker, or check once and defer.

A poke is one run of the waiting procedure with no patience (``timeout=0``): one GET, with the
same rules as the trigger (a transient error is a "not yet", never a failure).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ..client.waiting import WaitEvent, WaitSettings, WaitTarget, event_from_json, failure_text, run_wait
from ..hooks.ml_endpoints import MLEndpointsHook
from ..operators._base import default_deferrable

if TYPE_CHECKING:
    from airflow.sdk import Context


class MLEndpointsSensor(BaseSensorOperator):
    """Poke mode polls with the sync hook; ``deferrable=True`` checks once, then defers to the
    one trigger (:class:`~airflow_provider_mlendpoints.triggers.wait.WaitTrigger`).

    Subclasses say what to wait for in :meth:`target`.
    """

    def __init__(
        self,
        *,
        ml_endpoints_conn_id: str = MLEndpointsHook.default_conn_name,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        if poll_interval is not None:
            kwargs["poke_interval"] = poll_interval
        kwargs.setdefault("poke_interval", 30)
        super().__init__(**kwargs)
        self.ml_endpoints_conn_id = ml_endpoints_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    @property
    def poll_interval(self) -> float:
        return float(self.poke_interval)

    @cached_property
    def hook(self) -> MLEndpointsHook:
        return MLEndpointsHook(self.ml_endpoints_conn_id)

    def target(self) -> WaitTarget:  # pragma: no cover - abstract
        raise NotImplementedError

    def current_event(self) -> WaitEvent | None:
        """The terminal event now, or None while waiting (also after a transient error)."""
        settings = WaitSettings(poll_interval=self.poll_interval, timeout=0.0)
        event = run_wait(self.hook.get_conn(), self.target(), settings, log=self.log)
        return None if event.status == "timeout" else event

    def result_of(self, event: WaitEvent) -> Any:
        """What a successful wait returns to XCom."""
        return {k: v for k, v in event.to_json().items() if k not in ("details", "event", "retryable")}

    def handle_event(self, event: WaitEvent) -> Any:
        """Success -> :meth:`result_of`; failed/canceled/error -> fail (no retry); timeout -> sensor timeout."""
        if event.succeeded:
            self.log.info("%s", event.message)
            return self.result_of(event)
        text = failure_text(event)
        if event.status == "timeout":
            raise AirflowSensorTimeout(text)
        raise AirflowFailException(text)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        event = self.current_event()
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.handle_event(event))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        event = self.current_event()
        if event is not None:
            return self.handle_event(event)
        from ..triggers.wait import WaitTrigger

        settings = WaitSettings(poll_interval=self.poll_interval, timeout=self.timeout)
        self.defer(
            trigger=WaitTrigger(self.ml_endpoints_conn_id, self.target().to_json(), settings.to_json()),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + timedelta(seconds=60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger's single event."""
        return self.handle_event(event_from_json(event))
