"""The output lease: one run at a time scores into an output location.

A run (``mlendpoints score``, ``run_local``; in Airflow the plan task while it plans) holds
``_mlendpoints/lease.json`` = ``{"token", "holder", "host", "pid", "beat_ts"}`` and refreshes
``beat_ts`` (wall-clock seconds) every :data:`BEAT_EVERY` seconds from a background thread.
Another run finding a lease whose heartbeat is younger than :data:`STALE_AFTER` seconds is
refused with :class:`~.errors.OutputBusyError` naming the holder; an older one is stale (its
run was killed) and is taken over, as is at once one whose process ran on this machine and is
gone. Shard tasks check that no other run holds the output before
they score. Leases are re-entrant within one process (``run_local`` plans under its own lease).

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
from typing import Any, TypeVar

from .errors import OutputBusyError
from .layout import LEASE_KEY, join_uri
from .storage.base import Storage, StorageError

#: Seconds without a heartbeat after which a lease is stale and may be taken over.
STALE_AFTER = 60.0
#: Seconds between heartbeats.
BEAT_EVERY = 10.0

F = TypeVar("F", bound=Callable[..., Any])
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


def _dead_here(lease: dict[str, Any]) -> bool:
    """Whether the lease's holder ran on this machine and its process is gone (killed): stale at once."""
    if lease.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(lease["pid"]), 0)
    except ProcessLookupError:
        return True
    except (KeyError, TypeError, ValueError, OSError):
        return False
    return False


def refuse_if_leased(out: Storage) -> None:
    """Raise :class:`OutputBusyError` when another run holds a live lease on ``out``."""
    lease = _read(out)
    if lease is None or lease.get("token") == _HELD.get(out.uri):
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
    """Hold the lease on ``out`` for the duration of a ``with`` block (re-entrant in one process)."""

    def __init__(self, out: Storage, holder: str) -> None:
        self.out = out
        self.holder = holder
        self.token = uuid.uuid4().hex
        self._outer = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        return json.dumps({"token": self.token, "holder": self.holder, "host": socket.gethostname(),
                           "pid": os.getpid(), "beat_ts": time.time()}).encode()

    def __enter__(self) -> OutputLease:
        with _HELD_LOCK:
            if self.out.uri in _HELD:  # this process holds it already (plan_job inside run_local)
                self._outer = True
                return self
        refuse_if_leased(self.out)
        if not self.out.create_exclusive(LEASE_KEY, self._body()):
            self.out.delete(LEASE_KEY)  # stale (refuse_if_leased let it pass): take it over
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
        try:
            lease = _read(self.out)
            if lease is not None and lease.get("token") == self.token:
                self.out.delete(LEASE_KEY)
        except StorageError:
            pass  # left behind: stale after STALE_AFTER seconds


def holding_output_lease(holder: str) -> Callable[[F], F]:
    """Decorate ``func(job, ...)`` to run under the lease of ``job``'s output."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(job: Any, *args: Any, **kwargs: Any) -> Any:
            from .storage import open_storage

            with OutputLease(open_storage(job.output_uri, job.storage_options), holder):
                return func(job, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
