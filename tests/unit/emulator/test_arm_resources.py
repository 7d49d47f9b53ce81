"""ARM resource CRUD, long-running operation headers and progression, errors."""

from __future__ import annotations

import httpx

from .helpers import put_and_wait, wait_async, wait_location


def test_batch_endpoint_lifecycle(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        url = emu.arm_url("/batchEndpoints/ep1")
        created = c.put(url, json={"location": "westeurope", "tags": {"team": "a"}, "properties": {"authMode": "AADToken"}})
        assert created.status_code == 201
        assert "Azure-AsyncOperation" in created.headers
        body = created.json()
        assert body["properties"]["provisioningState"] == "Creating"
        assert body["type"] == "Microsoft.MachineLearningServices/workspaces/batchEndpoints"
        assert body["id"].endswith(emu.workspace_path + "/batchEndpoints/ep1")
        assert body["properties"]["scoringUri"] == (
            f"{emu.base_url}/batch/{emu.subscription}/{emu.resource_group}/{emu.workspace}/ep1/jobs"
        )
        assert {"createdAt", "lastModifiedAt"} <= set(body["systemData"])
        assert wait_async(c, created.headers["Azure-AsyncOperation"])["status"] == "Succeeded"
        got = c.get(url).json()
        assert got["properties"]["provisioningState"] == "Succeeded"
        assert got["location"] == "westeurope" and got["tags"] == {"team": "a"}

        updated = c.put(url, json={"location": "westeurope", "properties": {"authMode": "AADToken", "description": "v2"}})
        assert updated.status_code == 200
        assert updated.json()["properties"]["provisioningState"] == "Updating"
        wait_async(c, updated.headers["Azure-AsyncOperation"])

        patched = c.patch(url, json={"tags": {"team": "b"}})
        assert patched.status_code == 202
        assert patched.headers["Retry-After"].isdigit() and "Location" in patched.headers
        final = wait_location(c, patched.headers["Location"])
        assert final.status_code == 200 and final.json()["tags"] == {"team": "b"}

        keys = c.post(emu.arm_url("/batchEndpoints/ep1/listkeys"))
        assert keys.status_code == 200 and set(keys.json()) == {"primaryKey", "secondaryKey"}
        # Path casing follows the OpenAPI document: batch is 'listkeys', online is 'listKeys'.
        assert c.post(emu.arm_url("/batchEndpoints/ep1/listKeys")).status_code in (404, 405)

        listed = c.get(emu.arm_url("/batchEndpoints")).json()
        assert [e["name"] for e in listed["value"]] == ["ep1"]


def test_batch_deployment_defaults_refs_and_cascade_delete(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        put_and_wait(c, emu.arm_url("/batchEndpoints/ep-1"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
        missing_parent = c.put(emu.arm_url("/batchEndpoints/nope/deployments/d"), json={"properties": {}})
        assert missing_parent.status_code == 404
        assert missing_parent.json()["error"]["code"] == "ResourceNotFound"

        # Unresolvable references: provisioning ends Failed with a clear message.
        bad = c.put(
            emu.arm_url("/batchEndpoints/ep-1/deployments/bad"),
            json={"location": "eastus", "properties": {"model": {"referenceType": "Id", "assetId": "azureml:nomodel:1"}, "compute": "nocluster"}},
        )
        assert bad.status_code == 201
        op = wait_async(c, bad.headers["Azure-AsyncOperation"])
        assert op["status"] == "Failed"
        assert "nomodel" in op["error"]["message"] and "nocluster" in op["error"]["message"]
        assert c.get(emu.arm_url("/batchEndpoints/ep-1/deployments/bad")).json()["properties"]["provisioningState"] == "Failed"

        ws = emu.workspace_path
        c.put(emu.arm_url("/models/m/versions/1"), json={"properties": {"modelUri": "/tmp/model"}}).raise_for_status()
        c.put(emu.arm_url("/codes/c/versions/1"), json={"properties": {"codeUri": "/tmp/code"}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/computes/cpu"), {"location": "eastus", "properties": {"computeType": "AmlCompute", "properties": {"vmSize": "STANDARD_D2_V2"}}})
        good = put_and_wait(
            c,
            emu.arm_url("/batchEndpoints/ep-1/deployments/good"),
            {
                "location": "eastus",
                "properties": {
                    "model": {"referenceType": "Id", "assetId": f"{ws}/models/m/versions/1"},
                    "codeConfiguration": {"codeId": f"{ws}/codes/c/versions/1", "scoringScript": "score.py"},
                    "compute": f"{ws}/computes/cpu",
                    "miniBatchSize": 5,
                },
            },
        )
        assert good["properties"]["provisioningState"] == "Succeeded"
        assert good["properties"]["miniBatchSize"] == 5
        assert good["properties"]["outputFileName"] == "predictions.csv"  # service default filled in
        # The first deployment becomes the endpoint's default.
        assert c.get(emu.arm_url("/batchEndpoints/ep-1")).json()["properties"]["defaults"]["deploymentName"] == "bad"

        patched = c.patch(emu.arm_url("/batchEndpoints/ep-1/deployments/good"), json={"properties": {"description": "d"}})
        assert patched.status_code == 202
        assert wait_location(c, patched.headers["Location"]).json()["properties"]["description"] == "d"
        assert len(c.get(emu.arm_url("/batchEndpoints/ep-1/deployments")).json()["value"]) == 2

        deleted = c.delete(emu.arm_url("/batchEndpoints/ep-1"))
        assert deleted.status_code == 202
        assert c.get(emu.arm_url("/batchEndpoints/ep-1")).json()["properties"]["provisioningState"] == "Deleting"
        assert wait_location(c, deleted.headers["Location"]).status_code == 204
        assert c.get(emu.arm_url("/batchEndpoints/ep-1")).status_code == 404
        assert c.get(emu.arm_url("/batchEndpoints/ep-1/deployments/good")).status_code == 404
        assert c.delete(emu.arm_url("/batchEndpoints/ep-1")).status_code == 204


def test_online_endpoint_keys_token_and_deployments(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        ep = put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
        assert ep["properties"]["scoringUri"].endswith(f"/online/{emu.subscription}/{emu.resource_group}/{emu.workspace}/oe-1/score")
        assert ep["properties"]["traffic"] == {}
        keys = c.post(emu.arm_url("/onlineEndpoints/oe-1/listKeys")).json()
        regen = c.post(emu.arm_url("/onlineEndpoints/oe-1/regenerateKeys"), json={"keyType": "Primary"})
        assert regen.status_code == 202 and "Location" in regen.headers
        new_keys = c.post(emu.arm_url("/onlineEndpoints/oe-1/listKeys")).json()
        assert new_keys["primaryKey"] != keys["primaryKey"] and new_keys["secondaryKey"] == keys["secondaryKey"]
        token = c.post(emu.arm_url("/onlineEndpoints/oe-1/token")).json()
        assert token["accessToken"] and token["expiryTimeUtc"] > 0

        dep = put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/oe-1/deployments/blue"),
            {"location": "eastus", "sku": {"name": "Default", "capacity": 1}, "properties": {"endpointComputeType": "Managed", "instanceType": "Standard_DS3_v2"}},
        )
        assert dep["properties"]["provisioningState"] == "Succeeded"
        skus = c.get(emu.arm_url("/onlineEndpoints/oe-1/deployments/blue/skus")).json()
        assert skus["value"][0]["sku"]["name"] == "Default"
        logs = c.post(emu.arm_url("/onlineEndpoints/oe-1/deployments/blue/getLogs"), json={"containerType": "StorageInitializer", "tail": 10})
        assert logs.status_code == 200 and "content" in logs.json()

        # Traffic to a deployment that does not exist: provisioning fails.
        bad = c.put(emu.arm_url("/onlineEndpoints/oe-1"), json={"location": "eastus", "properties": {"authMode": "Key", "traffic": {"green": 100}}})
        assert bad.status_code == 200
        assert wait_async(c, bad.headers["Azure-AsyncOperation"])["status"] == "Failed"
        ok = put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"blue": 100}}})
        assert ok["properties"]["traffic"] == {"blue": 100} and ok["properties"]["provisioningState"] == "Succeeded"
        # A deployment with traffic cannot be deleted.
        assert c.delete(emu.arm_url("/onlineEndpoints/oe-1/deployments/blue")).status_code == 400


def test_assets_datastores_computes_workspace(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        ws = c.get(emu.arm_url()).json()
        assert ws["name"] == emu.workspace and ws["properties"]["provisioningState"] == "Succeeded"
        stores = c.get(emu.arm_url("/datastores")).json()["value"]
        default = [s for s in stores if s["name"] == "workspaceblobstore"]
        assert default and default[0]["properties"]["datastoreType"] == "AzureBlob" and default[0]["properties"]["isDefault"]

        for collection, prop in (("codes", "codeUri"), ("models", "modelUri"), ("environments", "image")):
            first = c.put(emu.arm_url(f"/{collection}/a/versions/1"), json={"properties": {prop: "x"}})
            assert first.status_code == 201 and first.json()["properties"][prop] == "x"
            assert c.put(emu.arm_url(f"/{collection}/a/versions/1"), json={"properties": {prop: "y"}}).status_code == 200
            c.put(emu.arm_url(f"/{collection}/a/versions/2"), json={"properties": {prop: "z"}}).raise_for_status()
            assert [v["name"] for v in c.get(emu.arm_url(f"/{collection}/a/versions")).json()["value"]] == ["1", "2"]
            container = c.get(emu.arm_url(f"/{collection}/a")).json()
            assert container["properties"]["latestVersion"] == "2"
            assert c.get(emu.arm_url(f"/{collection}/a/versions/9")).status_code == 404

        body = {
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": "acct",
                "containerName": "data",
                "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": "k3y"}},
            }
        }
        created = c.put(emu.arm_url("/datastores/mine"), json=body)
        assert created.status_code == 201
        assert created.json()["properties"]["credentials"]["secrets"] == {"secretsType": "AccountKey"}
        assert c.post(emu.arm_url("/datastores/mine/listSecrets")).json() == {"secretsType": "AccountKey", "key": "k3y"}
        assert c.delete(emu.arm_url("/datastores/mine")).status_code == 200
        assert c.get(emu.arm_url("/datastores/mine")).status_code == 404

        compute = c.put(emu.arm_url("/computes/cpu"), json={"location": "eastus", "properties": {"computeType": "AmlCompute"}})
        assert compute.status_code == 201 and "Azure-AsyncOperation" in compute.headers
        wait_async(c, compute.headers["Azure-AsyncOperation"])
        assert c.get(emu.arm_url("/computes/cpu")).json()["properties"]["provisioningState"] == "Succeeded"
        deleted = c.delete(emu.arm_url("/computes/cpu"))
        assert deleted.status_code == 202
        assert wait_location(c, deleted.headers["Location"]).status_code == 204


