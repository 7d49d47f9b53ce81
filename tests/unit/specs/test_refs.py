"""Parsing azureml: references, registry URIs and ARM ids."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.specs import AzureMLRef, parse_ref
from airflow_provider_mlendpoints.specs.errors import Invalid
from airflow_provider_mlendpoints.specs.refs import is_ref, parse_compute

ARM_MODEL = (
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
    "workspaces/ws/models/my-model/versions/3"
)


@pytest.mark.parametrize(
    ("text", "name", "version", "label", "registry"),
    [
        ("azureml:my-model:1", "my-model", "1", None, None),
        ("azureml:heart-classifier-mlflow@latest", "heart-classifier-mlflow", None, "latest", None),
        ("azureml:batch-cluster", "batch-cluster", None, None, None),
        ("azureml:minimalregistered:{{MODEL_VERSION}}", "minimalregistered", "{{MODEL_VERSION}}", None, None),
        (
            "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            "sklearn-1.5",
            None,
            "latest",
            "azureml",
        ),
        ("azureml://registries/azureml/models/phi/versions/7", "phi", "7", None, "azureml"),
        (ARM_MODEL, "my-model", "3", None, None),
        ("azureml:" + ARM_MODEL, "my-model", "3", None, None),
    ],
)
def test_parse_ref(
    text: str, name: str, version: str | None, label: str | None, registry: str | None
) -> None:
    ref = parse_ref(text)
    assert ref == AzureMLRef(raw=text, name=name, version=version, label=label, registry=registry)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    ["azureml:", "azureml:a:b:c", "azureml:a@", "my-model:1", "azureml://registries/r", "/subscriptions/x"],
)
def test_bad_refs(text: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_ref(text)
    assert "azureml:name:1" in info.value.expected


def test_compute_names() -> None:
    assert parse_compute("azureml:cpu-cluster").name == "cpu-cluster"
    assert parse_compute("cpu-cluster") == AzureMLRef(raw="cpu-cluster", name="cpu-cluster")
    with pytest.raises(Invalid):
        parse_compute("azureml:cpu-cluster:2")
    assert is_ref("azureml:x") and is_ref(ARM_MODEL) and not is_ref("./model")
