"""Batch jobs: records, the background scoring process, status, cancel.

A job is a ``jobs/<name>`` record (mfe.json Job shape, ``jobType: Pipeline``
as batch invocations are in the service). The scoring runs in a child
process (``python -m airflow_provider_mlendpoints.emulator.job_worker``)
started in its own session, so cancel can stop it and its scoring workers.
The runner is behind :class:`JobRunner`; the default one uses the
self-hosted engine (``engine.run_local``) inside that process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .arm_errors import ArmError, not_found
from .ids import TYPE_PREFIX, system_data, workspace_id
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

TERMINAL = {"Completed", "Failed", "Canceled"}


class JobRunner:
    """Starts the worker process for a job; replaceable (e.g. in tests)."""

    def start(self, spec: dict[str, Any], workdir: Path) -> subprocess.Popen[bytes]:
        """Start scoring ``spec`` (see :mod:`.job_worker`) with its files in ``workdir``."""
        workdir.mkdir(parents=True, exist_ok=True)
        log = open(workdir / "job.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_provider_mlendpoints.emulator.job_worker", str(workdir / "result.json")],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=str(workdir),
            )
        finally:
            log.close()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())  # secrets travel by pipe, never by file or argv
        proc.stdin.close()
        return proc


class BatchJobManager:
    """Creates jobs and follows their processes."""

    def __init__(self, emu: Emulator, runner: JobRunner | None = None) -> None:
        self.emu = emu
        self.runner = runner or JobRunner()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._mark_orphans()

    def _mark_orphans(self) -> None:
        """Jobs that were running when a previous emulator process stopped end Failed."""
        for key in self.emu.store.list_keys():
            if "/jobs/" not in key or key.count("/jobs/") != 1 or key.endswith("/jobs"):
                continue
            record = self.emu.store.get(key)
            if (
                record
                and record["meta"].get("kind") == "job"
                and record["resource"]["properties"].get("status") not in TERMINAL
            ):
                self._finish(key, "Failed", "The emulator stopped while the job was running.")

    def workdir(self, key: str) -> Path:
        """The folder of a job's process files (log, result), by job key or name."""
        return self.emu.config.data_root / "jobs" / key.rsplit("/", 1)[-1].lower()

    def create(
        self,
        ws: tuple[str, str, str],
        name: str,
        *,
        endpoint: dict[str, Any],
        deployment: dict[str, Any],
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        spec: dict[str, Any],
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record a job and start its process; the new record.

        ``tags`` and ``properties`` are the invocation body's own (``BatchJob.tags`` /
        ``BatchJob.properties``); they are kept on the job like the service keeps them, the
        service's ``azureml.*`` properties taking precedence.
        """
        sub, rg, wsname = ws
        arm_id = workspace_id(sub, rg, wsname) + f"/jobs/{name}"
        key = norm_key(arm_id)
        dep_props = deployment["resource"]["properties"]
        resource = {
            "id": arm_id,
            "name": name,
            "type": f"{TYPE_PREFIX}/jobs",
            "systemData": system_data(),
            "properties": {
                "jobType": "Pipeline",
                "status": "NotStarted",
                "displayName": name,
                "experimentName": endpoint["resource"]["name"],
                "computeId": dep_props.get("compute"),
                "isArchived": False,
                "description": f"Batch scoring by {endpoint['resource']['name']}/{deployment['resource']['name']}",
                "properties": {
                    **{str(k): str(v) for k, v in (properties or {}).items()},
                    "azureml.batchrun": "true",
                    "azureml.endpointname": endpoint["resource"]["name"],
                    "azureml.deploymentname": deployment["resource"]["name"],
                },
                "tags": {str(k): str(v) for k, v in (tags or {}).items()},
                "inputs": inputs,
                "outputs": outputs,
                "settings": {},
                "jobs": {},
                "services": {},
            },
        }
        record: dict[str, Any] = {"resource": resource, "meta": {"kind": "job", "key": key, "ws": list(ws)}}
        noop = self.emu.config.noop_job_seconds
        if noop is not None:
            record["resource"]["properties"]["status"] = "Running"
            record["meta"]["noop_until"] = self.emu.now() + float(noop)
            self.emu.store.put(key, record)
            return record
        self.emu.store.put(key, record)
        workdir = self.workdir(key)
        try:
            proc = self.runner.start(spec, workdir)
        except OSError as exc:
            self._finish(key, "Failed", f"could not start the scoring process: {exc}")
            return self.emu.store.get(key) or record
        with self._lock:
            self._procs[key] = proc
        self._set_status(key, "Running", pid=proc.pid)
        threading.Thread(target=self._follow, args=(key, proc, workdir), daemon=True).start()
        return self.emu.store.get(key) or record

    def refresh(self, key: str) -> None:
        """Finish a no-op job (``EmulatorConfig.noop_job_seconds``) once its time is up."""
        record = self.emu.store.get(key)
        if record is None:
            return
        until = record["meta"].get("noop_until")
        if until is not None and self.emu.now() >= until:
            self._finish(key, "Completed", summary={"noop": True})

    def current(self, ws: tuple[str, str, str], name: str, label: str = "job") -> dict[str, Any]:
        """The refreshed record of the job ``name`` in workspace ``ws``; an ARM 404 calling it ``label``."""
        key = workspace_id(*ws) + f"/jobs/{name}"
        self.refresh(key)
        record = self.emu.store.get(key)
        if record is None:
            raise not_found(label, name)
        return record

    def _set_status(self, key: str, status: str, **meta: Any) -> None:
        with self.emu.store.lock:
            record = self.emu.store.get(key)
            if record is None or record["resource"]["properties"]["status"] in TERMINAL:
                return
            record["resource"]["properties"]["status"] = status
            record["meta"].update(meta)
            self.emu.store.put(key, record)

    def _finish(self, key: str, status: str, error: str | None = None, summary: dict[str, Any] | None = None) -> None:
        with self.emu.store.lock:
            record = self.emu.store.get(key)
            if record is None or record["resource"]["properties"]["status"] in TERMINAL:
                return
            props = record["resource"]["properties"]
            props["status"] = status
            if error:
                props["properties"]["azureml.error"] = error[-4000:]
            if summary is not None:
                props["properties"]["azureml.summary"] = json.dumps(summary, default=str)
            record["meta"].update(error=error, summary=summary, pid=None)
            record["resource"]["systemData"] = system_data(record["resource"]["systemData"])
            self.emu.store.put(key, record)

    def _follow(self, key: str, proc: subprocess.Popen[bytes], workdir: Path) -> None:
        code = proc.wait()
        with self._lock:
            self._procs.pop(key, None)
        record = self.emu.store.get(key)
        if record is None or record["resource"]["properties"]["status"] in TERMINAL:
            return
        if record["resource"]["properties"]["status"] == "CancelRequested":
            self._finish(key, "Canceled")
            return
        try:
            result = json.loads((workdir / "result.json").read_text())
        except (OSError, ValueError):
            result = {"status": "Failed", "error": f"The scoring process exited with code {code} without a result."}
        self._finish(key, result.get("status", "Failed"), result.get("error"), result.get("summary"))

    def cancel(self, key: str, reason: str = "canceled") -> bool:
        """Stop the job's process; False when the job is already terminal."""
        record = self.emu.store.get(key)
        if record is None:
            raise ArmError(404, "ResourceNotFound", f"The job '{key.rsplit('/', 1)[-1]}' was not found.")
        if record["resource"]["properties"]["status"] in TERMINAL:
            return False
        self._set_status(key, "CancelRequested")
        with self._lock:
            proc = self._procs.pop(key, None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self._finish(key, "Canceled")
        return True

    def stop_all(self, mark: bool = True) -> None:
        """Stop every running job process (``mark``: record them as Canceled)."""
        with self._lock:
            keys = list(self._procs)
        for key in keys:
            if mark:
                self.cancel(key)
            else:
                with self._lock:
                    proc = self._procs.pop(key, None)
                if proc is not None and proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
