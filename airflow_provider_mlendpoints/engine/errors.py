"""Exceptions raised by the self-hosted batch scoring engine.

``InputError`` (and its subclasses) means the job cannot run as asked: a missing
input, a bad setting, an existing output. Callers map it to "bad input"
(exit code 2 on the command line). ``JobFailed`` means the job ran and failed
its error threshold; ``JobIncomplete`` means some mini-batches have no result yet;
``StorageFailed`` means the run stopped on a storage error (never counted as a scoring failure).
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class of the engine's errors."""


class InputError(EngineError, ValueError):
    """The job's input, output or settings are not usable; the message says what and where."""


class OutputExistsError(InputError):
    """The output location already holds an output or a previous run's state."""


class OutputBusyError(InputError):
    """Another run holds the output's lease (its heartbeat is recent): two runs never score one output."""


class PlanMismatchError(InputError):
    """A resume found a previous plan made from other inputs or settings."""


class ScoringError(EngineError):
    """The scoring script could not run at all (for example init() keeps failing)."""


class StorageFailed(EngineError):
    """A read or write of the job's storage failed (no space, permission, lost connection, throttling
    past its retries): the run stopped. Never a scoring failure: no mini-batch is counted as failed for
    it, finished ones are kept, and a resume after the cause is fixed scores the rest.
    """

    def __init__(self, message: str) -> None:
        super().__init__(
            f"storage error, the run stopped: {message}; finished mini-batches are kept: fix the cause and "
            "run again with resume (--resume, existing_output='resume')"
        )


class JobIncomplete(EngineError):
    """Some mini-batches have no result part yet; they are listed in the message."""

    def __init__(self, message: str, missing: list[str], shards: list[int]) -> None:
        super().__init__(message)
        self.missing = missing
        self.shards = shards


class JobFailed(EngineError):
    """The job finished and failed (error threshold exceeded, or no successful item).

    ``summary`` is the content of ``summary.json``.
    """

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        items = summary.get("items", {})
        report = summary.get("report", {})
        super().__init__(
            f"batch scoring job failed: {summary.get('failure_reason', 'unknown reason')}; "
            f"{items.get('failed', '?')} of {items.get('total', '?')} items failed, "
            f"{items.get('succeeded', '?')} succeeded (error_threshold {summary.get('error_threshold')}); "
            f"see {report.get('errors', 'the errors report')}"
        )
