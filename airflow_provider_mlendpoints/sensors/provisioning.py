"""Sensor that waits for an endpoint, deployment or compute cluster to finish provisioning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..links import AzureMLDeploymentLink, AzureMLEndpointLink
from ..triggers._common import check_resource_kind, fetch_resource, provisioning_event, resource_studio_url
from ..triggers.provisioning import ProvisioningStateTrigger
from ._base import _MLEndpointsSensor


class ProvisioningStateSensor(_MLEndpointsSensor):
    """Wait until an endpoint, deployment or AmlCompute cluster's provisioningState is Succeeded.

    Failed or Canceled fails the task with the service's message and the Studio link. Returns
    the event without the resource body: ``{"status", "resource", "endpoint_name",
    "deployment_name", "provisioning_state", "message", "studio_url"}``.

    :param resource: ``batch_endpoint``, ``batch_deployment``, ``online_endpoint``,
        ``online_deployment`` or ``compute``.
    :param endpoint_name: the endpoint (for ``compute``: the cluster's name).
    :param deployment_name: the deployment (for the ``*_deployment`` kinds).
    :param conn_id, deferrable, poll_interval, timeout: as for :class:`BatchJobSensor`.
    """

    template_fields: Sequence[str] = ("resource", "endpoint_name", "deployment_name", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())
    ui_color = "#cce6ff"

    def __init__(
        self, *, resource: str, endpoint_name: str, deployment_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if "{{" not in str(resource) and "{{" not in str(deployment_name or ""):
            check_resource_kind(resource, deployment_name)
        self.resource = resource
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def current_event(self) -> dict[str, Any] | None:
        client = self.hook.get_conn()
        obj = fetch_resource(client, self.resource, self.endpoint_name, self.deployment_name)
        return provisioning_event(client.config, self.resource, self.endpoint_name, self.deployment_name, obj)

    def make_trigger(self) -> ProvisioningStateTrigger:
        return ProvisioningStateTrigger(
            conn_id=self.conn_id,
            resource=self.resource,
            endpoint_name=self.endpoint_name,
            deployment_name=self.deployment_name,
            poll_interval=self.poll_interval,
            timeout=self.timeout,
        )

    def execute(self, context: Any) -> Any:
        check_resource_kind(self.resource, self.deployment_name)
        config = self.hook.get_conn().config
        if self.resource == "compute":  # no endpoint/deployment page to link
            return super().execute(context)
        kind = "batch" if self.resource.startswith("batch") else "online"
        AzureMLEndpointLink.persist(
            context, resource_studio_url(config, f"{kind}_endpoint", self.endpoint_name, None)
        )
        if self.deployment_name:
            AzureMLDeploymentLink.persist(
                context, resource_studio_url(config, self.resource, self.endpoint_name, self.deployment_name)
            )
        return super().execute(context)
