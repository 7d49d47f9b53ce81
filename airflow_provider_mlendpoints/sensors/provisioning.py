"""Sensor that waits for an endpoint, deployment or compute cluster to finish provisioning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..client.kinds import kind_of
from ..client.waiting import WaitTarget
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink
from ._base import MLEndpointsSensor


class ProvisioningStateSensor(MLEndpointsSensor):
    """Wait until an endpoint, deployment or AmlCompute cluster's provisioningState is Succeeded.

    Failed or Canceled fails the task with the service's message and the Studio link. Returns
    the event without the resource body: ``{"status", "resource", "endpoint_name",
    "deployment_name", "provisioning_state", "message", "studio_url"}``.

    :param resource: ``batch_endpoint``, ``batch_deployment``, ``online_endpoint``,
        ``online_deployment`` or ``compute``.
    :param endpoint_name: the endpoint (for ``compute``: the cluster's name).
    :param deployment_name: the deployment (for the ``*_deployment`` kinds).
    :param ml_endpoints_conn_id, deferrable, poll_interval, timeout: as for :class:`BatchJobSensor`.
    """

    template_fields: Sequence[str] = ("resource", "endpoint_name", "deployment_name", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())
    ui_color = "#cce6ff"

    def __init__(
        self, *, resource: str, endpoint_name: str, deployment_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if "{{" not in str(resource) and "{{" not in str(deployment_name or ""):
            kind_of(resource, deployment_name)
        self.resource = resource
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def target(self) -> WaitTarget:
        return WaitTarget.resource(self.resource, self.endpoint_name, self.deployment_name)

    def execute(self, context: Any) -> Any:
        kind = kind_of(self.resource, self.deployment_name)
        config = self.hook.get_conn().config
        if kind.flavour is not None:  # no endpoint/deployment page to link for a compute
            endpoint = kind_of(f"{kind.flavour}_endpoint")
            AzureMLEndpointLink.persist(context, endpoint.studio_url(config, self.endpoint_name))
            if kind.is_deployment:
                AzureMLDeploymentLink.persist(context, kind.studio_url(config, self.endpoint_name, self.deployment_name))
        return super().execute(context)
