"""Online deployments' scoring processes, traffic routing and logs.

One child process per online deployment (:mod:`.online_worker`), started while
the deployment provisions, as on Azure (a crashing ``init()`` fails the
deployment with its traceback; a process that died is started again on the next
request): ``init()`` once, then ``run(body)`` per request, one request at a time.
A ``run()`` that raises answers 424 with the ``ms-azureml-model-error-*`` headers. Its stderr (what the script prints or logs) is the
deployment's log, served by getLogs.

Like the service, ``requestSettings`` apply: at most
``maxConcurrentRequestsPerInstance`` x ``sku.capacity`` requests are admitted
at once; one that waits longer than ``maxQueueWait`` (default 500 ms) gets a
429; a ``run()`` longer than ``requestTimeout`` gets a 408 and the process is
replaced (the emulator's default timeout is a lenient 90 s, the service's 5 s).

Mirror traffic (``mirrorTraffic``), as on Azure: a request routed by the
traffic split is also sent, with each mirrored deployment's probability, to
that deployment in the background; its answer is discarded (the caller gets
the live deployment's), and what its script logs shows up in its getLogs.
Requests pinned with ``azureml-model-deployment`` are not mirrored. The draws
use the traffic seed, so tests are deterministic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import select
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import assets
from .job_worker import parse_duration

if TYPE_CHECKING:
    from .context import Emulator

DEFAULT_REQUEST_TIMEOUT = 90.0


class ScoringError(Exception):
    """The scoring script failed (``status`` is the HTTP status to answer; ``model_status`` the one the
    scoring server gave, when the model itself failed: the endpoint then answers 424)."""

    def __init__(self, status: int, message: str, model_status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.model_status = model_status


class _Provisioning:
    """A deployment's scoring process being started (``init()``) while the deployment provisions."""

    def __init__(self, op: str | None) -> None:
        self.op = op
        self.done = threading.Event()
        self.error: str | None = None


def _seconds(value: Any, default: float) -> float:
    """Seconds of an ISO 8601 duration with fractions (``PT0.5S``), or ``default``."""
    if not value:
        return default
    text = str(value).upper()
    if text.startswith("PT") and text.endswith("S") and "M" not in text and "H" not in text:
        try:
            return float(text[2:-1])
        except ValueError:
            return default
    return float(parse_duration(value, int(default)))


class _Worker:
    def __init__(self, proc: subprocess.Popen[str], log_path: Path, settings: dict[str, Any], capacity: int) -> None:
        self.proc = proc
        self.log_path = log_path
        self.lock = threading.Lock()
        limit = int(settings.get("maxConcurrentRequestsPerInstance") or 1) * max(1, capacity)
        self.admission = threading.BoundedSemaphore(limit)
        self.queue_wait = _seconds(settings.get("maxQueueWait"), 0.5)
        self.timeout = _seconds(settings.get("requestTimeout"), DEFAULT_REQUEST_TIMEOUT)


