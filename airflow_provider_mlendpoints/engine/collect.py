"""Collecting a job: check every mini-batch finished, apply the error threshold, merge, report.

The merge streams parts in input order into ``{output}/<output_file_name>``
(one part in memory at a time), so output size does not bound memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .errors import InputError, JobFailed, JobIncomplete
from .job import ScoringJob
from .layout import ERRORS_KEY, PARTS_PREFIX, REPORT_CSV_KEY, SUMMARY_KEY, join_uri, part_key
from .lease import releasing_owner_lease
from .log import EngineLog
from .parts import LIST_COLUMN, read_part, read_status
from .plan import iter_manifest, output_storage, read_plan
from .report import ReportWriter, write_summary
from .rescore import rescored_ids
from .storage.base import Storage

MAX_LISTED_MISSING = 20


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


@releasing_owner_lease
def collect_job(job: ScoringJob, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Check, merge and report a scored job; return the summary (also written to summary.json).

    Raises :class:`JobIncomplete` when some mini-batch has no part (nothing is
    written then), and :class:`JobFailed` (after writing the output and the
    report) when failed items exceed ``error_threshold`` or an append_row job
    produced no successful item. Removes the output lease of ``job.owner`` (its run ends here).
    """
    elog = EngineLog(log, job.deployment.logging_level)
    out = output_storage(job)
    plan = read_plan(out)
    if plan is None:
        raise InputError(f"output {out.uri}: no plan found; run plan_job (and the scoring) before collecting")
    tally = _tally_parts(out, plan["shards"])
    counts = tally.counts
    d = job.deployment
    output_file = None
    if d.output_action == "append_row":
        output_file = join_uri(out.uri, d.output_file_name)
        elog.info(f"merging {counts['rows']} rows from {counts['mb_total']} mini-batches into {output_file}")
        merge_parts(job, out, tally.columns)
    reason = _failure_reason(d.error_threshold, counts)
    rescored = rescored_ids(out)
    if rescored:
        elog.info(f"{len(rescored)} mini-batch(es) that had failed were scored again: "
                  f"{', '.join(rescored[:MAX_LISTED_MISSING])}{' ...' if len(rescored) > MAX_LISTED_MISSING else ''}")
    summary = _summary(job, out, plan, tally, reason=reason, rescored=rescored, output_file=output_file)
    write_summary(out, summary)
    elog.info(
        f"job {summary['status']}: {counts['succeeded']}/{counts['items']} items succeeded, "
        f"{counts['failed']} failed; {counts['mb_total']} mini-batches ({counts['mb_failed']} failed, "
        f"{counts['mb_partial']} partial)"
    )
    if reason:
        raise JobFailed(summary)
    return summary


@dataclass
class _Tally:
    """What the parts of a job say, added up mini-batch by mini-batch in input order."""

    counts: dict[str, float] = field(default_factory=lambda: {
        "mb_total": 0, "mb_succeeded": 0, "mb_partial": 0, "mb_failed": 0,
        "items": 0, "succeeded": 0, "failed": 0, "rows": 0, "seconds": 0.0,
    })
    missing: list[str] = field(default_factory=list)
    missing_shards: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # the first MAX_LISTED_MISSING
    warned: int = 0
    columns: list[str] | None = None  # of the first mini-batch with rows

    def add(self, rec: dict[str, Any], status: dict[str, Any]) -> None:
        """A mini-batch of the manifest (``rec``) and the status record of its part."""
        self.counts["mb_total"] += 1
        self.counts["items"] += rec["n"]
        self.counts[f"mb_{status['status']}"] += 1
        self.counts["succeeded"] += status["succeeded"]
        self.counts["failed"] += status["failed"]
        self.counts["rows"] += status.get("rows") or 0
        self.counts["seconds"] += status.get("seconds") or 0.0
        if status.get("warning"):
            self.warned += 1
            if len(self.warnings) < MAX_LISTED_MISSING:
                self.warnings.append(f"mini-batch {rec['id']}: {status['warning']}")
        if self.columns is None and status.get("rows"):
            self.columns = status.get("columns") or [LIST_COLUMN]

    def add_missing(self, rec: dict[str, Any], shard: int) -> None:
        """A mini-batch of shard ``shard`` that has no part."""
        self.counts["mb_total"] += 1
        self.counts["items"] += rec["n"]
        self.missing.append(rec["id"])
        self.missing_shards.add(shard)

    def incomplete(self, out_uri: str) -> JobIncomplete:
        listed = ", ".join(self.missing[:MAX_LISTED_MISSING]) + (" ..." if len(self.missing) > MAX_LISTED_MISSING else "")
        return JobIncomplete(
            f"{len(self.missing)} of {self.counts['mb_total']} mini-batches are unfinished (no part in "
            f"{join_uri(out_uri, PARTS_PREFIX)}): shards {sorted(self.missing_shards)}; mini-batches {listed}. "
            "Score those shards again (finished mini-batches are kept) before collecting.",
            self.missing,
            sorted(self.missing_shards),
        )


