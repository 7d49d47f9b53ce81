"""What Microsoft's REST walkthroughs read from the service, served by the emulator in the same shapes.

- a provisioning PUT names its operation in the body (``properties.properties.AzureAsyncOperationUri``);
- ``identity: systemAssigned`` comes back with its principalId and tenantId;
- an online deployment runs ``init()`` while it provisions; a crashing ``init()`` fails it with its log;
- a scoring script that raises answers 424 with the ``ms-azureml-model-error-*`` headers;
- getLogs holds the scoring container's lines, not the storage SDK's HTTP logging;
- a batch job's output folder holds only the output file;
- data asset ids ``azureml://locations/<loc>/workspaces/<workspace id>/data/<name>/versions/<v>``
  resolve, and an input that cannot be resolved is refused at invoke.
"""

from __future__ import annotations

import textwrap

from tests.fixtures.emulator import start_emulator

from .helpers import put_and_wait, wait_async, wait_job

ONLINE_SCRIPT = textwrap.dedent(
    """
    import json, os

    def init():
        if os.environ.get("CRASH") == "yes":
            raise RuntimeError("the model file is missing")
        print("init() ran while provisioning", flush=True)

    def run(raw):
        data = json.loads(raw)["data"]
        if data == "boom":
            raise ValueError("cannot score boom")
        return [x * 2 for x in data]
    """
)