def test_errors_404_401_and_api_version(emulator_clean):
    emu = emulator_clean
    missing = httpx.get(emu.arm_url("/onlineEndpoints/none"), headers=emu.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound" and "none" in missing.json()["error"]["message"]
    job = httpx.get(emu.arm_url("/jobs/none"), headers=emu.headers)
    assert job.status_code == 404 and job.json()["error"]["code"] == "ResourceNotFound"

    no_token = httpx.get(emu.arm_url("/batchEndpoints"))
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] and no_token.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = httpx.get(emu.arm_url("/batchEndpoints"), headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert emu.token not in wrong.text

    no_version = httpx.get(emu.url(emu.workspace_path + "/batchEndpoints"), headers=emu.headers)
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"

    bad_json = httpx.put(emu.arm_url("/batchEndpoints/ep-x"), content=b"{not json", headers=emu.headers)
    assert bad_json.status_code == 400 and "error" in bad_json.json()


def test_any_workspace_is_auto_created(emulator_clean):
    emu = emulator_clean
    other = "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.MachineLearningServices/workspaces/other"
    response = httpx.get(emu.url(other + "/datastores/workspaceblobstore?api-version=2024-04-01"), headers=emu.headers)
    assert response.status_code == 200 and response.json()["id"] == other + "/datastores/workspaceblobstore"


def test_reset_clears_everything(emulator):
    with emulator.client() as c:
        put_and_wait(c, emulator.arm_url("/batchEndpoints/leftover"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
    emulator.reset()
    assert httpx.get(emulator.arm_url("/batchEndpoints/leftover"), headers=emulator.headers).status_code == 404
