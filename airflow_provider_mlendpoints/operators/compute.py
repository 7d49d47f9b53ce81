"""Azure-mode operator for AmlCompute clusters (the compute a batch deployment runs on).

Importable as ``airflow_provider_mlendpoints.operators.batch.CreateAmlComputeOperator`` (the
batch workflow's first step) and from :mod:`airflow_provider_mlendpoints.operators`.
It waits like the endpoint operators: check the cluster's provisioningState first, then defer to
:class:`~airflow_provider_mlendpoints.triggers.provisioning.ProvisioningStateTrigger`
(``resource="compute"``) when ``deferrable``, else poll in the worker.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from ..client.resource_bodies import contains
from ..client.resources import Compute
from ._base import MLEndpointsBaseOperator, service_errors, workspace_location

if TYPE_CHECKING:
    from airflow.sdk import Context


def _iso_seconds(value: int | float | str) -> str:
    if isinstance(value, str) and value.strip().upper().startswith("P"):
        return value.strip().upper()
    return f"PT{int(float(value))}S"


class CreateAmlComputeOperator(MLEndpointsBaseOperator):
    """Create or update an AmlCompute cluster and wait until it is provisioned.

    :param compute_name: the cluster's name (what deployments reference as ``azureml:<name>``).
    :param vm_size: VM size, e.g. ``STANDARD_DS3_V2``.
    :param min_nodes: nodes kept when idle (0 scales to zero).
    :param max_nodes: upper bound of nodes.
    :param idle_time_before_scale_down: seconds (or ISO 8601) before idle nodes are released.
    :param vm_priority: ``Dedicated`` or ``LowPriority``.
    :param location: Azure region; default: the workspace's.

    Nothing is sent when the cluster already has these settings. Checks the cluster's state first;
    while it provisions, waits in the triggerer when ``deferrable`` (the compute kind of
    :class:`~airflow_provider_mlendpoints.triggers.provisioning.ProvisioningStateTrigger`), else
    polls in the worker. A busy cluster (another operation running) is waited for first. Returns
    the cluster's ``name``, ``id``, ``compute_type``, ``vm_size``, ``scale_settings`` and
    ``provisioning_state``.
    """

    template_fields = (
        "compute_name",
        "vm_size",
        "min_nodes",
        "max_nodes",
        "idle_time_before_scale_down",
        "location",
        "ml_endpoints_conn_id",
    )

    def __init__(
        self,
        *,
        compute_name: str,
        vm_size: str = "STANDARD_DS3_V2",
        min_nodes: int | str = 0,
        max_nodes: int | str = 1,
        idle_time_before_scale_down: int | str = 120,
        vm_priority: str = "Dedicated",
        description: str | None = None,
        location: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if vm_priority not in ("Dedicated", "LowPriority"):
            raise ValueError(f"vm_priority must be Dedicated or LowPriority, not {vm_priority!r}")
        self.compute_name = compute_name
        self.vm_size = vm_size
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.idle_time_before_scale_down = idle_time_before_scale_down
        self.vm_priority = vm_priority
        self.description = description
        self.location = location

    def execute(self, context: Context) -> dict[str, Any]:
        from ..client.computes import aml_compute_body

        try:
            min_nodes, max_nodes = int(self.min_nodes), int(self.max_nodes)
        except (TypeError, ValueError) as exc:
            raise AirflowFailException(f"min_nodes/max_nodes must be integers: {exc}") from exc
        if min_nodes < 0 or max_nodes < max(min_nodes, 1):
            raise AirflowFailException(
                f"need 0 <= min_nodes <= max_nodes and max_nodes >= 1, got {min_nodes}, {max_nodes}"
            )
        client = self.client
        name = self.compute_name
        # Another operation on the cluster (e.g. a previous try's PUT) is waited for first;
        # deferrable: defers and starts execute() over in resume_execute.
        existing = self.settle("compute", name)
        location = self.location or (existing.location if existing else None) or workspace_location(client)
        body = aml_compute_body(
            location=location,
            vm_size=self.vm_size,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            idle_time_before_scale_down=_iso_seconds(self.idle_time_before_scale_down),
            vm_priority=self.vm_priority,  # type: ignore[arg-type]
            description=self.description,
        )
        if (
            existing is not None
            and existing.provisioning_state == "Succeeded"
            and contains(existing.properties, body["properties"])
        ):
            self.log.info("Compute %r is up to date; nothing to change", name)
            return self._summary(existing)
        if existing is not None and existing.vm_size and existing.vm_size.lower() != self.vm_size.lower():
            raise AirflowFailException(
                f"compute {name!r} exists with vm_size {existing.vm_size}; a cluster's VM size cannot change "
                "(delete it or choose another name)"
            )
        self.log.info("%s AmlCompute %r (%s, %d-%d nodes)", "Updating" if existing else "Creating",
                      name, self.vm_size, min_nodes, max_nodes)  # fmt: skip
        with service_errors(f"compute {name!r}"):
            self.start_operation("PUT", "compute", name, body=body)
        details = self.wait_for_provisioning("compute", name, method_name="compute_complete")
        return self._summary(Compute.from_rest(details))

    def compute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: the cluster's summary, or fail with the service's reason."""
        details = self.handle_provisioning_event(event)
        return self._summary(Compute.from_rest(details))

    @staticmethod
    def _summary(compute: Any) -> dict[str, Any]:
        return {
            "name": compute.name,
            "id": compute.id,
            "compute_type": compute.compute_type,
            "vm_size": compute.vm_size,
            "scale_settings": json.loads(json.dumps(compute.scale_settings, default=str)),
            "provisioning_state": compute.provisioning_state,
        }
