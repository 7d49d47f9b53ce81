"""Helpers for engine tests: real scoring scripts in temp folders, jobs built directly."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from airflow_provider_mlendpoints.engine.job import OutputFormat, ScoringJob
from airflow_provider_mlendpoints.specs.model import BatchDeploymentSpec, CodeSpec, ModelSpec, RetrySettings


def write_script(folder: Path, body: str, name: str = "score.py") -> Path:
    """Write a scoring script (dedented) into ``folder/code`` and return the code folder."""
    code = folder / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(body))
    return code


def make_inputs(folder: Path, count: int, *, prefix: str = "f", nested: bool = False) -> Path:
    """``count`` small text files named f000.txt... holding their own index."""
    inputs = folder / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = inputs / f"d{i % 3}" if nested else inputs
        sub.mkdir(exist_ok=True)
        (sub / f"{prefix}{i:03d}.txt").write_text(str(i))
    return inputs


def make_job(
    tmp: Path,
    code: Path | None,
    inputs: Path | str,
    *,
    output: Path | None = None,
    model: Path | None = None,
    retry: tuple[int, int] = (3, 30),
    output_format: OutputFormat | None = None,
    job_kw: dict[str, Any] | None = None,
    **settings: Any,
) -> ScoringJob:
    """A ScoringJob over a deployment built directly (no YAML)."""
    if model is None:
        model = tmp / "model"
        model.mkdir(exist_ok=True)
        (model / "weights.txt").write_text("42")
    deployment = BatchDeploymentSpec(
        name="test-deployment",
        model=ModelSpec(path=str(model)),
        code=CodeSpec(scoring_script="score.py", path=str(code)) if code is not None else None,
        retry_settings=RetrySettings(max_retries=retry[0], timeout=retry[1]),
        **settings,
    )
    return ScoringJob(
        deployment=deployment,
        input_uri=str(inputs),
        output_uri=str(output or tmp / "out"),
        output_format=output_format or OutputFormat(),
        **(job_kw or {}),
    )


def markers(folder: Path, prefix: str) -> list[str]:
    """Names of marker files starting with ``prefix`` in ``folder``."""
    return sorted(n for n in os.listdir(folder) if n.startswith(prefix)) if folder.exists() else []


# A script that returns "<file name> <content>" per input and counts init/run calls with marker files.
ECHO_SCRIPT = """
import os, uuid
MARK = os.environ.get("MARK_DIR")

def _mark(kind):
    if MARK:
        open(os.path.join(MARK, f"{kind}-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()

def init():
    _mark("init")

def run(mini_batch):
    _mark("run")
    return [f"{os.path.basename(p)} {open(p).read()}" for p in mini_batch]
"""
