"""Operator extra links to Azure Machine Learning Studio.

Each link is a small :class:`~airflow.sdk.BaseOperatorLink` whose URL the task stores in XCom
(under the link's ``xcom_key``) as soon as it knows it: right after the job is submitted, or
when the endpoint is known. The Airflow UI reads that XCom, so the link is clickable while the
task is still running or deferred. ``<Link>.persist(context, url)`` stores it; the URL builders
below are pure and also used in trigger events and failure messages.

Studio URLs follow the portal's scheme: ``https://ml.azure.com/runs/<job>?wsid=<workspace ARM id>``
for jobs, ``/endpoints/batch|realtime/<endpoint>/...`` for endpoints and deployments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

STUDIO_BASE = "https://ml.azure.com"


def _wsid(config: Any) -> str:
    return (
        f"/subscriptions/{config.subscription_id}/resourceGroups/{config.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{config.workspace_name}"
    )


def studio_job_url(config: Any, job_name: str) -> str:
    """The Studio page of a job (batch-invoke jobs included)."""
    return f"{STUDIO_BASE}/runs/{quote(job_name, safe='')}?wsid={_wsid(config)}"


def studio_endpoint_url(config: Any, kind: str, endpoint_name: str) -> str:
    """The Studio page of a batch (``kind="batch"``) or online (``"online"``) endpoint."""
    section = "batch" if kind == "batch" else "realtime"
    return f"{STUDIO_BASE}/endpoints/{section}/{quote(endpoint_name, safe='')}/details?wsid={_wsid(config)}"


def studio_deployment_url(config: Any, kind: str, endpoint_name: str, deployment_name: str) -> str:
    """The Studio page of a deployment of a batch or online endpoint."""
    section = "batch" if kind == "batch" else "realtime"
    return (
        f"{STUDIO_BASE}/endpoints/{section}/{quote(endpoint_name, safe='')}"
        f"/deployments/{quote(deployment_name, safe='')}?wsid={_wsid(config)}"
    )


def studio_compute_url(config: Any, compute_name: str) -> str:
    """The Studio page of a compute cluster."""
    return f"{STUDIO_BASE}/compute/{quote(compute_name, safe='')}/details?wsid={_wsid(config)}"


class _StudioLink(BaseOperatorLink):
    """A link whose URL the task stored in XCom under :attr:`xcom_key`."""

    name: ClassVar[str] = "Azure ML Studio"  # type: ignore[misc]

    @property
    def xcom_key(self) -> str:
        return f"_link_{type(self).__name__}"

    @classmethod
    def persist(cls, context: Context, url: str | None) -> None:
        """Store ``url`` for this link of the running task instance (no-op for an empty URL)."""
        if not url:
            return
        ti = context.get("ti") if hasattr(context, "get") else None
        if ti is not None:
            ti.xcom_push(key=cls().xcom_key, value=url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        try:
            value = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        except Exception:  # no XCom backend reachable (e.g. outside a task)
            return ""
        return str(value) if value else ""


class AzureMLJobLink(_StudioLink):
    """The batch job in Azure ML Studio."""

    name = "Azure ML Job"


class AzureMLEndpointLink(_StudioLink):
    """The endpoint in Azure ML Studio."""

    name = "Azure ML Endpoint"


class AzureMLDeploymentLink(_StudioLink):
    """The deployment in Azure ML Studio."""

    name = "Azure ML Deployment"


__all__ = [
    "AzureMLDeploymentLink",
    "AzureMLEndpointLink",
    "AzureMLJobLink",
    "studio_deployment_url",
    "studio_endpoint_url",
    "studio_job_url",
]
