"""A 2021-05 batch endpoint file (inline ``deployments:`` and ``traffic:``) applied by
``CreateOrUpdateBatchEndpointOperator`` on real Airflow against the emulator: the endpoint, then each
deployment (local model and code registered), then the default deployment from ``traffic``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.fixtures.airflow_db import xcom_value

from .conftest import BATCH_SCRIPT, run_operators, states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]


def _deployment(name: str, mini_batch_size: int, instance_count: int, output_file: str) -> str:
    return f"""
  - name: {name}
    model:
      name: legacy-batch-model-{name}
      version: 1
      local_path: ./model
    code_configuration:
      code:
        local_path: ./code/
      scoring_script: score.py
    compute:
      target: azureml:cpu-cluster
      instance_count: {instance_count}
    mini_batch_size: {mini_batch_size}
    output_file_name: {output_file}
    retry_settings:
      max_retries: 2
      timeout: 45
    error_threshold: 5
    logging_level: info"""


def _legacy_endpoint(root: Path, name: str, *, traffic: str, deployments: str) -> Path:
    """Writes a 2021-05 ``create-batch-endpoint.yml`` with its model and code folders."""
    (root / "code").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "code" / "score.py").write_text(BATCH_SCRIPT, encoding="utf-8")
    (root / "model" / "label.txt").write_text("v1\n", encoding="utf-8")
    text = textwrap.dedent(
        f"""\
        $schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
        name: {name}
        type: batch
        auth_mode: aad_token
        """
    )
    text += traffic + "\ndeployments:" + deployments + "\n"
    path = root / "create-batch-endpoint.yml"
    path.write_text(text, encoding="utf-8")
    return path


CASES = {
    # two deployments, traffic sends everything to green: green is the default
    "traffic": dict(
        traffic="traffic:\n  blue: 0\n  green: 100\n",
        deployments=_deployment("blue", 3, 1, "blue.csv") + _deployment("green", 4, 2, "scores.csv"),
        default="green",
    ),
    # one deployment and no traffic: the only one is the default
    "single": dict(traffic="", deployments=_deployment("only", 4, 2, "scores.csv"), default="only"),
}


@pytest.mark.parametrize(
    ("case", "deferrable"), [("traffic", False), ("single", True)], ids=["traffic-polling", "single-deferred"]
)
def test_2021_05_batch_file_creates_deployments_and_sets_the_default(
    airflow_db, test_dags, ws, tmp_path, case, deferrable
):
    name = unique("legacy-be")
    wanted = CASES[case]
    path = _legacy_endpoint(tmp_path / "2021-05", name, traffic=wanted["traffic"], deployments=wanted["deployments"])
    body = f"""
    compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster", max_nodes=2)
    endpoint = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", spec={str(path)!r})
    compute >> endpoint
    """
    first = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert first.state == "success", states(first)
    puts = ws.put_count()
    second = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert second.state == "success", states(second)
    assert ws.put_count() == puts  # applied twice: nothing changed the second time

    endpoint = ws.get(f"/batchEndpoints/{name}")
    assert endpoint["properties"]["defaults"]["deploymentName"] == wanted["default"]
    assert endpoint["properties"]["authMode"] == "AADToken"
    expected = sorted(["blue", "green"] if case == "traffic" else ["only"])
    assert ws.names(f"/batchEndpoints/{name}/deployments") == expected

    default = ws.get(f"/batchEndpoints/{name}/deployments/{wanted['default']}")["properties"]
    assert default["provisioningState"] == "Succeeded"
    assert default["miniBatchSize"] == 4 and default["resources"]["instanceCount"] == 2
    assert default["outputFileName"] == "scores.csv" and default["errorThreshold"] == 5
    assert default["retrySettings"] == {"maxRetries": 2, "timeout": "PT45S"}
    assert default["compute"].endswith("/computes/cpu-cluster")
    assert "/models/legacy-batch-model-" in default["model"]["assetId"]  # the local model registered
    assert default["codeConfiguration"]["scoringScript"] == "score.py"
    if case == "traffic":
        blue = ws.get(f"/batchEndpoints/{name}/deployments/blue")["properties"]
        assert blue["miniBatchSize"] == 3 and blue["outputFileName"] == "blue.csv"
        assert blue["resources"]["instanceCount"] == 1

    result = xcom_value(second, "endpoint")
    assert result["default_deployment"] == wanted["default"] and result["provisioning_state"] == "Succeeded"


ADD_DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: added
model:
  name: legacy-batch-model-added
  version: 1
  local_path: ./model/
code_configuration:
  code:
    local_path: ./code/
  scoring_script: score.py
environment:
  name: legacy-batch-env
  version: 1
  path: .
  conda_file: file:./environment/conda.yml
  docker:
    image: mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:latest
mini_batch_size: 6
output_file_name: added.csv
retry_settings:
  max_retries: 1
  timeout: 60
error_threshold: 10
logging_level: info
compute:
  target: azureml:cpu-cluster
  instance_count: 1
"""


def test_2021_05_deployment_file_added_to_the_endpoint(airflow_db, test_dags, ws, tmp_path):
    name = unique("legacy-be")
    root = tmp_path / "2021-05"
    path = _legacy_endpoint(root, name, traffic="", deployments=_deployment("only", 4, 2, "scores.csv"))
    (root / "environment").mkdir()
    (root / "environment" / "conda.yml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - pandas\n")
    (root / "add-deployment.yml").write_text(ADD_DEPLOYMENT, encoding="utf-8")
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster", max_nodes=2)
        endpoint = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", spec={str(path)!r})
        added = CreateOrUpdateBatchDeploymentOperator(
            task_id="added", spec={str(root / "add-deployment.yml")!r}, endpoint_name={name!r}
        )
        compute >> endpoint >> added
        """,
    )
    assert run.state == "success", states(run)
    assert ws.names(f"/batchEndpoints/{name}/deployments") == ["added", "only"]
    added = ws.get(f"/batchEndpoints/{name}/deployments/added")["properties"]
    assert added["miniBatchSize"] == 6 and added["outputFileName"] == "added.csv"
    assert added["retrySettings"] == {"maxRetries": 1, "timeout": "PT60S"}
    assert "/environments/" in added["environmentId"]  # the conda file registered as an environment
    assert ws.get(f"/batchEndpoints/{name}")["properties"]["defaults"]["deploymentName"] == "only"  # kept
