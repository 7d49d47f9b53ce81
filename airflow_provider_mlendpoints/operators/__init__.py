"""Airflow operators: Azure-mode batch (:mod:`.batch`, :mod:`.batch_invoke`, :mod:`.compute`) and
online (:mod:`.online`) endpoint operators, and the self-hosted scoring operators (:mod:`.self_hosted`).
Their shared machinery is in :mod:`._base` and :mod:`._specs`.

The Azure-mode operators are importable from here (loaded lazily, so importing the package stays
cheap), e.g. ``from airflow_provider_mlendpoints.operators import SetOnlineTrafficOperator``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._names import BATCH_OPERATORS, ONLINE_OPERATORS

_MODULES = {**{name: ".batch" for name in BATCH_OPERATORS}, **{name: ".online" for name in ONLINE_OPERATORS}}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
