"""The default datastore on Azurite: code, model and input in blobs, predictions written to a blob."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.fixtures.emulator import start_emulator

from .helpers import put_and_wait, wait_job

pytestmark = pytest.mark.azurite

SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        global word
        word = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "m1", "word.txt")).read().strip()

    def run(mini_batch):
        return [f"{word}:{os.path.basename(p)}" for p in mini_batch]
    """
)


def test_batch_job_reads_and_writes_blob_storage(azurite, tmp_path):
    container = azurite.create_container()
    try:
        blobs = azurite.service_client().get_container_client(container)
        blobs.upload_blob("code/score.py", SCRIPT.encode())
        blobs.upload_blob("models/m1/word.txt", b"hello")
        for i in range(3):
            blobs.upload_blob(f"input/day1/f{i}.txt", str(i).encode())
        env = {
            "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
        }
        with start_emulator(env=env, log_dir=tmp_path) as emu, emu.client() as c:
            store = c.get(emu.arm_url("/datastores/workspaceblobstore")).json()
            assert store["properties"]["accountName"] == azurite.account_name
            assert store["properties"]["containerName"] == container
            assert c.post(emu.arm_url("/datastores/workspaceblobstore/listSecrets")).json()["key"] == azurite.account_key

            c.put(emu.arm_url("/codes/s/versions/1"), json={"properties": {"codeUri": "azureml://datastores/workspaceblobstore/paths/code/"}}).raise_for_status()
            model_uri = f"{azurite.blob_endpoint}/{container}/models/m1"  # Azurite's path-style URL
            c.put(emu.arm_url("/models/m/versions/1"), json={"properties": {"modelUri": model_uri}}).raise_for_status()
            endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/blob"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
            put_and_wait(c, emu.arm_url("/batchEndpoints/blob/deployments/d"), {
                "location": "eastus",
                "properties": {
                    "model": {"referenceType": "Id", "assetId": "azureml:m:1"},
                    "codeConfiguration": {"codeId": "azureml:s:1", "scoringScript": "score.py"},
                },
            })
            body = {"properties": {
                "InputData": {"in": {"JobInputType": "UriFolder", "Uri": "azureml://datastores/workspaceblobstore/paths/input/day1"}},
                "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": "azureml://datastores/workspaceblobstore/paths/output/day1"}},
            }}
            job = c.post(endpoint["properties"]["scoringUri"], json=body).json()
            done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
            assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
            written = blobs.download_blob("output/day1/predictions.csv").readall().decode().splitlines()
            assert written == [f"hello:f{i}.txt" for i in range(3)]

            # A job over a folder that is not there fails naming the real storage host (Azurite's),
            # never a *.blob.core.windows.net that the data does not live on.
            missing = {"properties": {"InputData": {"in": {
                "JobInputType": "UriFolder", "Uri": "azureml://datastores/workspaceblobstore/paths/input/no-such-day"}}}}
            job = c.post(endpoint["properties"]["scoringUri"], json=missing).json()
            failed = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
            assert failed["properties"]["status"] == "Failed"
            message = json.dumps(failed["properties"])
            assert f"127.0.0.1:{azurite.port}" in message and "input/no-such-day" in message, message
            assert "core.windows.net" not in message, message
    finally:
        azurite.delete_container(container)


def test_default_datastore_container_is_created_on_first_use(azurite, tmp_path):
    container = f"ws-store-{tmp_path.name[-8:].lower().replace('_', '-')}"
    service = azurite.service_client()
    assert not service.get_container_client(container).exists()
    env = {
        "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
    }
    try:
        with start_emulator(env=env, log_dir=tmp_path) as emu, emu.client() as c:
            store = c.get(emu.arm_url("/datastores/workspaceblobstore")).json()
            assert store["properties"]["containerName"] == container
            assert service.get_container_client(container).exists()
    finally:
        azurite.delete_container(container)
