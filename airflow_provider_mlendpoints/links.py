"""Operator extra links to Azure Machine Learning Studio.

Each link is a small :class:`~airflow.sdk.BaseOperatorLink` whose URL the task stores in XCom
(under the link's ``xcom_key``) as soon as it knows it: right after the job is submitted, or
when the endpoint is known. The Airflow UI reads that XCom, so the link is clickable while the
task is still running or deferred. ``<Link>.persist(context, url)`` stores it. The URLs come
from the pure registry of resource kinds (:mod:`airflow_provider_mlendpoints.client.kinds`): Azure
ML Studio on Azure, the emulator's own Studio-like pages when the connection points at the emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

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
]
