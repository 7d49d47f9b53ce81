"""The self-hosted example DAG on the CeleryExecutor (Redis, two Celery worker processes)."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLE_DAG_ID, read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.fixture
def celery_stack(stack):
    """The session's stack switched to CeleryExecutor: 2 workers, 1 task slot each."""
    stack.stack.up(executor="celery", parallelism=2, workers=2, worker_concurrency=1)
    return stack


def test_score_tasks_spread_over_both_celery_workers(celery_stack, make_inputs, tmp_path):
    airflow = celery_stack.airflow
    assert airflow.executor == "CeleryExecutor"
    workers = {f"celery-worker-{i}" for i in (1, 2)}
    assert workers <= set(airflow.services) and all(airflow.running(w) for w in workers)
    hostnames = {celery_stack.stack._worker_env(w)["MLENDPOINTS_STACK_HOSTNAME"] for w in workers}

    inputs, output = tmp_path / "inputs", tmp_path / "output"
    names = make_inputs(inputs, 80)
    celery_stack.wait_for_dag(EXAMPLE_DAG_ID)
    run_id = airflow.trigger(
        EXAMPLE_DAG_ID, conf={"input_path": str(inputs), "output_path": str(output), "mini_batch_size": 10}
    )
    celery_stack.wait_for_run(EXAMPLE_DAG_ID, run_id)

    tis = celery_stack.task_instances(EXAMPLE_DAG_ID, run_id)
    assert all(ti["state"] == "success" for ti in tis)
    assert {ti["hostname"] for ti in tis} <= hostnames  # every task ran on a Celery worker
    scores = [ti for ti in tis if ti["task_id"] == "score_digits.score"]
    assert len(scores) >= 2
    assert {ti["hostname"] for ti in scores} == hostnames, [(t["map_index"], t["hostname"]) for t in scores]
    assert [row[0] for row in read_rows(output / "predictions.csv")] == names
