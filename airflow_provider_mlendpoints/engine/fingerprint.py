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
    changes: list[str] = []
    total = 0

    def note(text: str) -> None:
        nonlocal total
        total += 1
        if len(changes) < MAX_NAMED_CHANGES:
            changes.append(text)

    old_iter, new_iter = _old_inputs(out), iter(now)
    old, new = next(old_iter, None), next(new_iter, None)
    while old is not None or new is not None:
        if new is None or (old is not None and old[0] < new.key):
            note(f"{old[0]} (removed)")  # type: ignore[index]
            old = next(old_iter, None)
        elif old is None or new.key < old[0]:
            note(f"{new.key} (added)")
            new = next(new_iter, None)
        else:
            if old[1] != new.size:
                note(f"{new.key} (size {old[1]} -> {new.size} bytes)")
            elif old[2] != new.version:
                note(f"{new.key} (modified: same size, {'ETag' if new.version.startswith('etag:') else 'mtime'} "
                     "changed)")
            old, new = next(old_iter, None), next(new_iter, None)
    if not changes:
        return None
    more = f" and {total - len(changes)} more" if total > len(changes) else ""
    return ", ".join(changes) + more
