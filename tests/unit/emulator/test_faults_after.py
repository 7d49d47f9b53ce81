"""Faults after processing, scripted faults, per-route fault counters, invocation tags, no-op jobs."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fixtures.emulator import start_emulator

from .helpers import put_and_wait

COMPUTES = "/computes/{name}"
COMPUTE_ROUTE = (
    "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices"
    "/workspaces/{ws}/computes/{computeName}"
)


def _compute_body() -> dict:
    return {"location": "eastus", "properties": {"computeType": "AmlCompute", "properties": {}}}


def test_after_500_applies_the_request_then_answers_500(emulator_clean):
    emu = emulator_clean
    emu.set_faults(script=[{"fault": "after_500", "match": "/computes/c1$", "method": "PUT"}])
    with emu.client() as c:
        response = c.put(emu.arm_url("/computes/c1"), json=_compute_body())
        assert response.status_code == 500
        assert "after processing" in response.json()["error"]["message"]
        assert c.get(emu.arm_url("/computes/c1")).status_code == 200  # the PUT took effect
    counters = emu.requests()
    assert counters["faults"] == {"after_500": 1}
    assert counters["faults_by_route"] == {COMPUTE_ROUTE: {"after_500": 1}}


def test_after_drop_applies_the_request_then_drops_the_connection(emulator_clean):
    emu = emulator_clean
    emu.set_faults(script=[{"fault": "after_drop", "match": "/computes/c2$", "times": 1}])
    with pytest.raises(httpx.TransportError):
        httpx.put(emu.arm_url("/computes/c2"), json=_compute_body(), headers=emu.headers, timeout=10)
    with emu.client() as c:
        assert c.get(emu.arm_url("/computes/c2")).status_code == 200
    assert emu.requests()["faults"] == {"after_drop": 1}


def test_before_drop_does_not_apply_the_request(emulator_clean):
    emu = emulator_clean
    emu.set_faults(script=[{"fault": "drop", "match": "/computes/c3$"}])
    with pytest.raises(httpx.TransportError):
        httpx.put(emu.arm_url("/computes/c3"), json=_compute_body(), headers=emu.headers, timeout=10)
    with emu.client() as c:
        assert c.get(emu.arm_url("/computes/c3")).status_code == 404


def test_script_is_consumed_in_order_then_rates_apply(emulator_clean):
    emu = emulator_clean
    emu.set_faults(script=[{"fault": "429", "match": "/batchEndpoints", "times": 2}], seed=1)
    with emu.client() as c:
        codes = [c.get(emu.arm_url("/batchEndpoints")).status_code for _ in range(3)]
    assert codes == [429, 429, 200]


def test_after_rates_and_validation(emulator_clean):
    emu = emulator_clean
    emu.set_faults(after_error_rate=1.0)
    with emu.client() as c:
        assert c.put(emu.arm_url("/computes/c4"), json=_compute_body()).status_code == 500
        emu.clear_faults()
        assert c.get(emu.arm_url("/computes/c4")).status_code == 200
    too_much = httpx.post(emu.url("/_emulator/faults"), json={"error_rate": 0.6, "after_error_rate": 0.6}, headers=emu.headers)
    assert too_much.status_code == 400
    bad_script = httpx.post(emu.url("/_emulator/faults"), json={"script": [{"fault": "nope"}]}, headers=emu.headers)
    assert bad_script.status_code == 400


def _batch_setup(emu, c, name: str) -> str:
    put_and_wait(c, emu.arm_url(f"/batchEndpoints/{name}"), {"location": "eastus", "properties": {}})
    put_and_wait(
        c, emu.arm_url(f"/batchEndpoints/{name}/deployments/d"), {"location": "eastus", "properties": {}}
    )
    ep = c.get(emu.arm_url(f"/batchEndpoints/{name}")).json()
    assert ep["properties"]["defaults"]["deploymentName"] == "d"
    return ep["properties"]["scoringUri"]


def test_invocation_tags_and_properties_are_kept_and_listed(emulator_clean, tmp_path):
    emu = emulator_clean
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.txt").write_text("x")
    with emu.client() as c:
        uri = _batch_setup(emu, c, "tagged")
        body = {
            "properties": {
                "InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}},
                "tags": {"k": "v"},
                "properties": {"mine": "1", "azureml.endpointname": "spoofed"},
            }
        }
        job = c.post(uri, json=body).json()
        listed = {j["name"]: j for j in c.get(emu.arm_url("/jobs")).json()["value"]}
    seen = listed[job["name"]]
    assert seen["properties"]["tags"] == {"k": "v"}
    assert seen["properties"]["properties"]["mine"] == "1"
    assert seen["properties"]["properties"]["azureml.endpointname"] == "tagged"  # the service's own wins
    assert seen["properties"]["properties"]["azureml.deploymentname"] == "d"
    assert seen["systemData"]["createdAt"]
    assert seen["properties"]["inputs"]["in"]["uri"] == str(data)


def test_noop_jobs_complete_after_their_time(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    env = {"MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS": "0.5"}
    with start_emulator(env=env, log_dir=tmp_path) as emu, emu.client() as c:
        uri = _batch_setup(emu, c, "noop")
        body = {"properties": {"InputData": {"in": {"JobInputType": "UriFolder", "Uri": str(data)}}}}
        job = c.post(uri, json=body).json()
        assert job["properties"]["status"] == "Running"
        time.sleep(0.6)
        assert c.get(emu.arm_url(f"/jobs/{job['name']}")).json()["properties"]["status"] == "Completed"
