"""Outcome counts of a scoring run, fed by the pool one finished mini-batch at a time."""

from __future__ import annotations

from typing import Any

from .progress import Progress


class Tally:
    """Counts finished mini-batches and items by outcome; reports each to ``progress`` if given."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress
        self.counts = {"scored": 0, "succeeded_mini_batches": 0, "partial_mini_batches": 0,
                       "failed_mini_batches": 0, "items": 0, "succeeded_items": 0, "failed_items": 0}

    def count(self, status: dict[str, Any]) -> None:
        """Add one finished mini-batch's status (as written in its part) to the counts."""
        c = self.counts
        c["scored"] += 1
        c[f"{status['status']}_mini_batches"] += 1
        c["items"] += status["items"]
        c["succeeded_items"] += status["succeeded"]
        c["failed_items"] += status["failed"]

    def __call__(self, status: dict[str, Any]) -> None:
        self.count(status)
        if self.progress is not None:
            self.progress.add(status["items"], status["succeeded"], status["failed"])
