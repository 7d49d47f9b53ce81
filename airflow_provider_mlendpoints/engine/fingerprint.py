"""The input fingerprint a resume compares: every input's name, size and version.

The version is the modification time in nanoseconds (local files) or the ETag (blobs), so an
input rewritten with the same size is seen as changed. The fingerprint is a hash in
``plan.json`` plus one JSON line per input in ``_mlendpoints/inputs.jsonl``
(``[key, size, version]``, in listing order), so that a refused resume can name the inputs
that changed, appeared or disappeared. Both are streamed: constant memory for any input size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from .layout import INPUTS_KEY
from .storage.base import FileInfo, Storage

MAX_NAMED_CHANGES = 5


class InputFingerprint:
    """Hash inputs as they are listed, writing each one's line to ``stream`` (``inputs.jsonl``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._digest = hashlib.sha256()
        self._stream = stream
        self._buffer: list[bytes] = []

    def add(self, info: FileInfo) -> None:
        """Count one input."""
        line = json.dumps([info.key, info.size, info.version], separators=(",", ":")).encode() + b"\n"
        self._digest.update(line)
        self._buffer.append(line)
        if len(self._buffer) >= 1000:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines."""
        self._stream.write(b"".join(self._buffer))
        self._buffer.clear()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _old_inputs(out: Storage) -> Iterator[tuple[str, int, str]]:
    with out.open_read(INPUTS_KEY) as stream:
        for line in stream:
            key, size, version = json.loads(line)
            yield str(key), int(size), str(version)


def describe_changes(out: Storage, now: Iterable[FileInfo]) -> str | None:
    """The first inputs that differ between the previous plan's ``inputs.jsonl`` and ``now``.

    Both are sorted by key (storage listings are). None when the previous plan kept no list.
    """
    if not out.exists(INPUTS_KEY):
        return None
    named: list[str] = []
    total = 0
    for change in _changes(_old_inputs(out), iter(now)):
        if change is not None:
            total += 1
            if len(named) < MAX_NAMED_CHANGES:  # the rest are only counted
                named.append(change)
    if not named:
        return None
    more = f" and {total - len(named)} more" if total > len(named) else ""
    return ", ".join(named) + more


def _changes(old_iter: Iterator[tuple[str, int, str]], new_iter: Iterator[FileInfo]) -> Iterator[str | None]:
    """Walk both sorted listings side by side: per key, what changed (None: nothing)."""
    old, new = next(old_iter, None), next(new_iter, None)
    while old is not None or new is not None:
        if old is not None and (new is None or old[0] < new.key):
            yield f"{old[0]} (removed)"
            old = next(old_iter, None)
        elif new is not None and (old is None or new.key < old[0]):
            yield f"{new.key} (added)"
            new = next(new_iter, None)
        elif old is not None and new is not None:  # the same key in both
            yield _file_change(old, new)
            old, new = next(old_iter, None), next(new_iter, None)


def _file_change(old: tuple[str, int, str], new: FileInfo) -> str | None:
    """How an input file differs from its previous listing (size, then version), or None."""
    if old[1] != new.size:
        return f"{new.key} (size {old[1]} -> {new.size} bytes)"
    if old[2] != new.version:
        return (f"{new.key} (modified: same size, {'ETag' if new.version.startswith('etag:') else 'mtime'} "
                "changed)")
    return None
