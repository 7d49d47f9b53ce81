"""Asset upload/registration, reference resolution and output download: fake ARM + real Azurite."""

from __future__ import annotations

import re

import pytest

from airflow_provider_mlendpoints.client import ConflictError, MLEndpointsClient, StaticTokenCredential
from airflow_provider_mlendpoints.client.asset_upload import AssetResolver, AssetUploader, content_hash
from airflow_provider_mlendpoints.client.results import download_job_output
from airflow_provider_mlendpoints.specs.model import AzureMLRef, CodeSpec, EnvironmentSpec, ModelSpec

from .conftest import TOKEN, WS, make_config

pytestmark = pytest.mark.azurite

VERSION_RX = re.compile(r".*/workspaces/ws/(codes|models|environments)/([^/]+)/versions(?:/([^/]+))?")


def asset_store(fake):
    """Scripted, stateful ARM asset versions on the fake server."""
    store: dict[tuple[str, str, str], dict] = {}

    def put(req):
        kind, name, version = VERSION_RX.match(req.path).groups()
        body = {**req.json(), "id": f"{WS}/{kind}/{name}/versions/{version}", "name": version}
        created = (kind, name, version) not in store
        store[(kind, name, version)] = body
        return (201 if created else 200), {}, body

    def get(req):
        kind, name, version = VERSION_RX.match(req.path).groups()
        if version is None:
            return 200, {}, {"value": [b for (k, n, _v), b in store.items() if (k, n) == (kind, name)]}
        if (kind, name, version) in store:
            return 200, {}, store[(kind, name, version)]
        return 404, {}, {"error": {"code": "UserError", "message": "not found"}}

    fake.route("PUT", VERSION_RX.pattern, put)
    fake.route("GET", VERSION_RX.pattern, get)
    return store


@pytest.fixture
def ws(fake, azurite, blob_container):
    datastore = {
        "id": f"{WS}/datastores/workspaceblobstore",
        "name": "workspaceblobstore",
        "properties": {
            "datastoreType": "AzureBlob",
            "isDefault": True,
            "accountName": azurite.account_name,
            "containerName": blob_container,
            "endpoint": "core.windows.net",
            "protocol": "https",
            "credentials": {"credentialsType": "AccountKey"},
        },
    }
    fake.route("GET", f"{WS}/datastores", (200, {}, {"value": [datastore]}))
    fake.route("GET", f"{WS}/datastores/workspaceblobstore", (200, {}, datastore))
    fake.route(
        "POST",
        f"{WS}/datastores/workspaceblobstore/listSecrets",
        (200, {}, {"secretsType": "AccountKey", "key": azurite.account_key}),
    )
    store = asset_store(fake)
    config = make_config(fake.url, storage_urls={azurite.account_name: azurite.account_url})
    with MLEndpointsClient(config, StaticTokenCredential(TOKEN)) as client:
        yield client, store, azurite, blob_container


def test_register_code_twice_registers_once(ws, tmp_path, fake):
    client, store, azurite, container = ws
    code = tmp_path / "src"
    (code / "pkg").mkdir(parents=True)
    (code / "score.py").write_text("def init(): pass\n")
    (code / "pkg" / "util.py").write_text("X = 1\n")
    uploader = AssetUploader(client)
    first = uploader.register_code(code)
    second = AssetUploader(client).register_code(code)
    assert first == second and first.startswith(f"{WS}/codes/code-")
    assert len(store) == 1 and len(fake.calls("PUT", VERSION_RX.pattern)) == 1
    digest = content_hash(code)
    with azurite.service_client() as svc:
        names = sorted(b.name for b in svc.get_container_client(container).list_blobs())
    assert names == [f"LocalUpload/{digest}/src/pkg/util.py", f"LocalUpload/{digest}/src/score.py"]
    (body,) = store.values()
    assert body["properties"]["properties"]["contentHash"] == digest
    assert body["properties"]["codeUri"].endswith(f"/{container}/LocalUpload/{digest}/src")


def test_named_model_versions_increment_and_conflict(ws, tmp_path):
    client, store, _azurite, _c = ws
    model = tmp_path / "model.pkl"
    model.write_bytes(b"v1")
    uploader = AssetUploader(client)
    assert uploader.register_model(model, "clf").endswith("/models/clf/versions/1")
    assert uploader.register_model(model, "clf").endswith("/models/clf/versions/1")
    model.write_bytes(b"v2")
    assert uploader.register_model(model, "clf").endswith("/models/clf/versions/2")
    model.write_bytes(b"v3")
    with pytest.raises(ConflictError):
        uploader.register_model(model, "clf", version="2")
    body = store[("models", "clf", "2")]
    assert body["properties"]["modelUri"].startswith(
        "azureml://subscriptions/sub/resourcegroups/rg/workspaces/ws/"
        "datastores/workspaceblobstore/paths/LocalUpload/"
    )


