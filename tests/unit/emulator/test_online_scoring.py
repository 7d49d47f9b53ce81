"""Online scoring: scoring script processes, traffic split, deployment header, keys/tokens, getLogs."""

from __future__ import annotations

import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .helpers import put_and_wait

SCRIPT = textwrap.dedent(
    """
    import json, logging, os, time

    def init():
        global factor
        with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "factor.txt")) as f:
            factor = int(f.read())
        print(f"init called in {os.environ['COLOR']}")

    def run(raw_data):
        data = json.loads(raw_data)["data"]
        if data == "sleep":
            time.sleep(3)
            return {"deployment": os.environ["COLOR"], "slept": True}
        if data == "boom":
            raise RuntimeError("cannot score boom")
        logging.info("scored %d rows", len(data))
        return {"deployment": os.environ["COLOR"], "result": [x * factor for x in data]}
    """
)


@pytest.fixture
def online(emulator_clean, tmp_path):
    emu = emulator_clean
    code, model = tmp_path / "code", tmp_path / "model"
    code.mkdir()
    model.mkdir()
    (code / "score.py").write_text(SCRIPT)
    (model / "factor.txt").write_text("3")
    with emu.client() as c:
        c.put(emu.arm_url("/codes/s/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        c.put(emu.arm_url("/models/f/versions/1"), json={"properties": {"modelUri": str(model)}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
        for color in ("blue", "green"):
            dep = put_and_wait(
                c,
                emu.arm_url(f"/onlineEndpoints/oe-1/deployments/{color}"),
                {
                    "location": "eastus",
                    "properties": {
                        "endpointComputeType": "Managed",
                        "model": "azureml:f:1",
                        "codeConfiguration": {"codeId": "azureml:s:1", "scoringScript": "score.py"},
                        "environmentVariables": {"COLOR": color},
                    },
                },
            )
            assert dep["properties"]["provisioningState"] == "Succeeded"
        endpoint = put_and_wait(
            c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"blue": 75, "green": 25}}}
        )
        keys = c.post(emu.arm_url("/onlineEndpoints/oe-1/listKeys")).json()
    return emu, endpoint["properties"]["scoringUri"], keys


def test_saturation_429_and_request_timeout_408(online):
    emu, uri, keys = online
    with emu.client() as c:
        put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/oe-1/deployments/tight"),
            {
                "location": "eastus",
                "properties": {
                    "endpointComputeType": "Managed",
                    "model": "azureml:f:1",
                    "codeConfiguration": {"codeId": "azureml:s:1", "scoringScript": "score.py"},
                    "environmentVariables": {"COLOR": "tight"},
                    "requestSettings": {"maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.1S", "requestTimeout": "PT1S"},
                },
            },
        )
    headers = {"Authorization": f"Bearer {keys['primaryKey']}", "azureml-model-deployment": "tight"}
    assert httpx.post(uri, json={"data": [1]}, headers=headers, timeout=60).status_code == 200  # process started
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: httpx.post(uri, json={"data": "sleep"}, headers=headers, timeout=60), range(3)))
    codes = sorted(a.status_code for a in answers)
    assert 429 in codes and 408 in codes, codes
    throttled = next(a for a in answers if a.status_code == 429)
    assert throttled.headers["Retry-After"] == "1" and throttled.json()["error"]["code"] == "TooManyRequests"
    # the timed-out process was replaced: the next request works again
    assert httpx.post(uri, json={"data": [2]}, headers=headers, timeout=60).json()["result"] == [6]


def test_scoring_with_traffic_split_and_header(online):
    emu, uri, keys = online
    emu.set_config(traffic_seed=7)
    auth = {"Authorization": f"Bearer {keys['primaryKey']}"}
    seen = Counter()
    with httpx.Client(timeout=60) as c:
        for _ in range(80):
            response = c.post(uri, json={"data": [1, 2]}, headers=auth)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["result"] == [3, 6]
            assert response.headers["azureml-model-deployment"] == body["deployment"]
            seen[body["deployment"]] += 1
        assert 40 <= seen["blue"] <= 75 and 5 <= seen["green"] <= 40, seen
        for _ in range(5):
            pinned = c.post(uri, json={"data": [1]}, headers={**auth, "azureml-model-deployment": "green"})
            assert pinned.json()["deployment"] == "green"


