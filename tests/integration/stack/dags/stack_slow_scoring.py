"""Test DAG of the stack integration tests (tests/integration/stack/): a slow self-hosted scoring job.

Two shards of slow mini-batches, one retry after 2 seconds: the SIGKILL test kills a
running score task's process and lets Airflow retry it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

with DAG(
    dag_id="stack_slow_scoring",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"input_path": Param("", type="string"), "output_path": Param("", type="string")},
):
    self_hosted_batch_scoring(
        "slow",
        deployment=str(Path(__file__).resolve().parent / "slow_deployment" / "deployment.yml"),
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        max_shards=2,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )
