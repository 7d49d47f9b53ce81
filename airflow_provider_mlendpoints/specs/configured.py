"""A spec as an operator or task group is configured with it: from a YAML path, a dict or a
spec object, renamed, pointed at an endpoint, with rendered overrides applied.

Both modes load their specs here (Azure mode's resource operators and self-hosted scoring), so a
YAML file, a ``name=`` and an ``overrides=`` mean the same in each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar, cast

from .batch import scoring_deployment
from .errors import Problem, SpecError
from .loader import load_spec
from .model import BatchDeploymentSpec, BatchEndpointSpec, Spec
from .overrides import SOURCE, apply_overrides

S = TypeVar("S", bound=Spec)


def rendered_overrides(overrides: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Rendered overrides (a dict, or the JSON of one) without the entries that rendered empty.

    An empty value keeps the spec's own setting, so ``{"mini_batch_size": "{{ params.size }}"}``
    with no ``size`` given changes nothing. Raises :class:`SpecError` for anything else.
    """
    if not overrides:
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError:
            raise SpecError([Problem(SOURCE, "", "a dict or the JSON of one", repr(overrides))]) from None
    if not isinstance(overrides, Mapping):
        raise SpecError([Problem(SOURCE, "", "a dict of setting -> value", type(overrides).__name__)])
    return {
        str(key): value
        for key, value in overrides.items()
        if value is not None and not (isinstance(value, str) and not value.strip())
    }


def configured_spec(
    spec: str | os.PathLike[str] | Mapping[str, Any] | Spec,
    kind: type[S],
    *,
    name: str | None = None,
    endpoint_name: str | None = None,
    overrides: Mapping[str, Any] | str | None = None,
    base_dir: str | None = None,
    require_local_paths: bool = False,
) -> S:
    """The spec of ``kind`` that ``spec`` (a YAML path, a dict or a spec object) describes.

    A batch deployment may also come from a 2021-05 endpoint file: its default (or only) inline
    deployment. ``name`` / ``endpoint_name`` replace the file's, then ``overrides`` apply.
    Raises :class:`SpecError` naming the file and the field of every problem.
    """
    loaded = _load(spec, kind, base_dir, require_local_paths)
    names: dict[str, Any] = {"name": name} if name else {}
    if endpoint_name and hasattr(loaded, "endpoint_name"):
        names["endpoint_name"] = endpoint_name
    if names:
        loaded = replace(loaded, **names)
    cleaned = rendered_overrides(overrides)
    return cast(S, apply_overrides(loaded, cleaned)) if cleaned else loaded


def _load(spec: Any, kind: type[S], base_dir: str | None, require_local_paths: bool) -> S:
    named = isinstance(spec, str | os.PathLike) and str(spec).strip()
    where = str(spec) if named else f"<{kind.__name__}>"
    if isinstance(spec, kind):
        return spec
    if not isinstance(spec, str | os.PathLike | Mapping):
        expected = f"a YAML path, a dict or a {kind.__name__}"
        raise SpecError([Problem(where, "", expected, type(spec).__name__)])
    if isinstance(spec, str) and not spec.strip():
        raise SpecError([Problem(where, "", message="the spec path is empty")])
    if kind is BatchDeploymentSpec:
        endpoint = _as_2021_05_endpoint(spec, base_dir, require_local_paths)
        if endpoint is not None:
            try:
                return scoring_deployment(endpoint, where)  # type: ignore[return-value]
            except ValueError as exc:
                message = str(exc).removeprefix(f"{where}: ")
                raise SpecError([Problem(where, "deployments", message=message)]) from None
    loaded = load_spec(spec, kind=kind, base_dir=base_dir, require_local_paths=require_local_paths)
    if not isinstance(loaded, kind):
        raise SpecError([Problem(where, "", f"a {kind.__name__} file", type(loaded).__name__)])
    return loaded


def _as_2021_05_endpoint(
    spec: str | os.PathLike[str] | Mapping[str, Any], base_dir: str | None, require_local_paths: bool
) -> BatchEndpointSpec | None:
    """The endpoint, when ``spec`` is a batch endpoint file with inline deployments (2021-05)."""
    try:
        loaded = load_spec(spec, base_dir=base_dir, require_local_paths=require_local_paths)
    except SpecError:
        return None  # loaded again as a deployment, whose problems are the ones to report
    return loaded if isinstance(loaded, BatchEndpointSpec) else None
