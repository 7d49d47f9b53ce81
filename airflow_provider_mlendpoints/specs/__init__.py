"""Azure ML endpoint and deployment specs: load, validate, normalize, override, turn into REST bodies.

Pure Python, no airflow imports. Importing this package stays cheap: YAML,
jsonschema and the REST helpers are loaded only when used.
"""

from __future__ import annotations

from .errors import Problem, SpecError
from .loader import load_spec, load_specs
from .model import (
    AzureMLRef,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    CodeSpec,
    EnvironmentSpec,
    ModelSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    RetrySettings,
    Spec,
)
from .overrides import apply_overrides, parse_assignments
from .paths import check_paths
from .refs import parse_ref

__all__ = [
    "AzureMLRef",
    "BatchDeploymentSpec",
    "BatchEndpointSpec",
    "CodeSpec",
    "EnvironmentSpec",
    "ModelSpec",
    "OnlineDeploymentSpec",
    "OnlineEndpointSpec",
    "Problem",
    "RetrySettings",
    "Spec",
    "SpecError",
    "apply_overrides",
    "check_paths",
    "load_spec",
    "load_specs",
    "parse_assignments",
    "parse_ref",
]
