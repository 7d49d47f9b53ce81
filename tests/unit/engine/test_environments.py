"""Scoring children under another interpreter: ``--python PATH`` and ``--environment build``.

The child side of the engine runs on Python 3.8+ with the standard library only (pyenv's 3.8
has neither this provider nor pandas). ``--environment build`` makes a virtualenv from the
deployment's conda file, with a library version pinned differently from the worker's, on
another installed Python; it is built once and then reused from the cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python")

SCRIPT = """
import os, sys

def init():
    global tag
    import six  # from the scoring environment, not the worker's
    tag = f"{six.__version__} {sys.version_info[0]}.{sys.version_info[1]}"

def run(mini_batch):
    return [f"{tag} {os.path.basename(p)}" for p in mini_batch]
"""

PLAIN = """
import os, sys

def run(mini_batch):
    return [f"{sys.version_info[0]}.{sys.version_info[1]} {os.path.basename(p)}" for p in mini_batch]
"""

DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: pinned
endpoint_name: pinned-batch
model:
  path: model
code_configuration:
  code: code
  scoring_script: score.py
environment:
  name: pinned-env
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
settings:
  mini_batch_size: 2
"""

CONDA = """
name: pinned
channels:
  - conda-forge
dependencies:
  - python=3.9
  - pip
  - pip:
    - six==1.15.0
    - azureml-defaults
"""


def _deployment(tmp_path: Path, script: str) -> Path:
    for folder in ("code", "model", "environment", "in"):
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(script))
    (tmp_path / "model" / "w.txt").write_text("1")
    (tmp_path / "environment" / "conda.yaml").write_text(CONDA)
    for i in range(3):
        (tmp_path / "in" / f"f{i}.txt").write_text(str(i))
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT)
    return path


def _score(*args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("mlendpoints")
    return subprocess.run([str(cli), "score", *args], capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(not PY38.exists(), reason=f"{PY38} is not installed")
def test_child_runs_on_python_3_8_with_the_standard_library_only(tmp_path):
    deployment = _deployment(tmp_path, PLAIN)
    no_pandas = subprocess.run([str(PY38), "-c", "import pandas"], capture_output=True)
    assert no_pandas.returncode != 0  # the interpreter has nothing but the standard library
    done = _score("--deployment", str(deployment), "--input", str(tmp_path / "in"), "--output",
                  str(tmp_path / "out"), "--python", str(PY38))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == [f"3.8 f{i}.txt" for i in range(3)]


def test_a_python_that_does_not_exist_is_a_clear_error(tmp_path):
    deployment = _deployment(tmp_path, PLAIN)
    done = _score("--deployment", str(deployment), "--input", str(tmp_path / "in"), "--output",
                  str(tmp_path / "out"), "--python", str(tmp_path / "nope" / "python"))
    assert done.returncode == 2 and "not an executable interpreter" in done.stderr


@pytest.mark.slow
def test_environment_built_from_the_conda_file_with_a_pinned_version(tmp_path):
    import six

    assert six.__version__ != "1.15.0"  # the worker's own version differs
    deployment = _deployment(tmp_path, SCRIPT)
    cache = tmp_path / "envs"
    args = ["--deployment", str(deployment), "--input", str(tmp_path / "in"), "--environment", "build",
            "--env-cache", str(cache)]
    cold = _score(*args, "--output", str(tmp_path / "out1"))
    if cold.returncode == 2 and any(word in cold.stderr for word in ("Failed to fetch", "dns error", "Network")):
        pytest.skip(f"the package index cannot be reached: {cold.stderr[-300:]}")
    assert cold.returncode == 0, cold.stderr
    assert "leaving out azureml-defaults" in cold.stderr
    assert "environment build: Python 3.9" in cold.stderr
    expected = [f"1.15.0 3.9 f{i}.txt" for i in range(3)]
    assert (tmp_path / "out1" / "predictions.csv").read_text().splitlines() == expected
    built = [p for p in cache.iterdir() if p.is_dir()]
    assert len(built) == 1
    marker = json.loads((built[0] / ".mlendpoints-built").read_text())
    assert marker["identity"]["requirements"] == ["six==1.15.0"]

    warm = _score(*args, "--output", str(tmp_path / "out2"))
    assert warm.returncode == 0, warm.stderr
    assert "environment build: Python" not in warm.stderr  # reused from the cache
    assert (tmp_path / "out2" / "predictions.csv").read_text().splitlines() == expected
    assert [p for p in cache.iterdir() if p.is_dir()] == built


@pytest.mark.slow
def test_a_failing_build_fails_the_plan_with_the_installer_message(tmp_path):
    deployment = _deployment(tmp_path, SCRIPT)
    (tmp_path / "environment" / "conda.yaml").write_text(
        "dependencies:\n  - pip:\n    - this-package-does-not-exist-mlendpoints==0.0.1\n"
    )
    done = _score("--deployment", str(deployment), "--input", str(tmp_path / "in"), "--output",
                  str(tmp_path / "out"), "--environment", "build", "--env-cache", str(tmp_path / "envs"))
    assert done.returncode == 2
    assert "building the environment failed" in done.stderr
    assert "this-package-does-not-exist-mlendpoints" in done.stderr
    assert not (tmp_path / "out" / "_mlendpoints" / "manifest.jsonl").exists()


def test_worker_mode_warns_once_about_mlflow_versions_it_does_not_have(tmp_path, caplog):
    import logging

    from airflow_provider_mlendpoints.engine.environment_build import warn_differing_versions

    with caplog.at_level(logging.WARNING, logger="airflow_provider_mlendpoints.engine.environment_build"):
        differing = warn_differing_versions(["six==1.15.0", "pyyaml", "no-such-package-xyz==1.0"])
        warn_differing_versions(["six==1.15.0", "pyyaml", "no-such-package-xyz==1.0"])
    assert differing[0].startswith("six 1.15.0 (worker: ") and differing[1] == "no-such-package-xyz 1.0 (worker: not installed)"
    assert len([r for r in caplog.records if "library versions" in r.getMessage()]) == 1
