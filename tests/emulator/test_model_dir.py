"""AZUREML_MODEL_DIR as Azure sets it: always a folder. A model registered from one file is found at
``$AZUREML_MODEL_DIR/<file name>`` (online scoring and batch jobs), so Azure scoring scripts run unchanged.
"""

from __future__ import annotations

import json
import textwrap

import httpx

from .helpers import put_and_wait, wait_job

ONLINE_SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        global SEEN, WEIGHT
        root = os.environ["AZUREML_MODEL_DIR"]
        SEEN = {"is_dir": os.path.isdir(root), "files": sorted(os.listdir(root))}
        with open(os.path.join(root, "weights.txt")) as f:
            WEIGHT = int(f.read())

    def run(raw_data):
        return {**SEEN, "weight": WEIGHT}
    """
)

BATCH_SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        global PREFIX
        root = os.environ["AZUREML_MODEL_DIR"]
        assert os.path.isdir(root), root
        with open(os.path.join(root, "weights.txt")) as f:
            PREFIX = f.read().strip() + " " + ",".join(sorted(os.listdir(root)))

    def run(mini_batch):
        return [f"{PREFIX} {os.path.basename(p)}" for p in mini_batch]
    """
)


def _single_file_model(tmp_path) -> str:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "weights.txt").write_text("4")
    (folder / "unrelated.txt").write_text("not part of the model")  # a neighbour, not registered
    return str(folder / "weights.txt")


def test_online_deployment_with_a_single_file_model(emulator_clean, tmp_path):
    emu = emulator_clean
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(ONLINE_SCRIPT)
    with emu.client() as c:
        c.put(emu.arm_url("/codes/sf/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(
            emu.arm_url("/models/single/versions/1"), json={"properties": {"modelUri": _single_file_model(tmp_path)}}
        ).raise_for_status()
        put_and_wait(c, emu.arm_url("/onlineEndpoints/sf"), {"location": "eastus", "properties": {"authMode": "Key"}})
        dep = put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/sf/deployments/one"),
            {
                "location": "eastus",
                "properties": {
                    "endpointComputeType": "Managed",
                    "model": "azureml:single:1",
                    "codeConfiguration": {"codeId": "azureml:sf:1", "scoringScript": "score.py"},
                },
            },
        )
        assert dep["properties"]["provisioningState"] == "Succeeded"
        endpoint = put_and_wait(
            c, emu.arm_url("/onlineEndpoints/sf"), {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"one": 100}}}
        )
        key = c.post(emu.arm_url("/onlineEndpoints/sf/listKeys")).json()["primaryKey"]
    answer = httpx.post(
        endpoint["properties"]["scoringUri"], json={"data": [1]}, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"is_dir": True, "files": ["weights.txt"], "weight": 4}


def test_batch_job_with_a_single_file_model(emulator_clean, tmp_path):
    emu = emulator_clean
    code, data, out = tmp_path / "code", tmp_path / "input", tmp_path / "out"
    code.mkdir()
    data.mkdir()
    (code / "score.py").write_text(BATCH_SCRIPT)
    (data / "a.txt").write_text("a")
    ws = emu.workspace_path
    with emu.client() as c:
        c.put(emu.arm_url("/codes/bsf/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(
            emu.arm_url("/models/bsingle/versions/1"),
            json={"properties": {"modelUri": "file://" + _single_file_model(tmp_path)}},
        ).raise_for_status()
        put_and_wait(c, emu.arm_url("/computes/cpu"), {"location": "eastus", "properties": {"computeType": "AmlCompute"}})
        endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/bsf"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
        dep = put_and_wait(
            c,
            emu.arm_url("/batchEndpoints/bsf/deployments/one"),
            {
                "location": "eastus",
                "properties": {
                    "model": {"referenceType": "Id", "assetId": f"{ws}/models/bsingle/versions/1"},
                    "codeConfiguration": {"codeId": "azureml:bsf:1", "scoringScript": "score.py"},
                    "compute": "cpu",
                    "retrySettings": {"maxRetries": 0, "timeout": "PT90S"},
                },
            },
        )
        assert dep["properties"]["provisioningState"] == "Succeeded", dep
        scoring_uri = endpoint["properties"]["scoringUri"]
        body = {
            "properties": {
                "InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": str(data)}},
                "OutputData": {"score": {"JobOutputType": "UriFolder", "Uri": str(out)}},
            }
        }
        started = c.post(scoring_uri, json=body)
        assert started.status_code == 200, started.text
        done = wait_job(c, f"{scoring_uri}/{started.json()['name']}")
        assert done["properties"]["status"] == "Completed", json.dumps(done["properties"])[-2000:]
    assert (out / "predictions.csv").read_text().splitlines() == ["4 weights.txt a.txt"]
