"""What a scoring script does beyond run(): extra or multi-line results, its own child processes, printing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.engine import run_local

from .helpers import make_inputs, make_job, write_script

CLI = Path(sys.executable).with_name("mlendpoints")

ODD_RESULTS = """
import os

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if "f000.txt" in names:
        return names + ["one result too many"]
    if "f002.txt" in names:
        return [name + "\\nsecond line" for name in names]
    return names
"""


def test_extra_and_multi_line_results_warn_and_the_counts_match_the_file(tmp_path):
    inputs = make_inputs(tmp_path, 4)
    code = write_script(tmp_path, ODD_RESULTS)
    job = make_job(tmp_path, code, inputs, mini_batch_size=2)
    lines: list[str] = []
    summary = run_local(job, workers=1, log=lines.append)
    written = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert written == ["f000.txt", "f001.txt", "one result too many", "f002.txt", "second line", "f003.txt",
                       "second line"]
    assert summary["output_rows"] == len(written) == 7
    assert summary["items"] == {"total": 4, "succeeded": 4, "failed": 0}
    assert summary["warnings"]["mini_batches"] == 2
    logged = "\n".join(lines)
    assert "mini-batch 00000000: run() returned 3 results for 2 inputs; all 3 are written" in logged
    assert "mini-batch 00000001: some of run()'s 2 results hold line breaks: they make 4 output lines" in logged


# init() starts a long-lived child process of its own and records its pid.
SPAWNS_A_CHILD = """
import os, subprocess

def init():
    child = subprocess.Popen(["sleep", "300"])
    open(os.path.join(os.environ["MARK_DIR"], f"pid-{child.pid}"), "w").close()

def run(mini_batch):
    print('{"status": "printed by the scoring script"}')
    return [os.path.basename(p) for p in mini_batch]
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_running(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return not any(_running(pid) for pid in pids)


def _pids(mark: Path) -> list[int]:
    return [int(name.split("-", 1)[1]) for name in os.listdir(mark) if name.startswith("pid-")]


def _spawning_job(tmp_path, count=3, **settings):
    inputs = make_inputs(tmp_path, count)
    code = write_script(tmp_path, SPAWNS_A_CHILD)
    mark = tmp_path / "marks"
    mark.mkdir()
    return make_job(tmp_path, code, inputs, environment_variables={"MARK_DIR": str(mark)}, **settings), mark


def test_processes_the_script_started_end_with_the_job(tmp_path):
    job, mark = _spawning_job(tmp_path, count=4, mini_batch_size=1)
    lines: list[str] = []
    run_local(job, workers=2, log=lines.append)
    pids = _pids(mark)
    assert len(pids) == 2  # one per scoring process
    try:
        assert _gone_within(pids, 10), [pid for pid in pids if _running(pid)]
    finally:
        for pid in pids:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    # What the script printed is in the log, marked with its process.
    assert any(line.startswith("[scoring process ") and "printed by the scoring script" in line for line in lines)


@pytest.mark.skipif(not CLI.exists(), reason="the mlendpoints command is not installed")
def test_sigkill_of_the_job_ends_the_processes_the_script_started(tmp_path):
    job, mark = _spawning_job(tmp_path, count=2)
    code = Path(job.deployment.code.path)
    (tmp_path / "model").mkdir(exist_ok=True)
    (code / "score.py").write_text((code / "score.py").read_text().replace(
        "def run(mini_batch):", "def run(mini_batch):\n    import time; time.sleep(300)"))
    deployment = tmp_path / "deployment.yml"
    deployment.write_text(
        "name: kill-test\nendpoint_name: ep-1\ntype: model\nmodel:\n  path: model\ncode_configuration:\n"
        "  code: code\n  scoring_script: score.py\nsettings:\n  retry_settings:\n    timeout: 600\n"
        f"environment_variables:\n  MARK_DIR: {mark}\n"
    )
    proc = subprocess.Popen([str(CLI), "score", "--deployment", str(deployment), "--input", "inputs",
                             "--output", "out"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not pids and time.monotonic() < deadline:
            time.sleep(0.2)
            pids = _pids(mark)
        assert pids, "the scoring script never started its child"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _gone_within(pids, 15), [pid for pid in pids if _running(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not CLI.exists(), reason="the mlendpoints command is not installed")
def test_script_output_never_mixes_into_the_cli_summary(tmp_path):
    job, mark = _spawning_job(tmp_path, count=2)
    (tmp_path / "model").mkdir(exist_ok=True)
    deployment = tmp_path / "deployment.yml"
    deployment.write_text(
        "name: print-test\nendpoint_name: ep-1\ntype: model\nmodel:\n  path: model\ncode_configuration:\n"
        f"  code: code\n  scoring_script: score.py\nenvironment_variables:\n  MARK_DIR: {mark}\n"
    )
    proc = subprocess.run([str(CLI), "score", "--deployment", str(deployment), "--input", "inputs",
                           "--output", "out"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout[proc.stdout.index("\n{") + 1:])  # the summary is the last block
    assert summary["status"] == "Completed"
    assert not any(line.startswith('{"status"') for line in proc.stdout.splitlines())
    assert "] {\"status\": \"printed by the scoring script\"}" in proc.stdout  # in the log, marked
    for pid in _pids(mark):
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
