"""Computes (machineLearningServices.json ``computes/{name}``): PUT (AmlCompute), GET, DELETE."""

from __future__ import annotations

from typing import Any, Literal

from ._base import NamedGroup
from ._executor import MaybeAwaitable, Poller
from .faces import X, long_running, value
from .operation_status import OperationHandle
from .resources import Compute


def aml_compute_body(
    *,
    location: str,
    vm_size: str = "STANDARD_DS3_V2",
    min_nodes: int = 0,
    max_nodes: int = 1,
    idle_time_before_scale_down: str = "PT120S",
    vm_priority: Literal["Dedicated", "LowPriority"] = "Dedicated",
    description: str | None = None,
) -> dict[str, Any]:
    """A PUT body for an AmlCompute cluster."""
    props: dict[str, Any] = {
        "computeType": "AmlCompute",
        "properties": {
            "vmSize": vm_size,
            "vmPriority": vm_priority,
            "scaleSettings": {
                "minNodeCount": min_nodes,
                "maxNodeCount": max_nodes,
                "nodeIdleTimeBeforeScaleDown": idle_time_before_scale_down,
            },
        },
    }
    if description:
        props["description"] = description
    return {"location": location, "properties": props}


class ComputesOperations(NamedGroup[X, Compute]):
    """AmlCompute clusters of the workspace."""

    kind = "compute"
    collection = "computes"
    resource = Compute

    @long_running
    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> Poller[Compute]:
        """PUT (see :func:`aml_compute_body`); poller of the :class:`Compute`."""
        return self._x.begin(self._request("PUT", "computes", name, body=body), Compute.from_rest)

    @long_running
    def begin_delete(
        self, name: str, *, underlying_resource_action: Literal["Delete", "Detach"] = "Delete"
    ) -> Poller[None]:
        """DELETE (``underlyingResourceAction`` is required by the API); result None."""
        req = self._request(
            "DELETE", "computes", name, params={"underlyingResourceAction": underlying_resource_action}
        )
        return self._x.begin(req, None)

    @value
    def start_create_or_update(self, name: str, body: dict[str, Any]) -> MaybeAwaitable[OperationHandle[Compute]]:
        """PUT and return at once with an :class:`~.operation_status.OperationHandle`; nothing polls."""
        return self._x.start(self._request("PUT", "computes", name, body=body), Compute.from_rest)

    @value
    def start_delete(
        self, name: str, *, underlying_resource_action: Literal["Delete", "Detach"] = "Delete"
    ) -> MaybeAwaitable[OperationHandle[None]]:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing compute answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        req = self._request(
            "DELETE", "computes", name, params={"underlyingResourceAction": underlying_resource_action}
        )
        return self._x.start(req)

    @long_running
    def resume(self, continuation_token: str, *, delete: bool = False) -> Poller[Compute | None]:
        """A poller for a create/update (or, with ``delete=True``, a delete) started earlier."""
        return self._x.resume(continuation_token, None if delete else Compute.from_rest)
