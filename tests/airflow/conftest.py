"""Fixtures of the Airflow tests: the sample model, sample inputs, the example DAG."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS = REPO_ROOT / "dags"
SAMPLE = DAGS / "sample_deployment"
DEPLOYMENT = SAMPLE / "deployment.yml"
EXAMPLE_DAG_FILE = DAGS / "example_self_hosted_scoring.py"
EXAMPLE_DAG_ID = "example_self_hosted_scoring"


def _build_model_module():
    spec = importlib.util.spec_from_file_location("mlendpoints_sample_build_model", SAMPLE / "build_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_model() -> Path:
    """The sample deployment's model (dags/sample_deployment/model/model.pkl, generated, not committed)."""
    pytest.importorskip("sklearn", reason="the sample model needs scikit-learn (dev and demo extras)")
    return _build_model_module().build_model()


@pytest.fixture
def make_inputs(sample_model: Path):
    """``make_inputs(folder, count)`` writes ``count`` digit images; returns their file names in order."""

    def make(folder: Path, count: int) -> list[str]:
        return [path.name for path in _build_model_module().write_inputs(folder, count)]

    return make
