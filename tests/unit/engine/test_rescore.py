"""Resume scores failed mini-batches again (succeeded ones kept); keep_failed / --keep-failed keeps them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from airflow_provider_mlendpoints.engine import JobFailed, plan_job, run_local, score_shard

from .helpers import make_inputs, make_job, markers, write_script

quiet = {"log": lambda line: None}

# Fails the inputs holding an odd number while the BROKEN flag file exists (a transient cause);
# marks every run() call per file so the test sees what was scored again.
FLAKY = """
import os, uuid

def run(mini_batch):
    mark = os.environ["MARK_DIR"]
    for p in mini_batch:
        open(os.path.join(mark, "run-" + os.path.basename(p) + "-" + uuid.uuid4().hex), "w").close()
        if os.path.exists(os.environ["BROKEN"]) and int(open(p).read()) % 2:
            raise ValueError("odd input " + os.path.basename(p))
    return [os.path.basename(p) for p in mini_batch]
"""


def _setup(tmp_path):
    inputs = make_inputs(tmp_path, 8)
    code = write_script(tmp_path, FLAKY)
    mark = tmp_path / "marks"
    mark.mkdir()
    broken = tmp_path / "broken"
    broken.write_text("")
    job = make_job(tmp_path, code, inputs, mini_batch_size=2, retry=(0, 30), error_threshold=-1,
                   environment_variables={"MARK_DIR": str(mark), "BROKEN": str(broken)})
    return job, mark, broken


def _runs(mark, name):
    return len(markers(mark, f"run-{name}-"))


def test_resume_scores_failed_mini_batches_again_and_keeps_succeeded(tmp_path):
    job, mark, broken = _setup(tmp_path)
    with pytest.raises(JobFailed) as failed:
        run_local(job, workers=1, **quiet)
    first = failed.value.summary
    assert first["items"] == {"total": 8, "succeeded": 0, "failed": 8}  # every mini-batch has an odd input
    first_calls = {f"f{i:03d}.txt": _runs(mark, f"f{i:03d}.txt") for i in range(8)}

    broken.unlink()  # the transient cause is fixed
    lines = []
    summary = run_local(replace(job, existing_output="resume"), workers=1, log=lines.append)
    assert summary["status"] == "Completed"
    assert summary["items"] == {"total": 8, "succeeded": 8, "failed": 0}
    assert summary["mini_batches"]["rescored"] == 4
    assert summary["rescored_mini_batches"] == ["00000000", "00000001", "00000002", "00000003"]
    assert any("failed in an earlier run again" in line for line in lines), lines
    out = tmp_path / "out"
    assert (out / "predictions.csv").read_text().splitlines() == [f"f{i:03d}.txt" for i in range(8)]
    report = json.loads((out / "_mlendpoints" / "report" / "summary.json").read_text())
    assert report["rescored_mini_batches"] == summary["rescored_mini_batches"]
    # A third run: nothing failed any more, nothing is scored again and the summary says so.
    calls = {f"f{i:03d}.txt": _runs(mark, f"f{i:03d}.txt") for i in range(8)}
    assert all(calls[name] == first_calls[name] + 1 for name in calls)
    third = run_local(replace(job, existing_output="resume"), workers=1, **quiet)
    assert third["rescored_mini_batches"] == [] and third["items"]["succeeded"] == 8
    assert {f"f{i:03d}.txt": _runs(mark, f"f{i:03d}.txt") for i in range(8)} == calls


def test_partly_failed_run_rescores_only_the_failures(tmp_path):
    job, mark, broken = _setup(tmp_path)
    job = replace(job, deployment=replace(job.deployment, mini_batch_size=1))
    run_local(job, workers=2, **quiet)
    broken.unlink()
    summary = run_local(replace(job, existing_output="resume"), workers=2, **quiet)
    assert summary["rescored_mini_batches"] == ["00000001", "00000003", "00000005", "00000007"]
    assert summary["items"]["succeeded"] == 8
    for i in range(8):  # even inputs succeeded the first time: scored once; odd ones twice
        assert _runs(mark, f"f{i:03d}.txt") == (2 if i % 2 else 1)


def test_keep_failed_keeps_the_failures(tmp_path):
    job, mark, broken = _setup(tmp_path)
    with pytest.raises(JobFailed):
        run_local(job, workers=1, **quiet)
    broken.unlink()
    with pytest.raises(JobFailed) as kept:
        run_local(replace(job, existing_output="resume", rescore_failed=False), workers=1, **quiet)
    summary = kept.value.summary
    assert summary["items"] == {"total": 8, "succeeded": 0, "failed": 8}
    assert summary["rescored_mini_batches"] == []
    assert all(_runs(mark, f"f{i:03d}.txt") <= 1 for i in range(8))


def test_a_shard_task_run_again_rescores_its_failures(tmp_path):
    """What clearing the score task in Airflow does: the shard scores its failed mini-batches again."""
    job, mark, broken = _setup(tmp_path)
    shards = plan_job(replace(job, deployment=replace(job.deployment, instance_count=2)), max_shards=2)
    for shard in shards:
        score_shard(job, shard, log=lambda line: None, help_others=False)
    broken.unlink()
    again = score_shard(job, shards[0], log=lambda line: None, help_others=False)
    assert again["rescored"] == 2 and again["succeeded_items"] == 4
    kept = score_shard(replace(job, rescore_failed=False), shards[1], log=lambda line: None, help_others=False)
    assert kept["rescored"] == 0 and kept["scored"] == 0
