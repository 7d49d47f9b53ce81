"""The score tasks of one run execute at the same time, each in its own task and scoring process."""

from __future__ import annotations

import pytest

from .conftest import read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DAG_ID = "stack_parallel_scoring"  # tests/integration/stack/dags/stack_parallel_scoring.py: a 2-process barrier


def test_both_shards_score_at_the_same_time(local_stack, tmp_path):
    inputs, output, barrier = tmp_path / "inputs", tmp_path / "output", tmp_path / "barrier"
    inputs.mkdir()
    names = [f"item-{i:03d}.txt" for i in range(24)]
    for i, name in enumerate(names):
        (inputs / name).write_text(f"value-{i}\n")
    local_stack.wait_for_dag(DAG_ID)

    run_id = local_stack.airflow.trigger(
        DAG_ID, conf={"input_path": str(inputs), "output_path": str(output), "barrier_dir": str(barrier)}
    )
    # Each scoring process's init() waits for the other's (120 s at most, no retries): success
    # means the two shard tasks' processes were alive together (instance_count 2, 4 slots).
    local_stack.wait_for_run(DAG_ID, run_id)
    tis = local_stack.task_instances(DAG_ID, run_id)
    scores = [ti for ti in tis if ti["task_id"] == "parallel.score"]
    assert sorted(ti["map_index"] for ti in scores) == [0, 1]
    assert all(ti["state"] == "success" and ti["try_number"] == 1 for ti in tis), local_stack.describe(DAG_ID, run_id)
    assert len({ti["pid"] for ti in scores}) == 2
    assert len(list(barrier.iterdir())) == 2  # one scoring process per shard task, none replaced

    rows = read_rows(output / "predictions.csv")
    assert [row[0] for row in rows] == names
    assert [row[1] for row in rows] == [f"value-{i}" for i in range(24)]