def test_traffic_choice_is_deterministic_with_a_seed(online):
    emu, uri, keys = online
    auth = {"Authorization": f"Bearer {keys['secondaryKey']}"}

    def sequence() -> list[str]:
        emu.set_config(traffic_seed=42)
        return [httpx.post(uri, json={"data": [1]}, headers=auth, timeout=60).json()["deployment"] for _ in range(12)]

    assert sequence() == sequence()


def test_auth_token_errors_and_logs(online):
    emu, uri, keys = online
    assert httpx.post(uri, json={"data": [1]}).status_code == 401
    assert httpx.post(uri, json={"data": [1]}, headers={"Authorization": "Bearer nope"}).status_code == 401
    with emu.client() as c:
        token = c.post(emu.arm_url("/onlineEndpoints/oe-1/token")).json()["accessToken"]
    ok = httpx.post(uri, json={"data": [5]}, headers={"Authorization": f"Bearer {token}", "azureml-model-deployment": "blue"}, timeout=60)
    assert ok.status_code == 200 and ok.json() == {"deployment": "blue", "result": [15]}
    failed = httpx.post(uri, json={"data": "boom"}, headers={"Authorization": f"Bearer {token}", "azureml-model-deployment": "blue"}, timeout=60)
    # Managed online endpoints answer 424 when the model fails, naming the scoring server's status.
    assert failed.status_code == 424 and "cannot score boom" in failed.text
    assert failed.headers["ms-azureml-model-error-statuscode"] == "500"
    assert failed.headers["ms-azureml-model-error-reason"] == "model_error"
    with emu.client() as c:
        logs = c.post(emu.arm_url("/onlineEndpoints/oe-1/deployments/blue/getLogs"), json={"containerType": "InferenceServer", "tail": 50}).json()
        assert "init called in blue" in logs["content"]
        assert "scored 1 rows" in logs["content"]
        assert "cannot score boom" in logs["content"]
        tail = c.post(emu.arm_url("/onlineEndpoints/oe-1/deployments/blue/getLogs"), json={"tail": 1}).json()["content"]
        assert len(tail.strip().splitlines()) == 1
        missing = httpx.post(uri.replace("/oe-1/", "/nope/"), json={}, headers={"Authorization": f"Bearer {token}"})
        assert missing.status_code == 404


def _scored_lines(client: httpx.Client, emu, deployment: str) -> int:
    logs = client.post(
        emu.arm_url(f"/onlineEndpoints/oe-1/deployments/{deployment}/getLogs"), json={"containerType": "InferenceServer"}
    ).json()["content"]
    return sum("scored 1 rows" in line for line in logs.splitlines())


def _settled_count(client: httpx.Client, emu, deployment: str, timeout: float = 60) -> int:
    """The deployment's count of scored requests once it stopped growing for 2 s."""
    deadline = time.monotonic() + timeout
    last, since = _scored_lines(client, emu, deployment), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = _scored_lines(client, emu, deployment)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 2:
            break
    return last


def test_mirror_traffic_copies_requests_to_the_shadow_deployment(online):
    emu, uri, keys = online
    auth = {"Authorization": f"Bearer {keys['primaryKey']}"}
    with emu.client() as c:
        put_and_wait(
            c,
            emu.arm_url("/onlineEndpoints/oe-1"),
            {"location": "eastus", "properties": {"authMode": "Key", "traffic": {"blue": 100}, "mirrorTraffic": {"green": 50}}},
        )
        green_before = _settled_count(c, emu, "green")

        def mirrored_copies() -> int:
            """Green's share of 20 live requests (every answer comes from blue)."""
            start = _settled_count(c, emu, "green")
            for _ in range(20):
                response = httpx.post(uri, json={"data": [1]}, headers=auth, timeout=60)
                assert response.status_code == 200 and response.json()["deployment"] == "blue", response.text
                assert response.headers["azureml-model-deployment"] == "blue"
            return _settled_count(c, emu, "green") - start

        emu.set_config(traffic_seed=11)
        first = mirrored_copies()
        assert 3 <= first <= 17, first  # about half, and the caller never saw green's answers
        emu.set_config(traffic_seed=11)
        assert mirrored_copies() == first  # deterministic with the traffic seed

        # a request pinned to a deployment with the header is not mirrored (as on Azure)
        pinned_start = _settled_count(c, emu, "green")
        for _ in range(6):
            pinned = httpx.post(uri, json={"data": [1]}, headers={**auth, "azureml-model-deployment": "blue"}, timeout=60)
            assert pinned.json()["deployment"] == "blue"
        assert _settled_count(c, emu, "green") == pinned_start
        assert green_before <= pinned_start
