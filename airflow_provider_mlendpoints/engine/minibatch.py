"""Cutting a sorted stream of input files into mini-batches.

``mini_batch_size`` is a number of files (``10``, ``"10"``) or a size
(``"10MB"``, ``"512 KB"``). With a size, files are grouped until the group
reaches it (at least one file per mini-batch), so big files do not pile up in
one mini-batch. Tabular inputs are cut by rows or bytes in :mod:`.tabular`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .errors import InputError
from .storage.base import FileInfo

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b)\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass(frozen=True)
class BatchSize:
    """A parsed mini_batch_size: ``count`` items (files or rows) or ``nbytes`` bytes."""

    count: int | None = None
    nbytes: int | None = None

    def describe(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.nbytes}B"


def parse_mini_batch_size(value: int | str, *, where: str = "mini_batch_size") -> BatchSize:
    """Parse ``10``, ``"10"``, ``"10MB"``, ``"1.5 GiB"``; raise :class:`InputError` naming the field."""
    if isinstance(value, bool):
        raise InputError(f"{where}: expected a positive number of files/rows or a size like '10MB', got {value!r}")
    if isinstance(value, int):
        count = value
    else:
        text = str(value).strip()
        if text.isdigit():
            count = int(text)
        else:
            match = _SIZE_RE.match(text)
            if not match:
                raise InputError(
                    f"{where}: expected a positive number of files/rows or a size like '10MB', got {value!r}"
                )
            nbytes = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
            if nbytes <= 0:
                raise InputError(f"{where}: the size must be positive, got {value!r}")
            return BatchSize(nbytes=nbytes)
    if count <= 0:
        raise InputError(f"{where}: expected a positive number, got {value!r}")
    return BatchSize(count=count)


def glob_matcher(pattern: str | None) -> Callable[[str], bool]:
    """A predicate on keys for ``pattern``.

    A pattern without '/' matches the file name at any depth (``*.csv``); a
    pattern with '/' matches the whole key, where ``**`` spans folders and
    ``*`` does not (``2024-*/**/*.jpg``).
    """
    if not pattern:
        return lambda key: True
    if "/" not in pattern:
        return lambda key: fnmatch.fnmatchcase(key.rsplit("/", 1)[-1], pattern)
    return key_matcher(pattern)


def key_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate matching whole keys: ``**`` spans folders, ``*`` and ``?`` do not."""
    regex = re.compile(_translate(pattern.strip("/")))
    return lambda key: regex.fullmatch(key) is not None


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def file_mini_batches(files: Iterable[FileInfo], size: BatchSize) -> Iterator[list[FileInfo]]:
    """Group files (in order) into mini-batches of ``size.count`` files or about ``size.nbytes`` bytes."""
    batch: list[FileInfo] = []
    batch_bytes = 0
    for info in files:
        if size.nbytes is not None and batch and batch_bytes + info.size > size.nbytes:
            yield batch
            batch, batch_bytes = [], 0
        batch.append(info)
        batch_bytes += info.size
        if size.count is not None and len(batch) >= size.count:
            yield batch
            batch, batch_bytes = [], 0
    if batch:
        yield batch


def shard_ranges(mini_batches: int, shards: int) -> list[tuple[int, int]]:
    """Split ``mini_batches`` indexes into ``shards`` contiguous, near-equal (first, last) ranges."""
    shards = max(1, min(shards, mini_batches))
    return [
        (k * mini_batches // shards, (k + 1) * mini_batches // shards - 1)
        for k in range(shards)
    ]
