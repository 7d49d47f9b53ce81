"""Sensor that waits for an Azure ML batch job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..client.kinds import studio_job_url
from ..client.waiting import WaitTarget
from ..links import AzureMLJobLink
from ._base import MLEndpointsSensor


class BatchJobSensor(MLEndpointsSensor):
    """Wait until a batch job is Completed; a Failed or Canceled job fails the task.

    The failure message carries the service's error code and message and the Studio link of the
    job. Returns ``{"status", "job_name", "job_status", "message", "studio_url"}``.

    :param job_name: the job (e.g. ``"{{ ti.xcom_pull('invoke')['job_name'] }}"``).
    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection.
    :param deferrable: wait in the triggerer (checks the status first, then defers).
    :param poll_interval: seconds between checks (the sensor's ``poke_interval``).
    :param timeout: seconds before the sensor times out (sensor semantics; also the trigger's).
    """

    template_fields: Sequence[str] = ("job_name", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#cce6ff"

    def __init__(self, *, job_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name

    def target(self) -> WaitTarget:
        return WaitTarget.job(self.job_name)

    def execute(self, context: Any) -> Any:
        AzureMLJobLink.persist(context, studio_job_url(self.hook.get_conn().config, self.job_name))
        return super().execute(context)
