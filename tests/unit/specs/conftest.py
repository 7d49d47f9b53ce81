"""Helpers for the specs tests: writing small YAML files and the reference corpus."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.paths import SHARED_REFERENCE

CORPUS_DIR = SHARED_REFERENCE / "azureml-cli-yaml"
CORPUS = (
    sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix in (".yml", ".yaml")) if CORPUS_DIR.is_dir() else []
)

BATCH_DEPLOYMENT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json"


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML text to ``tmp_path/name`` and return its path."""

    def write(text: str, name: str = "deployment.yml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def corpus(shared_reference: Path) -> Path:
    """The published Azure ML CLI YAML files (skips when ../shared is absent)."""
    folder = shared_reference / "azureml-cli-yaml"
    if not folder.is_dir():
        pytest.skip("azureml-cli-yaml reference corpus is absent")
    return folder.resolve()  # the loader resolves paths, symlinks included