def _tally_parts(out: Storage, shards: list[list[int]]) -> _Tally:
    """Add up every mini-batch's part, writing the report as it goes; JobIncomplete when some have none."""
    present = {info.key[len(PARTS_PREFIX):] for info in out.list_files(PARTS_PREFIX)}
    tally = _Tally()
    shard = 0
    with ReportWriter(out) as report:
        for rec in iter_manifest(out):
            while shard + 1 < len(shards) and rec["i"] > shards[shard][1]:
                shard += 1
            if rec["id"] not in present:
                tally.add_missing(rec, shard)
                continue
            status = read_status(out, part_key(rec["id"]))
            tally.add(rec, status)
            report.add(status, shard)
        if tally.missing:
            raise tally.incomplete(out.uri)
    return tally


def _failure_reason(threshold: int, counts: dict[str, float]) -> str | None:
    """Why the job failed (too many failed items, none succeeded), or None when it completed."""
    if threshold != -1 and counts["failed"] > threshold:
        return f"{counts['failed']} failed items exceed error_threshold {threshold}"
    if counts["succeeded"] == 0:  # append_row and summary_only alike
        return "no input item was scored successfully"
    return None


def _summary(
    job: ScoringJob, out: Storage, plan: dict[str, Any], tally: _Tally, *,
    reason: str | None, rescored: list[str], output_file: str | None,
) -> dict[str, Any]:
    """The job's summary.json."""
    counts = tally.counts
    end = time.time()
    start = plan.get("created_ts", end)
    return {
        "status": "Failed" if reason else "Completed",
        "failure_reason": reason,
        "mini_batches": {"total": counts["mb_total"], "succeeded": counts["mb_succeeded"],
                         "partial": counts["mb_partial"], "failed": counts["mb_failed"],
                         "rescored": len(rescored)},
        "rescored_mini_batches": rescored,
        "warnings": {"mini_batches": tally.warned, "first": tally.warnings},
        "items": {"total": counts["items"], "succeeded": counts["succeeded"], "failed": counts["failed"]},
        "error_threshold": job.deployment.error_threshold,
        "output_rows": counts["rows"] if output_file else 0,
        "output_file": output_file,
        "input": plan.get("input"),
        "input_kind": plan.get("input_kind"),
        "input_files": plan.get("files"),
        "skipped_inputs": plan.get("skipped", {"count": 0, "inputs": []}),
        "shards": len(plan["shards"]),
        "timings": {"start": _iso(start), "end": _iso(end), "seconds": round(end - start, 3),
                    "scoring_seconds": round(counts["seconds"], 3)},
        "report": {"mini_batches": join_uri(out.uri, REPORT_CSV_KEY), "errors": join_uri(out.uri, ERRORS_KEY),
                   "summary": join_uri(out.uri, SUMMARY_KEY)},
        "settings": _settings(job),
    }


def _settings(job: ScoringJob) -> dict[str, Any]:
    """The settings the job ran with, as summary.json records them."""
    d = job.deployment
    return {
        "deployment": d.name,
        "mini_batch_size": d.mini_batch_size,
        "instance_count": d.instance_count,
        "max_concurrency_per_instance": d.max_concurrency_per_instance,
        "retry_settings": {"max_retries": d.retry_settings.max_retries, "timeout": d.retry_settings.timeout},
        "error_threshold": d.error_threshold,
        "output_action": d.output_action,
        "output_file_name": d.output_file_name,
        "logging_level": d.logging_level,
        "input_type": job.input_type,
        "recursive": job.recursive,
        "input_glob": job.input_glob,
        "output_format": {"format": job.output_format.format, "separator": job.output_format.separator,
                          "header": job.output_format.header},
    }


def merge_parts(job: ScoringJob, out: Storage, columns: list[str] | None) -> None:
    """Write the parts' rows, in input order, to the merged output file (streamed)."""
    fmt = job.output_format
    key = job.deployment.output_file_name
    if fmt.format == "parquet":
        _merge_parquet(out, key)
        return
    with out.open_write(key) as f:
        if fmt.header:
            f.write((fmt.separator.join(columns or [LIST_COLUMN]) + "\n").encode("utf-8"))
        for rec in iter_manifest(out):
            _, payload = read_part(out, part_key(rec["id"]))
            if payload:
                f.write(payload)


def _merge_parquet(out: Storage, key: str) -> None:
    """Write the Parquet file locally (pyarrow closes its sink), then stream it to storage atomically."""
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="mlendpoints-merge-") as folder:
        local = f"{folder}/merged.parquet"
        writer: pq.ParquetWriter | None = None  # its schema is the first mini-batch's
        try:
            for rec in iter_manifest(out):
                status, payload = read_part(out, part_key(rec["id"]))
                if not payload:
                    continue
                table = pa.ipc.open_stream(payload).read_all()
                if table.num_rows == 0 and writer is not None:
                    continue
                if writer is None:
                    writer = pq.ParquetWriter(local, table.schema)
                elif not table.schema.equals(writer.schema):
                    try:
                        table = table.select(writer.schema.names).cast(writer.schema)
                    except (pa.ArrowException, KeyError, ValueError) as exc:
                        raise InputError(
                            f"mini-batch {status['id']}: its columns {table.schema.names} / types do not match "
                            f"the first mini-batch's {writer.schema.names}; cannot write one Parquet file: {exc}"
                        ) from exc
                writer.write_table(table)
            if writer is None:
                empty = pa.table({LIST_COLUMN: pa.array([], type=pa.string())})
                writer = pq.ParquetWriter(local, empty.schema)
                writer.write_table(empty)
        finally:
            if writer is not None:
                writer.close()
        with open(local, "rb") as src, out.open_write(key) as dst:
            shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
