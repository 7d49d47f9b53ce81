"""Batch invoke bodies: current (InputData/OutputData) and 2021 (dataset/outputDataset), with overrides."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.client import (
    InvokeOverrides,
    ValidationError,
    batch_invoke_body,
    batch_invoke_body_2021,
)

ALL = InvokeOverrides(
    mini_batch_size=5,
    instance_count=2,
    max_retries=1,
    timeout=60,
    error_threshold=3,
    output_file_name="out.csv",
    logging_level="debug",
)
REST_OVERRIDES = {
    "miniBatchSize": 5,
    "compute": {"instanceCount": 2, "isLocal": False},
    "retrySettings": {"maxRetries": 1, "timeout": "PT60S"},
    "errorThreshold": 3,
    "outputFileName": "out.csv",
    "loggingLevel": "Debug",
}


def test_current_body_with_outputs_and_overrides():
    body = batch_invoke_body(
        {"heart": {"uri": "azureml://datastores/ws/paths/in/", "type": "uri_folder"}},
        {"score": {"uri": "azureml://datastores/ws/paths/out/predictions.csv", "type": "uri_file"}},
        ALL,
    )
    assert body == {
        "properties": {
            "InputData": {"heart": {"JobInputType": "UriFolder", "Uri": "azureml://datastores/ws/paths/in/"}},
            "OutputData": {
                "score": {
                    "JobOutputType": "UriFile",
                    "Uri": "azureml://datastores/ws/paths/out/predictions.csv",
                }
            },
            **REST_OVERRIDES,
        }
    }


def test_type_is_guessed_from_plain_uris():
    body = batch_invoke_body({"a": "https://x/data/", "b": "https://x/data/file.csv"})
    assert body["properties"]["InputData"]["a"]["JobInputType"] == "UriFolder"
    assert body["properties"]["InputData"]["b"]["JobInputType"] == "UriFile"


def test_2021_bodies():
    assert batch_invoke_body_2021(
        input_uri="https://x/in/",
        output_datastore_id="/subs/.../datastores/ws",
        output_path="out/",
        overrides=InvokeOverrides(output_file_name="o.csv"),
    ) == {
        "properties": {
            "dataset": {"dataInputType": "DataUrl", "path": "https://x/in/"},
            "outputDataset": {"datastoreId": "/subs/.../datastores/ws", "path": "out/"},
            "outputFileName": "o.csv",
        }
    }
    assert batch_invoke_body_2021(dataset_name="d", dataset_version="2")["properties"]["dataset"] == {
        "dataInputType": "DatasetVersion",
        "datasetName": "d",
        "datasetVersion": "2",
    }


def test_invalid_bodies():
    with pytest.raises(ValidationError):
        batch_invoke_body({})
    with pytest.raises(ValidationError):
        batch_invoke_body({"a": {"uri": "x", "type": "mltable"}})
    with pytest.raises(ValidationError):
        batch_invoke_body_2021()
