"""The 2021-05 batch generation: an endpoint with inline ``deployments`` and ``traffic``, and a deployment
file that claims the batchEndpoint schema (the shapes of azureml-examples' 2021 ``create-batch-endpoint.yml``
and ``add-deployment.yml``, written here). Both validate, score with ``mlendpoints score`` and load as the
Azure-mode operators load them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.specs import BatchDeploymentSpec, BatchEndpointSpec, SpecError, load_spec

ENDPOINT = """
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: nyc-batch
description: a 2021-05 batch endpoint with its deployment inline
type: batch
auth_mode: aad_token
traffic:
  autolog-deployment: 100

deployments:
  - name: autolog-deployment
    model:
      name: autolog-model
      version: 1
      local_path: ./model
    code_configuration:
      code:
        local_path: ./code/
      scoring_script: score.py
    compute:
      target: azureml:cpu-cluster
      instance_count: 2
    mini_batch_size: 2
    output_file_name: predictions.csv
    retry_settings:
      max_retries: 3
      timeout: 30
    error_threshold: -1
    logging_level: info
"""

DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: mnist-deployment
model:
  name: mnist-model
  version: 1
  local_path: ./model/
code_configuration:
  code:
    local_path: ./code/
  scoring_script: score.py
environment:
  name: mnist-env
  version: 1
  path: .
  conda_file: file:./environment/conda.yml
  docker:
    image: mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:latest
mini_batch_size: 5
output_file_name: scored.csv
retry_settings:
  max_retries: 3
  timeout: 30
error_threshold: 10
logging_level: info
compute:
  target: azureml:cpu-cluster
  instance_count: 1
"""

SCRIPT = """
import os

def run(mini_batch):
    return [f"{os.path.basename(p)} {len(os.listdir(os.environ['AZUREML_MODEL_DIR']))}" for p in mini_batch]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"0")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "environment").mkdir()
    (tmp_path / "environment" / "conda.yml").write_text("dependencies:\n  - python=3.11\n")
    (tmp_path / "create-batch-endpoint.yml").write_text(ENDPOINT)
    (tmp_path / "add-deployment.yml").write_text(DEPLOYMENT)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for i in range(5):
        (inputs / f"{i}.png").write_bytes(b"x")
    return tmp_path


def test_endpoint_with_inline_deployments_and_traffic(folder: Path) -> None:
    spec = load_spec(folder / "create-batch-endpoint.yml")
    assert isinstance(spec, BatchEndpointSpec)
    assert spec.traffic == {"autolog-deployment": 100} and spec.default_deployment == "autolog-deployment"
    (deployment,) = spec.deployments
    assert deployment.endpoint_name == "nyc-batch"
    assert deployment.instance_count == 2 and str(deployment.compute) == "azureml:cpu-cluster"
    assert deployment.model is not None and deployment.model.path == str(folder / "model")
    assert deployment.code is not None and deployment.code.path == str(folder / "code")
    assert deployment.mini_batch_size == 2 and deployment.retry_settings.timeout == 30


def test_deployment_file_with_the_endpoint_schema(folder: Path) -> None:
    spec = load_spec(folder / "add-deployment.yml")
    assert isinstance(spec, BatchDeploymentSpec)
    assert spec.name == "mnist-deployment" and spec.instance_count == 1 and spec.error_threshold == 10
    assert spec.environment is not None and spec.environment.conda_file == str(folder / "environment" / "conda.yml")
    assert spec.environment.image == "mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:latest"
    # as the Azure-mode operators load it (kind forced)
    assert isinstance(load_spec(folder / "add-deployment.yml", kind=BatchDeploymentSpec), BatchDeploymentSpec)
    assert load_spec(folder / "create-batch-endpoint.yml", kind=BatchEndpointSpec).deployments


def test_traffic_naming_no_inline_deployment_is_an_error(folder: Path) -> None:
    (folder / "bad.yml").write_text(ENDPOINT.replace("  autolog-deployment: 100", "  blue: 100"))
    with pytest.raises(SpecError, match=r"traffic\.blue.*no deployment named 'blue'"):
        load_spec(folder / "bad.yml")
    (folder / "bad2.yml").write_text(ENDPOINT.replace("      instance_count: 2", "      instance_count: 0"))
    with pytest.raises(SpecError, match=r"deployments\[0\]\.compute\.instance_count"):
        load_spec(folder / "bad2.yml")


@pytest.mark.parametrize(("file", "batches", "output"), [
    ("create-batch-endpoint.yml", 3, "predictions.csv"),
    ("add-deployment.yml", 1, "scored.csv"),
])
def test_validate_and_score_both_files(folder: Path, file: str, batches: int, output: str) -> None:
    cli = Path(sys.executable).with_name("mlendpoints")
    checked = subprocess.run([str(cli), "validate", str(folder / file)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    done = subprocess.run(
        [str(cli), "score", "--deployment", str(folder / file), "--input", str(folder / "inputs"),
         "--output", str(folder / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{\n"):])
    assert summary["mini_batches"]["total"] == batches
    assert (folder / "out" / output).read_text().splitlines() == [f"{i}.png 1" for i in range(5)]
