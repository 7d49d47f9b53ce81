"""Problems found in a spec file, and the error that carries all of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def describe(value: Any) -> str:
    """A short, user-facing rendering of a value found in a file."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(text)
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 30 else f"{text[:12]}... ({len(text)} digits)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where it is, what was expected, what was found.

    ``path`` is the field path as written in the user's file (``settings.mini_batch_size``,
    ``deployments[0].model.path``); an empty path means the whole document.
    """

    file: str
    path: str
    expected: str | None = None
    found: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        text = self.message
        if text is None:
            text = f"expected {self.expected}, found {self.found}"
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}: {where}{text}"


class SpecError(ValueError):
    """A spec could not be loaded; ``problems`` lists everything that is wrong."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid spec")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class Invalid(Exception):
    """Raised by a coercion function: the value does not fit ``expected``."""

    def __init__(self, expected: str, message: str | None = None):
        super().__init__(expected)
        self.expected = expected
        self.message = message


def join_path(parent: str, key: str | int) -> str:
    """Extend a dotted field path with a mapping key or a list index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)
