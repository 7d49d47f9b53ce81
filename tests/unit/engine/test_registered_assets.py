"""Registered assets: ``model: azureml:NAME@latest`` and data-asset inputs resolved for self-hosted scoring.

The deployment YAML has the shape of Microsoft's published ones (a registered model by label,
a local code folder). The model is registered in the real emulator (its default datastore on
real Azurite) with the project's client and resolved through ``mlendpoints score
--workspace-config``; downloads are cached once per version. Without a local copy or a
workspace the plan fails at once naming the reference and the ways to provide it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.client import MLEndpointsClient, StaticTokenCredential, WorkspaceConfig
from airflow_provider_mlendpoints.client.asset_upload import AssetUploader
from tests.fixtures.emulator import start_emulator

pytestmark = pytest.mark.azurite

SCRIPT = """
import glob, os

def init():
    global weight
    # as Microsoft's scripts do: the model folder below AZUREML_MODEL_DIR
    model_path = glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/")[0]
    weight = open(os.path.join(model_path, "weight.txt")).read().strip()

def run(mini_batch):
    return [f"{weight} {os.path.basename(p)}" for p in mini_batch]
"""

DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-custom
type: model
model: azureml:heart-classifier@latest
code_configuration:
  code: code
  scoring_script: batch_driver.py
compute: azureml:batch-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 1
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
"""


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("mlendpoints")
    return subprocess.run([str(cli), "score", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def deployment(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "batch_driver.py").write_text(textwrap.dedent(SCRIPT))
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT)
    inputs = tmp_path / "data"
    inputs.mkdir()
    for i in range(3):
        (inputs / f"heart-{i}.csv").write_text("age\n1\n")
    return path, inputs


def _model(folder: Path, weight: str) -> Path:
    model = folder / "model"
    model.mkdir(parents=True)
    (model / "weight.txt").write_text(weight)
    (model / "MLmodel").write_text("flavors: {}\n")
    return model


def test_registered_model_is_resolved_through_the_emulator_and_cached(tmp_path, deployment, azurite):
    path, inputs = deployment
    container = azurite.create_container()
    env = {"MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
           "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container}
    try:
        with start_emulator(env=env, log_dir=tmp_path) as emu:
            config = WorkspaceConfig(emu.subscription, emu.resource_group, emu.workspace,
                                     management_url=emu.base_url,
                                     storage_urls={azurite.account_name: azurite.connection_string})
            with MLEndpointsClient(config, StaticTokenCredential(emu.token)) as client:
                uploader = AssetUploader(client)
                uploader.register_model(_model(tmp_path / "v1", "one"), "heart-classifier", None, "mlflow_model")
                uploader.register_model(_model(tmp_path / "v2", "two"), "heart-classifier", None, "mlflow_model")
                data_uri = uploader.upload(inputs).uri
                client.data_versions.create_or_update(
                    "heart-dataset-unlabeled", "1", {"properties": {"dataType": "uri_folder", "dataUri": data_uri}}
                )
            ws_config = tmp_path / "config.json"
            ws_config.write_text(json.dumps({
                "subscription_id": emu.subscription, "resource_group": emu.resource_group,
                "workspace_name": emu.workspace, "management_url": emu.base_url,
                "storage_urls": {azurite.account_name: azurite.connection_string},
            }))
            cache = tmp_path / "cache"
            common = ["--deployment", str(path), "--workspace-config", str(ws_config), "--asset-cache", str(cache)]
            token = {"MLENDPOINTS_TOKEN": emu.token}

            done = _cli(*common, "--input", str(inputs), "--output", str(tmp_path / "out"), env=token)
            assert done.returncode == 0, done.stderr
            lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
            assert lines == [f"two heart-{i}.csv" for i in range(3)]  # @latest: version 2
            cached = sorted(p.relative_to(cache).parts[1:] for p in cache.rglob("*") if p.is_file())
            assert cached == [("model", "MLmodel"), ("model", "weight.txt")]  # one version, downloaded once

            # a data asset as the input, the model from the cache (its blobs are gone from the datastore)
            blobs = azurite.service_client().get_container_client(container)
            for blob in list(blobs.list_blobs(name_starts_with="LocalUpload/")):
                if blob.name.endswith("weight.txt") and "/model/" in blob.name:
                    blobs.delete_blob(blob.name)
            done = _cli(*common, "--input", "azureml:heart-dataset-unlabeled:1", "--output", str(tmp_path / "out2"),
                        env=token)
            assert done.returncode == 0, done.stderr
            assert (tmp_path / "out2" / "predictions.csv").read_text().splitlines() == lines
    finally:
        azurite.delete_container(container)


def test_unresolvable_model_fails_at_once_naming_the_ways(tmp_path, deployment):
    path, inputs = deployment
    done = _cli("--deployment", str(path), "--input", str(inputs), "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    message = done.stderr
    assert "model 'azureml:heart-classifier@latest' is a registered asset" in message
    assert "--model PATH" in message and "--workspace-config" in message and "models:/NAME/VERSION" in message
    assert not (tmp_path / "out").exists()  # nothing planned, nothing written


def test_local_copy_of_the_model(tmp_path, deployment):
    path, inputs = deployment
    model = _model(tmp_path / "local", "local")
    done = _cli("--deployment", str(path), "--input", str(inputs), "--output", str(tmp_path / "out"),
                "--model", str(model))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines()[0] == "local heart-0.csv"
