"""REST bodies validated against the 2024-04-01 OpenAPI definitions (mfe.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from airflow_provider_mlendpoints.specs import (
    AzureMLRef,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    apply_overrides,
    load_spec,
)
from airflow_provider_mlendpoints.specs.errors import SpecError
from airflow_provider_mlendpoints.specs.rest import batch_deployment_body, default_resolver

from .conftest import CORPUS, CORPUS_DIR
from .swagger import envelope_schema, to_json_schema

TRACKED = {
    BatchEndpointSpec: "BatchEndpointTrackedResource",
    BatchDeploymentSpec: "BatchDeploymentTrackedResource",
    OnlineEndpointSpec: "OnlineEndpointTrackedResource",
    OnlineDeploymentSpec: "OnlineDeploymentTrackedResource",
}
ISO = re.compile(r"^PT\d+(\.\d+)?S$")


@pytest.fixture(scope="module")
def mfe(shared_reference: Path) -> dict[str, Any]:
    path = shared_reference / "azureml-rest-2024-04-01" / "mfe.json"
    if not path.is_file():
        pytest.skip("mfe.json is absent")
    return to_json_schema(json.loads(path.read_text(encoding="utf-8")))


def assert_valid(mfe: dict[str, Any], spec: Any, body: dict[str, Any]) -> None:
    validator = Draft202012Validator(envelope_schema(mfe, TRACKED[type(spec)]))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors
    assert body["location"] == "westeurope"


def test_swagger_conversion_rejects_bad_bodies(mfe: dict[str, Any]) -> None:
    validator = Draft202012Validator(envelope_schema(mfe, "BatchDeploymentTrackedResource"))
    good = {"location": "x", "properties": {"outputAction": "AppendRow"}}
    assert validator.is_valid(good)
    assert not validator.is_valid({"location": "x", "properties": {"outputAction": "append_row"}})
    assert not validator.is_valid({"location": "x", "properties": {"miniBatchSize": "10"}})
    assert not validator.is_valid({"location": "x", "properties": {"bogus": 1}})
    assert not validator.is_valid({"location": "x", "properties": {"model": {"referenceType": "Id"}}})


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(CORPUS_DIR)))
def test_every_corpus_file_gives_a_valid_body(mfe: dict[str, Any], path: Path) -> None:
    spec = load_spec(path)
    body = spec.to_rest("westeurope")
    assert_valid(mfe, spec, body)
    if isinstance(spec, OnlineEndpointSpec):
        for deployment in spec.deployments:
            assert_valid(mfe, deployment, deployment.to_rest("westeurope"))


def test_batch_deployment_body_values(mfe: dict[str, Any]) -> None:
    spec = load_spec(
        CORPUS_DIR / "current/batch/deploy-models/heart-classifier-mlflow/deployment-custom/deployment.yml"
    )
    body = spec.to_rest("westeurope")
    props = body["properties"]
    assert props["model"] == {"referenceType": "Id", "assetId": "azureml:heart-classifier-mlflow@latest"}
    assert props["codeConfiguration"]["scoringScript"] == "batch_driver.py"
    assert props["compute"] == "azureml:batch-cluster"
    assert props["resources"] == {"instanceCount": 2}
    assert props["maxConcurrencyPerInstance"] == 2 and props["miniBatchSize"] == 2
    assert props["outputAction"] == "AppendRow" and props["outputFileName"] == "predictions.csv"
    assert props["retrySettings"] == {"maxRetries": 3, "timeout": "PT300S"}
    assert props["errorThreshold"] == -1 and props["loggingLevel"] == "Info"
    assert "environmentId" not in props  # inline environment: only a resolver can register it
    summary = apply_overrides(spec, {"output_action": "summary_only", "mini_batch_size": "2MB"})
    summary_props = summary.to_rest("westeurope")["properties"]
    assert summary_props["outputAction"] == "SummaryOnly" and summary_props["miniBatchSize"] == 2_000_000
    assert_valid(mfe, summary, summary.to_rest("westeurope"))


def test_resolver_hook_receives_parts_and_sets_ids(mfe: dict[str, Any]) -> None:
    spec = load_spec(CORPUS_DIR / "2021-10/nonmlflow-deployment.yml")
    calls: list[tuple[str, Any]] = []

    def resolve(kind: str, part: Any) -> str:
        calls.append((kind, part))
        return f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/{kind}s/x"

    body = batch_deployment_body(spec, "westeurope", resolve=resolve)
    assert [kind for kind, _ in calls] == ["model", "code", "environment", "compute"]
    assert calls[0][1] is spec.model and calls[3][1] is spec.compute
    props = body["properties"]
    assert props["model"]["assetId"].endswith("/models/x")
    assert props["codeConfiguration"]["codeId"].endswith("/codes/x")
    assert props["environmentId"].endswith("/environments/x")
    assert props["compute"].endswith("/computes/x")
    assert spec.to_rest("westeurope", resolve=resolve) == body
    assert_valid(mfe, spec, body)
    assert default_resolver("compute", AzureMLRef(raw="azureml:c", name="c")) == "azureml:c"


def test_online_bodies(mfe: dict[str, Any]) -> None:
    endpoint = load_spec(
        CORPUS_DIR / "2021-05/managed/managed-identities/1-uai-create-endpoint-with-deployment.yml"
    )
    body = endpoint.to_rest("westeurope")
    assert body["properties"] == {"authMode": "Key", "traffic": {"blue": 100}}
    assert body["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {"user_identity_ARM_id_place_holder": {}},
    }
    blue = endpoint.deployments[0].to_rest("westeurope")
    assert blue["sku"] == {"name": "Default", "capacity": 1}
    assert blue["properties"]["endpointComputeType"] == "Managed"
    assert blue["properties"]["environmentId"] == "azureml:myenv-model1:1"
    assert blue["properties"]["environmentVariables"]["FILE_NAME"] == "file_place_holder"
    k8s = load_spec(CORPUS_DIR / "current/online/kubernetes/kubernetes-green-deployment.yml")
    k8s_props = k8s.to_rest("westeurope")["properties"]
    assert k8s_props["endpointComputeType"] == "Kubernetes"
    assert k8s_props["scaleSettings"] == {
        "scaleType": "TargetUtilization", "minInstances": 1, "maxInstances": 3,
        "targetUtilizationPercentage": 70, "pollingInterval": "PT10S",
    }  # fmt: skip
    assert k8s_props["containerResourceRequirements"]["containerResourceRequests"] == {
        "cpu": "0.1",
        "memory": "0.1Gi",
    }
    assert k8s_props["appInsightsEnabled"] is True
    blue_k8s = load_spec(CORPUS_DIR / "current/online/kubernetes/kubernetes-blue-deployment.yml").to_rest(
        "westeurope"
    )
    assert blue_k8s["properties"]["requestSettings"] == {"requestTimeout": "PT3S", "maxQueueWait": "PT3S"}
    assert all(ISO.match(v) for v in blue_k8s["properties"]["requestSettings"].values())
    vnet = load_spec(CORPUS_DIR / "current/online/managed/vnet/sample/endpoint.yml").to_rest("westeurope")
    assert vnet["properties"]["publicNetworkAccess"] == "Disabled"
    k8s_endpoint = load_spec(CORPUS_DIR / "current/online/kubernetes/kubernetes-endpoint.yml").to_rest(
        "westeurope"
    )
    assert k8s_endpoint["properties"]["compute"] == "azureml:inferencecompute"
    assert k8s_endpoint["tags"] == {"tag1": "endpoint-tag1-value"}


def test_batch_endpoint_body(mfe: dict[str, Any]) -> None:
    spec = load_spec({"name": "bep", "defaults": {"deployment_name": "blue"}}, kind="batch_endpoint")
    body = spec.to_rest("westeurope")
    assert body == {
        "location": "westeurope",
        "tags": {},
        "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "blue"}},
    }
    assert_valid(mfe, spec, body)


def test_scale_settings_left_to_azure_when_absent(mfe: dict[str, Any]) -> None:
    spec = load_spec(CORPUS_DIR / "current/online/managed/sample/blue-deployment.yml")
    assert isinstance(spec, OnlineDeploymentSpec) and spec.scale_settings == {}
    props = spec.to_rest("westeurope")["properties"]
    assert "scaleSettings" not in props
    assert props["instanceType"] == "Standard_DS3_v2" and props["model"].endswith("model-1/model")
    manual = load_spec(CORPUS_DIR / "2021-05/managed/canary-imperative-flow/3-create-green.yml")
    assert manual.to_rest("westeurope")["properties"]["scaleSettings"] == {"scaleType": "Default"}
    assert manual.to_rest("westeurope")["sku"]["capacity"] == 2


def test_online_endpoint_without_identity_gets_system_assigned(tmp_path: Path) -> None:
    """Like the SDK (and Azure's default), an endpoint that names no identity is sent SystemAssigned."""
    path = tmp_path / "endpoint.yml"
    schema = "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
    path.write_text(schema + "name: plain\nauth_mode: key\n")
    assert load_spec(path).to_rest("westeurope")["identity"] == {"type": "SystemAssigned"}
    path.write_text(schema + "name: plain\nidentity:\n  type: none\n")
    assert load_spec(path).to_rest("westeurope")["identity"] == {"type": "None"}


def test_managed_deployment_refuses_target_utilization(tmp_path: Path) -> None:
    """The SDK refuses target_utilization scaling on managed deployments; so does the loader."""
    path = tmp_path / "deployment.yml"
    path.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"
        "name: blue\nendpoint_name: ep-1\nmodel: azureml:m:1\ninstance_type: Standard_DS3_v2\n"
        "scale_settings:\n  type: target_utilization\n  min_instances: 1\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "scale_settings.type" in str(caught.value) and "Kubernetes" in str(caught.value)
    assert str(path) in str(caught.value)
    path.write_text(path.read_text().replace("managedOnline", "kubernetesOnline").replace("name: blue\n", "name: blue\ntype: kubernetes\n"))
    assert load_spec(path).to_rest("westeurope")["properties"]["scaleSettings"]["scaleType"] == "TargetUtilization"