class OnlineManager:
    """Starts, uses and stops the per-deployment scoring processes."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._random = random.Random(emu.config.traffic_seed)
        self._provisioning: dict[str, _Provisioning] = {}
        #: Guards ``_provisioning`` only; taken under the store lock (by settle), so never with it held
        #: is the store touched. Order: ``_lock`` before ``_prov_lock``.
        self._prov_lock = threading.Lock()

    def provision(self, record: dict[str, Any]) -> tuple[bool, str | None]:
        """Start the deployment's scoring process, ``init()`` included, as Azure does while a
        deployment provisions: (done, error). Not done yet the first calls (the process starts in the
        background); then done, with the error (``init()``'s traceback and the log) when it failed.
        Deployments without a scoring script have nothing to start."""
        if not (record["resource"]["properties"].get("codeConfiguration") or {}).get("scoringScript"):
            return True, None
        key, op = record["meta"]["key"], record["meta"].get("op")
        with self._prov_lock:
            state = self._provisioning.get(key)
            if state is None or state.op != op:
                state = _Provisioning(op)
                self._provisioning[key] = state
                threading.Thread(target=self._provision, args=(record, state), daemon=True).start()
        if not state.done.is_set():
            return False, None
        return True, state.error

    def _provision(self, record: dict[str, Any], state: _Provisioning) -> None:
        key = record["meta"]["key"]
        try:
            worker = self._start(record)
        except Exception as exc:  # noqa: BLE001 - every failure fails the deployment, with its message
            message = str(exc)
            state.error = message if isinstance(exc, ScoringError) else f"{type(exc).__name__}: {message}"
        else:
            with self._lock, self._prov_lock:
                current = self._provisioning.get(key)
                old = self._workers.get(key)
                if current is state:
                    self._workers[key] = worker
            if current is not state:  # replaced or deleted meanwhile
                worker.proc.kill()
            elif old is not None and old is not worker and old.proc.poll() is None:
                old.proc.kill()
        state.done.set()

    def seed(self, value: int | None) -> None:
        """Make the traffic choice deterministic (or random again with None)."""
        self.emu.config.traffic_seed = value
        self._random = random.Random(value)

    def choose(self, traffic: dict[str, int]) -> str | None:
        """A deployment name drawn by the traffic weights (None when nothing gets traffic)."""
        names = sorted(n for n, w in traffic.items() if int(w or 0) > 0)
        if not names:
            return None
        with self._lock:
            return self._random.choices(names, weights=[int(traffic[n]) for n in names])[0]

    def mirror_targets(self, mirror: dict[str, int], live: str) -> list[str]:
        """The deployments that also get a copy of a request answered by ``live``: each mirrored
        deployment with its percentage as probability (drawn with the traffic seed)."""
        names = sorted(n for n, p in mirror.items() if int(p or 0) > 0 and n != live)
        with self._lock:
            return [n for n in names if self._random.random() * 100 < int(mirror[n])]

    def mirror(self, record: dict[str, Any], body: str) -> threading.Thread:
        """Score ``body`` on the mirrored deployment in the background; the answer is discarded
        (a failure is in the deployment's log, like any failed request)."""

        def shadow() -> None:
            with contextlib.suppress(Exception):  # a shadow's failure never reaches the caller
                self.score(record, body)

        thread = threading.Thread(target=shadow, name="mirror-" + record["meta"]["key"][-40:], daemon=True)
        thread.start()
        return thread

    def log_path(self, key: str) -> Path:
        folder = self.emu.config.data_root / "online_logs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".log")

    def _start(self, record: dict[str, Any]) -> _Worker:
        props = record["resource"]["properties"]
        ws_key = record["meta"]["ws_key"]
        code_cfg = props.get("codeConfiguration") or {}
        code = model = None
        if code_cfg.get("codeId"):
            code_rec = assets.find_ref(self.emu, ws_key, "codes", code_cfg["codeId"])
            if code_rec is None:
                raise ScoringError(500, f"code version {code_cfg['codeId']} not found")
            code = assets.any_location(self.emu, ws_key, code_rec["resource"]["properties"].get("codeUri") or "")
        if props.get("model"):
            model_rec = assets.find_ref(self.emu, ws_key, "models", props["model"])
            if model_rec is None:
                raise ScoringError(500, f"model version {props['model']} not found")
            model = assets.any_location(self.emu, ws_key, model_rec["resource"]["properties"].get("modelUri") or "")
        if not code_cfg.get("scoringScript"):
            raise ScoringError(500, "the deployment has no scoring script (codeConfiguration.scoringScript)")
        log_path = self.log_path(record["meta"]["key"])
        log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_provider_mlendpoints.emulator.online_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        finally:
            log.close()
        assert proc.stdin is not None and proc.stdout is not None
        config = {
            "code": code,
            "model": model,
            "scoring_script": code_cfg["scoringScript"],
            "environment_variables": props.get("environmentVariables") or {},
        }
        proc.stdin.write(json.dumps(config) + "\n")
        proc.stdin.flush()
        ready = json.loads(proc.stdout.readline() or '{"ready": false, "error": "the scoring process exited"}')
        if not ready.get("ready"):
            proc.kill()
            proc.wait()
            raise ScoringError(502, "init() of the scoring script failed: " + str(ready.get("error", ""))[-4000:])
        capacity = int((record["resource"].get("sku") or {}).get("capacity") or 1)
        return _Worker(proc, log_path, props.get("requestSettings") or {}, capacity)

    def score(self, record: dict[str, Any], body: str) -> Any:
        """``run(body)`` of the deployment's script, starting its process if needed."""
        key = record["meta"]["key"]
        with self._lock:
            worker = self._workers.get(key)
            if worker is not None and worker.proc.poll() is not None:
                worker = None
            if worker is None:
                worker = self._start(record)
                self._workers[key] = worker
        if not worker.admission.acquire(timeout=worker.queue_wait):
            raise ScoringError(429, "Too many requests: the deployment is saturated (maxConcurrentRequestsPerInstance).")
        try:
            line = self._exchange(key, worker, body)
        finally:
            worker.admission.release()
        if not line:
            raise ScoringError(502, "the scoring process exited while scoring")
        answer = json.loads(line)
        if not answer.get("ok"):
            # Managed online endpoints answer 424 when the model fails, with the scoring server's status.
            raise ScoringError(424, answer.get("error", "run() failed"), model_status=500)
        return answer["result"]

    def _exchange(self, key: str, worker: _Worker, body: str) -> str:
        with worker.lock:
            assert worker.proc.stdin is not None and worker.proc.stdout is not None
            try:
                worker.proc.stdin.write(json.dumps({"body": body}) + "\n")
                worker.proc.stdin.flush()
                ready, _, _ = select.select([worker.proc.stdout], [], [], worker.timeout)
                if not ready:
                    worker.proc.kill()
                    with self._lock:
                        if self._workers.get(key) is worker:
                            del self._workers[key]
                    raise ScoringError(408, f"run() took longer than the request timeout ({worker.timeout:g} s).")
                return worker.proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise ScoringError(502, f"the scoring process is gone: {exc}") from exc

    def logs(self, record: dict[str, Any], container: str, tail: int | None) -> str:
        """The last ``tail`` lines the deployment logged (all with None)."""
        if container == "StorageInitializer":
            lines = [
                "Downloading the model and code from the workspace (emulator).",
                f"Model: {record['resource']['properties'].get('model')}",
                "Done.",
            ]
        else:
            path = self.log_path(record["meta"]["key"])
            if not path.exists():
                return ""
            with path.open(errors="replace") as handle:
                keep = (tail + 50) if tail else None
                lines = [line.rstrip("\n") for line in deque(handle, maxlen=keep)]
            while lines and not lines[-1].strip():
                lines.pop()
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        return "\n".join(lines) + ("\n" if lines else "")

    def stop_prefix(self, prefix: str) -> None:
        """Stop the processes of the deployment ``prefix`` and those below it ("" stops all)."""
        with self._lock:
            keys = [k for k in self._workers if not prefix or k == prefix or k.startswith(prefix + "/")]
            workers = [self._workers.pop(k) for k in keys]
            with self._prov_lock:
                for k in [k for k in self._provisioning if not prefix or k == prefix or k.startswith(prefix + "/")]:
                    del self._provisioning[k]
        for worker in workers:
            if worker.proc.poll() is None:
                worker.proc.terminate()
                try:
                    worker.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    worker.proc.kill()
