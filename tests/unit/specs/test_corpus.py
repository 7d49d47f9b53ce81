"""Every published Azure ML CLI YAML file (three generations) loads, with the right kind and values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    load_spec,
)

from .conftest import CORPUS, CORPUS_DIR


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS_DIR))


def test_corpus_is_complete(corpus: Path) -> None:
    files = [p for p in corpus.rglob("*") if p.is_file()]
    assert len(files) >= 67
    assert all(p.suffix in (".yml", ".yaml") for p in files)
    assert len(CORPUS) == len(files)


@pytest.mark.parametrize("path", CORPUS, ids=_id)
def test_every_file_loads_without_problems(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name
    assert spec.source == str(path.resolve())
    expected_kind = {
        "endpoint": (BatchEndpointSpec, OnlineEndpointSpec),
        "deployment": (BatchDeploymentSpec, OnlineDeploymentSpec),
    }
    name = path.name.lower()
    if "endpoint" in name and "deployment" not in name:
        assert isinstance(spec, expected_kind["endpoint"])
    elif "deployment" in name and "endpoint" not in name and "2021-05" not in str(path):
        assert isinstance(spec, expected_kind["deployment"])
    if "/batch/" in str(path) or "2021-10" in str(path):
        assert isinstance(spec, BatchEndpointSpec | BatchDeploymentSpec)
    if "/online/" in str(path) or "2021-05" in str(path):
        assert isinstance(spec, OnlineEndpointSpec | OnlineDeploymentSpec)


def test_2021_10_nonmlflow_deployment(corpus: Path) -> None:
    spec = load_spec(corpus / "2021-10" / "nonmlflow-deployment.yml")
    assert isinstance(spec, BatchDeploymentSpec)
    assert spec.name == "nonmlflowdp" and spec.endpoint_name == "mybatchedp"
    assert spec.retry_settings.timeout == 30 and spec.retry_settings.max_retries == 3
    assert spec.mini_batch_size == 10
    assert spec.max_concurrency_per_instance == 2
    assert spec.code is not None and spec.code.scoring_script == "digit_identification.py"
    assert os.path.isabs(spec.code.path) and spec.code.path.endswith(os.path.join("mnist", "code"))
    assert spec.model is not None and spec.model.path == str(corpus / "2021-10" / "mnist" / "model")
    assert spec.environment is not None
    assert spec.environment.conda_file == str(corpus / "2021-10" / "mnist" / "environment" / "conda.yml")
    assert spec.environment.image == "mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:latest"
    assert spec.compute is not None and spec.compute.name == "batch-cluster"


def test_2021_10_mlflow_deployment_has_no_code_and_defaults(corpus: Path) -> None:
    spec = load_spec(corpus / "2021-10" / "mlflow-deployment.yml")
    assert isinstance(spec, BatchDeploymentSpec)
    assert spec.code is None and spec.environment is None
    assert spec.model is not None and spec.model.path == str(corpus / "2021-10" / "autolog_nyc_taxi")
    assert (spec.mini_batch_size, spec.instance_count, spec.error_threshold) == (10, 1, -1)
    assert spec.output_file_name == "predictions.csv" and spec.logging_level == "info"


def test_2021_10_batch_endpoint(corpus: Path) -> None:
    spec = load_spec(corpus / "2021-10" / "batch-endpoint.yml")
    assert isinstance(spec, BatchEndpointSpec)
    assert (spec.name, spec.auth_mode, spec.description) == (
        "mybatchedp",
        "aad_token",
        "my sample batch endpoint",
    )


def test_current_settings_block(corpus: Path) -> None:
    folder = corpus / "current" / "batch" / "deploy-models"
    parquet = load_spec(folder / "custom-outputs-parquet" / "deployment.yml")
    assert isinstance(parquet, BatchDeploymentSpec)
    assert parquet.output_action == "summary_only"
    assert parquet.instance_count == 2 and parquet.mini_batch_size == 2
    assert parquet.retry_settings.timeout == 300
    assert parquet.model is not None and parquet.model.ref is not None
    assert (parquet.model.ref.name, parquet.model.ref.label) == ("heart-classifier-sklpipe", "latest")
    simple = load_spec(folder / "heart-classifier-mlflow" / "deployment-simple" / "deployment.yml")
    assert isinstance(simple, BatchDeploymentSpec) and simple.code is None
    openai = load_spec(folder / "openai-embeddings" / "deployment.yml")
    assert isinstance(openai, BatchDeploymentSpec)
    assert openai.environment_variables["OPENAI_API_VERSION"] == "2023-03-15-preview"
    assert openai.environment_variables["OPENAI_API_BASE"] == "$OPENAI_API_BASE"
    assert openai.error_threshold == -1 and openai.retry_settings.timeout == 9999
    by_batch = load_spec(folder / "imagenet-classifier" / "deployment-by-batch.yml")
    assert by_batch.tags == {"device_acceleration": "CUDA", "device_batching": "16"}
    keras = load_spec(folder / "mnist-classifier" / "deployment-keras" / "deployment.yml")
    assert isinstance(keras, BatchDeploymentSpec)
    assert keras.model is not None and keras.model.name == "mnist-classifier-keras"
    assert keras.model.path == str(folder / "mnist-classifier" / "deployment-keras" / "model")
    assert keras.retry_settings.timeout == 30  # default: no retry_settings in the file
    endpoint = load_spec(folder / "mnist-classifier" / "endpoint.yml")
    assert isinstance(endpoint, BatchEndpointSpec)
    assert endpoint.auth_mode == "aad_token" and endpoint.tags == {"type": "deep-learning"}


def test_2021_05_inline_deployments_and_traffic(corpus: Path) -> None:
    spec = load_spec(corpus / "2021-05" / "managed" / "canary-declarative-flow" / "4-flight-green.yml")
    assert isinstance(spec, OnlineEndpointSpec)
    assert spec.traffic == {"blue": 90, "green": 10}
    assert [d.name for d in spec.deployments] == ["blue", "green"]
    blue = spec.deployments[0]
    assert blue.endpoint_name == "my-endpoint"
    assert blue.instance_count == 2 and blue.scale_settings == {"type": "default"}
    assert blue.model is not None and (blue.model.name, blue.model.version) == ("model-1", "1")
    model_dir = corpus / "2021-05" / "model-1"
    assert blue.model.path == str(model_dir / "model" / "sklearn_regression_model.pkl")
    assert blue.code is not None and blue.code.path == str(model_dir / "onlinescoring")
    assert blue.environment is not None
    assert blue.environment.conda_file == str(model_dir / "environment" / "conda.yml")  # "file:" prefix gone
    assert blue.environment.image == "mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:20210727.v1"
    assert blue.environment.version == "1"


def test_2021_05_imperative_deployment_with_endpoint_schema(corpus: Path) -> None:
    # The file claims managedOnlineEndpoint in $schema but is a deployment.
    spec = load_spec(corpus / "2021-05" / "managed" / "canary-imperative-flow" / "2-create-blue.yml")
    assert isinstance(spec, OnlineDeploymentSpec)
    assert spec.name == "blue" and spec.instance_count == 1
    endpoint = load_spec(corpus / "2021-05" / "managed" / "canary-imperative-flow" / "1-create-endpoint.yml")
    assert isinstance(endpoint, OnlineEndpointSpec) and endpoint.auth_mode == "aml_token"


def test_2021_05_schema_in_comment_and_identity(corpus: Path) -> None:
    spec = load_spec(
        corpus / "2021-05" / "managed" / "managed-identities" / "1-uai-create-endpoint-with-deployment.yml"
    )
    assert isinstance(spec, OnlineEndpointSpec)
    assert spec.identity is not None and spec.identity["type"] == "user_assigned"
    assert spec.deployments[0].environment_variables["UAI_CLIENT_ID"] == "uai_client_id_place_holder"


def test_current_online_quirks(corpus: Path) -> None:
    online = corpus / "current" / "online"
    k8s_endpoint = load_spec(online / "kubernetes" / "kubernetes-endpoint.yml")
    assert isinstance(k8s_endpoint, OnlineEndpointSpec)
    assert k8s_endpoint.auth_mode == "key"  # written "Key"
    assert k8s_endpoint.endpoint_compute_type == "kubernetes"
    assert k8s_endpoint.compute is not None and k8s_endpoint.compute.name == "inferencecompute"
    green = load_spec(online / "kubernetes" / "kubernetes-green-deployment.yml")
    assert isinstance(green, OnlineDeploymentSpec)
    assert green.endpoint_compute_type == "kubernetes" and green.app_insights_enabled is True
    assert green.scale_settings["type"] == "target_utilization" and green.scale_settings["max_instances"] == 3
    placeholder = load_spec(
        online / "custom-container" / "minimal" / "multimodel" / "minimal-multimodel-deployment.yml"
    )
    assert isinstance(placeholder, OnlineDeploymentSpec)
    assert placeholder.endpoint_name == "{{ENDPOINT_NAME}}"
    assert placeholder.environment is not None
    assert placeholder.environment.image == "{{ACR_NAME}}.azurecr.io/azureml-examples/minimal-multimodel:1"
    tfserving = load_spec(
        online / "custom-container" / "tfserving" / "half-plus-two" / "tfserving-deployment.yml"
    )
    assert tfserving.model is not None and tfserving.model.version == "{{MODEL_VERSION}}"
    curated = load_spec(online / "managed" / "sample" / "blue-deployment-with-curated-env.yml")
    assert curated.environment is not None and curated.environment.ref is not None
    assert curated.environment.ref.registry == "azureml" and curated.environment.ref.label == "latest"
    registered = load_spec(online / "managed" / "sample" / "blue-deployment-with-registered-assets.yml")
    assert registered.model is not None and registered.model.ref is not None
    assert (registered.model.ref.name, registered.model.ref.version) == ("my-model", "1")
    triton = load_spec(online / "triton" / "single-model" / "create-managed-deployment.yaml")
    assert triton.model is not None and triton.model.type == "triton_model"
    mounted = load_spec(online / "custom-container" / "triton" / "single-model" / "triton-cc-deployment.yml")
    assert isinstance(mounted, OnlineDeploymentSpec) and mounted.model_mount_path == "/models"
    assert mounted.environment is not None
    assert mounted.environment.inference_config["scoring_route"] == {"path": "/", "port": 8000}
    vnet = load_spec(online / "managed" / "vnet" / "sample" / "blue-deployment-vnet.yml")
    assert isinstance(vnet, OnlineDeploymentSpec) and vnet.egress_public_network_access == "disabled"
