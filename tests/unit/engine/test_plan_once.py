"""plan_once: the score tasks of one run share one plan, whichever of them starts first makes it."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.engine import InputError, plan_job
from airflow_provider_mlendpoints.engine.lease import release_owner
from airflow_provider_mlendpoints.engine.plan import read_plan
from airflow_provider_mlendpoints.engine.plan_once import lock_key, plan_once
from airflow_provider_mlendpoints.engine.storage import open_storage

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

OWNER = "dag/manual__1/scoring"


def _job(tmp_path: Path, files: int = 40, **kw):
    inputs = make_inputs(tmp_path, files)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs, mini_batch_size=2, instance_count=3, **kw)
    return dataclasses.replace(job, owner=OWNER)


def _plan_in_process(job, results) -> None:
    shards, planned_here = plan_once(job, log=lambda line: None)
    results.put((os.getpid(), planned_here, shards))


def test_tasks_starting_together_plan_once_and_get_the_same_shards(tmp_path):
    job = _job(tmp_path, files=400)
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_plan_in_process, args=(job, results)) for _ in range(3)]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert sorted(planned for _, planned, _ in got) == [False, False, True]
    assert len({json.dumps(shards) for _, _, shards in got}) == 1
    assert len(got[0][2]) == 3 and got[0][2][0]["first"] == 0 and got[0][2][-1]["last"] == 199
    plan = read_plan(open_storage(job.output_uri))
    assert plan is not None and plan["owner"] == OWNER
    assert not (tmp_path / "out" / lock_key(OWNER)).exists()  # the planner let go of the lock


def test_a_later_task_of_the_run_uses_its_plan_and_another_run_plans_again(tmp_path):
    job = _job(tmp_path)
    shards, planned_here = plan_once(job, log=lambda line: None)
    assert planned_here
    (tmp_path / "inputs" / "f000.txt").unlink()  # not listed again within the run
    again, planned_here = plan_once(job, log=lambda line: None)
    assert (again, planned_here) == (shards, False)

    release_owner(open_storage(job.output_uri), OWNER)  # its collect ends the run
    next_run = dataclasses.replace(job, owner="dag/manual__2/scoring", existing_output="overwrite")
    replanned, planned_here = plan_once(next_run, log=lambda line: None)
    assert planned_here
    assert sum(s["mini_batches"] for s in replanned) == 20  # 39 files, 2 per mini-batch
    assert read_plan(open_storage(job.output_uri))["owner"] == "dag/manual__2/scoring"


def test_a_live_planner_is_waited_for_and_a_killed_one_is_replaced_at_once(tmp_path):
    job = _job(tmp_path)
    lock = tmp_path / "out" / lock_key(OWNER)
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"owner": OWNER, "token": "t", "host": "other-host", "pid": 1,
                                "beat_ts": time.time()}))
    lines: list[str] = []
    threading.Timer(0.6, lock.unlink).start()  # the other planner fails and lets go
    started = time.monotonic()
    shards, planned_here = plan_once(job, log=lines.append)
    assert planned_here and len(shards) == 3
    assert time.monotonic() - started >= 0.5
    assert any("waiting for the plan of this run: another task plans it (process 1 on other-host" in line
               for line in lines), lines

    # a planner on this machine whose process is gone: taken over without waiting
    dead = multiprocessing.get_context("fork").Process(target=lambda: None)
    dead.start()
    dead.join()
    release_owner(open_storage(job.output_uri), OWNER)
    other = dataclasses.replace(job, owner="dag/manual__3/scoring", existing_output="resume")
    lock = tmp_path / "out" / lock_key(other.owner)
    lock.write_text(json.dumps({"owner": other.owner, "token": "t", "host": socket.gethostname(),
                                "pid": dead.pid, "beat_ts": time.time()}))
    started = time.monotonic()
    _, planned_here = plan_once(other, log=lines.append)
    assert planned_here and time.monotonic() - started < 5


def test_a_planner_that_fails_lets_go_and_the_next_task_meets_the_same_error(tmp_path):
    job = dataclasses.replace(_job(tmp_path), input_uri=str(tmp_path / "missing"))
    for _ in range(2):
        with pytest.raises(InputError, match="missing"):
            plan_once(job, log=lambda line: None)
        assert not (tmp_path / "out" / lock_key(OWNER)).exists()


def test_plan_once_needs_the_run_owner(tmp_path):
    job = dataclasses.replace(_job(tmp_path), owner=None)
    with pytest.raises(InputError, match="needs job.owner"):
        plan_once(job)
    plan_job(job)  # a job without an owner is planned by plan_job, as the CLI does
    assert read_plan(open_storage(job.output_uri))["owner"] is None
