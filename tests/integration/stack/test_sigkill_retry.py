"""SIGKILL a running score task's process; Airflow retries it; output complete, each input once."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from .conftest import read_rows

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DAG_ID = "stack_slow_scoring"  # tests/integration/stack/dags/stack_slow_scoring.py: 2 shards, retries=1


def _task_process(ti_id: str) -> psutil.Process | None:
    """The Airflow task process of a task instance (its title is ``airflow worker -- <ti id>``)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "airflow worker --" in cmdline and ti_id in cmdline:
            return proc
    return None


def test_sigkilled_score_task_is_retried_exactly_once(local_stack, tmp_path):
    inputs, output = tmp_path / "inputs", tmp_path / "output"
    inputs.mkdir()
    names = [f"item-{i:03d}.txt" for i in range(40)]
    for i, name in enumerate(names):
        (inputs / name).write_text(f"value-{i}\n")
    local_stack.wait_for_dag(DAG_ID)
    run_id = local_stack.airflow.trigger(DAG_ID, conf={"input_path": str(inputs), "output_path": str(output)})

    # Wait for a running score task that has written at least two mini-batches, then kill -9 it.
    parts = output / "_mlendpoints" / "parts"
    victim = process = None
    deadline = time.monotonic() + 240
    while victim is None and time.monotonic() < deadline:
        running = [
            ti
            for ti in local_stack.task_instances(DAG_ID, run_id)
            if ti["task_id"] == "slow.score" and ti["state"] == "running"
        ]
        written = len(list(parts.glob("*"))) if parts.exists() else 0
        if running and written >= 2:
            process = _task_process(running[0]["id"])
            if process is not None:
                victim = running[0]
                break
        time.sleep(0.2)
    assert victim is not None, local_stack.describe(DAG_ID, run_id)
    parts_before = {p.name for p in parts.iterdir()}
    children = process.children(recursive=True)
    os.kill(process.pid, signal.SIGKILL)
    time.sleep(1)
    survivors = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    print(f"killed task process {process.pid}; scoring children {[c.pid for c in children]}, alive 1 s later: {survivors}")

    run = local_stack.wait_for_run(DAG_ID, run_id)
    assert run["state"] == "success"
    tis = {(t["task_id"], t["map_index"]): t for t in local_stack.task_instances(DAG_ID, run_id)}
    killed = tis[("slow.score", victim["map_index"])]
    assert killed["try_number"] == 2, local_stack.describe(DAG_ID, run_id)
    others = [t for key, t in tis.items() if key != ("slow.score", victim["map_index"])]
    assert all(t["try_number"] == 1 and t["state"] == "success" for t in others)
    # the retry resumed: the mini-batches finished before the kill were kept, not scored again
    retry_log = local_stack.task_log(DAG_ID, run_id, killed, try_number=2)
    assert "already finished" in retry_log, retry_log[-3000:]

    rows = read_rows(output / "predictions.csv")
    assert [row[0] for row in rows] == names  # every input exactly once, in order
    assert [row[1] for row in rows] == [f"value-{i}" for i in range(40)]
    assert parts_before <= {p.name for p in parts.iterdir()}
