"""Scoring one shard, then helping the others (see :mod:`.claims`).

A shard task scores the unfinished mini-batches of its own range front to back,
then takes unfinished mini-batches of the other shards from their back end until it
meets their owners, and finally waits for the mini-batches of its own range that
helpers took (taking over any whose helper stopped beating).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from .claims import ClaimBook
from .errors import InputError
from .job import ScoringJob
from .layout import PARTS_PREFIX, part_key
from .lease import OwnerBeat, refuse_if_leased
from .log import EngineLog
from .plan import input_kind, iter_manifest, output_storage, read_plan, table_reader
from .progress import Progress
from .redact import location
from .rescore import release_failed
from .storage.base import Storage
from .tally import Tally
from .worker import ScoringPool, WarmStart, child_setup

#: Manifest records read at a time when walking a shard from its end.
REVERSE_BLOCK = 512
#: Seconds between checks for the parts of mini-batches left to helpers: from the first to the
#: last, growing by half each time; and seconds between log lines while waiting.
POLL_FIRST, POLL_LAST = 0.05, 5.0
WAIT_LOG_SECONDS = 30.0
#: Up to this many mini-batches waited for are checked one by one, more by listing the parts.
CHECK_EACH_UP_TO = 50


def finished_indexes(out: Storage) -> set[int]:
    """Indexes of the mini-batches that have a part."""
    return {int(info.key[len(PARTS_PREFIX):]) for info in out.list_files(PARTS_PREFIX)
            if info.key[len(PARTS_PREFIX):].isdigit()}


def manifest_backwards(out: Storage, first: int, last: int) -> Iterator[dict[str, Any]]:
    """Manifest records from ``last`` down to ``first``, read a block at a time."""
    high = last
    while high >= first:
        low = max(first, high - REVERSE_BLOCK + 1)
        yield from reversed(list(iter_manifest(out, low, high)))
        high = low - 1


class _Outcome(Tally):
    """The counts of one shard task, with the mini-batches scored for other shards; progress per shard."""

    def __init__(self, own: int, claims: ClaimBook, progress: dict[int, Progress]) -> None:
        super().__init__()
        self.own = own
        self.claims = claims
        self.progress_by_shard = progress
        self.counts["helped_mini_batches"] = 0

    def __call__(self, status: dict[str, Any]) -> None:
        self.count(status)
        shard = status.get("shard", self.own)
        if shard != self.own:
            self.counts["helped_mini_batches"] += 1
        self.claims.done(status["id"])
        progress = self.progress_by_shard.get(shard)
        if progress is not None:
            progress.add(status["items"], status["succeeded"], status["failed"])


class ShardRun:
    """One run of a shard task: own range, help, wait for helpers, take over their leftovers."""

    def __init__(
        self,
        job: ScoringJob,
        number: int,
        first: int,
        last: int,
        log: Callable[[str], None],
        warm: WarmStart | None = None,
    ) -> None:
        self.job = job
        self.warm = warm
        self.number, self.first, self.last = number, first, last
        self.out = output_storage(job)
        plan = read_plan(self.out)
        if plan is None:
            raise InputError(f"output {self.out.uri}: no plan found; run plan_job first")
        self.plan = plan
        self.log = EngineLog(log, job.deployment.logging_level)
        self.label = f"shard {number}"
        self.claims = ClaimBook(self.out, number)
        self.rescored = release_failed(self.out, first, last) if job.rescore_failed else []
        if self.rescored:
            self.log.info(f"{self.label}: scoring {len(self.rescored)} mini-batch(es) that failed in an earlier "
                          f"run again: {', '.join(self.rescored[:20])}{' ...' if len(self.rescored) > 20 else ''}")
        self.done = finished_indexes(self.out)
        self.left_to_helpers: list[dict[str, Any]] = []
        self.scored_elsewhere: list[dict[str, Any]] = []
        self.taken_over = 0
        self.progress: dict[int, Progress] = {}
        self.outcome = _Outcome(number, self.claims, self.progress)

    # -- task sources -------------------------------------------------------------------------

    def own_tasks(self) -> Iterator[dict[str, Any]]:
        """This shard's unfinished mini-batches, front to back, each claimed before it is handed out."""
        for rec in iter_manifest(self.out, self.first, self.last):
            if rec["i"] in self.done:
                continue
            holder = self.claims.try_claim(rec["id"])
            if holder is not None and holder.shard == self.number:
                self.claims.take_over(rec["id"])  # an earlier try of this shard left it unfinished
                holder = None
            if holder is None:
                yield {"mb": rec, "shard": self.number}
            else:
                self.left_to_helpers.append(rec)

    def unfinished_items(self, first: int, last: int) -> int:
        """Items of the mini-batches first..last without a part when this task started (progress totals)."""
        return sum(rec["n"] for rec in iter_manifest(self.out, first, last) if rec["i"] not in self.done)

    def help_tasks(self) -> Iterator[dict[str, Any]]:
        """Unfinished mini-batches of the other shards, each from its end, until their owners' claims."""
        shards = self.plan["shards"]
        for step in range(1, len(shards)):
            victim = (self.number + step) % len(shards)
            first, last = shards[victim]
            todo = sum(1 for i in range(first, last + 1) if i not in self.done)
            if todo == 0:
                continue
            progress: Progress | None = None
            for rec in manifest_backwards(self.out, first, last):
                if rec["i"] in self.done:
                    continue
                holder = self.claims.try_claim(rec["id"])
                if holder is None:
                    if progress is None:
                        self.log.info(f"{self.label}: helping shard {victim} from its end "
                                      f"({todo} mini-batches unfinished when this task started)")
                        progress = Progress(todo, self.unfinished_items(first, last), self.log.info,
                                            label=f"{self.label} helping shard {victim}")
                        self.progress[victim] = progress
                    yield {"mb": rec, "shard": victim}
                elif holder.shard == victim:
                    break  # met the owner (or everything left is being scored)

    def all_tasks(self, help_others: bool) -> Iterator[dict[str, Any]]:
        yield from self.own_tasks()
        if help_others:
            yield from self.help_tasks()

    # -- running ------------------------------------------------------------------------------

    def _pool(self) -> ScoringPool:
        setup = child_setup(self.job, self.plan)
        pool = ScoringPool(self.job, setup, self.out, self.log, self.outcome)
        if self.warm is not None:
            pool.adopt(self.warm.take(setup))
        beat_lease = OwnerBeat(self.out, self.job.owner)

        def tick() -> None:
            self.claims.heartbeat()
            beat_lease()

        pool.on_tick = tick
        return pool

    def wait_for_helpers(self) -> list[dict[str, Any]]:
        """Wait for the parts of mini-batches left to helpers; return those to take over."""
        waiting = self.left_to_helpers
        self.left_to_helpers = []
        take: list[dict[str, Any]] = []
        logged = time.monotonic()
        poll = POLL_FIRST
        if waiting:
            self.log.info(f"{self.label}: waiting for {len(waiting)} mini-batch(es) that other shard tasks took")
        while waiting:
            present = finished_indexes(self.out) if len(waiting) > CHECK_EACH_UP_TO else None
            still: list[dict[str, Any]] = []
            for rec in waiting:
                finished = rec["i"] in present if present is not None else self.out.exists(part_key(rec["id"]))
                if finished:
                    self.scored_elsewhere.append(rec)
                    continue
                holder = self.claims.holder(rec["id"])
                if holder is None or holder.shard == self.number or self.claims.is_stale(rec["id"], holder):
                    self.claims.take_over(rec["id"])
                    take.append(rec)
                else:
                    still.append(rec)
            waiting = still
            if waiting:
                if time.monotonic() - logged >= WAIT_LOG_SECONDS:
                    logged = time.monotonic()
                    self.log.info(f"{self.label}: still waiting for {len(waiting)} mini-batch(es) other shard "
                                  f"tasks are scoring, e.g. {waiting[0]['id']}")
                time.sleep(poll)
                poll = min(POLL_LAST, poll * 1.5)
        if take:
            self.log.warning(f"{self.label}: taking over {len(take)} mini-batch(es) whose helper stopped "
                             f"(no heartbeat): {', '.join(r['id'] for r in take[:20])}")
        return take

    def run(self, *, help_others: bool = True) -> dict[str, Any]:
        started = time.monotonic()
        own_total = self.last - self.first + 1
        skipped = sum(1 for i in range(self.first, self.last + 1) if i in self.done)
        todo = own_total - skipped
        if skipped:
            self.log.info(f"{self.label}: {skipped} of {own_total} mini-batches already finished (kept)")
        if todo:
            self.log.info(f"{self.label}: scoring {todo} mini-batches with up to "
                          f"{self.job.deployment.max_concurrency_per_instance} process(es)")
        self.progress[self.number] = Progress(
            todo, self.unfinished_items(self.first, self.last) if todo else 0, self.log.info, label=self.label
        )
        processes = self.job.deployment.max_concurrency_per_instance
        self._pool().run(self.all_tasks(help_others), processes)
        left = len(self.left_to_helpers)
        while self.left_to_helpers:
            take = self.wait_for_helpers()
            if take:
                self.taken_over += len(take)
                self._pool().run(({"mb": rec, "shard": self.number} for rec in take), processes)
        own = self.progress[self.number]
        own.add_elsewhere(len(self.scored_elsewhere), sum(rec["n"] for rec in self.scored_elsewhere))
        for progress in self.progress.values():
            if progress.mini_batches or progress.elsewhere:
                progress.finish()
        counts = self.outcome.counts
        if counts["helped_mini_batches"] or left:
            self.log.info(f"{self.label}: scored {counts['scored'] - counts['helped_mini_batches']} of its own "
                          f"mini-batches and {counts['helped_mini_batches']} of other shards; "
                          f"other shard tasks scored {left - self.taken_over} of its mini-batches")
        return {"mini_batches": own_total, "skipped": skipped, **counts,
                "scored_by_helpers": left - self.taken_over, "taken_over": self.taken_over,
                "rescored": len(self.rescored),
                "seconds": round(time.monotonic() - started, 3)}


