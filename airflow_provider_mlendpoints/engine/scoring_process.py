"""The code that runs inside a scoring child process.

The parent (:mod:`.worker`) starts a fresh interpreter running :func:`main_fd`
and talks to it over a socket pair. The child sets the deployment's environment variables,
``AZUREML_MODEL_DIR`` (a private folder holding the model under its own name, as on Azure) and
``AZUREML_BI_OUTPUT_PATH`` (the output folder, where summary_only scripts write their own
files; for blob output a staging folder uploaded after each mini-batch), moves to a private temporary working directory,
imports the scoring script (its code folder first on ``sys.path``), calls
``init()`` once, then ``run(mini_batch)`` per task it is sent, writes each
successful mini-batch's part itself (atomically), and calls ``shutdown()``
(if defined) when told to stop. A child whose parent disappears (the shard
task was killed with SIGKILL) stops within a second instead of scoring on
beside the retry that replaces it.

Messages, parent -> child: ``("run", task)``, ``("stop", None)``.
Child -> parent: ``("ready", pid)``, ``("init_error", err)``, ``("done", status)``,
``("error", err)`` (run() failed), ``("storage_error", err)`` (reading the input or writing the part
failed: the parent stops the run), ``("bye", err_or_None)``; ``err`` is
``{"error": "Type: message", "traceback": "..."}``.

Kept light on imports: pandas and pyarrow load only when the input is tabular,
the output is Parquet, or the script imports them itself.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from .layout import part_key
from .model_mount import MODEL_DIR_ENV, mount_model
from .parts import check_result, encode_part, render_rows, result_warning
from .storage import LocalStorage, open_storage
from .storage.base import Storage, StorageError

if TYPE_CHECKING:  # never evaluated: the child may run Python 3.8
    from multiprocessing.connection import Connection

    #: The child's end of the socket: it sends (kind, body) tuples, receives the setup then tasks.
    ChildConnection = Connection[tuple[str, Any], Any]


def _error(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def load_script(script_path: str, code_dir: str) -> Any:
    """Import the scoring script as a module named after its file (code folder first on sys.path)."""
    for folder in (os.path.dirname(script_path), code_dir):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(script_path))[0]
    spec = importlib.util.spec_from_file_location(name, script_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the scoring script {script_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"the scoring script {script_path} defines no run(mini_batch) function")
    return module


OUTPUT_PATH_ENV = "AZUREML_BI_OUTPUT_PATH"


def script_output_folder(output: Storage, staging: str) -> str | None:
    """The folder ``AZUREML_BI_OUTPUT_PATH`` names: the output folder itself when it is local.

    For blob output, a private staging folder (``staging``) whose files are uploaded after
    each successful mini-batch (see :meth:`_Scorer.publish_script_files`); None when local.
    """
    if isinstance(output, LocalStorage):
        os.makedirs(output.root, exist_ok=True)
        return None
    return staging


class _Scorer:
    def __init__(self, setup: dict[str, Any], module: Any, staging: str | None = None) -> None:
        self.setup = setup
        self.module = module
        self.staging = staging  # AZUREML_BI_OUTPUT_PATH of a blob output, uploaded per mini-batch
        self.inputs = open_storage(setup["input_uri"], setup["storage_options"])
        self.output = open_storage(setup["output_uri"], setup["storage_options"])
        self.local_root = self.inputs.root if isinstance(self.inputs, LocalStorage) else None
        # A remote tabular file is downloaded once and kept while its slices keep coming.
        self._table_key: str | None = None
        self._table_path = ""
        self._table_stack = ExitStack()

    def table_path(self, key: str) -> str:
        """A local path holding the tabular input ``key``."""
        if self.local_root is not None:
            return os.path.join(self.local_root, key)
        if key != self._table_key:
            self.close()
            self._table_path = self._table_stack.enter_context(self.inputs.local_path(key))
            self._table_key = key
        return self._table_path

    def clear_staging(self) -> None:
        """Empty the staging folder: what a failed run() left there is never uploaded."""
        if self.staging is None:
            return
        for entry in os.scandir(self.staging):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def publish_script_files(self) -> None:
        """Upload the files run() wrote to ``AZUREML_BI_OUTPUT_PATH`` (blob output), then clear it.

        Each file is written atomically under the same relative name, before the mini-batch's
        part: a rerun of the mini-batch rewrites the same names, so nothing is lost or doubled.
        """
        if self.staging is None:
            return
        staged = LocalStorage(self.staging)
        for info in staged.list_files():
            with staged.open_read(info.key) as src, self.output.open_write(info.key) as dst:
                shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
        self.clear_staging()

    def close(self) -> None:
        """Remove a cached download."""
        self._table_key = None
        self._table_stack.close()

    def score(self, task: dict[str, Any]) -> dict[str, Any]:
        mb = task["mb"]
        started = time.time()
        t0 = time.perf_counter()
        with ExitStack() as stack:
            if "files" in mb:
                names = [key for key, _ in mb["files"]]
                if self.local_root is not None:  # local input: the files themselves, no per-file checks
                    batch: Any = [os.path.join(self.local_root, key) for key in names]
                else:  # remote input: downloaded to temporary files for the duration of run()
                    batch = [stack.enter_context(self.inputs.local_path(key)) for key in names]
            else:
                from .tabular import read_slice

                names = [mb["file"]]
                batch = read_slice(self.table_path(mb["file"]), mb, self.setup.get("reader"))
            self.clear_staging()
            result = check_result(self.module.run(batch))
            self.publish_script_files()
        seconds = time.perf_counter() - t0
        items = mb["n"]
        rows = len(result)
        succeeded = min(rows, items)
        payload_format = self.setup["payload"]
        payload, columns = (b"", None)
        if payload_format is not None:
            payload, columns = render_rows(result, payload_format, self.setup["separator"])
        # List elements are written one per line: a line break inside one makes more output rows.
        written = payload.count(b"\n") if payload_format == "csv" and columns is None else rows
        status = {
            "id": mb["id"],
            "index": mb["i"],
            "shard": task.get("shard"),
            "status": "succeeded" if succeeded == items else "partial",
            "items": items,
            "succeeded": succeeded,
            "failed": items - succeeded,
            "attempts": task["attempt"],
            "error": None
            if succeeded == items
            else f"run() returned {rows} results for {items} inputs; {items - succeeded} counted as failed",
            "traceback": None,
            "files": names,
            "started": started,
            "seconds": round(seconds, 6),
            "rows": written if payload_format is not None else 0,
            "warning": result_warning(rows, items, written),
            "payload": payload_format,
            "columns": columns,
        }
        if "start" in mb:
            status["rows_range"] = [mb["start"], mb["stop"]]
        self.output.write_bytes(part_key(mb["id"]), encode_part(status, payload))
        return status


PARENT_CHECK_SECONDS = 1.0


def exit_with_parent(parent_pid: int, interval: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """Stop this process as soon as ``parent_pid`` is no longer its parent.

    A daemon thread polls ``os.getppid()``: when the shard task that started
    this child dies (SIGKILL, OOM killer), the child is re-parented and exits
    at once, so a retried task never competes with orphans of the killed one.
    Unlike ``PR_SET_PDEATHSIG`` it does not depend on which thread of the
    parent started the child.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                if os.getpgid(0) == os.getpid():  # this process leads its own group: take the
                    os.killpg(os.getpid(), signal.SIGKILL)  # processes the script started with it
                os._exit(3)

    thread = threading.Thread(target=watch, name="mlendpoints-parent-watch", daemon=True)
    thread.start()
    return thread