BATCH_SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        pass

    def run(mini_batch):
        return [f"{os.path.basename(p)} {open(p).read().strip()}" for p in mini_batch]
    """
)


def test_put_names_its_operation_in_the_body_and_system_identity_gets_ids(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        body = {"identity": {"type": "systemAssigned"}, "location": "eastus", "properties": {"authMode": "AMLToken"}}
        created = c.put(emu.arm_url("/onlineEndpoints/endpt-shape"), json=body)
        assert created.status_code == 201
        operation = created.json()["properties"]["properties"]["AzureAsyncOperationUri"]
        assert operation == created.headers["Azure-AsyncOperation"]
        assert wait_async(c, operation)["status"] == "Succeeded"
        endpoint = c.get(emu.arm_url("/onlineEndpoints/endpt-shape")).json()
        identity = endpoint["identity"]
        assert identity["type"] == "SystemAssigned"
        assert len(identity["principalId"]) == 36 and len(identity["tenantId"]) == 36
        # an update keeps the identity's ids, and names its own operation
        updated = c.put(emu.arm_url("/onlineEndpoints/endpt-shape"), json=body)
        assert updated.status_code == 200
        assert updated.json()["identity"]["principalId"] == identity["principalId"]
        assert updated.json()["properties"]["properties"]["AzureAsyncOperationUri"] == updated.headers["Azure-AsyncOperation"]
        assert updated.headers["Azure-AsyncOperation"] != operation


def _online_deployment(c, emu, name: str, crash: bool) -> dict:
    response = c.put(
        emu.arm_url(f"/onlineEndpoints/endpt-init/deployments/{name}"),
        json={
            "location": "eastus",
            "sku": {"name": "Default", "capacity": 1},
            "properties": {
                "endpointComputeType": "Managed",
                "codeConfiguration": {"codeId": "azureml:init-code:1", "scoringScript": "score.py"},
                "environmentVariables": {"CRASH": "yes" if crash else "no"},
            },
        },
    )
    assert response.status_code == 201, response.text
    return wait_async(c, response.json()["properties"]["properties"]["AzureAsyncOperationUri"], timeout=90)


def test_online_init_runs_while_provisioning_and_a_crash_fails_the_deployment(emulator_clean, tmp_path):
    emu = emulator_clean
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(ONLINE_SCRIPT)
    with emu.client() as c:
        c.put(emu.arm_url("/codes/init-code/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/onlineEndpoints/endpt-init"), {"location": "eastus", "properties": {"authMode": "Key"}})

        assert _online_deployment(c, emu, "good", crash=False)["status"] == "Succeeded"
        logs = c.post(emu.arm_url("/onlineEndpoints/endpt-init/deployments/good/getLogs"), json={"tail": 20}).json()
        assert "init() ran while provisioning" in logs["content"]  # before any scoring request

        failed = _online_deployment(c, emu, "crashing", crash=True)
        assert failed["status"] == "Failed"
        assert "init() of the scoring script failed" in failed["error"]["message"]
        assert "RuntimeError: the model file is missing" in failed["error"]["message"]
        dep = c.get(emu.arm_url("/onlineEndpoints/endpt-init/deployments/crashing")).json()
        assert dep["properties"]["provisioningState"] == "Failed"
        logs = c.post(emu.arm_url("/onlineEndpoints/endpt-init/deployments/crashing/getLogs"), json={}).json()
        assert "RuntimeError: the model file is missing" in logs["content"]

        endpoint = put_and_wait(
            c, emu.arm_url("/onlineEndpoints/endpt-init"), {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"good": 100}}}
        )
        key = c.post(emu.arm_url("/onlineEndpoints/endpt-init/listKeys")).json()["primaryKey"]
    uri = endpoint["properties"]["scoringUri"]
    with emu.client() as scoring:
        auth = {"Authorization": f"Bearer {key}"}
        assert scoring.post(uri, json={"data": [1, 2]}, headers=auth).json() == [2, 4]
        failed_request = scoring.post(uri, json={"data": "boom"}, headers=auth)
    assert failed_request.status_code == 424
    assert failed_request.headers["ms-azureml-model-error-statuscode"] == "500"
    assert failed_request.headers["ms-azureml-model-error-reason"] == "model_error"
    assert "cannot score boom" in failed_request.json()["error"]["message"]


def test_azure_mode_output_folder_logs_and_asset_ids(azurite, tmp_path):
    container = azurite.create_container()
    try:
        blobs = azurite.service_client().get_container_client(container)
        blobs.upload_blob("score/score.py", BATCH_SCRIPT.encode())
        blobs.upload_blob("online/score.py", ONLINE_SCRIPT.encode())
        for i in range(3):
            blobs.upload_blob(f"data/mnist/f{i}.txt", str(i).encode())
        env = {
            "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
        }
        with start_emulator(env=env, log_dir=tmp_path, allow_local_paths=False) as emu, emu.client() as c:
            store = "azureml://datastores/workspaceblobstore/paths"
            c.put(emu.arm_url("/codes/batch-code/versions/1"), json={"properties": {"codeUri": f"{store}/score/"}}).raise_for_status()
            c.put(emu.arm_url("/codes/online-code/versions/1"), json={"properties": {"codeUri": f"{store}/online"}}).raise_for_status()
            c.put(emu.arm_url("/data/digits/versions/3"), json={"properties": {"dataType": "uri_folder", "dataUri": f"{store}/data/mnist/"}}).raise_for_status()
            endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/endpt-azure"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
            put_and_wait(c, emu.arm_url("/batchEndpoints/endpt-azure/deployments/dep"), {
                "location": "eastus",
                "properties": {"codeConfiguration": {"codeId": "azureml:batch-code:1", "scoringScript": "score.py"}, "miniBatchSize": 2},
            })
            workspace = c.get(emu.arm_url("")).json()
            workspace_id = workspace["properties"]["workspaceId"]

            def invoke(uri: str, out: str):
                return c.post(endpoint["properties"]["scoringUri"], json={"properties": {
                    "InputData": {"in": {"JobInputType": "UriFolder", "Uri": uri}},
                    "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": f"{store}/{out}/"}},
                }})

            job = invoke(f"azureml://locations/eastus/workspaces/{workspace_id}/data/digits/versions/3", "by-id").json()
            done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
            assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
            # Azure writes only the output file into the output folder: no engine state beside it.
            assert sorted(b.name for b in blobs.list_blobs(name_starts_with="by-id/")) == ["by-id/predictions.csv"]
            lines = blobs.download_blob("by-id/predictions.csv").readall().decode().splitlines()
            assert sorted(lines) == [f"f{i}.txt {i}" for i in range(3)]

            # the workspace may be named by its name as well as by its id
            job = invoke(f"azureml://locations/eastus/workspaces/{emu.workspace}/data/digits/versions/3", "by-name").json()
            assert wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))["properties"]["status"] == "Completed"

            jobs_before = len(c.get(emu.arm_url("/jobs")).json()["value"])
            for bad, fragment in (
                (f"azureml://locations/eastus/workspaces/{emu.workspace}/data/digits/versions/labels/latest", "cannot be resolved"),
                (f"azureml://locations/eastus/workspaces/{emu.workspace}/data/nothing/versions/1", "could not be found"),
                ("azureml://locations/eastus/workspaces/another-ws/data/digits/versions/3", "another workspace"),
            ):
                refused = invoke(bad, "never")
                assert refused.status_code == 400, refused.text
                assert fragment in refused.json()["error"]["message"] and bad in refused.json()["error"]["message"]
            assert len(c.get(emu.arm_url("/jobs")).json()["value"]) == jobs_before  # no job was started

            # getLogs: the scoring container's lines, not the storage SDK's HTTP logging
            put_and_wait(c, emu.arm_url("/onlineEndpoints/endpt-logs"), {"location": "eastus", "properties": {"authMode": "Key"}})
            dep = put_and_wait(c, emu.arm_url("/onlineEndpoints/endpt-logs/deployments/blue"), {
                "location": "eastus",
                "properties": {"codeConfiguration": {"codeId": "azureml:online-code:1", "scoringScript": "score.py"}},
            })
            assert dep["properties"]["provisioningState"] == "Succeeded"
            content = c.post(emu.arm_url("/onlineEndpoints/endpt-logs/deployments/blue/getLogs"), json={"tail": 200}).json()["content"]
            assert "init() ran while provisioning" in content
            for http_line in ("Request URL", "Response status", "x-ms-", "azure.core"):
                assert http_line not in content, content
    finally:
        azurite.delete_container(container)


def test_a_resource_type_the_workspace_lacks_is_arms_invalid_resource_type(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        # the 2021 `datasets` route, which the service no longer has
        response = c.put(emu.arm_url("/datasets/mnist/versions/1"), json={"properties": {"paths": [{"folder": "x"}]}})
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "InvalidResourceType" and "'workspaces/datasets'" in error["message"]
        # a known type with a path the emulator does not serve stays a plain 404
        assert c.get(emu.arm_url("/codes/a/b/c/d")).json()["error"]["code"] == "NotFound"
