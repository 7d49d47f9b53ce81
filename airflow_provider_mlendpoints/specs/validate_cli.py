"""``mlendpoints validate FILE...``: one line per problem, an ``ok`` line per valid file."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from .errors import Problem, SpecError
from .loader import load_specs
from .model import BatchDeploymentSpec, BatchEndpointSpec, OnlineDeploymentSpec, OnlineEndpointSpec, Spec


def kind_of(spec: Spec) -> str:
    """A short kind name for messages: ``batch_deployment``, ``online_endpoint (kubernetes)``..."""
    if isinstance(spec, BatchEndpointSpec):
        return "batch_endpoint"
    if isinstance(spec, BatchDeploymentSpec):
        return "batch_deployment"
    if isinstance(spec, OnlineEndpointSpec):
        return f"online_endpoint ({spec.endpoint_compute_type})"
    if isinstance(spec, OnlineDeploymentSpec):
        return f"online_deployment ({spec.endpoint_compute_type})"
    return type(spec).__name__  # pragma: no cover


def describe_spec(spec: Spec) -> str:
    """``batch_deployment "mnist-torch-dpl"``, with inline deployments listed."""
    text = f'{kind_of(spec)} "{spec.name}"'
    if isinstance(spec, OnlineEndpointSpec) and spec.deployments:
        text += " with deployments " + ", ".join(d.name for d in spec.deployments)
    return text


def run_validate(files: Sequence[str], out: TextIO | None = None) -> int:
    """Validate each file; 0 when all are valid, 1 otherwise. Never raises for bad input."""
    stream = out or sys.stdout
    failed = False
    for file in files:
        try:
            specs = load_specs(file)
        except SpecError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=stream)
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must still not end in a bare traceback
            failed = True
            print(Problem(file, "", message=f"internal error while validating: {exc!r}"), file=stream)
            continue
        for spec in specs:
            print(f"{file}: ok: {describe_spec(spec)}", file=stream)
    return 1 if failed else 0
