"""Azure-mode operator for AmlCompute clusters (the compute a batch deployment runs on).

Importable as ``airflow_provider_mlendpoints.operators.batch.CreateAmlComputeOperator`` (the
batch workflow's first step) and from :mod:`airflow_provider_mlendpoints.operators`.
Compute clusters are polled in the worker: ``computes`` have no trigger and creation takes
seconds to minutes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..client.resources import ENDPOINT_TERMINAL_STATES
from ._base import poll_until
from ._resource_specs import contains
from ._resources import ResourceOperator, get_or_none, service_errors, workspace_location

if TYPE_CHECKING:
    from airflow.sdk import Context


def _iso_seconds(value: int | float | str) -> str:
    if isinstance(value, str) and value.strip().upper().startswith("P"):
        return value.strip().upper()
    return f"PT{int(float(value))}S"


class CreateAmlComputeOperator(ResourceOperator):
    """Create or update an AmlCompute cluster and wait until it is provisioned.

    :param compute_name: the cluster's name (what deployments reference as ``azureml:<name>``).
    :param vm_size: VM size, e.g. ``STANDARD_DS3_V2``.
    :param min_nodes: nodes kept when idle (0 scales to zero).
    :param max_nodes: upper bound of nodes.
    :param idle_time_before_scale_down: seconds (or ISO 8601) before idle nodes are released.
    :param vm_priority: ``Dedicated`` or ``LowPriority``.
    :param location: Azure region; default: the workspace's.

    Nothing is sent when the cluster already has these settings. Waits in the worker (cluster
    creation has no trigger; it takes seconds when ``min_nodes`` is 0). Returns the cluster's
    ``name``, ``id``, ``vm_size``, ``scale_settings`` and ``provisioning_state``.
    """

    template_fields = (
        "compute_name",
        "vm_size",
        "min_nodes",
        "max_nodes",
        "idle_time_before_scale_down",
        "location",
        "conn_id",
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
        existing = get_or_none(lambda: client.computes.get(name))
        if existing is not None and existing.provisioning_state not in ENDPOINT_TERMINAL_STATES:
            existing = self._wait(name)
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
        compute = self._wait(name)
        if compute.provisioning_state != "Succeeded":
            reason = self.failure_reason("compute", name)
            raise AirflowException(
                f"compute {name!r} provisioning {compute.provisioning_state}"
                + (f": {reason}" if reason else "")
            )
        return self._summary(compute)

    def _wait(self, name: str) -> Any:
        client = self.client
        last: dict[str, Any] = {}

        def to_event(obj: Any) -> dict[str, Any] | None:
            last["obj"] = obj
            return {"status": "done"} if obj.provisioning_state in ENDPOINT_TERMINAL_STATES else None

        event = poll_until(
            lambda: client.computes.get(name),
            to_event,
            lambda obj: {"status": "timeout"},
            lambda exc, obj: {"status": "error", "message": str(exc)},
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            describe=lambda obj: f"compute {name} is {obj.provisioning_state}",
            log=self.log,
        )
        if event["status"] == "timeout":
            raise AirflowException(f"compute {name!r} not provisioned after {self.timeout} s")
        if event["status"] == "error":
            raise AirflowException(f"polling compute {name!r} failed: {event['message']}")
        return last["obj"]

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
