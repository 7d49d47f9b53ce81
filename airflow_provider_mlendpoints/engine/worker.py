"""Scoring child processes: start, feed, time out, retry, replace.

:class:`ScoringPool` keeps up to ``processes`` children (see
:mod:`.scoring_process`) busy: each runs one mini-batch and has the next one
waiting (prefetch), so no child idles on the parent's round trip. When run()
raises, the parent re-queues the mini-batch (up to
``retry_settings.max_retries`` retries); a child that exceeds
``retry_settings.timeout`` or dies is terminated (then killed) and replaced by
a fresh one (``init()`` again), and its prefetched mini-batch goes back to the
queue. A mini-batch whose retries are exhausted gets a "failed" part written
by the parent; successful parts are written by the children themselves.
An init() that runs past ``job.init_timeout`` is treated like one that raised (the
process is replaced, up to ``max_retries`` times in a row). A storage error (here or
in a child) stops the run with :class:`~.errors.StorageFailed`: it is never a failed
mini-batch. Each child leads its own process group, so stopping it also stops the
processes the scoring script started; its stdout is forwarded to the log line by line.
Children are fresh interpreters (like the "spawn" start method), never forks
of a process that may hold threads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from .child_launch import child_command, child_sys_path
from .environment_build import job_python
from .errors import InputError, ScoringError, StorageFailed
from .job import ScoringJob
from .layout import part_key
from .log import EngineLog
from .parts import encode_part, read_status
from .plan import job_where
from .registered import resolve_registered
from .rescore import mark_failed
from .storage import absolute_uri, open_input
from .storage.base import Storage, StorageError

SHUTDOWN_GRACE = 30.0
PREFETCH = 2  # tasks in flight per child: the running one and the next
MAX_LOGGED_FILES = 50
#: Seconds between "init() still running" log lines.
INIT_LOG_EVERY = 30.0


def scoring_script(job: ScoringJob) -> tuple[str, str]:
    """(scoring script path, code folder); the built-in MLflow driver when the deployment has no code."""
    code = job.deployment.code
    if code is None:
        engine_dir = os.path.dirname(os.path.abspath(__file__))
        return os.path.join(engine_dir, "mlflow_driver.py"), engine_dir
    code_dir = os.path.abspath(code.path or ".")
    script = os.path.join(code_dir, code.scoring_script)
    if not os.path.isfile(script):
        raise InputError(
            f"{job_where(job)}: code_configuration.scoring_script: no such file {script} "
            f"(expected a Python file below the code folder {code_dir})"
        )
    return script, code_dir


def model_path(job: ScoringJob) -> str | None:
    """The absolute path of the model (folder or file), or None.

    Each scoring child mounts it under a private ``AZUREML_MODEL_DIR`` by its own name, as Azure
    does (see :mod:`.model_mount`).
    """
    model = job.deployment.model
    if model is None or not model.path:
        return None
    return os.path.abspath(model.path)


def child_setup(job: ScoringJob, plan: dict[str, Any]) -> dict[str, Any]:
    """Everything a scoring child of the planned job needs (picklable; holds storage_options, never logged)."""
    job = resolve_registered(job)  # registered model / code / data asset: local (cached) files
    script, code_dir = scoring_script(job)
    env = {str(k): str(v) for k, v in job.deployment.environment_variables.items()}
    _, input_root, _ = open_input(job.input_uri, job.storage_options)
    summary_only = job.deployment.output_action == "summary_only"
    return {
        "script_path": script,
        "code_dir": code_dir,
        "env": env,
        "model_path": model_path(job),
        "input_uri": absolute_uri(input_root),
        "output_uri": absolute_uri(job.output_uri),
        "storage_options": dict(job.storage_options),
        "kind": plan["input_kind"],
        "reader": (plan.get("settings") or {}).get("table_reader"),
        "payload": None if summary_only else ("arrow" if job.output_format.format == "parquet" else "csv"),
        "separator": job.output_format.separator,
        "python": job_python(job),
    }


def _file_list(files: list[str]) -> str:
    shown = ", ".join(files[:MAX_LOGGED_FILES])
    more = len(files) - MAX_LOGGED_FILES
    return shown + (f" ... and {more} more" if more > 0 else "")


def _forward_lines(stream: Any, pid: int, sink: Callable[[str], None]) -> None:
    """Send each line a scoring process prints to stdout to the log, until the stream closes."""
    with contextlib.suppress(OSError, ValueError):
        for raw in iter(stream.readline, b""):
            sink(f"[scoring process {pid}] {raw.decode('utf-8', 'replace').rstrip()}")
    with contextlib.suppress(OSError):
        stream.close()


class _Child:
    """One scoring child: a fresh interpreter (``python -c``, see :mod:`.child_launch`) over a socket pair.

    A fresh interpreter, like the "spawn" start method, but without re-running
    the parent's ``__main__`` (a DAG file, a user script, Airflow's CLI), and
    never a fork of a process that may hold threads.
    """

    def __init__(self, setup: dict[str, Any], output_sink: Callable[[str], None]) -> None:
        parent_sock, child_sock = socket.socketpair()
        fd = child_sock.fileno()
        try:
            # Its own process group (so stopping it stops what the script started too), and its
            # stdout into the log (never into the output of the program that runs the job).
            self.proc = subprocess.Popen(child_command(setup, fd), pass_fds=[fd], close_fds=True,
                                         start_new_session=True, stdout=subprocess.PIPE)
        finally:
            child_sock.close()
        self._reader = threading.Thread(target=_forward_lines, args=(self.proc.stdout, self.proc.pid, output_sink),
                                        name=f"mlendpoints-stdout-{self.proc.pid}", daemon=True)
        self._reader.start()
        self.conn = Connection(parent_sock.detach())
        self.conn.send({**setup, "sys_path": child_sys_path(setup)})
        self.ready = False  # init() done
        self.started = time.monotonic()
        self.init_logged = self.started  # when the last "init() still running" line was logged
        # Tasks sent, in order: the head is running, the next one waits in the socket (prefetch),
        # so the child never idles waiting for the parent between mini-batches.
        self.queue: deque[dict[str, Any]] = deque()
        self.deadline = float("inf")  # of the head task

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 2.0) -> None:
        """Terminate, then kill, the process; then kill what is left of its process group."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(5)
        self._signal_group(signal.SIGKILL)  # processes the scoring script started and left running
        self._reader.join(2.0)  # its last lines reach the log before whatever the caller writes next
        self.conn.close()

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


