"""What the azure-ai-ml SDK reads from the emulator, checked over plain HTTP (tests/integration/sdk runs the SDK itself):
online deployment defaults, model flavors, startPendingUpload with a usable SAS, discovery and run history."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.emulator import start_emulator

from .helpers import put_and_wait, wait_job


def test_online_deployment_get_has_the_service_defaults(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
        dep = put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/oe-1/deployments/blue"),
            {"location": "eastus", "sku": {"name": "Default", "capacity": 1},
             "properties": {"endpointComputeType": "Managed", "requestSettings": {"maxConcurrentRequestsPerInstance": 2}}},
        )
    props = dep["properties"]
    assert props["scaleSettings"] == {"scaleType": "Default"}
    assert props["requestSettings"] == {"requestTimeout": "PT1M30S", "maxQueueWait": "PT0.5S", "maxConcurrentRequestsPerInstance": 2}
    assert props["livenessProbe"]["failureThreshold"] == 30 and props["readinessProbe"]["period"] == "PT10S"
    assert props["appInsightsEnabled"] is False and props["egressPublicNetworkAccess"] == "Enabled"


def test_model_version_has_flavors_and_type(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        model = c.put(emu.arm_url("/models/m/versions/1"), json={"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/m/"}})
    assert model.status_code == 201
    assert model.json()["properties"]["flavors"] == {} and model.json()["properties"]["modelType"] == "custom_model"


@pytest.mark.azurite
def test_start_pending_upload_answers_a_container_sas_that_works(azurite, tmp_path):
    from azure.storage.blob import ContainerClient

    env = {"MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string}
    with start_emulator(env=env, log_dir=tmp_path) as emu, emu.client() as c:
        answer = c.post(emu.arm_url("/codes/c/versions/1/startPendingUpload"), json={"pendingUploadType": "TemporaryBlobReference"})
        assert answer.status_code == 200, answer.text
        ref = answer.json()["blobReferenceForConsumption"]
        sas_uri, blob_uri = ref["credential"]["sasUri"], ref["blobUri"]
        assert sas_uri.startswith(blob_uri + "?") and "sig=" in sas_uri
        assert blob_uri.startswith(azurite.blob_endpoint + "/upload-")
        with ContainerClient.from_container_url(sas_uri) as container:
            container.upload_blob("src/score.py", b"def run(x): return x\n")
            assert [b.name for b in container.list_blobs()] == ["src/score.py"]
        anonymous = httpx.get(f"{blob_uri}/src/score.py")  # no SAS: storage refuses
        assert anonymous.status_code in (403, 404)
        second = c.post(emu.arm_url("/codes/c/versions/1/startPendingUpload"), json={}).json()
        assert second["blobReferenceForConsumption"]["blobUri"] != blob_uri  # a fresh container per call


def test_discovery_is_public_and_run_history_follows_the_job(emulator_clean, tmp_path):
    emu = emulator_clean
    with emu.client() as c:
        discovery_url = c.get(emu.arm_url()).json()["properties"]["discoveryUrl"]
        assert discovery_url == emu.base_url + "/discovery"
        urls = httpx.get(discovery_url, timeout=10).json()  # no token, like the service
        assert urls["api"] == urls["history"] == emu.base_url

        code, model, data = tmp_path / "code", tmp_path / "model", tmp_path / "in"
        for folder in (code, model, data):
            folder.mkdir()
        (code / "score.py").write_text("def init():\n    pass\n\ndef run(b):\n    return [str(p) for p in b]\n")
        (data / "a.txt").write_text("1")
        c.put(emu.arm_url("/codes/s/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(emu.arm_url("/models/m/versions/1"), json={"properties": {"modelUri": f"file://{model}"}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/computes/cpu"), {"location": "eastus", "properties": {"computeType": "AmlCompute"}})
        endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/be-1"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
        put_and_wait(
            c, emu.arm_url("/batchEndpoints/be-1/deployments/d"),
            {"location": "eastus", "properties": {
                "model": {"referenceType": "Id", "assetId": f"{emu.workspace_path}/models/m/versions/1"},
                "codeConfiguration": {"codeId": "azureml:s:1", "scoringScript": "score.py"}, "compute": "cpu"}},
        )
        scoring = endpoint["properties"]["scoringUri"]
        job = c.post(scoring, json={"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}}}}).json()
        assert wait_job(c, f"{scoring}/{job['name']}")["properties"]["status"] == "Completed"

        runs = f"/history/v1.0{emu.workspace_path}/runs/{job['name']}"
        details = c.get(emu.url(runs + "/details")).json()
        assert details["runId"] == job["name"] and details["status"] == "Completed"
        assert c.get(emu.url(runs + "/children")).json() == {"value": [], "nextLink": None}
        assert c.get(emu.url(f"/history/v1.0{emu.workspace_path}/runs/nope/details")).status_code == 404

        run_data = c.post(emu.url(f"/history/v1.0{emu.workspace_path}/rundata"), json={"runId": job["name"]}).json()
        outputs = run_data["runMetadata"]["outputs"]
        asset_id = outputs["score"]["assetId"]
        resolved = c.post(
            emu.url(f"/data/v1.0{emu.workspace_path}/dataversion/batchGetResolvedUris"), json={"values": [asset_id]}
        ).json()["values"]
        assert resolved[asset_id]["uri"].startswith(f"azureml://subscriptions/{emu.subscription}/resourcegroups/")
        assert resolved[asset_id]["uri"].endswith(f"/datastores/workspaceblobstore/paths/azureml/{job['name']}/score/")

        listed = c.get(emu.url(f"/mferp/managementfrontend{emu.workspace_path}/batchEndpoints/be-1/jobs"),
                       params={"api-version": "2020-09-01-dataplanepreview"}).json()["value"]
        assert [j["name"] for j in listed] == [job["name"]]
        assert c.get(emu.url(f"/mferp/managementfrontend{emu.workspace_path}/batchEndpoints/other/jobs"),
                     params={"api-version": "2020-09-01-dataplanepreview"}).json()["value"] == []
