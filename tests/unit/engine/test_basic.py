"""End-to-end basics: plan, score shards, collect, Azure's default output format."""

from __future__ import annotations

import json
import time

from airflow_provider_mlendpoints.engine import collect_job, plan_job, run_local, score_shard

from .helpers import ECHO_SCRIPT, make_inputs, make_job, markers, write_script


def test_plan_score_collect_in_input_order(tmp_path, monkeypatch):
    code = write_script(tmp_path, ECHO_SCRIPT)
    inputs = make_inputs(tmp_path, 23)
    job = make_job(tmp_path, code, inputs, mini_batch_size=4, instance_count=6, max_concurrency_per_instance=2)
    shards = plan_job(job, max_shards=4)  # one shard per instance, capped
    assert [s["shard"] for s in shards] == [0, 1, 2, 3]
    assert shards[0]["first"] == 0 and shards[-1]["last"] == 5
    assert sum(s["mini_batches"] for s in shards) == 6
    json.dumps(shards)
    # The last shard runs alone first: it scores its own range, then helps the others.
    first_run = score_shard(job, shards[-1], log=lambda m: None)
    assert first_run["scored"] == 6 and first_run["helped_mini_batches"] == 6 - shards[-1]["mini_batches"]
    for shard in reversed(shards[:-1]):
        counts = score_shard(job, shard, log=lambda m: None)
        assert counts["scored"] == 0 and counts["skipped"] == shard["mini_batches"]
    summary = collect_job(job, log=lambda m: None)
    assert summary["status"] == "Completed"
    assert summary["items"] == {"total": 23, "succeeded": 23, "failed": 0}
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert lines == [f"f{i:03d}.txt {i}" for i in range(23)]
    saved = json.loads((tmp_path / "out" / "_mlendpoints" / "report" / "summary.json").read_text())
    assert saved["status"] == "Completed"


def test_run_local_init_once_per_process(tmp_path, monkeypatch):
    mark = tmp_path / "marks"
    mark.mkdir()
    monkeypatch.setenv("MARK_DIR", str(mark))
    code = write_script(tmp_path, ECHO_SCRIPT)
    inputs = make_inputs(tmp_path, 30)
    job = make_job(tmp_path, code, inputs, mini_batch_size=3)
    summary = run_local(job, workers=2, log=lambda m: None)
    assert summary["items"]["succeeded"] == 30
    inits = markers(mark, "init-")
    runs = markers(mark, "run-")
    assert len(runs) == 10
    assert 1 <= len(inits) <= 2
    assert len({name.split("-")[1] for name in inits}) == len(inits)  # one init per process


def test_score_shard_counts_are_json_and_a_stale_shard_ref_is_refused(tmp_path):
    import pytest

    from airflow_provider_mlendpoints.engine import InputError

    code = write_script(tmp_path, ECHO_SCRIPT)
    inputs = make_inputs(tmp_path, 4)
    job = make_job(tmp_path, code, inputs, mini_batch_size=2)
    (shard,) = plan_job(job)
    counts = score_shard(job, shard, log=lambda m: None)
    assert json.loads(json.dumps(counts)) == counts
    assert counts["scored"] == 2 and counts["succeeded_items"] == 4 and counts["skipped"] == 0
    assert score_shard(job, shard, log=lambda m: None)["skipped"] == 2
    with pytest.raises(InputError, match="another plan"):
        score_shard(job, {**shard, "plan": "0123456789abcdef"}, log=lambda m: None)
    with pytest.raises(InputError, match="bad shard reference"):
        score_shard(job, {"first": 0}, log=lambda m: None)


def test_processes_started_before_the_plan_run_init_meanwhile_and_then_score(tmp_path, monkeypatch):
    from airflow_provider_mlendpoints.engine.shard import scoring_processes_started

    mark = tmp_path / "marks"
    mark.mkdir()
    monkeypatch.setenv("MARK_DIR", str(mark))
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 9), mini_batch_size=2, max_concurrency_per_instance=2)
    with scoring_processes_started(job, log=lambda m: None) as warm:
        deadline = time.monotonic() + 60
        while len(markers(mark, "init-")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(markers(mark, "init-")) == 2  # init() ran in both before any plan existed
        assert not (tmp_path / "out" / "_mlendpoints" / "plan.json").exists()
        shards = plan_job(job)
        counts = score_shard(job, shards[0], log=lambda m: None, warm=warm)
    assert counts["scored"] == 5
    init_pids = {name.split("-")[1] for name in markers(mark, "init-")}
    assert {name.split("-")[1] for name in markers(mark, "run-")} <= init_pids  # the early processes scored
    assert len(markers(mark, "init-")) == 2  # and no other process was started


def test_a_warm_start_leaves_errors_to_planning_and_stops_its_processes(tmp_path):
    import pytest

    from airflow_provider_mlendpoints.engine import InputError
    from airflow_provider_mlendpoints.engine.shard import scoring_processes_started

    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, tmp_path / "no-such-input")
    with pytest.raises(InputError, match="no-such-input"), scoring_processes_started(job, log=lambda m: None) as warm:
        started = list(warm.children)
        plan_job(job)
    assert started and all(child.proc.poll() is not None for child in started)  # stopped on the way out

    (code / "score.py").unlink()  # nothing to start: no process, and scoring names the script
    job = make_job(tmp_path, code, make_inputs(tmp_path, 2))
    with scoring_processes_started(job, log=lambda m: None) as warm:
        assert warm.children == []
        shards = plan_job(job)
        with pytest.raises(InputError, match="score.py"):
            score_shard(job, shards[0], log=lambda m: None, warm=warm)
