"""Blue/green rollout of a managed online endpoint, step by step, as Airflow tasks.

1. ``create_endpoint`` (``sample_online_endpoint/endpoint.yml``) and
   ``create_blue`` (``blue-deployment.yml``: its local model and code uploaded and
   registered), then ``blue_takes_all`` traffic (100 %).
2. ``check_blue``: a deferrable sensor confirms blue is provisioned.
3. ``blue_logs``: the last lines of blue's inference-server log.
4. ``score_blue``: invoke the endpoint with ``sample-request.json``.
5. ``create_green`` beside it (0 % traffic) and ``test_green``: score green by name.
6. ``mirror_to_green``: copy 20 % of live traffic to green (answers discarded).
7. Shift live traffic 10 % -> 50 % -> 100 % to green (mirroring stops at the
   first shift), scoring the endpoint after every step.
8. ``green_is_live``: check that the endpoint now answers from green.
9. ``scale_green``: update one aspect of green (``instance_count`` 2) with the
   same YAML and an override, nothing else changed.
10. ``delete_blue``, then ``delete_endpoint`` (skipped when the
    ``delete_endpoint`` param is false).

Every step is idempotent: re-running the DAG leaves one endpoint with the same
deployments and split. Keys are never logged or put in XCom.

Where it runs: the ``azure_ml_endpoints_default`` connection, pointed at a real
workspace or at the offline emulator (docs/operators.md).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_mlendpoints.operators.online import (
    CreateOrUpdateOnlineDeploymentOperator,
    CreateOrUpdateOnlineEndpointOperator,
    DeleteOnlineDeploymentOperator,
    DeleteOnlineEndpointOperator,
    GetOnlineDeploymentLogsOperator,
    InvokeOnlineEndpointOperator,
    SetOnlineTrafficOperator,
)
from airflow_provider_mlendpoints.sensors.provisioning import ProvisioningStateSensor

SAMPLE = Path(__file__).resolve().parent / "sample_online_endpoint"
ENDPOINT = "{{ params.endpoint_name }}"
REQUEST = str(SAMPLE / "sample-request.json")
#: Seconds between state checks while waiting (the emulator answers in well under a second).
POLL_INTERVAL = float(os.environ.get("MLENDPOINTS_POLL_INTERVAL") or 10)

with DAG(
    dag_id="example_online_rollout",
    description="Managed online endpoint: blue/green rollout by shifting traffic, then cleanup",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["example", "mlendpoints", "azure", "online"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "poll_interval": POLL_INTERVAL},
    params={
        "endpoint_name": Param(
            "rollout-demo",
            type="string",
            title="Endpoint name",
            description="Online endpoint name (unique per region).",
        ),
        "delete_endpoint": Param(
            True, type="boolean", title="Delete endpoint", description="Delete the endpoint at the end."
        ),
    },
) as dag:
    create_endpoint = CreateOrUpdateOnlineEndpointOperator(
        task_id="create_endpoint", spec=str(SAMPLE / "endpoint.yml"), endpoint_name=ENDPOINT
    )
    create_blue = CreateOrUpdateOnlineDeploymentOperator(
        task_id="create_blue", spec=str(SAMPLE / "blue-deployment.yml"), endpoint_name=ENDPOINT
    )
    blue_takes_all = SetOnlineTrafficOperator(
        task_id="blue_takes_all", endpoint_name=ENDPOINT, traffic={"blue": 100}
    )
    check_blue = ProvisioningStateSensor(
        task_id="check_blue",
        resource="online_deployment",
        endpoint_name=ENDPOINT,
        deployment_name="blue",
        deferrable=True,
        timeout=1800,
    )
    score_blue = InvokeOnlineEndpointOperator(
        task_id="score_blue", endpoint_name=ENDPOINT, request_file=REQUEST
    )
    blue_logs = GetOnlineDeploymentLogsOperator(
        task_id="blue_logs", endpoint_name=ENDPOINT, deployment_name="blue", tail=20
    )
    create_green = CreateOrUpdateOnlineDeploymentOperator(
        task_id="create_green", spec=str(SAMPLE / "green-deployment.yml"), endpoint_name=ENDPOINT
    )
    test_green = InvokeOnlineEndpointOperator(
        task_id="test_green", endpoint_name=ENDPOINT, request_file=REQUEST, deployment_name="green"
    )
    mirror_to_green = SetOnlineTrafficOperator(
        task_id="mirror_to_green", endpoint_name=ENDPOINT, mirror_traffic={"green": 20}
    )

    create_endpoint >> create_blue >> blue_takes_all >> check_blue >> score_blue >> blue_logs
    blue_logs >> create_green >> test_green >> mirror_to_green
    previous = mirror_to_green
    for percent in (10, 50, 100):
        shift = SetOnlineTrafficOperator(
            task_id=f"green_{percent}",
            endpoint_name=ENDPOINT,
            traffic={"blue": 100 - percent, "green": percent} if percent < 100 else {"green": 100},
            mirror_traffic={},
        )
        check = InvokeOnlineEndpointOperator(
            task_id=f"score_at_{percent}", endpoint_name=ENDPOINT, request_file=REQUEST
        )
        previous >> shift >> check
        previous = check

    @task
    def green_is_live(answer: dict[str, Any]) -> str:
        """With all traffic on green, the endpoint must answer from green's model."""
        if answer.get("deployment") != "green" or answer.get("model_version") != 2:
            raise ValueError(f"expected green (model version 2) to answer, got {answer}")
        return "green"

    live = green_is_live(previous.output)
    scale_green = CreateOrUpdateOnlineDeploymentOperator(
        task_id="scale_green",
        spec=str(SAMPLE / "green-deployment.yml"),
        endpoint_name=ENDPOINT,
        overrides={"instance_count": 2},
    )
    delete_blue = DeleteOnlineDeploymentOperator(
        task_id="delete_blue", endpoint_name=ENDPOINT, deployment_name="blue"
    )

    @task.short_circuit
    def cleanup_wanted(delete_endpoint: Any) -> bool:
        """Keep the endpoint when the ``delete_endpoint`` param is false."""
        return str(delete_endpoint).lower() not in ("false", "0", "")

    delete_endpoint = DeleteOnlineEndpointOperator(task_id="delete_endpoint", endpoint_name=ENDPOINT)
    live >> scale_green >> delete_blue >> cleanup_wanted("{{ params.delete_endpoint }}") >> delete_endpoint
