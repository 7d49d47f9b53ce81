"""Planning a job: list inputs, cut mini-batches, group them into shards.

``plan_job`` streams ``_mlendpoints/manifest.jsonl`` (one JSON line per
mini-batch, in input order) and writes ``_mlendpoints/plan.json`` (counts,
an input fingerprint, the settings hash, the shard ranges). Only one
mini-batch is held in memory at a time, so huge inputs plan in constant memory.

Manifest lines: ``{"i": index, "id": "00000042", "n": items, "files": [[key, size], ...]}``
for file input; ``{"i", "id", "n", "file": key, "start": row, "stop": row[, "offset", "end"]}``
for tabular input (a row slice of one file; byte range for CSV).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, BinaryIO, TypedDict

from .environment_build import job_python
from .errors import InputError, OutputExistsError, PlanMismatchError
from .fingerprint import InputFingerprint, describe_changes
from .job import ScoringJob
from .layout import (
    CLAIMS_PREFIX,
    INPUTS_KEY,
    MANIFEST_KEY,
    PARTS_PREFIX,
    PLAN_KEY,
    REPORT_PREFIX,
    RESCORED_PREFIX,
    STATE_DIR,
    is_lock_key,
    join_uri,
    mini_batch_id,
)
from .lease import holding_output_lease
from .minibatch import BatchSize, file_mini_batches, glob_matcher, parse_mini_batch_size, shard_ranges
from .mltable import MLTableSpec, has_mltable, load_mltable, mltable_files
from .redact import location
from .registered import resolve_registered
from .storage import absolute_uri, is_remote, open_input, open_storage
from .storage.base import FileInfo, Storage, StorageError, display_key
from .tabular import tabular_slices
from .tempfiles import remove_stale_temp_files

if TYPE_CHECKING:
    from ..specs.model import BatchDeploymentSpec

DEFAULT_MAX_SHARDS = 256
#: auto: Azure's rule (a folder holding an MLTable file is tabular, anything else gives run() file paths).
INPUT_TYPES = ("auto", "file", "tabular")
# One shard per running slot: every extra task instance costs Airflow ~1-5 s of scheduling
# and start-up (bench/self_hosted.py (c)), and uneven shards need no extra tasks since idle
# shard tasks help busy ones (claims.py).
SHARDS_PER_SLOT = 1
PLAN_VERSION = 2  # 2: the input fingerprint holds modification times / ETags
MAX_NAMED_SKIPS = 100  # skipped inputs named in plan.json (all are counted)


class ShardRef(TypedDict, total=False):
    """A shard reference as returned by :func:`plan_job` (JSON-able, travels through XCom)."""

    shard: int
    first: int
    last: int
    mini_batches: int
    plan: str


def job_where(job: ScoringJob) -> str:
    """How error messages name the deployment: its YAML file, or its name."""
    return job.deployment.source or f"deployment {job.deployment.name!r}"


def output_storage(job: ScoringJob) -> Storage:
    """The storage rooted at the job's output location."""
    return open_storage(job.output_uri, job.storage_options)


def read_plan(out: Storage) -> dict[str, Any] | None:
    """The plan metadata of a previous plan_job, or None."""
    if not out.exists(PLAN_KEY):
        return None
    plan: dict[str, Any] = json.loads(out.read_bytes(PLAN_KEY))
    return plan


