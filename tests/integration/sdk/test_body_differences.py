"""Differential test: the REST bodies Microsoft's SDK builds from the YAML corpus against the project's.

For every YAML file of ``../shared/reference/azureml-cli-yaml`` that the
azure-ai-ml SDK loads (``load_batch_endpoint`` ... ``_to_rest_*``), the SDK's
body and ``load_spec(path).to_rest(...)`` are compared after normalising the
documented equivalences (:func:`normalize`: enum casing, duration spelling,
asset references that only an upload turns into ids). Every difference left
is listed in :data:`KNOWN` with its reason; an unlisted difference fails the
test, and so does a listed one that no longer occurs (the list stays true).

Local paths of the corpus point at folders the corpus does not ship; a copy
of each file is made with those paths created (empty), so the SDK's loader
(which checks that local paths exist) accepts it.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.paths import SHARED_REFERENCE

pytest.importorskip("azure.ai.ml", reason="azure-ai-ml is a dev dependency (pip install -e '.[dev]')")

CORPUS_DIR = SHARED_REFERENCE / "azureml-cli-yaml"
LOCATION = "westeurope"

#: Enum-valued fields: the service binds them case-insensitively.
ENUM_KEYS = {
    "authMode", "scaleType", "endpointComputeType", "outputAction", "loggingLevel", "referenceType",
    "egressPublicNetworkAccess", "publicNetworkAccess", "type", "dataCollectionMode", "rollingRate",
}
#: Fields holding asset references: compared as "a reference" (the SDK resolves them at upload time).
ASSET_KEYS = {"assetId", "codeId", "environmentId", "model"}
_DURATION = re.compile(r"^P(?:T(?:(?P<h>[\d.]+)H)?(?:(?P<m>[\d.]+)M)?(?:(?P<s>[\d.]+)S)?)$")

_NOT_YET_AN_ID = (
    "the SDK's online deployment entity leaves out a model/environment reference that is not an ARM id "
    "yet (its operations layer resolves azureml:name:version and @latest before the PUT); the project "
    "keeps it in the body and its resolver turns it into the ARM id at PUT time"
)
#: "kind:flattened path" -> why the difference is left.
KNOWN: dict[str, str] = {
    "only-ours:properties.model": _NOT_YET_AN_ID,
    "only-ours:properties.environmentId": _NOT_YET_AN_ID,
    "only-ours:sku.capacity": (
        "a Kubernetes deployment with target_utilization scaling: the SDK sends no sku, the project the "
        "default capacity 1 (the initial instance count; the scaler owns it afterwards)"
    ),
}


def _seconds(text: str) -> float | None:
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    return float(match["h"] or 0) * 3600 + float(match["m"] or 0) * 60 + float(match["s"] or 0)


def _is_local(value: Any) -> bool:
    """A local asset (an SDK entity not yet uploaded, or a path): only an upload gives it an id."""
    return not isinstance(value, str) or not value.startswith(("azureml:", "/subscriptions/", "http"))


def normalize(value: Any, key: str = "") -> Any:
    """The documented equivalences: enum case, ISO durations as seconds, compute names with or
    without ``azureml:``, tag values as strings, no nulls or empty maps, local assets left out
    (the SDK uploads them before it builds the body; the project resolves them at PUT time)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None or (k in ASSET_KEYS and _is_local(v)):
                continue
            v = {t: str(x) for t, x in v.items()} if k == "tags" and isinstance(v, dict) else normalize(v, k)
            if v != {}:
                out[k] = v
        return out
    if isinstance(value, list):
        return [normalize(v, key) for v in value]
    if isinstance(value, str):
        if key == "compute":
            return value.removeprefix("azureml:")
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
        if key in ENUM_KEYS:
            return value.lower()
    return value


#: What the service assumes when a batch deployment body leaves a field out (the project spells
#: these out, the SDK sends only what the YAML says).
BATCH_DEPLOYMENT_DEFAULTS = {
    "properties.errorThreshold": -1,
    "properties.loggingLevel": "info",
    "properties.retrySettings.maxRetries": 3,
    "properties.retrySettings.timeout": 30.0,
    "properties.outputFileName": "predictions.csv",
    "properties.outputAction": "appendrow",
    "properties.miniBatchSize": 10,
    "properties.maxConcurrencyPerInstance": 1,
    "properties.resources.instanceCount": 1,
}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: value}


