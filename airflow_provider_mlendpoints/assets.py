"""The Airflow assets of a scoring output, for both modes: the Asset of an output location, the
default outlets of a task or task group, and the asset events a finished job records.

A location's Asset never carries a query string (a SAS token never becomes an asset URI); a local
path becomes a ``file://`` URI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk import Asset, AssetAlias

from .engine.redact import location


def is_templated(value: Any) -> bool:
    """Whether ``value`` (a string) still holds Jinja markup."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def output_asset(output_path: str) -> Asset:
    """The Asset of an output location (a blob or datastore URI, or a local path)."""
    place = location(str(output_path)).rstrip("/")
    if "://" in place:
        return Asset(place)
    return Asset("file://" + os.path.abspath(os.path.expanduser(place)))


def default_outlets(output_path: str | None, dag_id: str, task_or_group_id: str) -> list[Asset | AssetAlias]:
    """The output's Asset, or an AssetAlias ``<dag_id>.<id>.output`` when the path is templated.

    A templated output (``.../{{ ds }}``) is a different Asset every run: the task then records an
    event for the rendered location through the alias, so downstream DAGs can be scheduled on it.
    """
    if not output_path:
        return []
    if is_templated(output_path):
        return [AssetAlias(f"{dag_id}.{task_or_group_id}.output")]
    return [output_asset(output_path)]


def record_output_events(
    context: Mapping[str, Any], outlets: Iterable[Any], output_path: str | None, extra: dict[str, Any]
) -> None:
    """Attach ``extra`` to the output's asset events; an AssetAlias gets the rendered location."""
    events = context.get("outlet_events") if hasattr(context, "get") else None
    if events is None or not output_path:
        return
    for outlet in outlets or ():
        if isinstance(outlet, AssetAlias):
            events[outlet].add(output_asset(output_path), extra=extra)
        elif isinstance(outlet, Asset):
            events[outlet].extra.update(extra)
