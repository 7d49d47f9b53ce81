"""Benchmark: the two documented Azure-mode workflows on the no-Docker stack (the emulator).

Starts ``scripts/stack`` in a private state folder (LocalExecutor, PostgreSQL, Azurite, the
emulator with its stack settings), triggers ``example_batch_endpoint`` (the batch workflow) and
``example_online_rollout`` (the blue/green rollout) one after the other through the REST API
with the DAGs' default settings, and reports each run's wall time (start to end, as Airflow
recorded it), its state and its five slowest tasks. The stack is stopped at the end.

Human-readable lines first; the last line is one JSON object with the figures.
``--keep DIR`` reuses (and keeps) a stack state folder; ``--env KEY=VALUE`` sets environment
variables of the Airflow processes (e.g. ``MLENDPOINTS_POLL_INTERVAL=1``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

WORKFLOWS = {
    "batch workflow": ("example_batch_endpoint", "digits-batch"),
    "online rollout": ("example_online_rollout", "rollout-demo"),
}


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run_workflow(stack: Any, dag_id: str, endpoint: str) -> dict[str, Any]:
    """Trigger ``dag_id`` once (a fresh endpoint name), wait, return its timings."""
    airflow = stack.airflow()
    airflow.wait_for_dag(dag_id, timeout=240)
    run_id = airflow.trigger(dag_id, conf={"endpoint_name": f"{endpoint}-{int(time.time())}"})
    run = airflow.wait_for_run(dag_id, run_id, timeout=1500)
    tis = airflow.task_instances(dag_id, run_id)
    durations = sorted(
        (
            (_seconds(ti["end_date"]) - _seconds(ti["start_date"]), ti["task_id"])
            for ti in tis
            if ti.get("start_date") and ti.get("end_date")
        ),
        reverse=True,
    )
    start, end = _seconds(run.get("start_date")), _seconds(run.get("end_date"))
    return {
        "dag_id": dag_id,
        "state": run["state"],
        "seconds": round(end - start, 1) if start and end else None,
        "tasks": len(tis),
        "slowest_tasks": [{"task_id": t, "seconds": round(s, 1)} for s, t in durations[:5]],
        "not_succeeded": sorted(f"{ti['task_id']}={ti['state']}" for ti in tis if ti["state"] != "success"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", default=None, help="stack state folder to reuse and keep")
    parser.add_argument("--env", action="append", default=None, metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    from stack_services import Stack

    state_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlendpoints-bench-stack-"))
    stack = Stack(state_dir)
    env = dict(item.split("=", 1) for item in args.env) if args.env else None
    results: dict[str, Any] = {}
    try:
        started = time.monotonic()
        stack.up(executor="local", parallelism=4, env=env)
        print(f"stack up in {time.monotonic() - started:.0f} s ({state_dir})", flush=True)
        for label, (dag_id, endpoint) in WORKFLOWS.items():
            result = run_workflow(stack, dag_id, endpoint)
            results[label] = result
            slowest = ", ".join(f"{t['task_id']} {t['seconds']} s" for t in result["slowest_tasks"])
            print(f"{label} ({dag_id}): {result['seconds']} s, {result['state']}; slowest: {slowest}", flush=True)
            if result["not_succeeded"]:
                print(f"  tasks not succeeded: {', '.join(result['not_succeeded'])}", flush=True)
    finally:
        stack.down()
        if not args.keep:
            shutil.rmtree(state_dir, ignore_errors=True)
    print(json.dumps({"workflows": results, "env": env or {}}))
    return 0 if all(r["state"] == "success" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
