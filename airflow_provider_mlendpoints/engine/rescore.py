"""Scoring failed mini-batches again on resume (succeeded and partial ones are kept).

A failed mini-batch has a part (its status record says "failed"), so by the part alone it
counts as finished. The pool therefore also leaves a marker ``_mlendpoints/failed/<id>``
(written before the failed part, so a part without a marker cannot happen). A run that
re-scores failures (the default: ``ScoringJob.rescore_failed``) *releases* the failed
mini-batches of its range before it looks for unfinished work: for each marker it writes
``_mlendpoints/rescored/<id>`` (what the summary lists), deletes the part, then the marker.
A crash between the steps leaves either a failure still marked (released next time) or a
mini-batch without a part (scored next time), never a lost or doubled row.

Plan clears the ``rescored`` markers, so the summary names the mini-batches re-scored since
the job was last planned: by a resume, or in Airflow by clearing the score and collect tasks.
"""

from __future__ import annotations

from .layout import FAILED_PREFIX, RESCORED_PREFIX, part_key
from .storage.base import Storage


def mark_failed(out: Storage, mb_id: str) -> None:
    """Record that the part about to be written for ``mb_id`` is a failure."""
    out.write_bytes(FAILED_PREFIX + mb_id, b"")


def failed_ids(out: Storage, prefix: str = FAILED_PREFIX) -> list[str]:
    """The ids of the mini-batches marked below ``prefix`` (failed, by default), sorted."""
    return [info.key[len(prefix):] for info in out.list_files(prefix) if info.key[len(prefix):].isdigit()]


def release_failed(out: Storage, first: int, last: int) -> list[str]:
    """Make the failed mini-batches with index in [first, last] unfinished again; return their ids."""
    released = []
    for mb_id in failed_ids(out):
        if not first <= int(mb_id) <= last:
            continue
        if out.exists(part_key(mb_id)):
            out.write_bytes(RESCORED_PREFIX + mb_id, b"")
            out.delete(part_key(mb_id))
            released.append(mb_id)
        out.delete(FAILED_PREFIX + mb_id)
    return released


def rescored_ids(out: Storage) -> list[str]:
    """The mini-batches re-scored since the job was planned."""
    return failed_ids(out, RESCORED_PREFIX)
