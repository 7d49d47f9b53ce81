"""An Azure-mode DAG against the workspace emulator: its sensor defers to the real triggerer and resumes."""

from __future__ import annotations

import time

import pytest

from .conftest import read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DAG_ID = "stack_azure_scoring"  # tests/integration/stack/dags/stack_azure_scoring.py


def test_sensor_defers_to_the_triggerer_and_resumes(local_stack, tmp_path):
    inputs, result = tmp_path / "inputs", tmp_path / "result" / "predictions.csv"
    inputs.mkdir()
    names = [f"item-{i:03d}.txt" for i in range(30)]
    for i, name in enumerate(names):
        (inputs / name).write_text(f"value-{i}\n")
    local_stack.wait_for_dag(DAG_ID)
    airflow = local_stack.airflow
    run_id = airflow.trigger(DAG_ID, conf={"input_path": str(inputs), "result_path": str(result)})

    seen: dict[str, set[str]] = {}
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        for ti in local_stack.task_instances(DAG_ID, run_id):
            seen.setdefault(ti["task_id"], set()).add(str(ti["state"]))
        state = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        if state in ("success", "failed"):
            break
        time.sleep(0.3)
    run = local_stack.wait_for_run(DAG_ID, run_id, timeout=30)
    assert run["state"] == "success"

    # the sensor waited in the triggerer (no worker slot), then resumed in the same try
    assert "deferred" in seen["wait_for_job"], seen
    tis = {ti["task_id"]: ti for ti in local_stack.task_instances(DAG_ID, run_id)}
    assert all(ti["state"] == "success" for ti in tis.values()), local_stack.describe(DAG_ID, run_id)
    sensor = tis["wait_for_job"]
    assert sensor["try_number"] == 1 and sensor["hostname"]
    log = local_stack.task_log(DAG_ID, run_id, sensor)
    assert "Completed" in log, log[-3000:]

    rows = read_rows(result)
    assert sorted(row[0] for row in rows) == names  # every input scored once by the emulator's job
