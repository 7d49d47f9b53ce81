"""Shared base of the Azure ML sensors: poke in the worker, or check once and defer."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ..hooks.ml_endpoints import MLEndpointsHook
from ..triggers._common import failure_text

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger


class _MLEndpointsSensor(BaseSensorOperator):
    """Poke mode polls with the sync hook; ``deferrable=True`` checks once, then defers.

    Subclasses implement :meth:`current_event` (the terminal event now, or None) and
    :meth:`make_trigger`.
    """

    def __init__(
        self,
        *,
        conn_id: str = MLEndpointsHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        if poll_interval is not None:
            kwargs["poke_interval"] = poll_interval
        kwargs.setdefault("poke_interval", 30)
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.deferrable = deferrable

    @property
    def poll_interval(self) -> float:
        return float(self.poke_interval)

    @cached_property
    def hook(self) -> MLEndpointsHook:
        return MLEndpointsHook(self.conn_id)

    def current_event(self) -> dict[str, Any] | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def make_trigger(self) -> BaseTrigger:  # pragma: no cover - abstract
        raise NotImplementedError

    def result_of(self, event: dict[str, Any]) -> Any:
        """What a successful wait returns to XCom."""
        return {k: v for k, v in event.items() if k != "details"}

    def handle_event(self, event: dict[str, Any]) -> Any:
        """Success -> :meth:`result_of`; failed/canceled/error -> fail (no retry); timeout -> sensor timeout."""
        status = event.get("status")
        if status == "success":
            self.log.info("%s", event.get("message"))
            return self.result_of(event)
        text = failure_text(event)
        if status == "timeout":
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
        self.defer(
            trigger=self.make_trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + timedelta(seconds=60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger's single event."""
        return self.handle_event(event)
