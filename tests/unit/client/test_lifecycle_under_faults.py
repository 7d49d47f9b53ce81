"""A full batch lifecycle completes while ~30% of ARM and data-plane requests fail.

Faults (fixed seed): 429 with Retry-After, 500 and dropped connections before the
request is processed, and 500 / dropped connections after it was processed (the
state change stands, the answer is lost). On top of the random faults a short
script makes sure the dangerous cases happen on the routes that matter: the
first invoke POST loses its answer after the job was created, the first
endpoint PUT answers 500 after applying, the first deployment PUT is dropped
after applying; and each kind of fault before processing (drop, 500, 429) hits
one read at least. Admin routes and Azurite are never faulted.

Lifecycle: create batch endpoint, create a deployment from LOCAL assets (model
folder, code folder with a scoring script, conda file: uploaded to the default
datastore on Azurite and registered), set it default (full-body PUT), invoke,
wait for the job, download the predictions, delete deployment and endpoint.
Afterwards (faults off): one code version and one model version for the
content, one endpoint and one deployment while alive, exactly one job.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from airflow_provider_mlendpoints.client import (
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    MLEndpointsClient,
    NotFoundError,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
    batch_invoke_body,
)
from airflow_provider_mlendpoints.client.asset_upload import AssetResolver, content_hash
from airflow_provider_mlendpoints.client.converge import create_or_update_and_wait, delete_and_wait
from airflow_provider_mlendpoints.client.reconcile import ReconcileSettings
from airflow_provider_mlendpoints.client.results import download_job_output
from airflow_provider_mlendpoints.specs.model import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    CodeSpec,
    EnvironmentSpec,
    ModelSpec,
)
from tests.fixtures.emulator import start_emulator

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

SEED = 20261122
SCRIPT = [
    {"fault": "after_drop", "match": "^/batch/", "method": "POST"},
    {"fault": "after_500", "match": "/batchEndpoints/[^/]+$", "method": "PUT"},
    {"fault": "after_drop", "match": "/deployments/[^/]+$", "method": "PUT"},
    # and one of each kind before processing, on reads every lifecycle makes: the random faults
    # alone leave a kind out when a loaded machine makes fewer polls
    {"fault": "drop", "match": "/batchEndpoints/[^/]+$", "method": "GET"},
    {"fault": "500", "match": "/deployments/[^/]+$", "method": "GET"},
    {"fault": "429", "match": "/jobs/[^/]+$", "method": "GET"},
]
FAULTS = {
    "throttle_rate": 0.10,
    "error_rate": 0.06,
    "drop_rate": 0.05,
    "after_error_rate": 0.05,
    "after_drop_rate": 0.04,
    "retry_after": 1,
    "seed": SEED,
    "script": SCRIPT,
}
INVOKE_ROUTE = "POST /batch/{sub}/{rg}/{ws}/{endpoint}/jobs"

SCORE_PY = """
import os
def init():
    global MODEL
    MODEL = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")).read().strip()
def run(mini_batch):
    return [f"{os.path.basename(p)} {MODEL}" for p in mini_batch]
