"""Planning a run's job once when its shard tasks start together (no separate plan task).

The self-hosted TaskGroup maps its score task over shard *numbers* known when the DAG
is parsed, so the score tasks start at once instead of after a plan task (one task
instance and one scheduler hop fewer). Each score task then calls :func:`plan_once`:

- the output's ``plan.json`` was made by this run (its ``owner``, see
  ``ScoringJob.owner``): use it. Later tries and cleared tasks of the run therefore
  score what the run planned first, and never cut the job differently;
- else the task that creates ``_mlendpoints/planning-<owner>.json`` first plans (as
  :func:`~.plan.plan_job`, honouring ``existing_output``) while the others wait for
  the plan. The lock holds the planner's host and process and a heartbeat, so a
  planner that was killed is replaced: at once on its own machine, after
  :data:`STALE_AFTER` seconds without a heartbeat elsewhere. A planner that fails
  removes the lock; a waiting task then plans itself and fails with the same clear
  error (a bad input, say), or succeeds where the first met a transient one.

Whichever task starts first plans, so the protocol needs no particular start order
(one executor slot, ``dag.test()`` running tasks one at a time, pools).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .errors import InputError
from .job import ScoringJob
from .layout import PLANNING_LOCK_PREFIX
from .lease import process_gone_here
from .plan import ShardRef, output_storage, plan_job, read_plan, shard_refs
from .storage.base import Storage, StorageError

#: Seconds without a heartbeat after which another task takes the planning over.
STALE_AFTER = 60.0
BEAT_EVERY = 10.0
#: Seconds between looks for the plan while another task plans: from the first, growing by half, to the last.
POLL_FIRST, POLL_LAST = 0.05, 1.0
WAIT_LOG_SECONDS = 30.0


def lock_key(owner: str) -> str:
    """The storage key of the planning lock of ``owner``'s run."""
    return f"{PLANNING_LOCK_PREFIX}{hashlib.sha256(owner.encode()).hexdigest()[:16]}.json"


class PlanningLock:
    """An exclusive, heart-beaten claim on planning one run's job (see the module docstring)."""

    def __init__(self, out: Storage, owner: str) -> None:
        self.out = out
        self.owner = owner
        self.key = lock_key(owner)
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "token": self.token, "host": socket.gethostname(),
                           "pid": os.getpid(), "beat_ts": time.time()}).encode()

    def holder(self) -> dict[str, Any] | None:
        """The lock's content (``{}`` when unreadable), or None when nobody plans."""
        try:
            if not self.out.exists(self.key):
                return None
            body = json.loads(self.out.read_bytes(self.key))
            return body if isinstance(body, dict) else {}
        except (ValueError, StorageError):
            return {}

    @staticmethod
    def is_stale(holder: dict[str, Any]) -> bool:
        """Whether the holder stopped: no heartbeat for STALE_AFTER s, or its process is gone here."""
        try:
            age = time.time() - float(holder["beat_ts"])
        except (KeyError, TypeError, ValueError):
            return True
        return age > STALE_AFTER or process_gone_here(holder)

    def acquire(self) -> bool:
        """Take the lock (taking over a stale one); False while a live holder plans."""
        if self.out.create_exclusive(self.key, self._body()):
            return True
        holder = self.holder()
        if holder is None or not self.is_stale(holder):
            return False  # released meanwhile (look for the plan again) or live
        self.out.delete(self.key)
        return self.out.create_exclusive(self.key, self._body())

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Beat the lock while the block runs; remove it afterwards."""
        thread = threading.Thread(target=self._beat_loop, name="mlendpoints-planning", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(5)
            with contextlib.suppress(StorageError):
                holder = self.holder()
                if holder is not None and holder.get("token") == self.token:
                    self.out.delete(self.key)

    def _beat_loop(self) -> None:
        while not self._stop.wait(BEAT_EVERY):
            with contextlib.suppress(StorageError):  # a missed beat: the next one tries again
                self.out.write_bytes(self.key, self._body())


def plan_of_run(out: Storage, owner: str) -> dict[str, Any] | None:
    """The output's plan when ``owner``'s run made it, else None."""
    plan = read_plan(out)
    return plan if plan is not None and plan.get("owner") == owner else None


def plan_once(
    job: ScoringJob, *, max_shards: int | None = None, log: Callable[[str], None] = print
) -> tuple[list[ShardRef], bool]:
    """The shard references of ``job.owner``'s run, planning the job if no task of the run has.

    Returns ``(shards, planned_here)``. ``job.owner`` is required: it is what tells this
    run's plan from an earlier run's in the same output.
    """
    owner = job.owner
    if not owner:
        raise InputError("plan_once needs job.owner: the run whose tasks share the plan")
    out = output_storage(job)
    lock = PlanningLock(out, owner)
    poll, waiting_since, logged = POLL_FIRST, time.monotonic(), 0.0
    while True:
        plan = plan_of_run(out, owner)
        if plan is not None:
            return shard_refs(plan), False
        if lock.acquire():
            with lock.held():
                plan = plan_of_run(out, owner)  # finished between the look and the lock
                if plan is not None:
                    return shard_refs(plan), False
                return plan_job(job, max_shards=max_shards), True
        waited = time.monotonic() - waiting_since
        if waited - logged >= WAIT_LOG_SECONDS or not logged:
            logged = max(waited, 1e-9)
            holder = lock.holder() or {}
            log(f"waiting for the plan of this run: another task plans it (process {holder.get('pid', '?')} "
                f"on {holder.get('host', '?')}; see {lock.key})")
        time.sleep(poll)
        poll = min(POLL_LAST, poll * 1.5)
