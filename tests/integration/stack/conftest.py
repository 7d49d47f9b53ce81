"""Integration tests on a real Airflow deployment started by ``scripts/stack`` (no Docker).

The package-scoped ``stack`` fixture brings up PostgreSQL, Azurite, the
workspace emulator and Airflow (api-server, scheduler, dag-processor,
triggerer; LocalExecutor, parallelism 4) in a private state folder with free
ports, and stops every process by its pid after the last test of this package (so the rest of
the suite does not share the machine with it). The repository's
``dags/`` is the main DAG bundle; ``tests/integration/stack/dags/`` is a second one.
The Celery test switches the same stack to the CeleryExecutor (Redis, two
Celery workers); it is moved after the other tests of this package so the
LocalExecutor tests run first.

Set ``MLENDPOINTS_STACK_TEST_DIR`` to keep the stack's state (and logs) in a
folder of your choice instead of a temporary one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.paths import REPO_ROOT

REPO = REPO_ROOT
TEST_DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLE_DAG_ID = "example_self_hosted_scoring"

sys.path.insert(0, str(REPO / "scripts"))
from stack_services import Stack  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: runs on the no-Docker Airflow stack of scripts/stack")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The Celery test switches the shared stack to another executor: run it after the other
    # tests of this package (but still inside it, so the package-scoped stack stops right after).
    def in_package(item: pytest.Item) -> bool:
        return item.nodeid.replace(os.sep, "/").startswith("tests/integration/stack/")

    def is_celery(item: pytest.Item) -> bool:
        return item.nodeid.replace(os.sep, "/").startswith("tests/integration/stack/test_celery")

    celery = [item for item in items if is_celery(item)]
    if not celery:
        return
    rest = [item for item in items if not is_celery(item)]
    last = max((i for i, item in enumerate(rest) if in_package(item)), default=len(rest) - 1)
    items[:] = rest[: last + 1] + celery + rest[last + 1 :]


class StackHandle:
    """The running stack plus the helpers tests need (REST API, airflow CLI, inputs)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    @property
    def airflow(self) -> Any:
        """The :class:`AirflowStack` of the current settings (REST helpers)."""
        return self.stack.airflow()

    @property
    def demo_dir(self) -> Path:
        """``MLENDPOINTS_DEMO_DIR`` of the Airflow processes (the example DAG's dated folders)."""
        return Path(self.stack.state["demo_dir"])

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Run ``airflow <args>`` against the stack; returns its output (fails the test on error)."""
        airflow = self.airflow
        from airflow_stack import airflow_bin

        proc = subprocess.run(
            [airflow_bin(), *args], env=airflow.env(), capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, f"airflow {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.airflow.task_instances(dag_id, run_id)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 420) -> dict[str, Any]:
        run = self.airflow.wait_for_run(dag_id, run_id, timeout=timeout)
        if run["state"] != "success":
            pytest.fail(f"run {run_id} of {dag_id} ended {run['state']}:\n{self.describe(dag_id, run_id)}")
        return run

    def describe(self, dag_id: str, run_id: str) -> str:
        """Task states and the tail of each failed task's log, for failure messages."""
        lines = []
        for ti in self.task_instances(dag_id, run_id):
            lines.append(f"{ti['task_id']}[{ti['map_index']}] {ti['state']} try {ti['try_number']}")
            if ti["state"] in ("failed", "upstream_failed", "up_for_retry"):
                lines.append(self.task_log(dag_id, run_id, ti)[-3000:])
        return "\n".join(lines)

    def task_log(self, dag_id: str, run_id: str, ti: dict[str, Any], try_number: int | None = None) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        path = (
            f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{ti['task_id']}/logs/"
            f"{try_number or ti['try_number']}?map_index={ti['map_index']}&full_content=true"
        )
        try:
            content = self.airflow.api("GET", path).get("content", [])
        except Exception as exc:  # the log is a diagnostic only
            return f"(no log: {exc})"
        return "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content)

    def wait_for_dag(self, dag_id: str) -> None:
        self.airflow.wait_for_dag(dag_id, timeout=180)


@pytest.fixture(scope="package")
def stack(sample_model: Path) -> Iterator[StackHandle]:
    """The no-Docker stack (LocalExecutor on PostgreSQL, parallelism 4), down after this package's tests."""
    keep = os.environ.get("MLENDPOINTS_STACK_TEST_DIR")
    state_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mlendpoints-stack-"))
    handle = StackHandle(Stack(state_dir))
    started = time.monotonic()
    try:
        handle.stack.up(executor="local", parallelism=4, workers=2, extra_dags=[str(TEST_DAGS)])
        print(f"\nstack up in {time.monotonic() - started:.0f}s ({state_dir})", flush=True)
        yield handle
    finally:
        handle.stack.down()
        if not keep:
            shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def local_stack(stack: StackHandle) -> StackHandle:
    """The stack on the LocalExecutor (switching back if a previous test changed it)."""
    if stack.stack.state.get("executor") != "local":
        stack.stack.up(executor="local", parallelism=4)
    return stack


def read_rows(path: Path) -> list[list[str]]:
    """Rows of a space-separated predictions.csv (Azure's append_row format)."""
    return [line.split(" ") for line in path.read_text(encoding="utf-8").splitlines() if line]
