"""Start and stop a real Airflow 3 deployment on this machine, without Docker.

Each Airflow service (api-server, scheduler, dag-processor, triggerer) runs as
its own process in its own session, so stopping the stack kills the whole
process group: Airflow's task-runner children do not outlive it. Used by the
benchmark and the stack integration tests; ``scripts/stack`` is its command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_bin() -> str:
    """The ``airflow`` executable next to this Python interpreter."""
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


@dataclass
class AirflowStack:
    """A LocalExecutor (or CeleryExecutor) Airflow on 127.0.0.1 with its own AIRFLOW_HOME."""

    home: Path
    dags_folder: Path
    parallelism: int = 2
    executor: str = "LocalExecutor"
    db_url: str | None = None
    port: int = 0
    services: tuple[str, ...] = SERVICES
    extra_env: Mapping[str, str] = field(default_factory=dict)
    #: Per-service additions to the environment (e.g. each Celery worker's host name).
    service_env: Callable[[str], Mapping[str, str]] | None = None
    #: The environment to start from (default: this process's).
    base_env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.dags_folder = Path(self.dags_folder).resolve()
        if not self.port:
            self.port = free_port()
        self.db_url = self.db_url or f"sqlite:///{self.home}/airflow.db"

    # ----------------------------------------------------------------- environment
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment every Airflow process of this stack runs with."""
        env = dict(os.environ if self.base_env is None else self.base_env)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": str(self.db_url),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        return env

    def _pid_file(self, service: str) -> Path:
        return self.home / "run" / f"{service}.pid"

    def _log_file(self, service: str) -> Path:
        return self.home / "run" / f"{service}.log"

    # ----------------------------------------------------------------- lifecycle
    def migrate(self) -> None:
        """Create or upgrade the metadata database."""
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [airflow_bin(), "db", "migrate"],
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def _command(self, service: str) -> list[str]:
        if service == "api-server":
            return [airflow_bin(), "api-server", "--host", "127.0.0.1", "--port", str(self.port)]
        if service in ("scheduler", "triggerer"):
            return [airflow_bin(), service, "--skip-serve-logs"]
        if service.startswith("celery-worker"):
            name = service.replace("celery-worker-", "worker")
            return [airflow_bin(), "celery", "worker", "--skip-serve-logs", "--celery-hostname", f"{name}@%h",
                    "--concurrency", str(self.env().get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "1"))]
        return [airflow_bin(), service]

    def pid(self, service: str) -> int | None:
        """The pid of the service's process (the leader of its process group), from its pid file."""
        try:
            return int(self._pid_file(service).read_text())
        except (OSError, ValueError):
            return None

    def running(self, service: str) -> bool:
        """Whether the service's process is alive (and is an Airflow process, not a reused pid)."""
        pid = self.pid(service)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z" and (b"airflow" in cmdline or b"celery" in cmdline)

    def start(self, timeout: float = 180.0) -> None:
        """Migrate, start every service that is not running, and wait until healthy."""
        self.migrate()
        (self.home / "run").mkdir(parents=True, exist_ok=True)
        env = self.env()
        for service in self.services:
            if self.running(service):
                continue
            service_env = {**env, **(self.service_env(service) if self.service_env else {})}
            with self._log_file(service).open("ab") as log:
                proc = subprocess.Popen(
                    self._command(service),
                    env=service_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    cwd=str(self.home),
                )
            self._pid_file(service).write_text(str(proc.pid))
        self.wait_healthy(timeout)

    def stop(self, grace: float = 15.0) -> None:
        """Stop every service and its children (SIGTERM to the process group, then SIGKILL)."""
        pids = []
        for service in self.services:
            pid_file = self._pid_file(service)
            if pid_file.exists():
                with contextlib.suppress(ValueError):
                    pids.append(int(pid_file.read_text()))
                pid_file.unlink()
        for pid in pids:
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(pid) for pid in pids):
            time.sleep(0.3)
        for pid in pids:
            _signal_group(pid, signal.SIGKILL)

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- REST API
    def api(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """Call Airflow's public REST API (``/api/v2``) as the UI does."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/api/v2{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def health(self) -> dict[str, Any]:
        return self.api("GET", "/monitor/health", timeout=5)

    def wait_healthy(self, timeout: float) -> None:
        """Wait until the api-server answers and the scheduler heartbeats."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.health()
                wanted = ["scheduler"] + [
                    key for service, key in (("triggerer", "triggerer"), ("dag-processor", "dag_processor"))
                    if service in self.services
                ]
                if all((last.get(key) or {}).get("status") == "healthy" for key in wanted):
                    return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
            for service in self.services:
                if not self.running(service):
                    raise RuntimeError(f"{service} exited; see {self._log_file(service)}")
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout:.0f}s: {last}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` (and report import errors)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(1)
        errors = self.api("GET", "/importErrors")
        raise TimeoutError(f"DAG {dag_id} not parsed after {timeout:.0f}s; import errors: {errors}")

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, logical_date: str | None = None) -> str:
        """Trigger a run through the REST API; returns its run id."""
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": dict(conf or {})})
        return run["dag_run_id"]

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 900.0, poll: float = 1.0
    ) -> dict[str, Any]:
        """Wait until the run reaches success or failed (looking every ``poll`` seconds); returns the run."""
        deadline = time.monotonic() + timeout
        quoted = urllib.request.quote(run_id, safe="")
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(poll)
        raise TimeoutError(f"run {run_id} of {dag_id} not finished after {timeout:.0f}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run (mapped ones included)."""
        quoted = urllib.request.quote(run_id, safe="")
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000")["task_instances"]


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
