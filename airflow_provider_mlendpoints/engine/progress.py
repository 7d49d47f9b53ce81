"""Periodic progress lines: mini-batches done/total, items, rate and time left."""

from __future__ import annotations

import time
from collections.abc import Callable


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Progress:
    """Counts finished mini-batches and logs a line every ``interval`` seconds or 10% of the work."""

    def __init__(
        self,
        total_mini_batches: int,
        total_items: int,
        sink: Callable[[str], None],
        *,
        label: str = "progress",
        interval: float = 5.0,
    ) -> None:
        self.total_mini_batches = total_mini_batches
        self.total_items = total_items
        self.sink = sink
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.last_logged = self.started
        self.last_decile = 0
        self.mini_batches = 0
        self.logged_at = -1
        self.items = 0
        self.succeeded = 0
        self.failed = 0

    def add(self, items: int, succeeded: int, failed: int) -> None:
        """Record one finished mini-batch and log if it is time to."""
        self.mini_batches += 1
        self.items += items
        self.succeeded += succeeded
        self.failed += failed
        now = time.monotonic()
        decile = (10 * self.mini_batches) // max(1, self.total_mini_batches)
        if now - self.last_logged >= self.interval or decile > self.last_decile:
            self.log(now)
            self.last_decile = decile

    def finish(self) -> None:
        """Log the final state, unless the last line already showed it."""
        if self.logged_at != self.mini_batches:
            self.log()

    def log(self, now: float | None = None) -> None:
        """Log the current state now."""
        now = time.monotonic() if now is None else now
        self.last_logged = now
        self.logged_at = self.mini_batches
        elapsed = max(now - self.started, 1e-9)
        rate = self.items / elapsed
        left_items = max(0, self.total_items - self.items)
        eta = _duration(left_items / rate) if rate > 0 else "?"
        pct = 100.0 * self.mini_batches / max(1, self.total_mini_batches)
        self.sink(
            f"{self.label}: {self.mini_batches}/{self.total_mini_batches} mini-batches ({pct:.0f}%), "
            f"{self.items}/{self.total_items} items ({self.succeeded} succeeded, {self.failed} failed), "
            f"{rate:.1f} items/s, elapsed {_duration(elapsed)}, time left ~{eta}"
        )