@contextlib.contextmanager
def scoring_processes_started(job: ScoringJob, *, log: Callable[[str], None] = print) -> Iterator[WarmStart]:
    """Start a shard task's scoring processes now, before the job's plan exists.

    Their ``init()`` (loading the model) then runs while the job is planned or its plan
    awaited; :func:`score_shard` given ``warm=`` adopts them. Whatever keeps them from
    starting early (an input that is not there, say) is left for planning to report: the
    processes then start when scoring does, as without a warm start.
    """
    warm = WarmStart()
    try:
        kind = input_kind(job)
        setup = child_setup(job, {"input_kind": kind,
                                  "settings": {"table_reader": table_reader(job) if kind == "tabular" else None}})
        sink = EngineLog(log, job.deployment.logging_level).info
        warm = WarmStart.start(setup, job.deployment.max_concurrency_per_instance, sink)
    except Exception:  # noqa: BLE001 - planning meets the same problem and names it
        pass
    try:
        yield warm
    finally:
        warm.close()


def score_shard(
    job: ScoringJob,
    shard: dict[str, Any],
    *,
    log: Callable[[str], None] = print,
    help_others: bool = True,
    warm: WarmStart | None = None,
) -> dict[str, Any]:
    """Score one shard (a contiguous range of mini-batches) with ``max_concurrency_per_instance`` processes.

    Mini-batches that already have a part are skipped, so running a shard again
    (a retry, a resume) scores only what is unfinished. With ``help_others`` (the
    default) the task then scores unfinished mini-batches of other shards from their
    end, and before returning makes sure every mini-batch of its own range has a part
    (see :mod:`.claims`). Returns JSON-able counts: ``shard, first, last,
    mini_batches, skipped, scored, helped_mini_batches, scored_by_helpers,
    taken_over, succeeded_mini_batches, partial_mini_batches, failed_mini_batches,
    items, succeeded_items, failed_items, seconds``. ``warm``: scoring processes started
    early (:func:`scoring_processes_started`).
    """
    try:
        number, first, last = int(shard["shard"]), int(shard["first"]), int(shard["last"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"bad shard reference {shard!r}: expected {{'shard', 'first', 'last'}}") from exc
    refuse_if_leased(output_storage(job), job.owner)  # another run is scoring this output
    run = ShardRun(job, number, first, last, log, warm)
    if shard.get("plan") and shard["plan"] != run.plan.get("plan_id"):
        raise InputError(
            f"shard reference {shard!r} belongs to another plan than the one in {location(job.output_uri)} "
            f"(plan {run.plan.get('plan_id')}); plan the job again"
        )
    plan_shards = run.plan.get("shards") or []
    if help_others and not (0 <= number < len(plan_shards) and list(plan_shards[number]) == [first, last]):
        help_others = False  # a hand-made range, not one of the plan's shards: score just that range
    return {"shard": number, "first": first, "last": last, **run.run(help_others=help_others)}
