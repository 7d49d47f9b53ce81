"""Azure ML endpoint and deployment specs: load, validate, normalize, override, turn into REST bodies.

Pure Python, no airflow imports. Importing this package stays cheap: YAML,
jsonschema and the REST helpers are loaded only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
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

#: Public name -> the submodule that defines it, imported on first use: an operator module that
#: needs only the spec classes does not load the YAML loader, jsonschema or the REST helpers.
_EXPORTS = {
    "Problem": ".errors",
    "SpecError": ".errors",
    "load_spec": ".loader",
    "load_specs": ".loader",
    "AzureMLRef": ".model",
    "BatchDeploymentSpec": ".model",
    "BatchEndpointSpec": ".model",
    "CodeSpec": ".model",
    "EnvironmentSpec": ".model",
    "ModelSpec": ".model",
    "OnlineDeploymentSpec": ".model",
    "OnlineEndpointSpec": ".model",
    "RetrySettings": ".model",
    "Spec": ".model",
    "apply_overrides": ".overrides",
    "parse_assignments": ".overrides",
    "check_paths": ".paths",
    "parse_ref": ".refs",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS)

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
