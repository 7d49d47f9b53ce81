"""``apply_overrides``: change settings of a loaded spec, e.g. from ``--set mini_batch_size=5``.

Keys use the YAML names, dotted for nested fields (``retry_settings.timeout``,
``environment_variables.FOO``; a leading ``settings.`` is accepted). Values may
be strings from a command line: they are coerced and validated exactly like
the same value in a YAML file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import coerce
from .errors import Invalid, Problem, SpecError, describe
from .model import BatchDeploymentSpec, BatchEndpointSpec, OnlineDeploymentSpec, OnlineEndpointSpec, Spec
from .refs import parse_compute

SOURCE = "overrides"
Setter = Callable[[dict[str, Any], Any], None]


def _set(field: str, convert: Callable[[Any], Any]) -> Setter:
    def setter(changes: dict[str, Any], value: Any) -> None:
        changes[field] = convert(value)

    return setter


def _retry(field: str, convert: Callable[[Any], Any]) -> Setter:
    def setter(changes: dict[str, Any], value: Any) -> None:
        changes.setdefault("retry_settings", {})[field] = convert(value)

    return setter


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else coerce.text(value)


_COMMON: dict[str, Setter] = {"description": _set("description", _text_or_none)}
_BATCH_DEPLOYMENT: dict[str, Setter] = {
    **_COMMON,
    "mini_batch_size": _set("mini_batch_size", coerce.mini_batch_size),
    "max_concurrency_per_instance": _set("max_concurrency_per_instance", coerce.concurrency),
    "instance_count": _set("instance_count", coerce.positive_int),
    "resources.instance_count": _set("instance_count", coerce.positive_int),
    "error_threshold": _set("error_threshold", coerce.error_threshold),
    "output_action": _set("output_action", coerce.output_action),
    "output_file_name": _set("output_file_name", coerce.file_name),
    "logging_level": _set("logging_level", coerce.logging_level),
    "retry_settings.max_retries": _retry("max_retries", coerce.non_negative_int),
    "retry_settings.timeout": _retry("timeout", coerce.seconds),
    "compute": _set("compute", lambda v: parse_compute(coerce.text(v))),
}
_ONLINE_DEPLOYMENT: dict[str, Setter] = {
    **_COMMON,
    "instance_count": _set("instance_count", coerce.positive_int),
    "instance_type": _set("instance_type", coerce.text),
    "app_insights_enabled": _set("app_insights_enabled", coerce.boolean),
}
_BATCH_ENDPOINT: dict[str, Setter] = {
    **_COMMON,
    "defaults.deployment_name": _set("default_deployment", _text_or_none),
    "default_deployment": _set("default_deployment", _text_or_none),
}
_ONLINE_ENDPOINT: dict[str, Setter] = {**_COMMON, "auth_mode": _set("auth_mode", coerce.auth_mode)}
_TABLES: dict[type, dict[str, Setter]] = {
    BatchDeploymentSpec: _BATCH_DEPLOYMENT,
    OnlineDeploymentSpec: _ONLINE_DEPLOYMENT,
    BatchEndpointSpec: _BATCH_ENDPOINT,
    OnlineEndpointSpec: _ONLINE_ENDPOINT,
}
# Mapping fields that take ``name.KEY`` entries, per spec class.
_MAPS: dict[type, dict[str, Callable[[Any], Any]]] = {
    BatchDeploymentSpec: {"environment_variables": coerce.scalar_text, "tags": coerce.scalar_text},
    OnlineDeploymentSpec: {"environment_variables": coerce.scalar_text, "tags": coerce.scalar_text},
    BatchEndpointSpec: {"tags": coerce.scalar_text},
    OnlineEndpointSpec: {
        "tags": coerce.scalar_text,
        "traffic": lambda v: coerce.integer(v, minimum=0, expected="a percentage 0-100"),
    },
}


def valid_keys(spec: Spec) -> list[str]:
    """The override keys ``spec`` accepts (``NAME`` stands for any key of a mapping)."""
    keys = list(_TABLES[type(spec)])
    keys += [f"{name}.NAME" for name in _MAPS[type(spec)]]
    return sorted(keys)


def _map_entry(
    changes: dict[str, Any], spec: Spec, field: str, key: str, value: Any, convert: Callable[[Any], Any]
) -> None:
    current = changes.setdefault(field, dict(getattr(spec, field)))
    if value is None:
        current.pop(key, None)
    else:
        converted = convert(value)
        if field == "traffic" and converted > 100:
            raise Invalid("a percentage 0-100")
        current[key] = converted


def _override_key(spec: Spec, raw_key: str) -> str:
    """``raw_key`` stripped; a batch deployment's ``settings.`` prefix dropped (the YAML block's name)."""
    key = raw_key.strip()
    if key.startswith("settings.") and isinstance(spec, BatchDeploymentSpec):
        key = key[len("settings.") :]
    return key


def _apply_one(changes: dict[str, Any], spec: Spec, raw_key: str, value: Any) -> Problem | None:
    """Record one override in ``changes``; the problem it has, if any (unknown key, bad value)."""
    table = _TABLES[type(spec)]
    maps = _MAPS[type(spec)]
    key = _override_key(spec, raw_key)
    head, _, rest = key.partition(".")
    try:
        if key in table:
            table[key](changes, value)
        elif head in maps and rest:
            _map_entry(changes, spec, head, rest, value, maps[head])
        elif head in maps and isinstance(value, Mapping):
            for name, item in value.items():
                _map_entry(changes, spec, head, str(name), item, maps[head])
        else:
            message = f"unknown setting {raw_key!r}; valid keys: {', '.join(valid_keys(spec))}"
            return Problem(SOURCE, raw_key, message=message)
    except Invalid as exc:
        return Problem(SOURCE, raw_key, exc.expected, describe(value), exc.message)
    return None


def _traffic_problem(changes: dict[str, Any]) -> Problem | None:
    """Changed traffic must still sum to 100 (or 0)."""
    if not changes.get("traffic"):
        return None
    total = sum(changes["traffic"].values())
    if total in (0, 100):
        return None
    return Problem(SOURCE, "traffic", message=f"percentages must sum to 100, found {total}")


def apply_overrides(spec: Spec, overrides: Mapping[str, Any]) -> Spec:
    """A new spec with ``overrides`` applied; raises :class:`SpecError` naming every bad key or value."""
    changes: dict[str, Any] = {}
    found = (_apply_one(changes, spec, raw_key, value) for raw_key, value in overrides.items())
    problems = [problem for problem in found if problem is not None]
    if "retry_settings" in changes and isinstance(spec, BatchDeploymentSpec):
        changes["retry_settings"] = dataclasses.replace(spec.retry_settings, **changes["retry_settings"])
    traffic = _traffic_problem(changes)
    if traffic is not None:
        problems.append(traffic)
    if problems:
        raise SpecError(problems)
    return dataclasses.replace(spec, **changes)


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["mini_batch_size=5", "retry_settings.timeout=60"]`` -> a dict; a problem per item without ``=``."""
    result: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem(SOURCE, item, "KEY=VALUE", describe(item)))
            continue
        result[key.strip()] = value
    if problems:
        raise SpecError(problems)
    return result
