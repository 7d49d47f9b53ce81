"""The resource store: records in memory, mirrored to a state folder.

A record is a JSON-serializable dict ``{"resource": {...}, "meta": {...}}``
addressed by a key (a lower-cased ARM id, or ``ops/<id>`` for operations).
With a state folder every change is written atomically (temporary file +
``os.replace``) to one file per record, so a restart finds everything again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def norm_key(path: str) -> str:
    """ARM ids are case-insensitive: keys are lower-cased, without a trailing slash."""
    return path.rstrip("/").lower()


class Store:
    """Thread-safe key -> record map, optionally persisted to ``state_dir/records``."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, Any]] = {}
        self._dir = state_dir / "records" if state_dir is not None else None
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self._dir, 0o700)
            self._load()

    @property
    def lock(self) -> threading.RLock:
        """Held by callers that read-modify-write a record."""
        return self._lock

    def _file(self, key: str) -> Path:
        assert self._dir is not None
        return self._dir / (hashlib.sha1(key.encode()).hexdigest() + ".json")

    def _load(self) -> None:
        assert self._dir is not None
        for path in self._dir.glob("*.json"):
            try:
                entry = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a torn temporary file never has the .json name; skip damage
            self._data[entry["key"]] = entry["record"]

    def _persist(self, key: str, record: dict[str, Any] | None) -> None:
        if self._dir is None:
            return
        path = self._file(key)
        if record is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        # Records hold endpoint keys and storage account keys: readable by their owner only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({"key": key, "record": record}))
        os.replace(tmp, path)

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the record at ``key``."""
        with self._lock:
            record = self._data.get(norm_key(key))
            return copy.deepcopy(record) if record is not None else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store (a copy of) ``record`` at ``key``."""
        key = norm_key(key)
        with self._lock:
            self._data[key] = copy.deepcopy(record)
            self._persist(key, record)

    def delete(self, key: str) -> bool:
        """Remove ``key`` and every record below it; whether ``key`` existed."""
        key = norm_key(key)
        with self._lock:
            existed = key in self._data
            for child in [k for k in self._data if k == key or k.startswith(key + "/")]:
                del self._data[child]
                self._persist(child, None)
            return existed

    def children(self, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Records exactly one segment below ``prefix``, sorted by key."""
        prefix = norm_key(prefix) + "/"
        with self._lock:
            items = [
                (k, copy.deepcopy(v))
                for k, v in self._data.items()
                if k.startswith(prefix) and "/" not in k[len(prefix) :]
            ]
        return iter(sorted(items))

    def list_keys(self, prefix: str = "") -> list[str]:
        """All keys starting with ``prefix``."""
        prefix = norm_key(prefix) if prefix else ""
        with self._lock:
            return sorted(k for k in self._data if k.startswith(prefix))

    def clear(self) -> None:
        """Forget everything (the admin reset)."""
        with self._lock:
            for key in list(self._data):
                self._persist(key, None)
            self._data.clear()
