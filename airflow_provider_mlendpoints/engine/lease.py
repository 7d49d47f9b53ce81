"""The output lease: one run at a time scores into an output location.

A run (``mlendpoints score``, ``run_local``; an Airflow DAG run from its plan task to its
collect task) holds ``_mlendpoints/lease.json`` = ``{"token", "holder", "owner", "host", "pid",
"beat_ts"}`` and refreshes ``beat_ts`` (wall-clock seconds) every :data:`BEAT_EVERY` seconds:
from a background thread in one process, or from the shard tasks of an Airflow run while they
score (its token is ``ScoringJob.owner``: DAG id, run id, task group).
Another run finding a lease whose heartbeat is younger than :data:`STALE_AFTER` seconds is
refused with :class:`~.errors.OutputBusyError` naming the holder; an older one is stale (its
run was killed) and is taken over, as is at once one whose process ran on this machine and is
gone (not for an Airflow run's lease, which spans processes). Shard tasks check that no other
run holds the output before they score; collect removes its run's lease. Leases are re-entrant
within one process (``run_local`` plans under its own lease).

Taking over a stale lease deletes it and creates a new one exclusively, so of two runs that
both found it stale one wins, except in the rare interleaving where the loser deletes the
winner's fresh lease; the rows still exist exactly once (parts are written atomically).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .errors import OutputBusyError
from .layout import LEASE_KEY, join_uri
from .storage.base import Storage, StorageError

if TYPE_CHECKING:
    from .job import ScoringJob

#: Seconds without a heartbeat after which a lease is stale and may be taken over.
STALE_AFTER = 60.0
#: Seconds between heartbeats.
BEAT_EVERY = 10.0

P = ParamSpec("P")
R = TypeVar("R")
_HELD: dict[str, str] = {}  # output uri -> token of a lease this process holds
_HELD_LOCK = threading.Lock()


def _read(out: Storage) -> dict[str, Any] | None:
    try:
        if not out.exists(LEASE_KEY):
            return None
        body = json.loads(out.read_bytes(LEASE_KEY))
        return body if isinstance(body, dict) else {}
    except (ValueError, StorageError):
        return {}  # unreadable (half-deleted, garbage): stale


def _age(lease: dict[str, Any]) -> float:
    try:
        return time.time() - float(lease["beat_ts"])
    except (KeyError, TypeError, ValueError):
        return float("inf")


def process_gone_here(holder: dict[str, Any]) -> bool:
    """Whether ``holder`` (a lock's ``host`` and ``pid``) ran on this machine and its process is gone."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (KeyError, TypeError, ValueError, OSError):
        return False
    return False


def _dead_here(lease: dict[str, Any]) -> bool:
    """Whether the lease's holder ran on this machine and its process is gone (killed): stale at once.

    Never for a lease of a run that spans processes (an Airflow DAG run's plan, score and collect tasks).
    """
    return not lease.get("owner") and process_gone_here(lease)


def refuse_if_leased(out: Storage, owner: str | None = None) -> None:
    """Raise :class:`OutputBusyError` when another run than ``owner`` holds a live lease on ``out``."""
    lease = _read(out)
    if lease is None or lease.get("token") in (_HELD.get(out.uri), owner or None):
        return
    age = _age(lease)
    if age < STALE_AFTER and not _dead_here(lease):
        raise OutputBusyError(
            f"output {join_uri(out.uri, '')} is in use by another run ({lease.get('holder', '?')}, process "
            f"{lease.get('pid', '?')} on {lease.get('host', '?')}, last heartbeat {max(0.0, age):.0f} s ago; "
            f"see {join_uri(out.uri, LEASE_KEY)}); wait for it to finish or stop it: a lease without a "
            f"heartbeat for {STALE_AFTER:.0f} s is taken over"
        )


class OutputLease:
    """Hold the lease on ``out`` for the duration of a ``with`` block (re-entrant in one process).

    With ``owner`` (a run that spans processes, see ``ScoringJob.owner``) the token is the owner
    and the lease stays when the block ends: the run's shard tasks beat it (:class:`OwnerBeat`)
    and its collect removes it (:func:`release_owner`).
    """

    def __init__(self, out: Storage, holder: str, owner: str | None = None) -> None:
        self.out = out
        self.holder = holder
        self.owner = owner
        self.token = owner or uuid.uuid4().hex
        self._outer = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        return _lease_body(self.token, self.holder, self.owner)

    def __enter__(self) -> OutputLease:
        with _HELD_LOCK:
            if self.out.uri in _HELD:  # this process holds it already (plan_job inside run_local)
                self._outer = True
                return self
        refuse_if_leased(self.out, self.owner)
        if not self.out.create_exclusive(LEASE_KEY, self._body()):
            self.out.delete(LEASE_KEY)  # stale or this owner's own (refuse_if_leased let it pass)
            if not self.out.create_exclusive(LEASE_KEY, self._body()):
                refuse_if_leased(self.out)  # another run took it over first
                raise OutputBusyError(f"output {join_uri(self.out.uri, '')}: another run took its lease over")
        with _HELD_LOCK:
            _HELD[self.out.uri] = self.token
        self._thread = threading.Thread(target=self._beat_loop, name="mlendpoints-lease", daemon=True)
        self._thread.start()
        return self

    def beat(self) -> None:
        """Refresh the heartbeat now (re-creating the lease if an overwrite deleted it)."""
        if self._outer:
            return
        lease = _read(self.out)
        if lease is None:
            self.out.create_exclusive(LEASE_KEY, self._body())
        elif lease.get("token") == self.token:
            self.out.write_bytes(LEASE_KEY, self._body())

    def _beat_loop(self) -> None:
        while not self._stop.wait(BEAT_EVERY):
            with contextlib.suppress(StorageError):  # shows in the run itself; the next beat tries again
                self.beat()

    def __exit__(self, *exc: object) -> None:
        if self._outer:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with _HELD_LOCK:
            _HELD.pop(self.out.uri, None)
        if self.owner:
            self.beat()  # stays for the owner's score and collect tasks
            return
        try:
            lease = _read(self.out)
            if lease is not None and lease.get("token") == self.token:
                self.out.delete(LEASE_KEY)
        except StorageError:
            pass  # left behind: stale after STALE_AFTER seconds


def _lease_body(token: str, holder: str, owner: str | None) -> bytes:
    return json.dumps({"token": token, "holder": owner or holder, "owner": bool(owner),
                       "host": socket.gethostname(), "pid": os.getpid(), "beat_ts": time.time()}).encode()


class OwnerBeat:
    """Refresh the lease of ``owner`` on ``out`` at most every :data:`BEAT_EVERY` s (call it often)."""

    def __init__(self, out: Storage, owner: str | None) -> None:
        self.out = out
        self.owner = owner
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if not self.owner or now - self._last < BEAT_EVERY:
            return
        self._last = now
        lease = _read(self.out)
        if lease is not None and lease.get("token") == self.owner:
            self.out.write_bytes(LEASE_KEY, _lease_body(self.owner, self.owner, self.owner))


def release_owner(out: Storage, owner: str | None) -> None:
    """Remove the lease of ``owner`` (its run is over), if it still holds it."""
    if not owner:
        return
    lease = _read(out)
    if lease is not None and lease.get("token") == owner:
        out.delete(LEASE_KEY)


def holding_output_lease(
    holder: str,
) -> Callable[[Callable[Concatenate[ScoringJob, P], R]], Callable[Concatenate[ScoringJob, P], R]]:
    """Decorate ``func(job, ...)`` to run under the lease of ``job``'s output (``job.owner``'s, if set)."""

    def decorate(func: Callable[Concatenate[ScoringJob, P], R]) -> Callable[Concatenate[ScoringJob, P], R]:
        @functools.wraps(func)
        def wrapper(job: ScoringJob, /, *args: P.args, **kwargs: P.kwargs) -> R:
            from .storage import open_storage

            with OutputLease(open_storage(job.output_uri, job.storage_options), holder, job.owner):
                return func(job, *args, **kwargs)

        return wrapper

    return decorate


def releasing_owner_lease(func: Callable[Concatenate[ScoringJob, P], R]) -> Callable[Concatenate[ScoringJob, P], R]:
    """Decorate ``func(job, ...)`` (collecting a job) to remove ``job.owner``'s lease once it ends."""

    @functools.wraps(func)
    def wrapper(job: ScoringJob, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(job, *args, **kwargs)
        finally:
            if job.owner:
                from .storage import open_storage

                with contextlib.suppress(StorageError):
                    release_owner(open_storage(job.output_uri, job.storage_options), job.owner)

    return wrapper