"""


@pytest.fixture(scope="module")
def emu(azurite, tmp_path_factory):
    container = azurite.create_container()
    env = {
        "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
    }
    with start_emulator(
        env=env, log_dir=tmp_path_factory.mktemp("emu-log"), provisioning_delay=0.2
    ) as handle:
        handle.container = container
        yield handle
    azurite.delete_container(container)


def _config(emu, azurite) -> WorkspaceConfig:
    return WorkspaceConfig(
        emu.subscription,
        emu.resource_group,
        emu.workspace,
        management_url=emu.base_url,
        storage_urls={azurite.account_name: azurite.connection_string},
        retry=RetrySettings(retry_total=10, backoff_factor=0.02, backoff_max=0.3, max_retry_after=0.3),
        polling_interval=0.1,
        max_polling_interval=0.3,
    )


def _local_assets(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(SCORE_PY)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.txt").write_text("m1")
    conda = tmp_path / "conda.yml"
    conda.write_text("name: score\ndependencies:\n  - python=3.11\n")
    return code, model, conda


def _deployment_body(client, ep_name, code, model, conda) -> dict:
    spec = BatchDeploymentSpec(
        name="blue",
        endpoint_name=ep_name,
        model=ModelSpec(path=str(model)),
        code=CodeSpec(scoring_script="score.py", path=str(code)),
        environment=EnvironmentSpec(image="python:3.11", conda_file=str(conda)),
        mini_batch_size=2,
    )
    return spec.to_rest("eastus", resolve=AssetResolver(client))


def _upload_inputs(azurite, emu, ep_name) -> str:
    with azurite.service_client() as svc:
        cc = svc.get_container_client(emu.container)
        for i in range(3):
            cc.upload_blob(f"inputs/{ep_name}/f{i}.txt", b"x", overwrite=True)
    return f"azureml://datastores/workspaceblobstore/paths/inputs/{ep_name}/"


def _check_afterwards(emu, azurite, code, model, ep_name, job_name, alive) -> None:
    counters = emu.requests()
    emu.clear_faults()
    assert counters["faults_total"] >= 10, counters["faults"]
    assert counters["faults_by_route"].get(INVOKE_ROUTE), counters["faults_by_route"]
    put_faults = [r for r, f in counters["faults_by_route"].items() if r.startswith("PUT ") and f]
    assert any("batchEndpoints" in r for r in put_faults), put_faults
    assert any("deployments" in r for r in put_faults), put_faults
    for name in ("after_500", "after_drop", "drop", "500", "429"):
        assert counters["faults"].get(name), (name, counters["faults"])
    assert alive == {"endpoints": [ep_name], "deployments": ["blue"], "default": "blue"}
    with MLEndpointsClient(_config(emu, azurite), StaticTokenCredential(emu.token)) as c:
        assert [v.version for v in c.code_versions.list(f"code-{content_hash(code)[:32]}")] == ["1"]
        assert [v.version for v in c.model_versions.list(f"model-{content_hash(model)[:32]}")] == ["1"]
        assert [j.name for j in c.jobs.list()] == [job_name]
        assert ep_name not in {e.name for e in c.batch_endpoints.list()}
        with pytest.raises(NotFoundError):
            c.batch_endpoints.get(ep_name)


def _predictions(files) -> list[str]:
    preds = next(p for p in files if p.name == "predictions.csv").read_text().split("\n")
    return sorted(line for line in preds if line)


def test_sync_lifecycle_under_faults(emu, azurite, tmp_path):
    emu.reset()
    ep_name = f"be-{uuid.uuid4().hex[:8]}"
    code, model, conda = _local_assets(tmp_path)
    inp = _upload_inputs(azurite, emu, ep_name)
    emu.set_faults(**FAULTS)
    with MLEndpointsClient(_config(emu, azurite), StaticTokenCredential(emu.token)) as c:
        ep = create_or_update_and_wait(
            c.batch_endpoints, ep_name, body=BatchEndpointSpec(name=ep_name).to_rest("eastus")
        )
        assert ep.provisioning_state == "Succeeded"
        body = _deployment_body(c, ep_name, code, model, conda)
        dep = create_or_update_and_wait(c.batch_deployments, ep_name, "blue", body=body)
        assert dep.provisioning_state == "Succeeded"
        full = c.batch_endpoints.get(ep_name).raw
        full["properties"]["defaults"] = {"deploymentName": "blue"}
        assert create_or_update_and_wait(c.batch_endpoints, ep_name, body=full).default_deployment == "blue"
        job = c.invoke_batch_endpoint(
            ep_name,
            batch_invoke_body({"input_data": inp}),
            reconcile_settings=ReconcileSettings(settle_delay=0.5, look_for=1.0),
        )
        done = c.jobs.wait(job.name, timeout=300)
        assert done.status == "Completed", done.raw
        files = download_job_output(c, done, tmp_path / "out")
        assert _predictions(files) == ["f0.txt m1", "f1.txt m1", "f2.txt m1"]
        alive = {
            "endpoints": [e.name for e in c.batch_endpoints.list() if e.name == ep_name],
            "deployments": [d.name for d in c.batch_deployments.list(ep_name)],
            "default": c.batch_endpoints.get(ep_name).default_deployment,
        }
        delete_and_wait(c.batch_deployments, ep_name, "blue")
        delete_and_wait(c.batch_endpoints, ep_name)
    _check_afterwards(emu, azurite, code, model, ep_name, job.name, alive)


def test_async_lifecycle_under_faults(emu, azurite, tmp_path):
    """The same with the async client; asset upload and download (sync-only helpers) run in threads."""
    emu.reset()
    ep_name = f"be-{uuid.uuid4().hex[:8]}"
    code, model, conda = _local_assets(tmp_path)
    inp = _upload_inputs(azurite, emu, ep_name)
    emu.set_faults(**{**FAULTS, "seed": SEED + 1})
    config = _config(emu, azurite)

    async def run():
        sync = MLEndpointsClient(config, StaticTokenCredential(emu.token))
        async with AsyncMLEndpointsClient(config, AsyncStaticTokenCredential(emu.token)) as c:
            endpoint_body = BatchEndpointSpec(name=ep_name).to_rest("eastus")
            await create_or_update_and_wait(c.batch_endpoints, ep_name, body=endpoint_body)
            body = await asyncio.to_thread(_deployment_body, sync, ep_name, code, model, conda)
            await create_or_update_and_wait(c.batch_deployments, ep_name, "blue", body=body)
            full = (await c.batch_endpoints.get(ep_name)).raw
            full["properties"]["defaults"] = {"deploymentName": "blue"}
            ep = await create_or_update_and_wait(c.batch_endpoints, ep_name, body=full)
            assert ep.default_deployment == "blue"
            job = await c.invoke_batch_endpoint(
                ep_name,
                batch_invoke_body({"input_data": inp}),
                reconcile_settings=ReconcileSettings(settle_delay=0.5, look_for=1.0),
            )
            done = await c.jobs.wait(job.name, timeout=300)
            assert done.status == "Completed", done.raw
            files = await asyncio.to_thread(download_job_output, sync, done, tmp_path / "out")
            alive = {
                "endpoints": [e.name for e in await c.batch_endpoints.list() if e.name == ep_name],
                "deployments": [d.name for d in await c.batch_deployments.list(ep_name)],
                "default": (await c.batch_endpoints.get(ep_name)).default_deployment,
            }
            await delete_and_wait(c.batch_deployments, ep_name, "blue")
            await delete_and_wait(c.batch_endpoints, ep_name)
        sync.close()
        return job, files, alive

    job, files, alive = asyncio.run(run())
    assert _predictions(files) == ["f0.txt m1", "f1.txt m1", "f2.txt m1"]
    _check_afterwards(emu, azurite, code, model, ep_name, job.name, alive)
