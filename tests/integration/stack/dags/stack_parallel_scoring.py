"""Test DAG of the stack integration tests (tests/integration/stack/): shards that must run at once.

The slow deployment with its scoring script's barrier on: each scoring process's init()
waits until both shard tasks' processes have started (``params.barrier_dir``), and fails
after 120 s. No retries, so a run succeeds only when the two score tasks ran in parallel.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

with DAG(
    dag_id="stack_parallel_scoring",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "input_path": Param("", type="string"),
        "output_path": Param("", type="string"),
        "barrier_dir": Param("", type="string"),
    },
):
    self_hosted_batch_scoring(
        "parallel",
        deployment=str(Path(__file__).resolve().parent / "slow_deployment" / "deployment.yml"),
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        overrides={
            "environment_variables.BARRIER_DIR": "{{ params.barrier_dir }}",
            "environment_variables.BARRIER_PROCESSES": "2",
            "environment_variables.SLOW_SECONDS_PER_FILE": "0.05",
            "retry_settings.max_retries": 0,
        },
        max_shards=2,
    )
