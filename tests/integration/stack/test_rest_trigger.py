"""Trigger the self-hosted example DAG through Airflow's REST API with Params, as the UI does."""

from __future__ import annotations

import json

import pytest

from .conftest import EXAMPLE_DAG_ID, read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_rest_trigger_with_params_scores_every_shard(local_stack, make_inputs, tmp_path):
    inputs, output = tmp_path / "inputs", tmp_path / "output"
    names = make_inputs(inputs, 120)
    local_stack.wait_for_dag(EXAMPLE_DAG_ID)

    # The UI's trigger form: POST /api/v2/dags/{dag_id}/dagRuns with the Params as conf.
    run_id = local_stack.airflow.trigger(
        EXAMPLE_DAG_ID,
        conf={"input_path": str(inputs), "output_path": str(output), "mini_batch_size": 8},
    )
    run = local_stack.wait_for_run(EXAMPLE_DAG_ID, run_id)
    assert run["conf"]["mini_batch_size"] == 8

    tis = local_stack.task_instances(EXAMPLE_DAG_ID, run_id)
    scores = [ti for ti in tis if ti["task_id"] == "score_digits.score"]
    assert len(scores) >= 2, "the plan should cut several shards"
    assert all(ti["state"] == "success" for ti in tis), [(t["task_id"], t["state"]) for t in tis]
    # one task process per shard (that they run at the same time: test_parallel_shards.py)
    assert len({ti["pid"] for ti in scores}) == len(scores)

    # the Params took effect: our folders, our mini-batch size (120 files / 8 = 15 mini-batches)
    summary = json.loads((output / "_mlendpoints" / "report" / "summary.json").read_text())
    assert summary["status"] == "Completed"
    assert summary["mini_batches"] == {"total": 15, "succeeded": 15, "partial": 0, "failed": 0, "rescored": 0}
    rows = read_rows(output / "predictions.csv")
    assert [row[0] for row in rows] == names  # complete, exactly once, in input order
    assert all(row[1].isdigit() for row in rows)
