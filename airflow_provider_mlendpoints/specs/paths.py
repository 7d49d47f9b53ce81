"""Checking that the local paths a spec names exist (the engine needs them, Azure uploads them)."""

from __future__ import annotations

import os

from .errors import Problem
from .model import BatchDeploymentSpec, OnlineDeploymentSpec, OnlineEndpointSpec, Spec


def _deployment_paths(
    spec: BatchDeploymentSpec | OnlineDeploymentSpec, prefix: str
) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    if spec.model is not None and spec.model.path:
        found.append((f"{prefix}model.path", spec.model.path, "a model file or folder"))
    if spec.code is not None and spec.code.path:
        found.append((f"{prefix}code_configuration.code", spec.code.path, "the scoring code folder"))
        script = os.path.join(spec.code.path, spec.code.scoring_script)
        found.append((f"{prefix}code_configuration.scoring_script", script, "the scoring script"))
    if spec.environment is not None and spec.environment.conda_file:
        found.append((f"{prefix}environment.conda_file", spec.environment.conda_file, "a conda file"))
    return found


def check_paths(spec: Spec, *, file: str | None = None) -> list[Problem]:
    """Problems for every local path in ``spec`` (model, code folder, scoring script, conda file) that is missing."""
    name = file or spec.source or "<spec>"
    targets: list[tuple[str, str, str]] = []
    if isinstance(spec, BatchDeploymentSpec | OnlineDeploymentSpec):
        targets = _deployment_paths(spec, "")
    elif isinstance(spec, OnlineEndpointSpec):
        for index, deployment in enumerate(spec.deployments):
            targets += _deployment_paths(deployment, f"deployments[{index}].")
    problems = []
    code_missing = False
    for field_path, local, what in targets:
        if field_path.endswith("scoring_script") and code_missing:
            continue
        if not os.path.exists(local):
            code_missing = code_missing or field_path.endswith("code_configuration.code")
            problems.append(
                Problem(name, field_path, what, local, f"expected {what}, but {local} does not exist")
            )
    return problems
