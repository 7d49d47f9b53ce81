"""The self-hosted example DAG on the CeleryExecutor (Redis, two Celery worker processes)."""

from __future__ import annotations

import pytest

from .conftest import read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SLOW_DAG_ID = "stack_slow_scoring"  # tests/integration/stack/dags/stack_slow_scoring.py


@pytest.fixture
def celery_stack(stack):
    """The session's stack switched to CeleryExecutor: 2 workers, 1 task slot each."""
    stack.stack.up(executor="celery", parallelism=2, workers=2, worker_concurrency=1)
    return stack


def test_score_tasks_spread_over_both_celery_workers(celery_stack, tmp_path):
    airflow = celery_stack.airflow
    assert airflow.executor == "CeleryExecutor"
    workers = {f"celery-worker-{i}" for i in (1, 2)}
    assert workers <= set(airflow.services) and all(airflow.running(w) for w in workers)
    hostnames = {celery_stack.stack._worker_env(w)["MLENDPOINTS_STACK_HOSTNAME"] for w in workers}

    # The slow deployment (0.4 s a file, 2 shards): each shard is still busy when the other's task
    # is queued, so neither shard task can finish the whole job (helping) before the second
    # worker takes its task, as the fast sample model could.
    inputs, output = tmp_path / "inputs", tmp_path / "output"
    inputs.mkdir()
    names = [f"item-{i:03d}.txt" for i in range(40)]
    for i, name in enumerate(names):
        (inputs / name).write_text(f"value-{i}\n")
    celery_stack.wait_for_dag(SLOW_DAG_ID)
    run_id = airflow.trigger(SLOW_DAG_ID, conf={"input_path": str(inputs), "output_path": str(output)})
    celery_stack.wait_for_run(SLOW_DAG_ID, run_id)

    tis = celery_stack.task_instances(SLOW_DAG_ID, run_id)
    assert all(ti["state"] == "success" for ti in tis), celery_stack.describe(SLOW_DAG_ID, run_id)
    assert {ti["hostname"] for ti in tis} <= hostnames  # every task ran on a Celery worker
    scores = [ti for ti in tis if ti["task_id"] == "slow.score"]
    assert len(scores) == 2
    assert {ti["hostname"] for ti in scores} == hostnames, [(t["map_index"], t["hostname"]) for t in scores]
    assert [row[0] for row in read_rows(output / "predictions.csv")] == names
