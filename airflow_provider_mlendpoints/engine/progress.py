"""Periodic progress lines: mini-batches done/total, items, rate and time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


@dataclass(eq=False)
class Progress:
    """Counts finished mini-batches and logs a line every ``interval`` seconds or 10% of the work."""

    total_mini_batches: int
    total_items: int
    sink: Callable[[str], None]
    _: KW_ONLY
    label: str = "progress"
    interval: float = 5.0
    # the counts so far and when the last line was logged
    started: float = field(init=False, default_factory=time.monotonic)
    last_logged: float = field(init=False)
    last_decile: int = field(init=False, default=0)
    mini_batches: int = field(init=False, default=0)
    logged_at: int = field(init=False, default=-1)
    items: int = field(init=False, default=0)
    succeeded: int = field(init=False, default=0)
    failed: int = field(init=False, default=0)
    elsewhere: int = field(init=False, default=0)
    elsewhere_items: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.last_logged = self.started

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
