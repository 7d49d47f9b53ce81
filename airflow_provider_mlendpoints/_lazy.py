"""Lazy package exports (PEP 562): a package names what it re-exports, and each is imported on first use.

So importing a package (or one light submodule of it) does not import every submodule it
re-exports from. Pure Python; used by ``client``, ``engine`` and ``specs``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``.

    ``exports`` maps each public name to the submodule that defines it, relative to the
    package (``".errors"``); the value is stored in the package on first use.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