class ScoringPool:
    """Run mini-batch tasks in up to ``processes`` scoring children with timeouts and retries."""

    def __init__(
        self,
        job: ScoringJob,
        setup: dict[str, Any],
        output: Storage,
        log: EngineLog,
        on_finish: Callable[[dict[str, Any]], None],
    ) -> None:
        self.job = job
        self.setup = setup
        self.output = output
        self.log = log
        self.on_finish = on_finish
        self.max_retries = job.deployment.retry_settings.max_retries
        self.timeout = float(job.deployment.retry_settings.timeout)
        self.init_timeout = float(job.init_timeout)
        self.children: list[_Child] = []
        self.pending: deque[dict[str, Any]] = deque()
        self.init_failures = 0
        #: Called after every wait for events (at least once a second): e.g. claim heartbeats.
        self.on_tick: Callable[[], None] | None = None

    def run(self, tasks: Iterable[dict[str, Any]], processes: int) -> None:
        """Score the tasks (``{"mb": manifest record, "shard": k}``) in up to ``processes`` children.

        Raises :class:`StorageFailed` when reading or writing storage fails (here or in a child):
        the run stops at once, no mini-batch is counted as failed for it, finished parts stay.
        """
        source: Iterator[dict[str, Any]] = iter(tasks)
        try:
            self._run(source, processes)
        except StorageError as exc:
            raise StorageFailed(str(exc)) from exc
        finally:
            for child in self.children:
                child.stop()
            self.children.clear()

    def _run(self, source: Iterator[dict[str, Any]], processes: int) -> None:
        while True:
            for depth in range(1, PREFETCH + 1):  # first one task per child, then the prefetch
                for child in self.children:
                    if child.ready and len(child.queue) < depth:
                        task = self._next(source)
                        if task is None:
                            break
                        self._send(child, task)
            busy = sum(1 for c in self.children if c.queue)
            has_work = self._peek(source) is not None
            if busy == 0 and not has_work:
                break
            if has_work:
                self.start(processes)
            self._wait()
            if self.on_tick is not None:
                self.on_tick()
        self._shutdown()

    def adopt(self, children: list[_Child]) -> None:
        """Score in children started earlier (see :class:`WarmStart`) before starting new ones."""
        self.children.extend(children)

    def start(self, processes: int) -> None:
        """Start scoring children (each runs init() at once) until there are ``processes``."""
        while len(self.children) < max(1, processes):
            self.children.append(_Child(self.setup, self.log.info))

    # -- task queue ---------------------------------------------------------------------------

    def _peek(self, source: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
        if not self.pending:
            nxt = next(source, None)
            if nxt is None:
                return None
            self.pending.append({**nxt, "attempt": 1})
        return self.pending[0]

    def _next(self, source: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
        return self.pending.popleft() if self._peek(source) is not None else None

    def _send(self, child: _Child, task: dict[str, Any]) -> None:
        if not child.queue:
            child.deadline = time.monotonic() + self.timeout
        child.queue.append(task)
        self.log.debug(f"mini-batch {task['mb']['id']}: attempt {task['attempt']} in process {child.proc.pid}")
        with contextlib.suppress(BrokenPipeError, OSError):  # a death is noticed by _wait
            child.conn.send(("run", task))

    # -- events -------------------------------------------------------------------------------

    def _wait(self) -> int:
        """Wait for messages, deaths or timeouts; return how many mini-batches finished."""
        now = time.monotonic()
        next_deadline = min((c.deadline for c in self.children if c.queue), default=now + 1.0)
        objects: list[Any] = [c.conn for c in self.children]
        wait(objects, timeout=max(0.0, min(next_deadline - now, 1.0)))
        finished = 0
        for child in list(self.children):
            finished += self._drain(child)
        now = time.monotonic()
        for child in list(self.children):
            if not child.ready:
                self._watch_init(child, now)
        for child in list(self.children):
            if child.queue and now > child.deadline:
                task = child.queue.popleft()
                self._requeue(child)
                self.log.warning(
                    f"mini-batch {task['mb']['id']}: run() did not return within {self.timeout:g} s "
                    f"(retry_settings.timeout); stopping process {child.proc.pid}"
                )
                self._remove(child)
                finished += self._attempt_failed(
                    task,
                    {
                        "error": f"TimeoutError: run() did not return within {self.timeout:g} s "
                        "(retry_settings.timeout); the process was stopped",
                        "traceback": None,
                    },
                )
        return finished

    def _watch_init(self, child: _Child, now: float) -> None:
        """Log a line every :data:`INIT_LOG_EVERY` s while init() runs; replace the process past init_timeout."""
        elapsed = now - child.started
        if elapsed > self.init_timeout:
            self.log.warning(f"init() of the scoring script did not return within {self.init_timeout:g} s "
                             f"(init_timeout) in process {child.proc.pid}; stopping it")
            self._remove(child)
            self._init_failed({"error": f"TimeoutError: init() did not return within {self.init_timeout:g} s "
                                        "(init_timeout); the process was stopped", "traceback": None})
        elif now - child.init_logged >= INIT_LOG_EVERY:
            child.init_logged = now
            self.log.info(f"init() of the scoring script still running in process {child.proc.pid} after "
                          f"{elapsed:.0f} s (init_timeout {self.init_timeout:g} s)")

    def _drain(self, child: _Child) -> int:
        finished = 0
        while True:
            try:  # only the connection's own errors mean the child went away; the parent's are raised
                if not child.conn.poll():
                    break
                kind, body = child.conn.recv()
            except (EOFError, OSError):
                break
            finished += self._message(child, kind, body)
            if child not in self.children:
                return finished
        if not child.alive() and child in self.children:
            task = child.queue.popleft() if child.queue else None
            self._requeue(child)
            code = child.proc.returncode
            self._remove(child)
            if task is not None:
                finished += self._died(task, code)
            elif not child.ready:
                self._init_failed({"error": f"the scoring process exited with code {code} during init()",
                                   "traceback": None})
        return finished

    def _message(self, child: _Child, kind: str, body: Any) -> int:
        if kind == "ready":
            child.ready = True
            self.init_failures = 0
            self.log.debug(f"scoring process {body} ready (init() done)")
            return 0
        if kind == "init_error":
            self._remove(child)
            self._init_failed(body)
            return 0
        if kind == "storage_error":
            task = child.queue[0]["mb"]["id"] if child.queue else "?"
            raise StorageError(f"mini-batch {task} (process {child.proc.pid}): {body['error']}")
        task = child.queue.popleft() if child.queue else None
        # The child moves on to the prefetched task now: its time limit starts.
        child.deadline = time.monotonic() + self.timeout if child.queue else float("inf")
        if kind == "done":
            self._finished(body)
            return 1
        if kind == "error" and task is not None:
            return self._attempt_failed(task, body)
        return 0

    def _requeue(self, child: _Child) -> None:
        """Give a stopped child's not-yet-started (prefetched) tasks back, in order, as the next to run."""
        while child.queue:
            self.pending.appendleft(child.queue.pop())

    def _remove(self, child: _Child) -> None:
        if child in self.children:
            self.children.remove(child)
        child.stop()

    def _init_failed(self, err: dict[str, Any]) -> None:
        self.init_failures += 1
        self.log.warning(f"init() of the scoring script failed: {err['error']}\n{err.get('traceback') or ''}")
        if self.init_failures > self.max_retries:
            raise ScoringError(
                f"init() of the scoring script {self.setup['script_path']} failed {self.init_failures} times "
                f"in a row; last error: {err['error']}{self._import_hint(err)}\n{err.get('traceback') or ''}"
            )

    def _import_hint(self, err: dict[str, Any]) -> str:
        """For a library missing from the worker's interpreter: how to score in the deployment's environment."""
        if self.setup.get("python") or not str(err["error"]).startswith(("ModuleNotFoundError", "ImportError")):
            return ""
        return (" (the scoring processes run in the worker's Python environment; environment='build' / "
                "--environment build builds the deployment's conda file, python= / --python PATH uses an "
                "interpreter you built)")

    def _died(self, task: dict[str, Any], code: int | None) -> int:
        return self._attempt_failed(
            task, {"error": f"the scoring process died during run() (exit code {code})", "traceback": None}
        )

    def _attempt_failed(self, task: dict[str, Any], err: dict[str, Any]) -> int:
        mb = task["mb"]
        key = part_key(mb["id"])
        if self.output.exists(key):
            # A part is there: written by this attempt's process before it died or timed out, or by
            # another run of the same shard. The mini-batch is done; its rows exist exactly once.
            self._finished(read_status(self.output, key))
            return 1
        if task["attempt"] <= self.max_retries:
            self.log.warning(
                f"mini-batch {mb['id']} attempt {task['attempt']} of {self.max_retries + 1} failed: "
                f"{err['error']}; retrying"
            )
            self.log.debug(err.get("traceback") or "")
            self.pending.appendleft({**task, "attempt": task["attempt"] + 1})
            return 0
        files = [key for key, _ in mb["files"]] if "files" in mb else [mb["file"]]
        status = {
            "id": mb["id"],
            "index": mb["i"],
            "shard": task.get("shard"),
            "status": "failed",
            "items": mb["n"],
            "succeeded": 0,
            "failed": mb["n"],
            "attempts": task["attempt"],
            "error": err["error"],
            "traceback": err.get("traceback"),
            "files": files,
            "started": time.time(),
            "seconds": 0.0,
            "rows": 0,
            "payload": None,
            "columns": None,
        }
        if "start" in mb:
            status["rows_range"] = [mb["start"], mb["stop"]]
        mark_failed(self.output, mb["id"])
        self.output.write_bytes(key, encode_part(status))
        self._finished(status)
        return 1

    def _finished(self, status: dict[str, Any]) -> None:
        if status.get("warning"):
            self.log.warning(f"mini-batch {status['id']}: {status['warning']}")
        if status["status"] != "succeeded":
            where = f" rows {status['rows_range'][0]}-{status['rows_range'][1] - 1} of" if "rows_range" in status else ""
            message = (
                f"mini-batch {status['id']} {status['status']} after {status['attempts']} attempt(s): "
                f"{status['error']}\n  input files:{where} {_file_list(status['files'])}"
            )
            if status.get("traceback"):
                message += "\n" + status["traceback"].rstrip()
            self.log.warning(message)
        self.on_finish(status)

    def _shutdown(self) -> None:
        """Ask every child to call shutdown() and exit; wait a while for them."""
        for child in self.children:
            with contextlib.suppress(BrokenPipeError, OSError):
                child.conn.send(("stop", None))
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for child in self.children:
            try:
                if child.conn.poll(max(0.0, deadline - time.monotonic())):
                    while True:
                        kind, body = child.conn.recv()
                        if kind == "bye":
                            if body:
                                self.log.warning(f"shutdown() of the scoring script failed: {body['error']}\n"
                                                 f"{body.get('traceback') or ''}")
                            break
            except (EOFError, OSError):
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(max(0.1, deadline - time.monotonic()))


class WarmStart:
    """Scoring children started before the plan is read, so that their init() runs meanwhile.

    :meth:`take` hands them to the first pool whose setup is the same (anything else stops
    them: they would score with another setup); :meth:`close` stops those never taken.
    """

    def __init__(self, setup: dict[str, Any] | None = None, children: list[_Child] | None = None) -> None:
        self.setup = setup
        self.children = list(children or [])

    @classmethod
    def start(cls, setup: dict[str, Any], processes: int, output_sink: Callable[[str], None]) -> WarmStart:
        """Start ``processes`` scoring children with ``setup`` now."""
        warm = cls(setup)
        try:
            for _ in range(max(1, processes)):
                warm.children.append(_Child(setup, output_sink))
        except BaseException:
            warm.close()
            raise
        return warm

    def take(self, setup: dict[str, Any]) -> list[_Child]:
        """The children started early, if they were started with ``setup``."""
        children, self.children = self.children, []
        if setup == self.setup:
            return children
        for child in children:
            child.stop()
        return []

    def close(self) -> None:
        """Stop the children nobody took."""
        self.take({})
