"""The ``mlendpoints score`` command, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ECHO_SCRIPT, make_inputs, write_script

CLI = Path(sys.executable).with_name("mlendpoints")

DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: cli-test
endpoint_name: cli-endpoint
type: model
model:
  path: model
code_configuration:
  code: code
  scoring_script: score.py
settings:
  mini_batch_size: 2
  error_threshold: {threshold}
  retry_settings:
    max_retries: 0
    timeout: 30
"""

FAIL_ODD = """
import os
def run(mini_batch):
    for p in mini_batch:
        if int(open(p).read()) % 2:
            raise ValueError("odd input " + os.path.basename(p))
    return [os.path.basename(p) for p in mini_batch]
"""


def _deployment(tmp_path, script=ECHO_SCRIPT, threshold=-1):
    write_script(tmp_path, script)
    (tmp_path / "model").mkdir(exist_ok=True)
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT.format(threshold=threshold))
    return path


def _score(*args, cwd=None):
    return subprocess.run([str(CLI), "score", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.fixture(autouse=True)
def _need_cli():
    if not CLI.exists():
        pytest.skip(f"{CLI} is not installed")


def test_score_succeeds_prints_summary_and_exit_0(tmp_path):
    dep = _deployment(tmp_path)
    make_inputs(tmp_path, 5)
    proc = _score("--deployment", dep, "--input", "inputs", "--output", "out", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout[proc.stdout.index("\n{") + 1:])
    assert summary["status"] == "Completed" and summary["items"]["succeeded"] == 5
    assert "mini-batches (100%)" in proc.stdout
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines()[0] == "f000.txt 0"

    again = _score("--deployment", dep, "--input", "inputs", "--output", "out", cwd=tmp_path)
    assert again.returncode == 2
    assert "use resume" in again.stderr and "Traceback" not in again.stderr
    assert _score("--deployment", dep, "--input", "inputs", "--output", "out", "--resume",
                  cwd=tmp_path).returncode == 0


def test_set_overrides_header_separator_and_overwrite(tmp_path):
    dep = _deployment(tmp_path, script="""
import os, pandas as pd
def run(mini_batch):
    return pd.DataFrame({"name": [os.path.basename(p) for p in mini_batch], "n": [len(mini_batch)] * len(mini_batch)})
""")
    make_inputs(tmp_path, 5)
    proc = _score("--deployment", dep, "--input", tmp_path / "inputs", "--output", tmp_path / "out",
                  "--set", "mini_batch_size=5", "--header", "--separator", ",", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "name,n" and lines[1] == "f000.txt,5" and len(lines) == 6


def test_threshold_exceeded_exits_1(tmp_path):
    dep = _deployment(tmp_path, script=FAIL_ODD, threshold=0)
    make_inputs(tmp_path, 4)
    proc = _score("--deployment", dep, "--input", tmp_path / "inputs", "--output", tmp_path / "out",
                  "--set", "mini_batch_size=1")
    assert proc.returncode == 1
    assert "exceed error_threshold 0" in proc.stderr
    assert "ValueError: odd input f001.txt" in proc.stdout  # the traceback is in the log
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "mini_batch_size=lots"], "mini_batch_size"),
        (["--set", "no_such_setting=1"], "no_such_setting"),
        (["--input", "missing-folder"], "missing-folder"),
        (["--glob", "*.jpg"], "no input files found"),
        (["--separator", ";;"], "separator"),
        (["--deployment", "nope.yml"], "nope.yml"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, expected):
    dep = _deployment(tmp_path)
    make_inputs(tmp_path, 2)
    base = {"--deployment": str(dep), "--input": "inputs", "--output": "out"}
    extra = []
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in base:
            base[flag] = value
        else:
            extra += [flag, value]
    proc = _score(*[x for kv in base.items() for x in kv], *extra, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


FAIL_WHILE_BROKEN = """
import os
def run(mini_batch):
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "broken")):
        raise ValueError("a transient problem")
    return [os.path.basename(p) for p in mini_batch]
"""


def test_resume_rescores_failures_unless_keep_failed(tmp_path):
    dep = _deployment(tmp_path, FAIL_WHILE_BROKEN)
    broken = tmp_path / "code" / "broken"
    broken.write_text("")
    make_inputs(tmp_path, 4)
    first = _score("--deployment", dep, "--input", "inputs", "--output", "out", cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # nothing succeeded
    broken.unlink()
    kept = _score("--deployment", dep, "--input", "inputs", "--output", "out", "--resume", "--keep-failed",
                  cwd=tmp_path)
    assert kept.returncode == 1 and "no input item was scored successfully" in kept.stderr
    again = _score("--deployment", dep, "--input", "inputs", "--output", "out", "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout[again.stdout.index("\n{") + 1:])
    assert summary["rescored_mini_batches"] == ["00000000", "00000001"]
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == [f"f{i:03d}.txt" for i in range(4)]
