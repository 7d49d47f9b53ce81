"""Sensor that waits for an Azure ML batch job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..links import AzureMLJobLink
from ..triggers._common import job_event
from ..triggers.batch_job import BatchJobTrigger
from ._base import _MLEndpointsSensor


class BatchJobSensor(_MLEndpointsSensor):
    """Wait until a batch job is Completed; a Failed or Canceled job fails the task.

    The failure message carries the service's error code and message and the Azure ML Studio
    link of the job. Returns ``{"status", "job_name", "job_status", "message", "studio_url"}``.

    :param job_name: the job (e.g. ``"{{ ti.xcom_pull('invoke')['job_name'] }}"``).
    :param conn_id: the ``azure_ml_endpoints`` connection.
    :param deferrable: wait in the triggerer (checks the status first, then defers to
        :class:`~airflow_provider_mlendpoints.triggers.batch_job.BatchJobTrigger`).
    :param poll_interval: seconds between checks (the sensor's ``poke_interval``).
    :param timeout: seconds before the sensor times out (sensor semantics; also the trigger's).
    """

    template_fields: Sequence[str] = ("job_name", "conn_id")
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#cce6ff"

    def __init__(self, *, job_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name

    def current_event(self) -> dict[str, Any] | None:
        client = self.hook.get_conn()
        return job_event(client.config, client.jobs.get(self.job_name), self.job_name)

    def make_trigger(self) -> BatchJobTrigger:
        return BatchJobTrigger(
            conn_id=self.conn_id,
            job_name=self.job_name,
            poll_interval=self.poll_interval,
            timeout=self.timeout,
        )

    def execute(self, context: Any) -> Any:
        from ..links import studio_job_url

        AzureMLJobLink.persist(context, studio_job_url(self.hook.get_conn().config, self.job_name))
        return super().execute(context)
