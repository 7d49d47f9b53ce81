"""init() that hangs: a log line while it runs, then the process is replaced; retries exhausted name init."""

from __future__ import annotations

from dataclasses import replace

import pytest

from airflow_provider_mlendpoints.engine import InputError, ScoringError, run_local, worker

from .helpers import make_inputs, make_job, markers, write_script

# init() leaves a marker per call and hangs in its first HANG_CALLS calls.
HANGING_INIT = """
import os, time, uuid

def init():
    mark = os.environ["MARK_DIR"]
    open(os.path.join(mark, "init-" + uuid.uuid4().hex), "w").close()
    if len(os.listdir(mark)) <= int(os.environ["HANG_CALLS"]):
        time.sleep(3600)

def run(mini_batch):
    return [os.path.basename(p) for p in mini_batch]
"""


def _job(tmp_path, retries, hang_calls=100):
    inputs = make_inputs(tmp_path, 3)
    code = write_script(tmp_path, HANGING_INIT)
    mark = tmp_path / "marks"
    mark.mkdir()
    job = make_job(tmp_path, code, inputs, retry=(retries, 30),
                   environment_variables={"MARK_DIR": str(mark), "HANG_CALLS": str(hang_calls)})
    return replace(job, init_timeout=1.5), mark


def test_hanging_init_is_replaced_then_fails_naming_init(tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "INIT_LOG_EVERY", 0.5)
    job, mark = _job(tmp_path, retries=1)
    lines = []
    with pytest.raises(ScoringError, match=r"init\(\) .* failed 2 times in a row; last error: TimeoutError: "
                                           r"init\(\) did not return within 1.5 s \(init_timeout\)"):
        run_local(job, workers=1, log=lines.append)
    assert len(markers(mark, "init-")) == 2  # the first try and one retry (max_retries 1)
    assert any("init() of the scoring script still running in process" in line for line in lines), lines
    assert not (tmp_path / "out" / "_mlendpoints" / "parts").exists() or not list(
        (tmp_path / "out" / "_mlendpoints" / "parts").iterdir())


def test_an_init_that_recovers_after_a_replacement_scores_everything(tmp_path):
    job, mark = _job(tmp_path, retries=2, hang_calls=1)  # only the first init() hangs
    summary = run_local(job, workers=1, log=lambda line: None)
    assert summary["items"] == {"total": 3, "succeeded": 3, "failed": 0}
    assert len(markers(mark, "init-")) == 2


def test_init_timeout_must_be_positive(tmp_path):
    job, _ = _job(tmp_path, retries=0)
    with pytest.raises(InputError, match="init_timeout must be a positive number"):
        run_local(replace(job, init_timeout=0), workers=1, log=lambda line: None)


MISSING_LIBRARY = """
import not_installed_anywhere_here

def init():
    pass

def run(mini_batch):
    return [str(p) for p in mini_batch]
"""


def test_a_library_missing_from_the_worker_names_the_environment_options(tmp_path):
    code = write_script(tmp_path, MISSING_LIBRARY)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 2), retry=(0, 30))
    with pytest.raises(ScoringError, match=r"No module named 'not_installed_anywhere_here' \(the scoring processes "
                                           r"run in the worker's Python environment; .*--environment build") as err:
        run_local(job, workers=1, log=lambda line: None)
    assert "--python PATH" in str(err.value)
