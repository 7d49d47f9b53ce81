"""Child process that runs one batch job with the self-hosted engine.

Usage: ``python -m airflow_provider_mlendpoints.emulator.job_worker RESULT_JSON``
with the job spec as JSON on stdin (see :func:`build_scoring_job`). Writes
``{"status": "Completed"|"Failed", "error": ..., "summary": ...}`` to
RESULT_JSON. Prints go to the job log (the parent redirects stdout).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.job import ScoringJob

_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value: Any, default: int = 30) -> int:
    """Seconds of an ISO 8601 duration like ``PT30S`` (ints pass through)."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return int(value)
    match = _DURATION.match(str(value).strip().upper())
    if not match:
        return default
    d, h, m, s = (float(match[g] or 0) for g in ("d", "h", "m", "s"))
    return int(d * 86400 + h * 3600 + m * 60 + s)


def materialize(location: dict[str, Any] | None, workdir: Path, name: str) -> str | None:
    """A local folder (or file) holding an asset: local paths as they are, blobs downloaded."""
    if not location:
        return None
    if location.get("local"):
        return str(location["local"])
    from ..engine.storage import open_storage

    storage = open_storage(location["uri"], location.get("storage_options") or {})
    target = workdir / name
    if storage.is_file_root():
        target.mkdir(parents=True, exist_ok=True)
        dest = target / location["uri"].rstrip("/").rsplit("/", 1)[-1]
        dest.write_bytes(storage.read_bytes(""))
        return str(dest)
    found = False
    for info in storage.list_files():
        dest = target / info.key
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(storage.read_bytes(info.key))
        found = True
    if not found:
        raise RuntimeError(f"nothing found for the {name} at '{storage.uri}'")
    return str(target)