def job_settings(job: ScoringJob, input_kind: str, reader: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings that decide mini-batches and the rendering of parts (hashed into the plan)."""
    d = job.deployment
    fmt = job.output_format
    return {
        "input_kind": input_kind,
        "table_reader": reader,
        "recursive": job.recursive,
        "mini_batch_size": str(d.mini_batch_size),
        "input_glob": job.input_glob,
        "output_action": d.output_action,
        "output_format": {"format": fmt.format, "separator": fmt.separator, "header": fmt.header},
    }


def validate_job(job: ScoringJob) -> BatchSize:
    """Check the settings the engine relies on; raise InputError naming the field."""
    where = job_where(job)
    d = job.deployment
    size = parse_mini_batch_size(d.mini_batch_size, where=f"{where}: mini_batch_size")
    _check_scaling(d, where)
    if not 0 < job.init_timeout < float("inf"):
        raise InputError(f"init_timeout must be a positive number of seconds, got {job.init_timeout!r}")
    _check_output(job, where)
    if job.input_type not in INPUT_TYPES:
        raise InputError(f"input_type must be one of {', '.join(INPUT_TYPES)}, got {job.input_type!r}")
    if job.environment not in ("worker", "build"):
        raise InputError(f"environment must be worker or build, got {job.environment!r}")
    if d.code is not None and not d.code.path:
        raise InputError(f"{where}: code_configuration.code must be a local folder for self-hosted scoring")
    return size


def _check_scaling(d: BatchDeploymentSpec, where: str) -> None:
    """InputError unless the instances, processes and retries are sensible numbers."""
    if d.instance_count < 1:
        raise InputError(f"{where}: instance_count must be at least 1, got {d.instance_count}")
    if d.max_concurrency_per_instance < 1:
        raise InputError(
            f"{where}: max_concurrency_per_instance must be at least 1, got {d.max_concurrency_per_instance}"
        )
    if d.retry_settings.max_retries < 0 or d.retry_settings.timeout <= 0:
        raise InputError(f"{where}: retry_settings: max_retries must be >= 0 and timeout > 0 seconds")


def _check_output(job: ScoringJob, where: str) -> None:
    """InputError unless the output action and format are ones the engine writes."""
    if job.deployment.output_action not in ("append_row", "summary_only"):
        raise InputError(
            f"{where}: output_action must be append_row or summary_only, got {job.deployment.output_action!r}"
        )
    if job.output_format.format not in ("csv", "parquet"):
        raise InputError(f"output format must be csv or parquet, got {job.output_format.format!r}")
    if job.output_format.format == "csv" and len(job.output_format.separator) != 1:
        raise InputError(f"output separator must be one character, got {job.output_format.separator!r}")


def _output_keys_in_input(job: ScoringJob, input_root: str) -> tuple[str, ...]:
    """Key prefixes of the job's own output below the input root, when the output lies inside it (local)."""
    if is_remote(job.output_uri) or is_remote(input_root):
        return ()
    out = absolute_uri(job.output_uri).removeprefix("file://")
    root = absolute_uri(input_root).removeprefix("file://")
    if out == root:
        return (STATE_DIR + "/", job.deployment.output_file_name)
    if out.startswith(root.rstrip(os.sep) + os.sep):
        return (os.path.relpath(out, root).replace(os.sep, "/") + "/",)
    return ()


class Skipped:
    """Inputs a listing left out: all counted, the first :data:`MAX_NAMED_SKIPS` named with the reason."""

    def __init__(self) -> None:
        self.count = 0
        self.named: list[dict[str, str]] = []

    def __call__(self, key: str, reason: str) -> None:
        self.count += 1
        if len(self.named) < MAX_NAMED_SKIPS:
            self.named.append({"input": display_key(key), "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "inputs": self.named}


def list_inputs(
    job: ScoringJob, on_skip: Skipped | None = None
) -> tuple[Storage, str | None, Iterator[FileInfo]]:
    """Open the input and return (storage, single-file key or None, a fresh sorted iterator of inputs).

    A folder lists its top-level files only unless ``job.recursive``; the inputs it leaves out
    (nested folders, dangling links, symlink loops) are reported to ``on_skip``. An MLTable input
    lists the files its MLTable file names.
    """
    if not is_remote(job.input_uri) and not os.path.exists(absolute_uri(job.input_uri).removeprefix("file://")):
        raise InputError(f"input {location(job.input_uri)!r}: no such file or folder")
    try:
        storage, root, single = open_input(job.input_uri, job.storage_options)
    except StorageError as exc:
        raise InputError(f"input {location(job.input_uri)!r}: {exc}") from exc
    skip = _output_keys_in_input(job, root)
    matches = glob_matcher(job.input_glob)
    table = mltable(job, storage, single)
    report = on_skip or (lambda key, reason: None)

    def files() -> Iterator[FileInfo]:
        if table is not None:
            source = mltable_files(table, storage, job.input_uri.split("?")[0])
        elif single:
            source = storage.list_files(single)
        else:
            source = storage.list_files("", recursive=job.recursive, on_skip=report)
        for info in source:
            if skip and info.key.startswith(skip):  # str.startswith accepts a tuple
                continue
            if single or matches(info.key):
                yield info

    return storage, single, files()


def mltable(job: ScoringJob, storage: Storage, single: str | None) -> MLTableSpec | None:
    """The input's MLTable (Azure's rule for tabular input), or None for a file input."""
    if single or job.input_type == "file" or not has_mltable(storage):
        return None
    return load_mltable(storage, job.input_uri.split("?")[0].rstrip("/"))


def input_kind(job: ScoringJob) -> str:
    """'file' or 'tabular', by Azure's rule.

    ``uri_folder`` / ``uri_file`` inputs give run() file paths whatever the files are; only an
    MLTable input (a folder holding an ``MLTable`` file) or ``input_type="tabular"`` gives DataFrames.
    """
    if job.input_type != "auto":
        return job.input_type
    storage, _, single = open_input(job.input_uri, job.storage_options)
    return "tabular" if mltable(job, storage, single) is not None else "file"


def table_reader(job: ScoringJob) -> dict[str, Any] | None:
    """How the tabular input's files are read: the MLTable's transformations, or None (by extension)."""
    storage, _, single = open_input(job.input_uri, job.storage_options)
    table = mltable(job, storage, single)
    return table.reader.to_dict() if table is not None else None


def check_driver_inputs(job: ScoringJob, files: Iterator[FileInfo]) -> Iterator[FileInfo]:
    """For an MLflow deployment without a scoring script: fail at once on a file the driver cannot read."""
    from .mlflow_driver import READABLE_EXTENSIONS

    for info in files:
        ext = os.path.splitext(info.key)[1].lower()
        if ext not in READABLE_EXTENSIONS:
            raise InputError(
                f"input file {display_key(info.key)!r}: an MLflow deployment without a scoring script reads "
                f"{', '.join(READABLE_EXTENSIONS)} files, not {ext or 'files without an extension'!r}; "
                "filter the input (--glob / input_glob) or give the deployment a scoring script"
            )
        yield info


def _check_existing(job: ScoringJob, out: Storage) -> dict[str, Any] | None:
    """Apply job.existing_output; return the previous plan to compare with, if any."""
    output_file = job.deployment.output_file_name
    has_state = any(not is_lock_key(info.key) for info in out.list_files(STATE_DIR + "/"))
    has_output = out.exists(output_file)
    if job.existing_output == "overwrite":
        out.delete(output_file)
        out.delete_prefix(STATE_DIR + "/")
        return None
    old_plan = read_plan(out) if has_state else None
    if job.existing_output == "resume":
        if has_state and old_plan is None and next(iter(out.list_files(PARTS_PREFIX)), None) is not None:
            raise PlanMismatchError(
                f"output {out.uri}: found result parts but no {PLAN_KEY}; cannot resume, use overwrite"
            )
        return old_plan
    # "error": a retry of the planning step itself (same plan, nothing scored yet) is not an existing output.
    only_plan = (
        old_plan is not None
        and not has_output
        and next(iter(out.list_files(PARTS_PREFIX)), None) is None
        and next(iter(out.list_files(REPORT_PREFIX)), None) is None
    )
    if has_output or (has_state and not only_plan):
        what = join_uri(out.uri, output_file) if has_output else join_uri(out.uri, STATE_DIR + "/")
        raise OutputExistsError(
            f"output already exists: {what}; use resume (--resume, existing_output='resume') to keep finished "
            "mini-batches, or overwrite (--overwrite, existing_output='overwrite') to start over"
        )
    return old_plan


@holding_output_lease("plan_job")
def plan_job(job: ScoringJob, *, max_shards: int | None = None) -> list[ShardRef]:
    """List the inputs, cut mini-batches, write the manifest and plan, return the shard references.

    Shards are contiguous ranges of mini-batches: ``{"shard": k, "first": i, "last": j,
    "mini_batches": j - i + 1, "plan": <plan id>}``. There is one shard per
    running slot (``instance_count``; idle shard tasks help busy ones, see
    :mod:`.claims`), at most ``max_shards`` (default 256) and at most one per mini-batch.
    Claims of an earlier run are cleared, and temporary files killed runs left in a local output
    are removed (counted in ``plan.json`` under ``stale_temp_files_removed``).
    Runs under the output's lease (:mod:`.lease`): :class:`~.errors.OutputBusyError` while another
    run holds it.
    Raises :class:`InputError` for a bad input or settings, :class:`OutputExistsError`
    or :class:`PlanMismatchError` per ``job.existing_output``.
    """
    job = resolve_registered(job)
    size = validate_job(job)
    job_python(job)  # environment="build": built (or found in the cache) before anything is planned
    where = job_where(job)
    out = output_storage(job)
    _require_inputs(job)  # before any existing output is touched
    old_plan = _check_existing(job, out)
    stale_files, stale_bytes = remove_stale_temp_files(out)
    out.delete_prefix(CLAIMS_PREFIX)
    out.delete_prefix(RESCORED_PREFIX)
    kind = input_kind(job)
    reader = table_reader(job) if kind == "tabular" else None
    settings = job_settings(job, kind, reader)
    settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    skipped = Skipped()
    storage, single, files = list_inputs(job, skipped)
    if kind == "file" and job.deployment.code is None:
        files = check_driver_inputs(job, files)

    with out.open_write(MANIFEST_KEY) as manifest, out.open_write(INPUTS_KEY) as inputs_list:
        fingerprint = InputFingerprint(inputs_list)
        seen = _SeenInputs(fingerprint)
        mini_batches, items = _write_manifest(manifest, _records(kind, storage, seen.read(files), size, where, reader))
        fingerprint.flush()
        input_hash = fingerprint.hexdigest()
        if mini_batches == 0:
            raise InputError(f"input {location(job.input_uri)!r}: the tabular input files hold no rows")
        if old_plan is not None:  # a mismatch leaves the old manifest as it was (nothing is committed)
            _compare_plans(job, old_plan, input_hash, settings_hash, settings)
    counts = {"files": seen.files, "bytes": seen.bytes, "mini_batches": mini_batches, "items": items}

    ranges = shard_ranges(mini_batches, _shard_count(job.deployment.instance_count, max_shards))
    plan_id = hashlib.sha256(f"{input_hash}:{settings_hash}".encode()).hexdigest()[:16]
    now = time.time()
    plan = {
        "version": PLAN_VERSION,
        "plan_id": plan_id,
        "input": location(absolute_uri(job.input_uri)),
        "single_file": single,
        "input_kind": kind,
        **counts,
        "skipped": skipped.to_dict(),
        "input_hash": input_hash,
        "settings_hash": settings_hash,
        "settings": settings,
        "shards": [[first, last] for first, last in ranges],
        "created": datetime.fromtimestamp(now, timezone.utc).isoformat(),
        "created_ts": now,
        "stale_temp_files_removed": {"files": stale_files, "bytes": stale_bytes},
        "owner": job.owner,  # the run that planned it (see plan_once.py)
    }
    out.write_bytes(PLAN_KEY, json.dumps(plan, indent=1).encode())
    return shard_refs(plan)


def shard_refs(plan: dict[str, Any]) -> list[ShardRef]:
    """The shard references of a plan (what :func:`plan_job` returns)."""
    return [
        {"shard": k, "first": first, "last": last, "mini_batches": last - first + 1, "plan": plan["plan_id"]}
        for k, (first, last) in enumerate(plan["shards"])
    ]


def _require_inputs(job: ScoringJob) -> None:
    """InputError naming the input (and what was left out of it) when it has no file to score."""
    left_out = Skipped()
    _, _, peek = list_inputs(job, left_out)
    if next(peek, None) is not None:
        return
    glob = f" matching {job.input_glob!r}" if job.input_glob else ""
    why = "; ".join(f"{s['input']}: {s['reason']}" for s in left_out.named[:5])
    raise InputError(
        f"input {location(job.input_uri)!r}: no input files found{glob}"
        + (f" ({left_out.count} left out: {why})" if why else "")
    )


class _SeenInputs:
    """Counts the input files as the mini-batches are cut, adding each to the input fingerprint."""

    def __init__(self, fingerprint: InputFingerprint) -> None:
        self.fingerprint = fingerprint
        self.files = 0
        self.bytes = 0

    def read(self, source: Iterable[FileInfo]) -> Iterator[FileInfo]:
        for info in source:
            self.fingerprint.add(info)
            self.files += 1
            self.bytes += info.size
            yield info


def _records(
    kind: str, storage: Storage, files: Iterator[FileInfo], size: BatchSize, where: str,
    reader: dict[str, Any] | None,
) -> Iterator[dict[str, Any]]:
    """The mini-batches of ``files``: row slices of tabular files, else groups of files."""
    if kind == "tabular":
        for info in files:
            yield from tabular_slices(storage, info, size, where, reader)
    else:
        for batch in file_mini_batches(files, size):
            yield {"files": [[f.key, f.size] for f in batch]}


def _write_manifest(manifest: BinaryIO, records: Iterator[dict[str, Any]]) -> tuple[int, int]:
    """Write one JSON line per mini-batch (numbered, with its item count); (mini-batches, items)."""
    buffer: list[bytes] = []
    mini_batches = items = 0
    for index, rec in enumerate(records):
        n = len(rec["files"]) if "files" in rec else rec["stop"] - rec["start"]
        line = {"i": index, "id": mini_batch_id(index), "n": n, **rec}
        buffer.append(json.dumps(line, separators=(",", ":")).encode() + b"\n")
        mini_batches += 1
        items += n
        if len(buffer) >= 1000:
            manifest.write(b"".join(buffer))
            buffer.clear()
    manifest.write(b"".join(buffer))
    return mini_batches, items


def _shard_count(slots: int, max_shards: int | None) -> int:
    """Shards wanted: one for a single instance, else SHARDS_PER_SLOT per instance; at most max_shards."""
    wanted = 1 if slots == 1 else slots * SHARDS_PER_SLOT
    cap = max(1, max_shards if max_shards is not None else DEFAULT_MAX_SHARDS)
    return min(wanted, cap)


def _compare_plans(
    job: ScoringJob, old: dict[str, Any], input_hash: str, settings_hash: str, settings: dict[str, Any]
) -> None:
    if old.get("input_hash") == input_hash and old.get("settings_hash") == settings_hash:
        return
    if old.get("input_hash") != input_hash:
        changed = describe_changes(output_storage(job), list_inputs(job)[2])
        what = (
            f"the input changed since the previous run: {changed}" if changed else
            f"the input changed since the previous run ({old.get('files')} files, {old.get('bytes')} bytes "
            "then; different files, sizes or modification times now)"
        )
    else:
        keys = sorted(k for k in settings if old.get("settings", {}).get(k) != settings[k])
        what = f"settings changed since the previous run: {', '.join(keys)}"
    cls = PlanMismatchError if job.existing_output == "resume" else OutputExistsError
    raise cls(f"output {location(job.output_uri)}: {what}; cannot resume, use overwrite to start over")


def describe_plan(plan: dict[str, Any], shards: int) -> list[str]:
    """Log lines for a written plan: what was planned, then every skipped input the plan names."""
    lines = [
        f"planned {plan.get('mini_batches')} mini-batches ({plan.get('items')} {plan.get('input_kind')} items "
        f"from {plan.get('files')} files) in {shards} shard(s)"
    ]
    skipped = plan.get("skipped") or {}
    if skipped.get("count"):
        lines.append(f"{skipped['count']} input(s) left out of the job:")
        lines.extend(f"  left out {s['input']}: {s['reason']}" for s in skipped.get("inputs", []))
        more = skipped["count"] - len(skipped.get("inputs", []))
        if more > 0:
            lines.append(f"  ... and {more} more (counted, not named)")
    return lines


def iter_manifest(out: Storage, first: int = 0, last: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream manifest records with first <= index <= last."""
    if not out.exists(MANIFEST_KEY):
        raise InputError(f"output {out.uri}: no plan found ({MANIFEST_KEY}); run plan_job first")
    with out.open_read(MANIFEST_KEY) as stream:
        for index, line in enumerate(stream):
            if index < first:
                continue
            if last is not None and index > last:
                break
            yield json.loads(line)