def test_resolver_for_spec_parts(ws, tmp_path, fake):
    client, store, _azurite, _c = ws
    conda = tmp_path / "conda.yaml"
    conda.write_text("dependencies: [python=3.11]\n")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text("")
    store[("models", "m", "3")] = {"id": f"{WS}/models/m/versions/3", "name": "3", "properties": {}}
    store[("models", "m", "10")] = {"id": f"{WS}/models/m/versions/10", "name": "10", "properties": {}}
    resolve = AssetResolver(client)
    assert (
        resolve("model", ModelSpec(ref=AzureMLRef("azureml:m@latest", "m", label="latest")))
        == f"{WS}/models/m/versions/10"
    )
    assert (
        resolve("model", ModelSpec(ref=AzureMLRef("azureml:m:3", "m", version="3")))
        == f"{WS}/models/m/versions/3"
    )
    reg = "azureml://registries/azureml/models/x/versions/1"
    assert resolve("model", ModelSpec(ref=AzureMLRef(reg, "x", version="1", registry="azureml"))) == reg
    assert (
        resolve("compute", AzureMLRef("azureml:cpu-cluster", "cpu-cluster")) == f"{WS}/computes/cpu-cluster"
    )
    env_id = resolve("environment", EnvironmentSpec(image="python:3.11", conda_file=str(conda)))
    assert env_id.startswith(f"{WS}/environments/env-")
    env_body = next(b for (k, _n, _v), b in store.items() if k == "environments")
    assert env_body["properties"]["condaFile"].startswith("dependencies")
    code_id = resolve("code", CodeSpec(scoring_script="score.py", path=str(tmp_path / "code")))
    assert code_id.startswith(f"{WS}/codes/code-")
    puts = len(fake.calls("PUT", VERSION_RX.pattern))
    resolve("code", CodeSpec(scoring_script="score.py", path=str(tmp_path / "code")))
    assert len(fake.calls("PUT", VERSION_RX.pattern)) == puts


def test_download_output_folder_and_file(ws, tmp_path, fake):
    client, _store, azurite, container = ws
    with azurite.service_client() as svc:
        cc = svc.get_container_client(container)
        cc.upload_blob("azureml/job-1/score/predictions.csv", b"a 1\nb 2\n")
        cc.upload_blob("azureml/job-1/score/_mlendpoints/report/summary.json", b"{}")
    folder_uri = "azureml://datastores/workspaceblobstore/paths/azureml/job-1/score/"
    fake.route(
        "GET",
        f"{WS}/jobs/job-1",
        (
            200,
            {},
            {
                "name": "job-1",
                "properties": {
                    "status": "Completed",
                    "outputs": {"score": {"jobOutputType": "uri_folder", "uri": folder_uri}},
                },
            },
        ),
    )
    files = download_job_output(client, "job-1", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in files) == [
        "_mlendpoints/report/summary.json",
        "predictions.csv",
    ]
    assert (tmp_path / "out" / "predictions.csv").read_bytes() == b"a 1\nb 2\n"
    file_uri = f"{azurite.account_url}/{container}/azureml/job-1/score/predictions.csv"
    fake.route(
        "GET",
        f"{WS}/jobs/job-2",
        (
            200,
            {},
            {"name": "job-2", "properties": {"status": "Completed", "outputs": {"o": {"uri": file_uri}}}},
        ),
    )
    (single,) = download_job_output(client, "job-2", tmp_path / "one")
    assert single.name == "predictions.csv"
    legacy = {
        "name": "job-3",
        "properties": {
            "outputDataset": {
                "datastoreId": f"{WS}/datastores/workspaceblobstore",
                "path": "azureml/job-1/score",
            }
        },
    }
    fake.route("GET", f"{WS}/jobs/job-3", (200, {}, legacy))
    assert len(download_job_output(client, "job-3", tmp_path / "legacy")) == 2


def test_resolver_named_parts_without_paths(ws):
    client, store, _azurite, _c = ws
    store[("models", "named", "4")] = {"id": f"{WS}/models/named/versions/4", "name": "4", "properties": {}}
    resolve = AssetResolver(client)
    assert resolve("model", ModelSpec(name="named")) == f"{WS}/models/named/versions/4"
    assert resolve("model", ModelSpec(name="named", version="2")) == f"{WS}/models/named/versions/2"
    assert (
        resolve("environment", EnvironmentSpec(name="env", version="7"))
        == f"{WS}/environments/env/versions/7"
    )
    assert resolve("environment", EnvironmentSpec()) is None
