"""Batch endpoints and batch deployments (ARM ``batchEndpoints``)."""

from __future__ import annotations

from ._endpoint_groups import DeploymentGroup, EndpointGroup
from ._executor import MaybeAwaitable
from .faces import X, value
from .resources import BatchDeployment, BatchEndpoint, EndpointKeys


class BatchEndpointsOperations(EndpointGroup[X, BatchEndpoint]):
    """``batchEndpoints/{name}``: PUT, PATCH, GET, DELETE, list, POST listkeys.

    Changing the default deployment is a full-body PUT.
    """

    kind = "batch_endpoint"
    collection = "batchEndpoints"
    resource = BatchEndpoint

    @value
    def list_keys(self, name: str) -> MaybeAwaitable[EndpointKeys]:
        """POST ``listkeys`` (lower-case k, as in mfe.json): :class:`EndpointKeys`."""
        return self._x.call(
            self._request("POST", self.collection, name, "listkeys"), self._revealing(EndpointKeys.from_rest)
        )


class BatchDeploymentsOperations(DeploymentGroup[X, BatchDeployment]):
    """``batchEndpoints/{e}/deployments/{d}``: PUT, PATCH (tags, description), GET, DELETE, list."""

    kind = "batch_deployment"
    collection = "batchEndpoints"
    resource = BatchDeployment
