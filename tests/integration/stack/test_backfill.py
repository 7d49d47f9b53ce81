"""Backfill the scheduled example DAG over three dates; clear one date's score and collect; resume."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import EXAMPLE_DAG_ID, read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DATES = {"2026-01-10": 20, "2026-01-11": 30, "2026-01-12": 40}  # logical date -> input files


def _backfill_runs(local_stack) -> dict[str, dict]:
    runs = local_stack.airflow.api("GET", f"/dags/{EXAMPLE_DAG_ID}/dagRuns?run_type=backfill&limit=100")
    return {run["logical_date"][:10]: run for run in runs["dag_runs"]}


def _wait_for_backfill(local_stack, timeout: float = 480) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _backfill_runs(local_stack)
        if set(DATES) <= set(runs) and all(runs[d]["state"] in ("success", "failed") for d in DATES):
            return runs
        time.sleep(2)
    pytest.fail(f"backfill not finished after {timeout:.0f}s: {_backfill_runs(local_stack)}")


def _part_files(output) -> dict[str, tuple[int, int]]:
    """Each finished mini-batch's part file: name -> (inode, mtime in ns)."""
    parts = output / "_mlendpoints" / "parts"
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in parts.iterdir() if p.is_file()}


def test_backfill_three_dates_then_clear_and_resume(local_stack, make_inputs):
    demo = local_stack.demo_dir
    expected = {ds: make_inputs(demo / "inputs" / ds, count) for ds, count in DATES.items()}
    local_stack.wait_for_dag(EXAMPLE_DAG_ID)
    # DAGs start paused on the stack, and the scheduler leaves a paused DAG's backfill runs queued.
    local_stack.airflow.api("PATCH", f"/dags/{EXAMPLE_DAG_ID}", {"is_paused": False})

    local_stack.cli(
        "backfill", "create", "--dag-id", EXAMPLE_DAG_ID,
        "--from-date", min(DATES), "--to-date", max(DATES), "--max-active-runs", "3",
    )  # fmt: skip
    runs = _wait_for_backfill(local_stack)
    for ds in DATES:
        assert runs[ds]["state"] == "success", local_stack.describe(EXAMPLE_DAG_ID, runs[ds]["dag_run_id"])

    # three runs, three separate outputs keyed by the logical date
    for ds, names in expected.items():
        rows = read_rows(demo / "outputs" / ds / "predictions.csv")
        assert [row[0] for row in rows] == names, ds

    # Clear one date's score and collect tasks after losing two finished mini-batches and the
    # merged output: the re-run scores only the missing mini-batches and rebuilds the output.
    ds = "2026-01-11"
    output = demo / "outputs" / ds
    run_id = runs[ds]["dag_run_id"]
    parts = _part_files(output)
    planned = json.loads((output / "_mlendpoints" / "plan.json").read_text())
    lost = sorted(parts)[:2]
    for name in lost:
        (output / "_mlendpoints" / "parts" / name).unlink()
    (output / "predictions.csv").unlink()
    local_stack.airflow.api(
        "POST",
        f"/dags/{EXAMPLE_DAG_ID}/clearTaskInstances",
        {
            "dag_run_id": run_id,
            "task_ids": ["score_digits.score", "score_digits.collect"],
            "only_failed": False,
            "reset_dag_runs": True,
            "dry_run": False,
        },
    )
    local_stack.wait_for_run(EXAMPLE_DAG_ID, run_id)
    tis = local_stack.task_instances(EXAMPLE_DAG_ID, run_id)
    tries = {(ti["task_id"], ti["map_index"]): ti["try_number"] for ti in tis}
    assert "score_digits.plan" not in {task for task, _ in tries}  # the score tasks planned
    # the re-run used the plan its run made first
    assert json.loads((output / "_mlendpoints" / "plan.json").read_text())["created_ts"] == planned["created_ts"]
    assert tries[("score_digits.collect", -1)] == 2
    assert all(n == 2 for (task, _), n in tries.items() if task == "score_digits.score"), tries

    rows = read_rows(output / "predictions.csv")
    assert [row[0] for row in rows] == expected[ds]  # complete, no duplicate rows
    after = _part_files(output)
    assert set(after) == set(parts)
    kept = {name: stat for name, stat in parts.items() if name not in lost}
    assert {name: after[name] for name in kept} == kept  # finished mini-batches were not scored again
    # the other dates were not touched
    for other in set(DATES) - {ds}:
        assert [r[0] for r in read_rows(demo / "outputs" / other / "predictions.csv")] == expected[other]
