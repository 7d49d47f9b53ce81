"""existing_output: error (default), resume, overwrite; a changed input is detected."""

from __future__ import annotations

import os

import pytest

from airflow_provider_mlendpoints.engine import (
    OutputExistsError,
    PlanMismatchError,
    plan_job,
    run_local,
)

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

quiet = {"log": lambda line: None}


def _job(tmp_path, mode, **settings):
    code = write_script(tmp_path, ECHO_SCRIPT)
    return make_job(tmp_path, code, tmp_path / "inputs", job_kw={"existing_output": mode}, **settings)


def test_existing_output_is_an_error_by_default(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    with pytest.raises(OutputExistsError, match="use resume .* or overwrite"):
        plan_job(_job(tmp_path, "error"))


def test_existing_state_without_output_file_is_an_error_too(tmp_path):
    make_inputs(tmp_path, 3)
    job = _job(tmp_path, "error", mini_batch_size=1)
    plan_job(job)
    plan_job(job)  # planning again before any scoring (a retried plan task) is fine
    from airflow_provider_mlendpoints.engine import score_shard

    score_shard(job, {"shard": 0, "first": 0, "last": 0}, **quiet)
    with pytest.raises(OutputExistsError, match="_mlendpoints"):
        plan_job(job)


def test_overwrite_starts_over(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    (tmp_path / "out" / "predictions.csv").write_text("stale\n")
    (tmp_path / "out" / "_mlendpoints" / "parts" / "00000099").write_text("{}\n")
    summary = run_local(_job(tmp_path, "overwrite"), workers=1, **quiet)
    assert summary["mini_batches"]["total"] == 1
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == ["f000.txt 0", "f001.txt 1",
                                                                              "f002.txt 2"]
    assert not (tmp_path / "out" / "_mlendpoints" / "parts" / "00000099").exists()


def test_resume_of_a_finished_job_rewrites_the_same_output(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    summary = run_local(_job(tmp_path, "resume"), workers=1, **quiet)
    assert summary["items"]["succeeded"] == 3
    assert len((tmp_path / "out" / "predictions.csv").read_text().splitlines()) == 3


def test_resume_with_changed_input_or_settings_is_refused(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    (tmp_path / "inputs" / "f999.txt").write_text("new")
    with pytest.raises(PlanMismatchError, match="input changed"):
        plan_job(_job(tmp_path, "resume"))
    (tmp_path / "inputs" / "f999.txt").unlink()
    with pytest.raises(PlanMismatchError, match="mini_batch_size"):
        plan_job(_job(tmp_path, "resume", mini_batch_size=2))
    plan_job(_job(tmp_path, "resume"))  # the same input again is fine


def test_resume_refuses_an_input_rewritten_with_the_same_size_and_names_it(tmp_path):
    make_inputs(tmp_path, 4)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    changed = tmp_path / "inputs" / "f002.txt"
    stat = changed.stat()
    changed.write_text("9")  # same size, new content
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(PlanMismatchError, match=r"f002\.txt \(modified: same size, mtime changed\)") as info:
        plan_job(_job(tmp_path, "resume"))
    assert "f000.txt" not in str(info.value)
    (tmp_path / "inputs" / "f001.txt").unlink()
    (tmp_path / "inputs" / "f005.txt").write_text("5")
    with pytest.raises(PlanMismatchError) as info:
        plan_job(_job(tmp_path, "resume"))
    assert "f001.txt (removed)" in str(info.value) and "f005.txt (added)" in str(info.value)
    # The refused resume changed nothing: the finished output and its plan are still there.
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines()[2] == "f002.txt 2"


def test_overwrite_keeps_the_old_output_when_the_new_input_is_empty(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    job = _job(tmp_path, "overwrite")
    from dataclasses import replace

    from airflow_provider_mlendpoints.engine import InputError

    with pytest.raises(InputError, match="no input files found"):
        plan_job(replace(job, input_glob="*.nothing"))
    assert (tmp_path / "out" / "predictions.csv").exists()


def test_resume_removes_temporary_files_that_killed_runs_left(tmp_path):
    make_inputs(tmp_path, 3)
    run_local(_job(tmp_path, "error"), workers=1, **quiet)
    out = tmp_path / "out"
    left = [out / ".mlendpoints-tmp-merge1", out / "_mlendpoints" / ".mlendpoints-tmp-plan",
            out / "_mlendpoints" / "parts" / ".mlendpoints-tmp-x", out / "_mlendpoints" / "report" / ".mlendpoints-tmp-y"]
    for path in left:
        path.write_bytes(b"\0" * 1000)
    keep = out / "notes.txt"  # the user's own file beside the output stays
    keep.write_text("mine")
    lines = []
    run_local(_job(tmp_path, "resume"), workers=1, log=lines.append)
    assert not any(path.exists() for path in left)
    assert keep.read_text() == "mine"
    assert any("removed 4 temporary file(s) (4000 bytes)" in line for line in lines), lines
