"""The engine's public API: plan, score a shard, collect, or all three on this machine.

```python
from airflow_provider_mlendpoints.engine import plan_job, score_shard, collect_job, run_local
shards = plan_job(job, max_shards=200)        # [{"shard": 0, "first": 0, "last": 39, ...}, ...]
for shard in shards:                          # in Airflow: one mapped task per shard, in parallel;
    score_shard(job, shard)                   # idle shard tasks help busy ones (see claims.py)
summary = collect_job(job)                    # raises JobFailed(summary) when the job fails
```
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Any

from .collect import collect_job
from .errors import InputError
from .job import ScoringJob
from .lease import OutputLease
from .log import EngineLog
from .plan import describe_plan, iter_manifest, output_storage, plan_job, read_plan
from .progress import Progress
from .registered import resolve_registered
from .rescore import release_failed
from .shard import finished_indexes, score_shard
from .tally import Tally
from .worker import ScoringPool, child_setup

__all__ = ["collect_job", "plan_job", "run_local", "score_shard"]


def _score_range(
    job: ScoringJob, ranges: list[tuple[int, int, int]], processes: int, log: Callable[[str], None], label: str
) -> dict[str, Any]:
    """Score the unfinished mini-batches of the (shard, first, last) ranges with ``processes`` children."""
    started = time.monotonic()
    ranges = sorted(ranges, key=lambda r: r[1])
    elog = EngineLog(log, job.deployment.logging_level)
    out = output_storage(job)
    plan = read_plan(out)
    if plan is None:
        raise InputError(f"output {out.uri}: no plan found; run plan_job first")
    if job.rescore_failed:
        released = [mb_id for _, first, last in ranges for mb_id in release_failed(out, first, last)]
        if released:
            elog.info(f"{label}: scoring {len(released)} mini-batch(es) that failed in an earlier run again: "
                      f"{', '.join(released[:20])}{' ...' if len(released) > 20 else ''}")
    done = finished_indexes(out)
    total = sum(last - first + 1 for _, first, last in ranges)
    firsts = [first for _, first, _ in ranges]
    skipped = sum(1 for i in done if _shard_of(ranges, firsts, i) is not None)
    todo_total = total - skipped

    def tasks() -> Iterator[dict[str, Any]]:
        for shard, rec in _records(out, ranges):
            if rec["i"] not in done:
                yield {"mb": rec, "shard": shard}

    result: dict[str, Any] = {"mini_batches": total, "skipped": skipped}
    if skipped:
        elog.info(f"{label}: {skipped} of {total} mini-batches already finished (kept)")
    progress = Progress(todo_total, 0, elog.info, label=label)
    tally = Tally(progress)
    if todo_total > 0:
        workers = max(1, min(processes, todo_total))
        progress.total_items = sum(rec["n"] for _, rec in _records(out, ranges) if rec["i"] not in done)
        elog.info(f"{label}: scoring {todo_total} mini-batches ({progress.total_items} items) "
                  f"with {workers} process(es)")
        pool = ScoringPool(job, child_setup(job, plan), out, elog, tally)
        pool.run(tasks(), workers)
        progress.finish()
    result.update(tally.counts)
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _shard_of(ranges: list[tuple[int, int, int]], firsts: list[int], index: int) -> int | None:
    """The shard whose (sorted, disjoint) range holds mini-batch ``index``, or None."""
    pos = bisect.bisect_right(firsts, index) - 1
    return ranges[pos][0] if pos >= 0 and index <= ranges[pos][2] else None


def _records(out: Any, ranges: list[tuple[int, int, int]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(shard, manifest record) for every mini-batch in the sorted ranges, in one pass over the manifest."""
    firsts = [first for _, first, _ in ranges]
    for rec in iter_manifest(out, ranges[0][1], max(last for _, _, last in ranges)):
        shard = _shard_of(ranges, firsts, rec["i"])
        if shard is not None:
            yield shard, rec


def run_local(job: ScoringJob, *, workers: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Plan, score every shard on this machine with ``workers`` processes in total, and collect.

    ``workers`` defaults to ``instance_count * max_concurrency_per_instance``.
    Returns the summary; raises :class:`JobFailed` like :func:`collect_job`. Holds the output's
    lease throughout (:class:`~.errors.OutputBusyError` while another run holds it).
    """
    job = resolve_registered(job)  # an unresolvable reference fails before the output is touched
    with OutputLease(output_storage(job), "run_local / mlendpoints score") as lease:
        return _run_local(job, lease, workers, log)


def _run_local(job: ScoringJob, lease: OutputLease, workers: int | None, log: Callable[[str], None]) -> dict[str, Any]:
    d = job.deployment
    processes = workers if workers and workers > 0 else d.instance_count * d.max_concurrency_per_instance
    shards = plan_job(job)
    lease.beat()  # at once: an overwrite deleted the old state, the lease with it
    plan = read_plan(output_storage(job)) or {}
    elog = EngineLog(log, d.logging_level)
    for line in describe_plan(plan, len(shards)):
        elog.info(line)
    stale = plan.get("stale_temp_files_removed") or {}
    if stale.get("files"):
        elog.info(
            f"removed {stale['files']} temporary file(s) ({stale['bytes']} bytes) that earlier, interrupted "
            "runs left in the output"
        )
    ranges = [(s["shard"], s["first"], s["last"]) for s in shards]
    _score_range(job, ranges, processes, log, "scoring")
    return collect_job(job, log=log)
