"""Fixtures: Azurite + the workspace emulator (its default datastore on Azurite), an Airflow
connection to it (AIRFLOW_CONN_* JSON env var), and endpoints/deployments created through the client.

Endpoints (session scope, created once):

- ``toy-batch``: deployments ``ok`` (default), ``failing`` (run() raises) and ``slow`` (sleeps),
  a tiny text scoring script; inputs are blobs below ``inputs/<id>/`` in the datastore.
- ``digits-batch`` / ``digits-svc``: the sample deployment of dags/sample_deployment (real
  scikit-learn model, registered from its YAML through the AssetResolver).
"""

from __future__ import annotations

import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.airflow import conftest as airflow_conftest
from tests.fixtures.emulator import EmulatorHandle, connection_json, start_emulator

CONN_ID = "azure_ml_endpoints_default"
TOY_ENDPOINT = "toy-batch"
DIGITS_ENDPOINT = "digits-batch"
DATASTORE = "workspaceblobstore"

TOY_SCRIPT = textwrap.dedent(
    """
    import os, time

    def init():
        global PREFIX
        with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")) as f:
            PREFIX = f.read().strip()

    def run(mini_batch):
        mode = os.environ.get("MODE", "ok")
        if mode == "fail":
            raise ValueError("the model refuses this input")
        if mode == "slow":
            time.sleep(float(os.environ.get("SLOW_SECONDS", "60")))
        return [f"{PREFIX} {os.path.basename(p)} {open(p).read().strip()}" for p in mini_batch]
    """
)


@dataclass
class Workspace:
    """The emulated workspace with its Azurite container and a sync client."""

    emu: EmulatorHandle
    azurite: Any
    container: str
    client: Any

    def datastore_uri(self, path: str) -> str:
        return f"azureml://datastores/{DATASTORE}/paths/{path}"

    def upload_inputs(self, count: int = 5, prefix: str | None = None) -> str:
        """Write f0.txt..f<count-1>.txt (contents 0..) below a fresh prefix; returns the prefix."""
        prefix = prefix or f"inputs/{uuid.uuid4().hex[:10]}"
        with self.azurite.service_client() as svc:
            cc = svc.get_container_client(self.container)
            for i in range(count):
                cc.upload_blob(f"{prefix}/f{i}.txt", str(i).encode(), overwrite=True)
        return prefix

    def read_blob(self, path: str) -> str:
        with self.azurite.service_client() as svc:
            return svc.get_container_client(self.container).download_blob(path).readall().decode()

    def blob_exists(self, path: str) -> bool:
        with self.azurite.service_client() as svc:
            return svc.get_container_client(self.container).get_blob_client(path).exists()

    def jobs(self) -> list[Any]:
        return self.client.jobs.list()

    def wait_job(self, name: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.jobs.get(name)
            if job.is_terminal or time.monotonic() > deadline:
                return job
            time.sleep(0.2)


@pytest.fixture(scope="session")
def azure_emulator(azurite, tmp_path_factory) -> Iterator[EmulatorHandle]:
    container = azurite.create_container()
    env = {
        "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
    }
    with start_emulator(
        env=env, provisioning_delay=0.2, log_dir=tmp_path_factory.mktemp("emu-azure-log")
    ) as handle:
        handle.extra["container"] = container
        yield handle
    azurite.delete_container(container)


@pytest.fixture(autouse=True)
def ml_connection(request, monkeypatch) -> None:
    """The Airflow connection to the emulator, for tests that use the emulator."""
    if "azure_emulator" not in request.fixturenames and "workspace" not in request.fixturenames:
        return
    emu = request.getfixturevalue("azure_emulator")
    azurite = request.getfixturevalue("azurite")
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(emu, azurite))


def _session_connection(emu: EmulatorHandle, azurite: Any) -> Any:
    """A sync client built through the hook, from the same connection JSON (session fixtures)."""
    import os

    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    key = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    old = os.environ.get(key)
    os.environ[key] = connection_json(emu, azurite)
    try:
        return MLEndpointsHook(CONN_ID).get_conn()
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@pytest.fixture(scope="session")
def workspace(azure_emulator, azurite, tmp_path_factory, airflow_db) -> Iterator[Workspace]:
    """Endpoints and deployments on the emulator (see the module docstring)."""
    from airflow_provider_mlendpoints.client.computes import aml_compute_body

    client = _session_connection(azure_emulator, azurite)
    ws = Workspace(azure_emulator, azurite, azure_emulator.extra["container"], client)
    root = tmp_path_factory.mktemp("toy")
    code, model = root / "code", root / "model"
    code.mkdir()
    model.mkdir()
    (code / "score.py").write_text(TOY_SCRIPT)
    (model / "model.txt").write_text("pred")

    from airflow_provider_mlendpoints.client.asset_upload import AssetUploader

    uploader = AssetUploader(client)
    code_id = uploader.register_code(code)
    model_id = uploader.register_model(model, "toy-model", "1")
    client.computes.begin_create_or_update("batch-cluster", aml_compute_body(location="eastus")).result()
    client.batch_endpoints.begin_create_or_update(
        TOY_ENDPOINT, {"location": "eastus", "properties": {"authMode": "AADToken"}}
    ).result()
    for name, mode in (("ok", "ok"), ("failing", "fail"), ("slow", "slow")):
        client.batch_deployments.begin_create_or_update(
            TOY_ENDPOINT,
            name,
            {
                "location": "eastus",
                "properties": {
                    "model": {"referenceType": "Id", "assetId": model_id},
                    "codeConfiguration": {"codeId": code_id, "scoringScript": "score.py"},
                    "compute": f"{client.config.workspace_id}/computes/batch-cluster",
                    "miniBatchSize": 2,
                    "retrySettings": {"maxRetries": 0, "timeout": "PT120S"},
                    "errorThreshold": 0,
                    "environmentVariables": {"MODE": mode},
                },
            },
        ).result()
    client.batch_endpoints.begin_create_or_update(
        TOY_ENDPOINT,
        {"location": "eastus", "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "ok"}}},
    ).result()
    yield ws
    client.close()


DEPLOYMENT = airflow_conftest.DEPLOYMENT


@pytest.fixture(scope="session")
def sample_model() -> Path:
    """The sample deployment's model (built once, as tests/airflow does)."""
    pytest.importorskip("sklearn", reason="the sample model needs scikit-learn (dev and demo extras)")
    return airflow_conftest._build_model_module().build_model()


@pytest.fixture(scope="session")
def digits_deployment(workspace, sample_model) -> Path:
    """The sample deployment registered on the emulator as the default of ``digits-batch``."""
    from airflow_provider_mlendpoints.client.asset_upload import AssetResolver
    from airflow_provider_mlendpoints.specs import load_spec

    client = workspace.client
    spec = load_spec(DEPLOYMENT)
    resolver = AssetResolver(client)
    client.batch_endpoints.begin_create_or_update(
        DIGITS_ENDPOINT, {"location": "eastus", "properties": {"authMode": "AADToken"}}
    ).result()
    client.batch_deployments.begin_create_or_update(
        DIGITS_ENDPOINT, spec.name, spec.to_rest("eastus", resolve=resolver)
    ).result()
    client.batch_endpoints.begin_create_or_update(
        DIGITS_ENDPOINT,
        {
            "location": "eastus",
            "properties": {"authMode": "AADToken", "defaults": {"deploymentName": spec.name}},
        },
    ).result()
    return DEPLOYMENT
