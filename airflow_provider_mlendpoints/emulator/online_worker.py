"""Child process serving one online deployment's scoring script.

Protocol on stdin/stdout, one JSON object per line. First line from the
parent: ``{"code", "model", "scoring_script", "environment_variables"}``
(``AZUREML_MODEL_DIR`` is a private folder holding the model under its own name, as on Azure:
``$AZUREML_MODEL_DIR/model/...`` for a model registered from a folder ``model/``);
the worker imports the script, calls ``init()`` and answers ``{"ready": true}``
(or ``{"ready": false, "error": ...}``). Then per request ``{"body": str}`` ->
``{"ok": true, "result": <JSON value>}`` or ``{"ok": false, "error": ...}``.
Whatever the script prints or logs goes to stderr, which the parent keeps
as the deployment's log.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
from typing import Any


def _load(config: dict[str, Any]) -> Any:
    os.environ.update({k: str(v) for k, v in (config.get("environment_variables") or {}).items()})
    if config.get("model_dir"):
        os.environ["AZUREML_MODEL_DIR"] = config["model_dir"]
    code_dir = config.get("code_dir")
    script = os.path.join(code_dir, config["scoring_script"]) if code_dir else config["scoring_script"]
    if code_dir:
        sys.path.insert(0, code_dir)
    os.chdir(tempfile.mkdtemp(prefix="online-"))
    spec = importlib.util.spec_from_file_location("score", script)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the scoring script {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "init"):
        module.init()
    return module


def main() -> int:
    from ..client.http_logging import quiet_azure_http_logging

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the script's prints go to the log, not into the protocol
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    quiet_azure_http_logging()  # the deployment's log holds the scoring script's lines, not HTTP dumps

    def answer(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj, default=str) + "\n")
        proto.flush()

    try:
        config = json.loads(sys.stdin.readline())
        from ..engine.model_mount import mount_model
        from .job_worker import materialize, materialize_model

        workdir = tempfile.mkdtemp(prefix="online-assets-")
        atexit.register(shutil.rmtree, workdir, True)
        from pathlib import Path

        config["code_dir"] = materialize(config.get("code"), Path(workdir), "code")
        model_path = materialize_model(config.get("model"), Path(workdir))
        if model_path:
            config["model_dir"] = mount_model(model_path, os.path.join(workdir, "azureml-models"))
        module = _load(config)
        print("Scoring script initialized (init() done).", flush=True)
        answer({"ready": True})
    except Exception:  # noqa: BLE001
        error = traceback.format_exc()
        print(error, flush=True)
        answer({"ready": False, "error": error})
        return 1
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            result = module.run(request["body"])
            json.dumps(result, default=str)
            answer({"ok": True, "result": result})
        except Exception as exc:  # noqa: BLE001
            print(traceback.format_exc(), flush=True)
            answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