def materialize_model(location: dict[str, Any] | None, workdir: Path) -> str | None:
    """A local path (folder or file) of the model, named as it was registered (the base name of its path).

    Whoever runs the scoring script mounts it under ``AZUREML_MODEL_DIR`` by that name, as Azure
    does (:func:`..engine.model_mount.mount_model`): ``$AZUREML_MODEL_DIR/model/...`` for a model
    registered from a folder ``model/``, ``$AZUREML_MODEL_DIR/m.pkl`` for one registered from a file.
    """
    if not location or location.get("local"):
        return materialize(location, workdir, "model")
    name = location["uri"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "model"
    # downloaded to <workdir>/model/<name> (a folder), or <workdir>/model/<name>/<name> (a file)
    return materialize(location, workdir / "model", name)


def build_scoring_job(spec: dict[str, Any], workdir: Path) -> ScoringJob:
    """The engine's ScoringJob for the spec the emulator sent."""
    from ..engine.job import ScoringJob
    from ..specs.model import BatchDeploymentSpec, CodeSpec, ModelSpec, RetrySettings

    dep = spec["deployment"]
    props: dict[str, Any] = dict(dep["properties"])
    over: dict[str, Any] = spec.get("overrides") or {}
    retry = dict(props.get("retrySettings") or {})
    retry.update(over.get("retrySettings") or {})
    code_dir = materialize(spec.get("code"), workdir, "code")
    model_dir = materialize_model(spec.get("model"), workdir)
    code_cfg = props.get("codeConfiguration") or {}
    deployment = BatchDeploymentSpec(
        name=dep["name"],
        endpoint_name=dep.get("endpoint_name"),
        model=ModelSpec(path=model_dir, type=spec.get("model_type") or "custom_model") if model_dir else None,
        code=CodeSpec(scoring_script=code_cfg.get("scoringScript") or "score.py", path=code_dir) if code_dir else None,
        instance_count=int(over.get("instanceCount") or (props.get("resources") or {}).get("instanceCount") or 1),
        max_concurrency_per_instance=int(props.get("maxConcurrencyPerInstance") or 1),
        mini_batch_size=over.get("miniBatchSize") or props.get("miniBatchSize") or 10,
        output_action="summary_only" if str(props.get("outputAction", "")).lower() == "summaryonly" else "append_row",
        output_file_name=over.get("outputFileName") or props.get("outputFileName") or "predictions.csv",
        retry_settings=RetrySettings(
            max_retries=int(retry.get("maxRetries", 3)), timeout=parse_duration(retry.get("timeout"), 30)
        ),
        error_threshold=int(over.get("errorThreshold", props.get("errorThreshold", -1))),
        logging_level=str(over.get("loggingLevel") or props.get("loggingLevel") or "info").lower(),  # type: ignore[arg-type]
        environment_variables=dict(props.get("environmentVariables") or {}),
    )
    inp, out = spec["input"], spec["output"]
    options = dict(inp.get("storage_options") or {})
    options.update(out.get("storage_options") or {})
    return ScoringJob(
        deployment=deployment,
        input_uri=inp["uri"],
        output_uri=out["uri"],
        storage_options=options,
    )


def publish_outputs(staging: Path, output_uri: str, storage_options: dict[str, Any]) -> list[str]:
    """Move what the job wrote into ``staging`` (all but the engine's state folder) to the job's
    output location; the keys moved."""
    from ..engine.layout import STATE_DIR
    from ..engine.storage import open_storage

    if not staging.is_dir():
        return []
    target = open_storage(output_uri, storage_options)
    copied = []
    for path in sorted(staging.rglob("*")):
        key = path.relative_to(staging).as_posix()
        if not path.is_file() or key == STATE_DIR or key.startswith(STATE_DIR + "/"):
            continue
        with path.open("rb") as source, target.open_write(key) as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
        path.unlink()  # published; the engine's state (report, parts) stays for the job's log
        copied.append(key)
    return copied


def main(argv: list[str]) -> int:
    result_path = Path(argv[1])
    result: dict[str, Any]
    try:
        spec = json.loads(sys.stdin.read())
        workdir = Path(tempfile.mkdtemp(prefix="job-", dir=result_path.parent))
        job = build_scoring_job(spec, workdir)
        where = (spec["input"]["uri"].split("?")[0], spec["output"]["uri"].split("?")[0])  # never a SAS
        print(f"emulator job {spec.get('job_name')}: input {where[0]} -> output {where[1]}", flush=True)
        try:
            from ..engine import JobFailed, run_local
        except ImportError as exc:
            raise RuntimeError(f"the self-hosted engine is not available: {exc}") from exc
        # Azure writes only the output file into the job's output folder: the engine keeps its state
        # (plan, manifest, parts, report) in a private staging folder, and the outputs are copied over.
        staging = workdir / "output"
        output_uri, output_options = job.output_uri, dict(spec["output"].get("storage_options") or {})
        job = dataclasses.replace(job, output_uri=str(staging))
        try:
            summary = run_local(job, workers=spec.get("workers"), log=lambda msg: print(msg, flush=True))
            result = {"status": "Completed", "summary": summary}
        except JobFailed as exc:
            partial = getattr(exc, "summary", None)
            result = {"status": "Failed", "error": str(exc), "summary": partial if isinstance(partial, dict) else None}
        publish_outputs(staging, output_uri, output_options)
        keep_mini_batches(job, result_path.parent)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the job's message
        traceback.print_exc()
        result = {"status": "Failed", "error": f"{type(exc).__name__}: {exc}"}
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=str))
    os.replace(tmp, result_path)
    print(f"emulator job finished: {result['status']}", flush=True)
    return 0


def keep_mini_batches(job: ScoringJob, folder: Path) -> None:
    """A copy of the report's mini_batches.csv in the job's folder (the studio job page's timeline)."""
    from ..engine.layout import REPORT_CSV_KEY
    from ..engine.plan import output_storage

    try:
        data = output_storage(job).read_bytes(REPORT_CSV_KEY)
    except Exception:  # noqa: BLE001 - a view only: no report (e.g. the job failed early), no timeline
        return
    (folder / "mini_batches.csv").write_bytes(data)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
