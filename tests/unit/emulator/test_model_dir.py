"""AZUREML_MODEL_DIR as Azure sets it: a folder holding the registered model under its own name. A model
registered from one file is found at ``$AZUREML_MODEL_DIR/<file name>``, one registered from a folder
``model/`` at ``$AZUREML_MODEL_DIR/model/...`` (online scoring and batch jobs), so Azure scoring scripts
run unchanged.
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


AZURE_ONLINE_FOLDER_SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        global WEIGHT, SEEN
        # unchanged from Azure's samples: the model registered from the folder "model"
        model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/weights.txt")
        with open(model_path) as f:
            WEIGHT = int(f.read())
        SEEN = sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"]))

    def run(raw_data):
        return {"files": SEEN, "weight": WEIGHT}
    """
)

AZURE_BATCH_FOLDER_SCRIPT = textwrap.dedent(
    """
    import glob, os

    def init():
        global PREFIX
        # unchanged from Azure's batch samples: mnist's join(..., "model"), heart classifier's glob("/*/")[0]
        model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model")
        first = glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/")[0]
        with open(os.path.join(model_path, "weights.txt")) as f:
            PREFIX = f.read().strip() + " " + os.path.basename(os.path.dirname(first))

    def run(mini_batch):
        return [f"{PREFIX} {os.path.basename(p)}" for p in mini_batch]
    """
)


def _folder_model(tmp_path) -> str:
    folder = tmp_path / "registered" / "model"
    folder.mkdir(parents=True)
    (folder / "weights.txt").write_text("6")
    return str(folder)


def test_online_deployment_with_a_single_file_model(emulator_clean, tmp_path):
    answer = _online(emulator_clean, tmp_path, ONLINE_SCRIPT, _single_file_model(tmp_path))
    assert answer == {"is_dir": True, "files": ["weights.txt"], "weight": 4}


def test_online_deployment_with_a_folder_model(emulator_clean, tmp_path):
    answer = _online(emulator_clean, tmp_path, AZURE_ONLINE_FOLDER_SCRIPT, _folder_model(tmp_path))
    assert answer == {"files": ["model"], "weight": 6}


def _online(emu, tmp_path, script: str, model_uri: str):
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(script)
    with emu.client() as c:
        c.put(emu.arm_url("/codes/sf/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(emu.arm_url("/models/single/versions/1"), json={"properties": {"modelUri": model_uri}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/onlineEndpoints/sf-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
        dep = put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/sf-1/deployments/one"),
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
            c, emu.arm_url("/onlineEndpoints/sf-1"), {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"one": 100}}}
        )
        key = c.post(emu.arm_url("/onlineEndpoints/sf-1/listKeys")).json()["primaryKey"]
    answer = httpx.post(
        endpoint["properties"]["scoringUri"], json={"data": [1]}, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_batch_job_with_a_single_file_model(emulator_clean, tmp_path):
    lines = _batch(emulator_clean, tmp_path, BATCH_SCRIPT, "file://" + _single_file_model(tmp_path))
    assert lines == ["4 weights.txt a.txt"]


def test_batch_job_with_a_folder_model(emulator_clean, tmp_path):
    lines = _batch(emulator_clean, tmp_path, AZURE_BATCH_FOLDER_SCRIPT, _folder_model(tmp_path))
    assert lines == ["6 model a.txt"]


def _batch(emu, tmp_path, script: str, model_uri: str) -> list[str]:
    code, data, out = tmp_path / "code", tmp_path / "input", tmp_path / "out"
    code.mkdir()
    data.mkdir()
    (code / "score.py").write_text(script)
    (data / "a.txt").write_text("a")
    ws = emu.workspace_path
    with emu.client() as c:
        c.put(emu.arm_url("/codes/bsf/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(emu.arm_url("/models/bsingle/versions/1"), json={"properties": {"modelUri": model_uri}}).raise_for_status()
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
    return (out / "predictions.csv").read_text().splitlines()
