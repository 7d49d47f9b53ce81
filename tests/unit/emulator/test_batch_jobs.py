"""Batch endpoint invocation: the engine runs the job in a background process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest

from airflow_provider_mlendpoints.emulator.openapi_validation import SpecValidator
from tests.fixtures.paths import SHARED_REFERENCE

from .helpers import put_and_wait, wait_job

REFERENCE = SHARED_REFERENCE / "azureml-rest-2024-04-01"

SCRIPT = textwrap.dedent(
    """
    import os, time

    def init():
        global prefix
        with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")) as f:
            prefix = f.read().strip()
        print("init done")

    def run(mini_batch):
        if os.environ.get("MODE") == "fail":
            raise ValueError("the model refuses this input")
        if os.environ.get("MODE") == "slow":
            time.sleep(60)
        return [f"{prefix} {os.path.basename(p)} {open(p).read().strip()}" for p in mini_batch]
    """
)


@pytest.fixture
def batch_setup(emulator_clean, tmp_path):
    """An endpoint with deployments ok (default), failing and slow over a 5-file input."""
    emu = emulator_clean
    code, model, data = tmp_path / "code", tmp_path / "model", tmp_path / "input"
    for folder in (code, model, data):
        folder.mkdir()
    (code / "score.py").write_text(SCRIPT)
    (model / "model.txt").write_text("pred")
    for i in range(5):
        (data / f"f{i}.txt").write_text(str(i))
    ws = emu.workspace_path
    with emu.client() as c:
        c.put(emu.arm_url("/codes/score/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(emu.arm_url("/models/m/versions/1"), json={"properties": {"modelUri": f"file://{model}"}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/computes/cpu"), {"location": "eastus", "properties": {"computeType": "AmlCompute"}})
        endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/be-1"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
        for name, mode in (("ok", "ok"), ("failing", "fail"), ("slow", "slow")):
            dep = put_and_wait(
                c,
                emu.arm_url(f"/batchEndpoints/be-1/deployments/{name}"),
                {
                    "location": "eastus",
                    "properties": {
                        "model": {"referenceType": "Id", "assetId": f"{ws}/models/m/versions/1"},
                        "codeConfiguration": {"codeId": "azureml:score:1", "scoringScript": "score.py"},
                        "compute": "cpu",
                        "miniBatchSize": 2,
                        "retrySettings": {"maxRetries": 0, "timeout": "PT90S"},
                        "errorThreshold": 0,
                        "environmentVariables": {"MODE": mode},
                    },
                },
            )
            assert dep["properties"]["provisioningState"] == "Succeeded", dep
    return emu, endpoint["properties"]["scoringUri"], data, tmp_path


def test_batch_job_runs_the_engine_end_to_end(batch_setup):
    emu, scoring_uri, data, tmp_path = batch_setup
    out = tmp_path / "out"
    body = {
        "properties": {
            "InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": str(data)}},
            "OutputData": {"score": {"JobOutputType": "UriFolder", "Uri": str(out)}},
        }
    }
    with emu.client() as c:
        started = c.post(scoring_uri, json=body)
        assert started.status_code == 200, started.text
        job = started.json()
        assert job["properties"]["status"] in ("NotStarted", "Running")
        assert job["properties"]["interactionEndpoints"]["Studio"]["endpoint"].startswith("https://ml.azure.com/runs/")
        done = wait_job(c, f"{scoring_uri}/{job['name']}")
        assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
        lines = (out / "predictions.csv").read_text().splitlines()
        assert lines == [f"pred f{i}.txt {i}" for i in range(5)]

        arm = c.get(emu.arm_url(f"/jobs/{job['name']}"))
        assert arm.status_code == 200
        arm_job = arm.json()
        assert arm_job["properties"]["jobType"] == "Pipeline" and arm_job["properties"]["status"] == "Completed"
        assert arm_job["properties"]["services"]["Studio"]["endpoint"].startswith("https://ml.azure.com/runs/")
        assert arm_job["properties"]["outputs"]["score"]["uri"] == str(out)
        assert job["name"] in [j["name"] for j in c.get(emu.arm_url("/jobs")).json()["value"]]
        if REFERENCE.is_dir():
            problems = SpecValidator.load(REFERENCE).validate_response(
                "GET", httpx.URL(emu.arm_url(f"/jobs/{job['name']}")).path, 200, arm_job
            )
            assert not problems, problems


def test_2021_body_with_overrides_and_default_output(batch_setup):
    emu, scoring_uri, data, _ = batch_setup
    body = {
        "properties": {
            "dataset": {"dataInputType": "DataUrl", "path": str(data)},
            "outputDataset": {"datastoreId": f"{emu.workspace_path}/datastores/workspaceblobstore", "path": "scored/run1"},
            "outputFileName": "out.csv",
            "miniBatchSize": 1,
            "errorThreshold": 10,
        }
    }
    with emu.client() as c:
        job = c.post(scoring_uri, json=body, headers={"azureml-model-deployment": "ok"}).json()
        done = wait_job(c, f"{scoring_uri}/{job['name']}")
        assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
        summary = json.loads(done["properties"]["properties"]["azureml.summary"])
        assert summary
        root = Path(httpx.get(emu.url("/_emulator/config"), headers=emu.headers).json()["data_root"])
        written = root / "datastores" / emu.subscription / emu.resource_group / emu.workspace / "workspaceblobstore" / "scored" / "run1" / "out.csv"
        assert len(written.read_text().splitlines()) == 5


def test_current_body_overrides_are_applied(batch_setup):
    """The client puts the overrides beside InputData/OutputData in the current body: they apply too."""
    emu, scoring_uri, data, tmp_path = batch_setup
    out = tmp_path / "out-overridden"
    body = {
        "properties": {
            "InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": str(data)}},
            "OutputData": {"score": {"JobOutputType": "UriFolder", "Uri": str(out)}},
            "outputFileName": "scored.csv",
            "miniBatchSize": 1,  # the deployment says 2
            "loggingLevel": "Debug",
        }
    }
    with emu.client() as c:
        job = c.post(scoring_uri, json=body, headers={"azureml-model-deployment": "ok"}).json()
        done = wait_job(c, f"{scoring_uri}/{job['name']}")
        assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
        summary = json.loads(done["properties"]["properties"]["azureml.summary"])
    assert summary["mini_batches"]["total"] == 5  # 5 files, one per mini-batch (3 with the deployment's 2)
    assert (out / "scored.csv").read_text().splitlines() == [f"pred f{i}.txt {i}" for i in range(5)]
    assert not (out / "predictions.csv").exists()


def test_failing_job_ends_failed_with_the_engine_message(batch_setup):
    emu, scoring_uri, data, tmp_path = batch_setup
    body = {"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}},
                           "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": str(tmp_path / "o2")}}}}
    with emu.client() as c:
        job = c.post(scoring_uri, json=body, headers={"azureml-model-deployment": "failing"}).json()
        done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
        assert done["properties"]["status"] == "Failed"
        assert "batch scoring job failed" in done["properties"]["properties"]["azureml.error"]
        log = httpx.get(emu.url(f"/_emulator/jobs/{job['name']}/log"), headers=emu.headers)
        assert log.status_code == 200 and "emulator job finished: Failed" in log.text


def test_missing_input_fails_with_a_message_naming_it(batch_setup):
    emu, scoring_uri, _, tmp_path = batch_setup
    missing = tmp_path / "no-such-input"
    body = {"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(missing)}},
                           "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": str(tmp_path / "o4")}}}}
    with emu.client() as c:
        job = c.post(scoring_uri, json=body).json()
        done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
        assert done["properties"]["status"] == "Failed"
        assert "no-such-input" in done["properties"]["properties"]["azureml.error"]


def test_cancel_stops_the_job(batch_setup):
    emu, scoring_uri, data, tmp_path = batch_setup
    body = {"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}},
                           "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": str(tmp_path / "o3")}}}}
    with emu.client() as c:
        job = c.post(scoring_uri, json=body, headers={"azureml-model-deployment": "slow"}).json()
        cancel = c.post(emu.arm_url(f"/jobs/{job['name']}/cancel"))
        assert cancel.status_code == 202 and "Location" in cancel.headers
        done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"), timeout=30)
        assert done["properties"]["status"] == "Canceled"


def test_invocation_errors(batch_setup):
    emu, scoring_uri, data, _ = batch_setup
    with emu.client() as c:
        missing = c.post(scoring_uri, json={"properties": {}})
        assert missing.status_code == 400 and "InputData" in missing.json()["error"]["message"]
        unknown_dep = c.post(
            scoring_uri,
            json={"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}}}},
            headers={"azureml-model-deployment": "nope"},
        )
        assert unknown_dep.status_code == 404
    assert httpx.post(scoring_uri, json={}).status_code == 401


def test_registered_data_asset_inputs(batch_setup):
    """Inputs naming a registered data asset (short, ARM-style, 2021 DatasetVersion) read its dataUri."""
    emu, scoring_uri, data, tmp_path = batch_setup
    ws = emu.workspace_path
    with emu.client() as c:
        bad = c.put(emu.arm_url("/data/digits/versions/1"), json={"properties": {"dataType": "csv", "dataUri": str(data)}})
        assert bad.status_code == 400 and "dataType" in bad.json()["error"]["message"]
        made = c.put(emu.arm_url("/data/digits/versions/1"), json={"properties": {"dataType": "uri_folder", "dataUri": str(data)}})
        assert made.status_code == 201, made.text
        assert made.json()["id"].lower().endswith("/data/digits/versions/1")
        one = data / "f3.txt"
        c.put(emu.arm_url("/data/one/versions/2"), json={"properties": {"dataType": "uri_file", "dataUri": f"file://{one}"}}).raise_for_status()
        got = c.get(emu.arm_url("/data/digits/versions/1")).json()
        assert got["properties"]["dataUri"] == str(data)
        if REFERENCE.is_dir():
            validator = SpecValidator.load(REFERENCE)
            for url in ("/data/digits/versions/1", "/data/digits", "/data/digits/versions", "/data"):
                answer = c.get(emu.arm_url(url))
                assert answer.status_code == 200, answer.text
                problems = validator.validate_response("GET", httpx.URL(emu.arm_url(url)).path, 200, answer.json())
                assert not problems, (url, problems)
        assert [v["name"] for v in c.get(emu.arm_url("/data/digits/versions")).json()["value"]] == ["1"]
        assert {d["name"] for d in c.get(emu.arm_url("/data")).json()["value"]} >= {"digits", "one"}

        def invoke(props: dict, out: str) -> list[str]:
            started = c.post(scoring_uri, json={"properties": props}, headers={"azureml-model-deployment": "ok"})
            assert started.status_code == 200, started.text
            done = wait_job(c, f"{scoring_uri}/{started.json()['name']}")
            assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
            return (tmp_path / out / "predictions.csv").read_text().splitlines()

        every = [f"pred f{i}.txt {i}" for i in range(5)]
        for i, ref in enumerate(("azureml:digits:1", f"azureml:{ws}/data/digits/versions/1", "azureml:digits@latest")):
            out = tmp_path / f"o{i}"
            props = {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": ref}},
                     "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": str(out)}}}
            assert invoke(props, f"o{i}") == every, ref
        props = {"InputData": {"in": {"JobInputType": "UriFile", "Uri": "azureml:one:2"}},
                 "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": str(tmp_path / "o-file")}}}
        assert invoke(props, "o-file") == ["pred f3.txt 3"]
        props_2021 = {"dataset": {"dataInputType": "DatasetVersion", "datasetName": "digits", "datasetVersion": "1"},
                      "outputDataset": {"datastoreId": f"{ws}/datastores/workspaceblobstore", "path": "scored/asset"}}
        started = c.post(scoring_uri, json={"properties": props_2021}, headers={"azureml-model-deployment": "ok"})
        assert started.status_code == 200, started.text
        assert wait_job(c, f"{scoring_uri}/{started.json()['name']}")["properties"]["status"] == "Completed"

        for ref in ("azureml:nope:1", f"azureml:{ws}/data/digits/versions/9"):
            missing = c.post(scoring_uri, json={"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": ref}}}})
            assert missing.status_code == 400, missing.text
            error = missing.json()["error"]
            assert error["code"] == "UserError" and ref in error["message"] and "could not be found" in error["message"]
