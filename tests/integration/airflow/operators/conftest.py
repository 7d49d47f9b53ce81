"""Azure-mode resource operators on real Airflow (``dag.test()``) against the real workspace emulator.

One emulator per test session, its default datastore on a real Azurite
container (the operators upload local models and code there, as to Azure), and
the ``azure_ml_endpoints_default`` connection pointed at it through
``AIRFLOW_CONN_AZURE_ML_ENDPOINTS_DEFAULT`` (set for each test), exactly how a
user points the example DAGs at the emulator.

``run_operators`` writes a small DAG file into the test bundle (operators in
``body``) and runs it with ``dag.test()``; tests assert on the emulator's
resources (over HTTP), the task states and the XComs.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.airflow_db import load_dag, run_dag, task_states
from tests.fixtures.emulator import EmulatorHandle

BATCH_SCRIPT = """\
import os

def init():
    global LABEL
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "label.txt")) as fh:
        LABEL = fh.read().strip()

def run(mini_batch):
    return [f"{os.path.basename(p)} {LABEL}" for p in mini_batch]
"""


@pytest.fixture(autouse=True)
def _every_test_here_uses_the_workspace(ml_workspace: EmulatorHandle) -> None:
    """The default connection points at the session's emulated workspace (tests/fixtures/workspace.py)."""


def unique(prefix: str) -> str:
    """A fresh resource name (one emulator serves every test of the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


HEADER = """\
from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.operators.batch import *  # noqa: F403
from airflow_provider_mlendpoints.operators.online import *  # noqa: F403

with DAG(
    dag_id={dag_id!r},
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={params!r},
    default_args={default_args!r},
) as dag:
"""


def run_operators(
    test_dags: Any,
    body: str,
    *,
    params: dict[str, Any] | None = None,
    conf: dict[str, Any] | None = None,
    default_args: dict[str, Any] | None = None,
    dag_id: str | None = None,
) -> Any:
    """Write a DAG of the operators in ``body`` (Python statements) and run it; returns the DagRun."""
    dag_id = dag_id or unique("ops").replace("-", "_")
    args = {"poll_interval": 0.1, "retries": 0}
    args.update(default_args or {})
    source = HEADER.format(dag_id=dag_id, params=params or {}, default_args=args)
    source += textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")
    path = test_dags.folder / f"{dag_id}.py"
    path.write_text(source, encoding="utf-8")
    return run_dag(load_dag(path, dag_id), conf=conf)


def states(run: Any) -> dict[str, str]:
    """``{task_id: state}`` of an unmapped DAG run."""
    return {task_id: state for (task_id, _), state in task_states(run).items()}


class ArmReader:
    """ARM reads straight from the emulator (to check what the operators did)."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu

    def get(self, relative: str) -> dict[str, Any] | None:
        response = httpx.get(self.emu.arm_url(relative), headers=self.emu.headers, timeout=30)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def names(self, relative: str) -> list[str]:
        return sorted(item["name"] for item in (self.get(relative) or {"value": []})["value"])

    def post(self, relative: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            self.emu.arm_url(relative), headers=self.emu.headers, json=body or {}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def put_count(self) -> int:
        """PUT requests the emulator answered so far (ARM resources)."""
        routes = self.emu.requests().get("by_route", {})
        return sum(count for route, count in routes.items() if route.startswith("PUT "))


@pytest.fixture
def ws(ml_workspace: EmulatorHandle) -> ArmReader:
    return ArmReader(ml_workspace)


@pytest.fixture
def batch_assets(tmp_path: Path) -> Path:
    """A tiny custom-script batch deployment: deployment.yml, code/score.py, model/label.txt."""
    root = tmp_path / "batch-deployment"
    (root / "code").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "code" / "score.py").write_text(BATCH_SCRIPT, encoding="utf-8")
    (root / "model" / "label.txt").write_text("v1\n", encoding="utf-8")
    (root / "deployment.yml").write_text(
        textwrap.dedent(
            """\
            $schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
            name: blue
            endpoint_name: placeholder
            type: model
            model:
              path: model
            code_configuration:
              code: code
              scoring_script: score.py
            environment:
              image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
            compute: azureml:cpu-cluster
            resources:
              instance_count: 1
            settings:
              mini_batch_size: 2
              output_file_name: predictions.csv
            """
        ),
        encoding="utf-8",
    )
    return root
