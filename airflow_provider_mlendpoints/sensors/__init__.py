"""Deferrable sensors: :class:`BatchJobSensor` and :class:`ProvisioningStateSensor` (imported lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["BatchJobSensor", "ProvisioningStateSensor"]


def __getattr__(name: str) -> Any:
    if name == "BatchJobSensor":
        from .batch_job import BatchJobSensor

        return BatchJobSensor
    if name == "ProvisioningStateSensor":
        from .provisioning import ProvisioningStateSensor

        return ProvisioningStateSensor
    raise AttributeError(name)
