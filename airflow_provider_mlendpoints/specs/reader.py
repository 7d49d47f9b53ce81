"""A small helper that reads fields from a raw YAML mapping and collects problems."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import Invalid, Problem, describe, join_path

T = TypeVar("T")
MISSING: Any = object()


class Reader:
    """Reads one file's fields; every problem is recorded, nothing is raised.

    ``base_dir`` is the folder relative paths in the file resolve against; ``source`` is the
    file's resolved path, which the specs built from it keep (None for a dict).
    """

    def __init__(self, file: str, base_dir: str, source: str | None = None):
        self.file = file
        self.base_dir = base_dir
        self.source = source
        self.problems: list[Problem] = []

    def add(
        self, path: str, expected: str | None = None, found: Any = MISSING, message: str | None = None
    ) -> None:
        """Record a problem at ``path``."""
        shown = None if found is MISSING else describe(found)
        if message is None and expected is not None and shown is None:
            message = f"expected {expected}"
        self.problems.append(Problem(self.file, path, expected, shown, message))

    def coerce(self, value: Any, path: str, convert: Callable[[Any], T], default: Any = None) -> T | Any:
        """``convert(value)``, or ``default`` after recording a problem."""
        try:
            return convert(value)
        except Invalid as exc:
            self.add(path, exc.expected, value, exc.message)
            return default

    def field(
        self,
        data: Mapping[str, Any],
        key: str,
        parent: str,
        convert: Callable[[Any], T],
        default: Any = None,
        *,
        required: bool = False,
    ) -> T | Any:
        """Read ``data[key]`` through ``convert``; a missing or null field gives ``default``."""
        path = join_path(parent, key)
        if key not in data or data[key] is None:
            if required:
                self.add(path, message="required field is missing")
            return default
        return self.coerce(data[key], path, convert, default)

    def mapping(self, data: Mapping[str, Any], key: str, parent: str) -> dict[str, Any] | None:
        """``data[key]`` when it is a mapping; a problem (and None) when it is something else."""
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(join_path(parent, key), "a mapping", value)
            return None
        return value

    def local_path(self, value: str) -> str:
        """An absolute, normalized path for a path written in the file (``file:`` prefix allowed)."""
        if value.startswith("file:"):
            value = value[len("file:") :]
            if value.startswith("//"):
                value = value[2:]
        expanded = os.path.expanduser(value)
        return os.path.normpath(os.path.join(self.base_dir, expanded))
