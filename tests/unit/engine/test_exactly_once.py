"""Ordered output, exactly-once rows, resume of only unfinished mini-batches."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_mlendpoints.engine import JobIncomplete, collect_job, plan_job, run_local, score_shard

from .helpers import ECHO_SCRIPT, make_inputs, make_job, markers, write_script

quiet = {"log": lambda line: None}

UNEVEN_SCRIPT = """
import os, random, time

def run(mini_batch):
    time.sleep(random.choice([0, 0, 0.05, 0.15]))
    return [f"{os.path.basename(p)} {open(p).read()}" for p in mini_batch]
"""

# Kills its own process (SIGKILL) the first time it sees each file.
KILL_SCRIPT = """
import os, signal

def run(mini_batch):
    rows = []
    for p in mini_batch:
        sentinel = os.path.join(os.environ["SENTINEL_DIR"], os.path.basename(p))
        if not os.path.exists(sentinel):
            open(sentinel, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        rows.append(f"{os.path.basename(p)} {open(p).read()}")
    return rows
"""


def expected(n):
    return [f"f{i:03d}.txt {i}" for i in range(n)]


def test_rows_in_input_order_with_several_workers_and_uneven_times(tmp_path):
    code = write_script(tmp_path, UNEVEN_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 40), mini_batch_size=1)
    run_local(job, workers=3, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(40)


def test_shard_scored_twice_concurrently_gives_rows_once(tmp_path):
    code = write_script(tmp_path, UNEVEN_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 12), mini_batch_size=2)
    (shard,) = plan_job(job)
    threads = [threading.Thread(target=score_shard, args=(job, shard), kwargs=quiet) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    score_shard(job, shard, **quiet)  # and once more, sequentially: everything is skipped
    collect_job(job, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(12)


def test_child_killed_mid_run_rows_exactly_once(tmp_path, monkeypatch):
    sentinels = tmp_path / "sentinels"
    sentinels.mkdir()
    monkeypatch.setenv("SENTINEL_DIR", str(sentinels))
    code = write_script(tmp_path, KILL_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 6), mini_batch_size=2, retry=(3, 30))
    logs: list[str] = []
    summary = run_local(job, workers=2, log=logs.append)
    assert summary["items"] == {"total": 6, "succeeded": 6, "failed": 0}
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(6)
    assert any("died during run()" in line for line in logs)


def test_resume_scores_only_unfinished_mini_batches(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARK_DIR", str(marks))
    code = write_script(tmp_path, ECHO_SCRIPT)
    inputs = make_inputs(tmp_path, 20)
    job = make_job(tmp_path, code, inputs, mini_batch_size=2, instance_count=6)
    shards = plan_job(job)
    assert len(shards) == 6
    for shard in shards[:3]:
        score_shard(job, shard, help_others=False, **quiet)
    done_runs = len(markers(marks, "run-"))
    with pytest.raises(JobIncomplete) as info:
        collect_job(job, **quiet)
    assert info.value.shards == [3, 4, 5]
    assert "unfinished" in str(info.value)

    resumed = make_job(tmp_path, code, inputs, mini_batch_size=2, instance_count=6,
                       job_kw={"existing_output": "resume"})
    summary = run_local(resumed, workers=2, **quiet)
    assert summary["items"]["succeeded"] == 20
    assert len(markers(marks, "run-")) == 10  # 10 mini-batches, each run() exactly once overall
    assert done_runs == 5
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(20)
