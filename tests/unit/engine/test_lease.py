"""The output lease: a second run on the same output is refused while the first beats; stale leases are taken over."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.engine import OutputBusyError, plan_job, run_local, score_shard

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

CLI = Path(sys.executable).with_name("mlendpoints")
quiet = {"log": lambda line: None}


def _write_lease(out: Path, age: float) -> None:
    (out / "_mlendpoints").mkdir(parents=True, exist_ok=True)
    (out / "_mlendpoints" / "lease.json").write_text(json.dumps(
        {"token": "someone-else", "holder": "mlendpoints score", "host": "other-host", "pid": 4242,
         "beat_ts": time.time() - age}))


def test_a_live_lease_refuses_a_second_run_and_a_stale_one_is_taken_over(tmp_path):
    inputs = make_inputs(tmp_path, 3)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs)
    out = tmp_path / "out"
    _write_lease(out, age=5)
    with pytest.raises(OutputBusyError, match=r"in use by another run \(mlendpoints score, process 4242 on "
                                              r"other-host, last heartbeat \d+ s ago"):
        run_local(job, workers=1, **quiet)
    with pytest.raises(OutputBusyError):
        plan_job(job)
    assert not (out / "_mlendpoints" / "manifest.jsonl").exists()  # refused before anything was written

    _write_lease(out, age=600)  # its run was killed long ago
    summary = run_local(job, workers=1, **quiet)
    assert summary["items"]["succeeded"] == 3
    assert not (out / "_mlendpoints" / "lease.json").exists()  # released at the end


def test_shard_tasks_refuse_an_output_another_run_holds(tmp_path):
    inputs = make_inputs(tmp_path, 3)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs)
    shards = plan_job(job)
    assert not (tmp_path / "out" / "_mlendpoints" / "lease.json").exists()  # plan_job let go of it
    _write_lease(tmp_path / "out", age=1)
    with pytest.raises(OutputBusyError, match="in use by another run"):
        score_shard(job, shards[0], **quiet)


WAITS_FOR_GO = """
import os, time

def run(mini_batch):
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.1)
    return [os.path.basename(p) for p in mini_batch]
"""


@pytest.mark.skipif(not CLI.exists(), reason="the mlendpoints command is not installed")
def test_two_cli_runs_on_one_output(tmp_path):
    make_inputs(tmp_path, 4)
    write_script(tmp_path, WAITS_FOR_GO)
    (tmp_path / "model").mkdir()
    go = tmp_path / "go"
    deployment = tmp_path / "deployment.yml"
    deployment.write_text(
        "name: lease-test\nendpoint_name: ep-1\ntype: model\nmodel:\n  path: model\ncode_configuration:\n"
        f"  code: code\n  scoring_script: score.py\nenvironment_variables:\n  GO: {go}\n"
    )
    args = [str(CLI), "score", "--deployment", str(deployment), "--input", "inputs", "--output", "out"]
    first = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lease = tmp_path / "out" / "_mlendpoints" / "lease.json"
        deadline = time.monotonic() + 60
        while not (tmp_path / "out" / "_mlendpoints" / "plan.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert json.loads(lease.read_text())["host"] == socket.gethostname()
        second = subprocess.run([*args, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert "is in use by another run (run_local / mlendpoints score, process" in second.stderr
        go.write_text("")
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == [f"f{i:03d}.txt" for i in range(4)]
    third = subprocess.run([*args, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr


def test_a_lease_whose_process_on_this_machine_is_gone_is_taken_over_at_once(tmp_path):
    inputs = make_inputs(tmp_path, 2)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "out"
    (out / "_mlendpoints").mkdir(parents=True)
    (out / "_mlendpoints" / "lease.json").write_text(json.dumps(
        {"token": "killed", "holder": "mlendpoints score", "host": socket.gethostname(), "pid": gone.pid,
         "beat_ts": time.time()}))
    assert run_local(job, workers=1, **quiet)["items"]["succeeded"] == 2


def test_a_run_spanning_processes_keeps_its_lease_from_plan_to_collect(tmp_path):
    """Airflow: plan, score and collect tasks of one DAG run share the owner's lease; another run is refused."""
    from dataclasses import replace

    from airflow_provider_mlendpoints.engine import collect_job

    inputs = make_inputs(tmp_path, 4)
    code = write_script(tmp_path, ECHO_SCRIPT)
    first = replace(make_job(tmp_path, code, inputs, mini_batch_size=2), owner="dag/run-1/scoring")
    other = replace(first, owner="dag/run-2/scoring", existing_output="resume")
    lease = tmp_path / "out" / "_mlendpoints" / "lease.json"

    shards = plan_job(first)
    assert json.loads(lease.read_text())["holder"] == "dag/run-1/scoring"  # stays for the score tasks
    with pytest.raises(OutputBusyError, match=r"in use by another run \(dag/run-1/scoring"):
        plan_job(other)
    with pytest.raises(OutputBusyError):
        score_shard(other, shards[0], **quiet)
    assert plan_job(replace(first, existing_output="resume")) == shards  # the same run again (a clear)
    score_shard(first, shards[0], **quiet)
    collect_job(first, **quiet)
    assert not lease.exists()  # the run is over
    assert len(plan_job(other)) == 1