def differences(sdk: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """``only-sdk:path=value``, ``only-ours:path=value`` and ``differ:path sdk=.. ours=..`` lines."""
    a, b = flatten(normalize(sdk)), flatten(normalize(ours))
    if "properties.outputAction" in a or "properties.outputAction" in b:  # a batch deployment
        for side in (a, b):
            for path, default in BATCH_DEPLOYMENT_DEFAULTS.items():
                side.setdefault(path, default)
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in b:
            out.append(f"only-sdk:{path}={a[path]!r}")
        elif path not in a:
            out.append(f"only-ours:{path}={b[path]!r}")
        elif a[path] != b[path]:
            out.append(f"differ:{path} sdk={a[path]!r} ours={b[path]!r}")
    return out


def _local_paths(doc: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("path", "code", "conda_file") and isinstance(v, str) and ":" not in v:
                found.append((k, v))
            elif k == "model" and isinstance(v, str) and not v.startswith("azureml:"):
                found.append(("path", v))
            else:
                found += _local_paths(v)
    elif isinstance(doc, list):
        for item in doc:
            found += _local_paths(item)
    return found


def _copy_with_paths(path: Path, workdir: Path) -> Path:
    copy = workdir / path.relative_to(CORPUS_DIR)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, copy)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        doc = {}
    for key, rel in _local_paths(doc):
        target = copy.parent / rel
        if key == "conda_file" or Path(rel).suffix:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_text("name: x\ndependencies: []\n")
        else:
            target.mkdir(parents=True, exist_ok=True)
            (target / "placeholder.txt").write_text("x")
    return copy


def sdk_and_project_bodies(path: Path, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(SDK body, project body) for one corpus file; None when the SDK does not load it."""
    from azure.ai.ml import (
        load_batch_deployment,
        load_batch_endpoint,
        load_online_deployment,
        load_online_endpoint,
    )
    from azure.ai.ml.entities._load_functions import load_model_batch_deployment

    from airflow_provider_mlendpoints.specs import (
        BatchDeploymentSpec,
        BatchEndpointSpec,
        OnlineDeploymentSpec,
        OnlineEndpointSpec,
        load_spec,
    )

    spec = load_spec(path)
    copy = _copy_with_paths(path, workdir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if isinstance(spec, BatchEndpointSpec):
                rest = load_batch_endpoint(copy)._to_rest_batch_endpoint(LOCATION)
            elif isinstance(spec, OnlineEndpointSpec):
                if spec.deployments:
                    return None  # 2021-05 inline deployments: the SDK has no such schema
                rest = load_online_endpoint(copy)._to_rest_online_endpoint(LOCATION)
            elif isinstance(spec, BatchDeploymentSpec):
                doc = yaml.safe_load(path.read_text()) or {}
                loader = load_model_batch_deployment if "settings" in doc else load_batch_deployment
                rest = loader(copy)._to_rest_object(location=LOCATION)
            elif isinstance(spec, OnlineDeploymentSpec):
                rest = load_online_deployment(copy)._to_rest_object(location=LOCATION)
            else:  # pragma: no cover - load_spec knows four kinds
                return None
        except Exception:  # noqa: BLE001 - the SDK refuses the file: nothing to compare
            return None
    sdk = rest.serialize() if hasattr(rest, "serialize") else rest.as_dict()
    return sdk, spec.to_rest(LOCATION)


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix in (".yml", ".yaml")) if CORPUS_DIR.is_dir() else []


def test_sdk_and_project_bodies_agree(tmp_path: Path) -> None:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"the YAML corpus is not here: {CORPUS_DIR}")
    compared, unexplained, seen = [], [], set()
    for path in _corpus():
        pair = sdk_and_project_bodies(path, tmp_path)
        if pair is None:
            continue
        compared.append(path)
        for line in differences(*pair):
            kind_path = line.split("=", 1)[0].split(" ", 1)[0]
            if kind_path in KNOWN:
                seen.add(kind_path)
            else:
                unexplained.append(f"{path.relative_to(CORPUS_DIR)}: {line}")
    print(f"bodies compared: {len(compared)} files; differences left: {sorted(seen)}")
    assert len(compared) >= 40, f"the SDK loaded only {len(compared)} corpus files"
    assert not unexplained, "differences with no reason in KNOWN:\n" + "\n".join(unexplained)
    assert seen == set(KNOWN), f"KNOWN lists differences that no longer occur: {sorted(set(KNOWN) - seen)}"


def test_normalize_equivalences() -> None:
    sdk = {"properties": {"authMode": "AADToken", "retrySettings": {"timeout": "PT30S"}, "compute": "c", "properties": {}},
           "tags": {"n": 16}}
    ours = {"properties": {"authMode": "aadtoken", "retrySettings": {"timeout": "PT0.5M"}, "compute": "azureml:c"},
            "tags": {"n": "16"}}
    assert differences(sdk, ours) == []
    assert differences({"properties": {"authMode": "Key"}}, {"properties": {"authMode": "AADToken"}}) == [
        "differ:properties.authMode sdk='key' ours='aadtoken'"
    ]
