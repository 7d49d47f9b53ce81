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
        self.elsewhere = 0
        self.elsewhere_items = 0

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

    def add_elsewhere(self, mini_batches: int, items: int) -> None:
        """Record mini-batches of this range that another task scored (they count as done)."""
        self.elsewhere += mini_batches
        self.elsewhere_items += items

    def finish(self) -> None:
        """Log the final state, unless the last line already showed it."""
        if self.logged_at != self.mini_batches + self.elsewhere:
            self.log()

    def log(self, now: float | None = None) -> None:
        """Log the current state now."""
        now = time.monotonic() if now is None else now
        self.last_logged = now
        done = self.mini_batches + self.elsewhere
        self.logged_at = done
        elapsed = max(now - self.started, 1e-9)
        rate = self.items / elapsed
        left_items = max(0, self.total_items - self.items - self.elsewhere_items)
        eta = _duration(left_items / rate) if rate > 0 else "?"
        pct = 100.0 * done / max(1, self.total_mini_batches)
        by_others = f", {self.elsewhere} by other tasks" if self.elsewhere else ""
        self.sink(
            f"{self.label}: {done}/{self.total_mini_batches} mini-batches ({pct:.0f}%{by_others}), "
            f"{self.items + self.elsewhere_items}/{self.total_items} items "
            f"({self.succeeded} succeeded, {self.failed} failed), "
            f"{rate:.1f} items/s, elapsed {_duration(elapsed)}, time left ~{eta}"
        )
