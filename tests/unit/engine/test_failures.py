"""Exceptions, timeouts, short returns, bad return types, thresholds and init failures."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.engine import JobFailed, ScoringError, run_local

from .helpers import make_inputs, make_job, markers, write_script

FAIL_ON_F001 = """
import os, uuid

def init():
    open(os.path.join(os.environ["MARK_DIR"], f"init-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()

def run(mini_batch):
    open(os.path.join(os.environ["MARK_DIR"], f"run-{uuid.uuid4().hex}"), "w").close()
    for p in mini_batch:
        if p.endswith("f001.txt"):
            raise ValueError("cannot score " + os.path.basename(p))
    return [os.path.basename(p) for p in mini_batch]
"""

HANG_ONCE = """
import os, time, uuid

def init():
    open(os.path.join(os.environ["MARK_DIR"], f"init-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()

def run(mini_batch):
    sentinel = os.path.join(os.environ["MARK_DIR"], "hung")
    if any(p.endswith("f002.txt") for p in mini_batch) and not os.path.exists(sentinel):
        open(sentinel, "w").close()
        time.sleep(60)
    return [os.path.basename(p) for p in mini_batch]
"""


@pytest.fixture
def marks(tmp_path, monkeypatch):
    folder = tmp_path / "marks"
    folder.mkdir()
    monkeypatch.setenv("MARK_DIR", str(folder))
    return folder


def test_exception_is_retried_then_counted_failed_with_traceback_and_files(tmp_path, marks):
    code = write_script(tmp_path, FAIL_ON_F001)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 6), mini_batch_size=2, retry=(2, 30))
    logs: list[str] = []
    summary = run_local(job, workers=1, log=logs.append)
    assert summary["status"] == "Completed"  # error_threshold -1 never fails
    assert summary["items"] == {"total": 6, "succeeded": 4, "failed": 2}
    assert summary["mini_batches"]["failed"] == 1
    assert len(markers(marks, "run-")) == 2 + 3  # two good mini-batches + 1 try and 2 retries
    text = "\n".join(logs)
    assert "ValueError: cannot score f001.txt" in text
    assert "f000.txt, f001.txt" in text
    assert "score.py\", line 11, in run" in text  # the scoring script's own traceback
    errors = (tmp_path / "out" / "_mlendpoints" / "report" / "errors.txt").read_text()
    assert "f000.txt, f001.txt" in errors and "Traceback" in errors
    rows = (tmp_path / "out" / "_mlendpoints" / "report" / "mini_batches.csv").read_text().splitlines()
    assert rows[0] == "id,shard,files,items,succeeded,failed,attempts,status,seconds,error"
    assert rows[1].startswith("00000000,0,2,2,0,2,3,failed,")
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == [
        "f002.txt", "f003.txt", "f004.txt", "f005.txt"]


def test_timeout_stops_the_process_retries_in_a_fresh_one(tmp_path, marks):
    code = write_script(tmp_path, HANG_ONCE)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 4), mini_batch_size=1, retry=(2, 2))
    logs: list[str] = []
    summary = run_local(job, workers=1, log=logs.append)
    assert summary["items"] == {"total": 4, "succeeded": 4, "failed": 0}
    assert len(markers(marks, "init-")) == 2  # the hung process was replaced: init() again
    assert any("did not return within 2 s" in line for line in logs)
    rows = (tmp_path / "out" / "_mlendpoints" / "report" / "mini_batches.csv").read_text().splitlines()
    assert rows[3].startswith("00000002,0,1,1,1,0,2,succeeded")


def test_short_return_is_recorded_not_retried(tmp_path, marks):
    code = write_script(tmp_path, """
import os, uuid
def run(mini_batch):
    open(os.path.join(os.environ["MARK_DIR"], f"run-{uuid.uuid4().hex}"), "w").close()
    return [os.path.basename(p) for p in mini_batch][:-1]
""")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 6), mini_batch_size=3)
    summary = run_local(job, workers=1, log=lambda line: None)
    assert summary["items"] == {"total": 6, "succeeded": 4, "failed": 2}
    assert summary["mini_batches"]["partial"] == 2
    assert len(markers(marks, "run-")) == 2


def test_wrong_return_type_is_an_error_naming_the_type(tmp_path):
    code = write_script(tmp_path, "def run(mini_batch):\n    return {'a': 1}\n")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 2), retry=(0, 30), output_action="summary_only")
    logs: list[str] = []
    with pytest.raises(JobFailed) as failed:  # summary_only fails like append_row: no item succeeded
        run_local(job, workers=1, log=logs.append)
    assert failed.value.summary["items"]["failed"] == 2
    assert failed.value.summary["failure_reason"] == "no input item was scored successfully"
    assert any("TypeError: run() returned builtins.dict; expected a list" in line for line in logs)


def test_error_threshold_exceeded_raises_job_failed_after_writing_report(tmp_path, marks):
    code = write_script(tmp_path, FAIL_ON_F001)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 6), mini_batch_size=2, retry=(0, 30),
                   error_threshold=1)
    with pytest.raises(JobFailed) as info:
        run_local(job, workers=1, log=lambda line: None)
    summary = info.value.summary
    assert summary["status"] == "Failed"
    assert summary["items"]["failed"] == 2
    assert "exceed error_threshold 1" in str(info.value)
    assert "errors.txt" in str(info.value)
    assert (tmp_path / "out" / "_mlendpoints" / "report" / "summary.json").exists()


def test_within_error_threshold_completes(tmp_path, marks):
    code = write_script(tmp_path, FAIL_ON_F001)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 6), mini_batch_size=2, retry=(0, 30),
                   error_threshold=2)
    assert run_local(job, workers=1, log=lambda line: None)["status"] == "Completed"


def test_no_successful_item_fails_an_append_row_job(tmp_path):
    code = write_script(tmp_path, "def run(mini_batch):\n    return []\n")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3))
    with pytest.raises(JobFailed, match="no input item was scored successfully"):
        run_local(job, workers=1, log=lambda line: None)


def test_init_failing_every_time_raises_scoring_error(tmp_path):
    code = write_script(tmp_path, "def init():\n    raise RuntimeError('no model')\n\ndef run(mb):\n    return mb\n")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 2), retry=(1, 30))
    with pytest.raises(ScoringError, match="no model"):
        run_local(job, workers=1, log=lambda line: None)
