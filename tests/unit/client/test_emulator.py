"""Every client operation against the real workspace emulator (subprocess) with Azurite storage.

One module-scoped emulator whose default datastore is an Azurite container; the
client talks to it exactly as to Azure (bearer token, ARM paths, LROs, data plane).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from airflow_provider_mlendpoints.client import (
    Job,
    MLEndpointsClient,
    NotFoundError,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
    batch_invoke_body,
)
from airflow_provider_mlendpoints.client.asset_upload import AssetResolver
from airflow_provider_mlendpoints.client.computes import aml_compute_body
from airflow_provider_mlendpoints.client.results import download_job_output
from airflow_provider_mlendpoints.specs.model import (
    AzureMLRef,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    CodeSpec,
    EnvironmentSpec,
    ModelSpec,
)
from tests.fixtures.emulator import start_emulator

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

BATCH_SCRIPT = """
import os
def init():
    global MODEL
    MODEL = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")).read().strip()
def run(mini_batch):
    return [f"{os.path.basename(p)} {MODEL}" for p in mini_batch]
"""
ONLINE_SCRIPT = """
import json
def init():
    pass
def run(raw):
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    return {"n": len(data["data"])}
"""


@pytest.fixture(scope="module")
def emu(azurite, tmp_path_factory):
    container = azurite.create_container()
    env = {
        "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
    }
    with start_emulator(env=env, log_dir=tmp_path_factory.mktemp("emu-log")) as handle:
        handle.container = container
        yield handle
    azurite.delete_container(container)


@pytest.fixture(scope="module")
def client(emu, azurite):
    config = WorkspaceConfig(
        emu.subscription,
        emu.resource_group,
        emu.workspace,
        management_url=emu.base_url,
        storage_urls={azurite.account_name: azurite.connection_string},
        retry=RetrySettings(retry_total=3, backoff_factor=0.05, backoff_max=0.5, max_retry_after=1),
        polling_interval=0.1,
        max_polling_interval=0.5,
    )
    with MLEndpointsClient(config, StaticTokenCredential(emu.token)) as c:
        yield c


def wait_job(client, name: str, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = client.jobs.get(name)
        if job.is_terminal or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_datastores_and_computes(client, emu):
    stores = client.datastores.list()
    default = client.datastores.get_default()
    assert default.is_default and default.name in {s.name for s in stores}
    assert client.datastores.get(default.name).container_name == emu.container
    client.datastores.list_secrets(default.name)  # secrets masked by the hook; here just reachable
    cluster = client.computes.begin_create_or_update(
        "cpu-cluster", aml_compute_body(location="eastus")
    ).result()
    assert cluster.compute_type == "AmlCompute"
    assert client.computes.get("cpu-cluster").name == "cpu-cluster"


def test_batch_flow(client, emu, azurite, tmp_path):
    ep_name = f"be-{uuid.uuid4().hex[:8]}"
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(BATCH_SCRIPT)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.txt").write_text("m1")
    with azurite.service_client() as svc:
        cc = svc.get_container_client(emu.container)
        for i in range(3):
            cc.upload_blob(f"inputs/{ep_name}/f{i}.txt", b"x", overwrite=True)
    client.computes.begin_create_or_update("cpu-cluster", aml_compute_body(location="eastus")).result()

    endpoint = BatchEndpointSpec(name=ep_name, description="test")
    ep = client.batch_endpoints.begin_create_or_update(ep_name, endpoint.to_rest("eastus")).result()
    assert ep.provisioning_state == "Succeeded" and ep.scoring_uri
    resolve = AssetResolver(client)
    dep = BatchDeploymentSpec(
        name="blue",
        endpoint_name=ep_name,
        model=ModelSpec(path=str(model)),
        code=CodeSpec(scoring_script="score.py", path=str(code)),
        environment=EnvironmentSpec(image="python:3.11"),
        compute=AzureMLRef("azureml:cpu-cluster", "cpu-cluster"),
        mini_batch_size=2,
    )
    body = dep.to_rest("eastus", resolve=resolve)
    created = client.batch_deployments.begin_create_or_update(ep_name, "blue", body).result()
    assert created.provisioning_state == "Succeeded" and created.model["assetId"].startswith(
        "/subscriptions/"
    )
    assert client.code_versions.list(created.code_configuration["codeId"].split("/")[-3])
    assert client.batch_deployments.get(ep_name, "blue").name == "blue"
    assert [d.name for d in client.batch_deployments.list(ep_name)] == ["blue"]
    client.batch_deployments.begin_update(ep_name, "blue", {"tags": {"k": "v"}}).result()

    full = client.batch_endpoints.get(ep_name).raw
    full["properties"]["defaults"] = {"deploymentName": "blue"}
    assert client.batch_endpoints.begin_create_or_update(ep_name, full).result().default_deployment == "blue"
    client.batch_endpoints.begin_update(ep_name, {"tags": {"team": "ml"}}).result()
    assert ep_name in {e.name for e in client.batch_endpoints.list()}
    keys = client.batch_endpoints.list_keys(ep_name)
    assert "primary" in repr(keys) and keys.secret_values() == [
        k for k in (keys.primary_key, keys.secondary_key) if k
    ]

    inp = f"azureml://datastores/workspaceblobstore/paths/inputs/{ep_name}/"
    job = client.invoke_batch_endpoint(
        ep_name, batch_invoke_body({"input_data": inp}), deployment_name="blue"
    )
    assert job.name and job.studio_url
    assert client.get_batch_job(ep.scoring_uri, job.name).name == job.name
    done = wait_job(client, job.name)
    assert done.status == "Completed", done.raw
    files = download_job_output(client, done, tmp_path / "out")
    preds = next(p for p in files if p.name == "predictions.csv").read_text().split("\n")
    assert sorted(line for line in preds if line) == ["f0.txt m1", "f1.txt m1", "f2.txt m1"]
    assert job.name in {j.name for j in client.jobs.list()}

    second = client.invoke_batch_endpoint(ep_name, batch_invoke_body({"input_data": inp}))
    client.jobs.begin_cancel(second.name).result()
    assert wait_job(client, second.name).status in ("Canceled", "Completed")

    client.batch_endpoints.begin_create_or_update(
        ep_name, BatchEndpointSpec(name=ep_name).to_rest("eastus")
    ).result()
    wait_job(client, second.name)
    client.batch_deployments.begin_delete(ep_name, "blue").result()
    assert client.batch_deployments.list(ep_name) == []
    client.batch_endpoints.begin_delete(ep_name).result()
    with pytest.raises(NotFoundError):
        client.batch_endpoints.get(ep_name)


def test_online_flow(client, emu, tmp_path):
    name = f"oe-{uuid.uuid4().hex[:8]}"
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(ONLINE_SCRIPT)
    resolve = AssetResolver(client)
    code_id = resolve("code", CodeSpec(scoring_script="score.py", path=str(code)))
    env_id = resolve("environment", EnvironmentSpec(image="python:3.11"))

    ep = client.online_endpoints.begin_create_or_update(
        name, {"location": "eastus", "properties": {"authMode": "Key"}}
    ).result()
    assert ep.provisioning_state == "Succeeded"
    dep_body = {
        "location": "eastus",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {
            "endpointComputeType": "Managed",
            "instanceType": "Standard_DS3_v2",
            "codeConfiguration": {"codeId": code_id, "scoringScript": "score.py"},
            "environmentId": env_id,
        },
    }
    dep = client.online_deployments.begin_create_or_update(name, "blue", dep_body).result()
    assert dep.provisioning_state == "Succeeded"
    full = client.online_endpoints.get(name).raw
    full["properties"]["traffic"] = {"blue": 100}
    assert client.online_endpoints.begin_create_or_update(name, full).result().traffic == {"blue": 100}
    assert name in {e.name for e in client.online_endpoints.list()}
    assert [d.name for d in client.online_deployments.list(name)] == ["blue"]
    client.online_endpoints.begin_update(name, {"tags": {"a": "b"}}).result()
    client.online_deployments.begin_update(name, "blue", {"tags": {"a": "b"}}).result()

    keys = client.online_endpoints.list_keys(name)
    assert keys.primary_key
    assert client.score_online(name, {"data": [[1, 2], [3, 4]]}) == {"n": 2}
    assert client.score_online(name, {"data": [[1]]}, deployment_name="blue", key=keys.primary_key) == {
        "n": 1
    }
    client.online_endpoints.begin_regenerate_keys(name, "Primary").result()
    assert client.online_endpoints.list_keys(name).primary_key != keys.primary_key
    token = client.online_endpoints.get_token(name)
    assert token.access_token
    assert client.score_online(name, {"data": []}, token=token.access_token) == {"n": 0}
    logs = client.online_deployments.get_logs(name, "blue", "InferenceServer", tail=50)
    assert isinstance(logs.content, str)
    assert isinstance(client.online_deployments.list_skus(name, "blue"), list)

    full = client.online_endpoints.get(name).raw
    full["properties"]["traffic"] = {}
    client.online_endpoints.begin_create_or_update(name, full).result()
    client.online_deployments.begin_delete(name, "blue").result()
    client.online_endpoints.begin_delete(name).result()
    with pytest.raises(NotFoundError):
        client.online_endpoints.get(name)


def test_asset_versions_roundtrip(client):
    body = {"properties": {"image": "python:3.11", "isAnonymous": False}}
    client.environment_versions.create_or_update("envx", "1", body)
    client.environment_versions.create_or_update("envx", "2", body)
    assert client.environment_versions.get("envx", "2").image == "python:3.11"
    assert client.environment_versions.get_latest("envx").version == "2"
    assert {v.version for v in client.environment_versions.list("envx")} == {"1", "2"}


def test_cleanup_compute(client):
    client.computes.begin_delete("cpu-cluster").result()
    with pytest.raises(NotFoundError):
        client.computes.get("cpu-cluster")


def test_hook_against_emulator(emu, monkeypatch):
    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_ML_EMU",
        json.dumps(
            {
                "conn_type": "azure_ml_endpoints",
                "host": emu.base_url,
                "extra": {
                    "subscription_id": emu.subscription,
                    "resource_group": emu.resource_group,
                    "workspace_name": emu.workspace,
                    "token": emu.token,
                },
            }
        ),
    )
    ok, message = MLEndpointsHook("ml_emu").test_connection()
    assert ok, message


def test_2021_invoke_with_overrides_and_async_client(client, emu, azurite, tmp_path):
    import asyncio

    from airflow_provider_mlendpoints.client import (
        AsyncMLEndpointsClient,
        AsyncStaticTokenCredential,
        InvokeOverrides,
    )
    from airflow_provider_mlendpoints.client.invoke_bodies import batch_invoke_body_2021

    ep_name = f"be-{uuid.uuid4().hex[:8]}"
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(BATCH_SCRIPT)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.txt").write_text("m2")
    with azurite.service_client() as svc:
        cc = svc.get_container_client(emu.container)
        cc.upload_blob(f"inputs/{ep_name}/a.txt", b"x", overwrite=True)
    client.computes.begin_create_or_update("cpu-2", aml_compute_body(location="eastus")).result()
    dep = BatchDeploymentSpec(
        name="green",
        endpoint_name=ep_name,
        model=ModelSpec(path=str(model)),
        code=CodeSpec(scoring_script="score.py", path=str(code)),
        environment=EnvironmentSpec(image="python:3.11"),
        compute=AzureMLRef("azureml:cpu-2", "cpu-2"),
    )
    body = dep.to_rest("eastus", resolve=AssetResolver(client))

    async def run():
        async with AsyncMLEndpointsClient(client.config, AsyncStaticTokenCredential(emu.token)) as ac:
            poller = await ac.batch_endpoints.begin_create_or_update(
                ep_name, BatchEndpointSpec(name=ep_name).to_rest("eastus")
            )
            token = poller.continuation_token()
            resumed = await ac.batch_endpoints.resume(token)
            ep = await resumed.result()
            await (await ac.batch_deployments.begin_create_or_update(ep_name, "green", body)).result()
            invoke = batch_invoke_body_2021(
                input_uri=f"azureml://datastores/workspaceblobstore/paths/inputs/{ep_name}/",
                output_datastore_id=f"{client.config.workspace_id}/datastores/workspaceblobstore",
                output_path=f"outputs/{ep_name}",
                overrides=InvokeOverrides(output_file_name="scores.txt"),
            )
            job = await ac.invoke_batch_endpoint(ep_name, invoke, deployment_name="green")
            for _ in range(400):
                got = await ac.jobs.get(job.name)
                if got.is_terminal:
                    break
                await asyncio.sleep(0.3)
            await (await ac.batch_endpoints.begin_delete(ep_name)).result()
            return ep, got

    ep, job = asyncio.run(run())
    assert ep.provisioning_state == "Succeeded"
    assert job.status == "Completed", job.raw
    with azurite.service_client() as svc:
        data = (
            svc.get_container_client(emu.container).download_blob(f"outputs/{ep_name}/scores.txt").readall()
        )
    assert data.decode().strip() == "a.txt m2"
    client.computes.begin_delete("cpu-2").result()


def test_client_rides_out_injected_throttling(client, emu):
    from dataclasses import replace

    patient = replace(
        client.config, retry=RetrySettings(retry_total=12, backoff_factor=0.01, max_retry_after=0.2)
    )
    emu.set_faults(throttle_rate=0.5, retry_after=1, match="/computes", seed=7)
    try:
        with MLEndpointsClient(patient, StaticTokenCredential(emu.token)) as c:
            for _ in range(4):
                with pytest.raises(NotFoundError):
                    c.computes.get("no-such-cluster")
        counters = emu.requests()
        assert counters["faults"], counters
    finally:
        emu.clear_faults()