def main_fd(fd: int) -> None:
    """Entry point of a scoring child: serve the parent on the socket ``fd`` (first message: the setup)."""
    from multiprocessing.connection import Connection

    exit_with_parent(os.getppid())
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] # a pipe to the parent's log
    conn = Connection(fd)
    setup = conn.recv()
    for entry in setup.get("sys_path", []):
        if entry not in sys.path:
            sys.path.append(entry)
    child_main(conn, setup)


def child_main(conn: ChildConnection, setup: dict[str, Any]) -> None:
    """Run init(), then serve run requests until told to stop."""
    os.environ.update(setup["env"])
    workdir = tempfile.mkdtemp(prefix="mlendpoints-worker-")
    models = tempfile.mkdtemp(prefix="mlendpoints-models-")  # AZUREML_MODEL_DIR, outside the working dir
    staging = tempfile.mkdtemp(prefix="mlendpoints-bi-output-")
    os.chdir(workdir)
    scorer: _Scorer | None = None
    try:
        try:
            scorer = _initialized_scorer(setup, models, staging)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent with its traceback
            conn.send(("init_error", _error(exc)))
            return
        conn.send(("ready", os.getpid()))
        if _serve(conn, scorer):
            conn.send(("bye", _shutdown(scorer.module)))
    finally:
        if scorer is not None:
            scorer.close()
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(models, ignore_errors=True)  # the link only, never the model
        shutil.rmtree(staging, ignore_errors=True)


def _initialized_scorer(setup: dict[str, Any], models: str, staging: str) -> _Scorer:
    """Open the output, mount the model, import the scoring script and run its init()."""
    output = open_storage(setup["output_uri"], setup["storage_options"])
    to_upload = script_output_folder(output, staging)
    os.environ[OUTPUT_PATH_ENV] = to_upload or output.uri  # a local output: its folder (uri is the path)
    if setup.get("model_path"):
        os.environ[MODEL_DIR_ENV] = mount_model(setup["model_path"], models)
    module = load_script(setup["script_path"], setup["code_dir"])
    if callable(getattr(module, "init", None)):
        module.init()
    return _Scorer(setup, module, to_upload)


def _serve(conn: ChildConnection, scorer: _Scorer) -> bool:
    """Score the parent's tasks; True when told to stop, False when the parent went away."""
    while True:
        try:
            kind, task = conn.recv()
        except (EOFError, OSError):
            return False
        if kind == "stop":
            return True
        try:
            conn.send(("done", scorer.score(task)))
        except StorageError as exc:  # reading the input or writing the part: never a scoring failure
            conn.send(("storage_error", {"error": str(exc), "traceback": traceback.format_exc()}))
        except Exception as exc:  # noqa: BLE001 - the parent retries or records it
            conn.send(("error", _error(exc)))


def _shutdown(module: Any) -> dict[str, str] | None:
    """Call the script's shutdown() if it has one; the error it raised, or None."""
    if not callable(getattr(module, "shutdown", None)):
        return None
    try:
        module.shutdown()
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return None
