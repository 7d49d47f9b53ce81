"""The emulator reads bodies as leniently as the service, and refuses what the service refuses.

Trailing commas, raw control characters in strings, property names and enum values in any
case, numbers as numeric strings: taken (Microsoft's REST walkthroughs send all of these).
NaN, too deep nesting, oversized bodies and names Azure rejects: refused, with nothing stored.
"""

from __future__ import annotations

import json

import httpx
import pytest

from airflow_provider_mlendpoints.emulator import jsonread
from airflow_provider_mlendpoints.emulator.binding import Binder
from airflow_provider_mlendpoints.emulator.names import name_problem

from .helpers import wait_async


def test_reader_takes_trailing_commas_and_raw_control_characters():
    raw = b'{"properties": {"condaFile": "name: env\n\tdependencies:\n  - python=3.10\n", "miniBatchSize": "5",},}'
    body = jsonread.loads(raw)
    assert body == {"properties": {"condaFile": "name: env\n\tdependencies:\n  - python=3.10\n", "miniBatchSize": "5"}}
    # commas inside strings are data, not syntax
    assert jsonread.loads('["a,]", "b,}",]') == ["a,]", "b,}"]
    assert jsonread.loads(b"\xef\xbb\xbf{}") == {}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"a": NaN}', "'NaN' is not a JSON number"),
        ('{"a": -Infinity}', "'-Infinity' is not a JSON number"),
        ('{"a": 1e999}', "out of range"),
        ("[" * 65 + "]" * 65, "nests deeper than 64"),
        ('{"a": 1', "not valid JSON"),
        ("{'a': 1}", "not valid JSON"),
    ],
)
def test_reader_refuses_what_the_service_refuses(raw, fragment):
    with pytest.raises(jsonread.JsonReadError, match="not valid JSON") as info:
        jsonread.loads(raw)
    assert fragment in str(info.value)


def test_binding_names_enums_and_numbers_but_not_user_maps():
    bound = Binder().bind(
        {
            "Identity": {"Type": "systemAssigned"},
            "PROPERTIES": {
                "AuthMode": "aadToken",
                "loggingLevel": "info",
                "publicNetworkAccess": "disabled",
                "maxConcurrencyPerInstance": "4",
                "MiniBatchSize": " 5 ",
                "errorThreshold": "-1",
                "description": "4",
                "environmentVariables": {"Path": "x", "MODE": "info"},
                "traffic": {"Blue": "100"},
                "properties": {"Description": "user's own", "authMode": "aadToken"},
            },
            "tags": {"AuthMode": "kept"},
        }
    )
    props = bound["properties"]
    assert bound["identity"] == {"type": "SystemAssigned"}
    assert props["authMode"] == "AADToken" and props["loggingLevel"] == "Info"
    assert props["publicNetworkAccess"] == "Disabled"
    assert (props["maxConcurrencyPerInstance"], props["miniBatchSize"], props["errorThreshold"]) == (4, 5, -1)
    assert props["description"] == "4"  # a string property stays a string
    assert props["environmentVariables"] == {"Path": "x", "MODE": "info"}
    assert props["traffic"] == {"Blue": 100}
    assert props["properties"] == {"Description": "user's own", "authMode": "aadToken"}
    assert bound["tags"] == {"AuthMode": "kept"}


def test_compute_inner_properties_are_settings():
    bound = Binder().bind(
        {"properties": {"ComputeType": "amlCompute", "properties": {"VmSize": "STANDARD_D2_V2", "scaleSettings": {"maxNodeCount": "5"}}}},
        structured_inner_properties=True,
    )
    assert bound["properties"]["computeType"] == "AmlCompute"
    assert bound["properties"]["properties"] == {"vmSize": "STANDARD_D2_V2", "scaleSettings": {"maxNodeCount": 5}}


@pytest.mark.parametrize(
    ("relative", "bad"),
    [
        ("/batchEndpoints/ab", True),  # too short
        ("/onlineEndpoints/1abc", True),  # starts with a digit
        ("/onlineEndpoints/ab_c", True),
        ("/onlineEndpoints/abc-", True),
        ("/onlineEndpoints/" + "a" * 33, True),
        ("/onlineEndpoints/endpt-rest-123", False),
        ("/batchEndpoints/endpt-1/deployments/nonmlflowedp", False),
        ("/batchEndpoints/endpt-1/deployments/ok", False),
        ("/batchEndpoints/endpt-1/deployments/blue_1", True),
        ("/codes/score-sklearn/versions/1", False),
        ("/codes/-x/versions/1", True),
        ("/environments/env/versions/1.0.3", False),
        ("/computes/batch-cluster", False),
        ("/computes/bad name", True),
    ],
)
def test_name_rules(relative, bad):
    path = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w" + relative
    assert (name_problem(path) is not None) is bad


def _put_raw(c: httpx.Client, url: str, raw: str | bytes) -> httpx.Response:
    return c.put(url, content=raw, headers={"Content-Type": "application/json"})


def test_walkthrough_bodies_are_taken_and_bound(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        conda = "name: model-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n"
        env = _put_raw(
            c,
            emu.arm_url("/environments/sklearn-env/versions/7"),
            '{\n  "properties": {\n    "condaFile": "' + conda + '",\n    "image": "mcr.microsoft.com/azureml/base:latest",\n  },\n}',
        )
        assert env.status_code in (200, 201), env.text
        assert env.json()["properties"]["condaFile"] == conda

        created = _put_raw(
            c,
            emu.arm_url("/batchEndpoints/endpt-lenient"),
            '{"Properties": {"authMode": "aadToken",}, "location": "eastus",}',
        )
        assert created.status_code == 201, created.text
        assert wait_async(c, created.headers["Azure-AsyncOperation"])["status"] == "Succeeded"
        stored = c.get(emu.arm_url("/batchEndpoints/endpt-lenient")).json()
        assert stored["properties"]["authMode"] == "AADToken"


@pytest.mark.parametrize(
    "raw",
    ['{"location": "eastus", "properties": {"description": NaN}}', '{"properties": ' * 70 + "{}" + "}" * 70],
)
def test_nan_and_deep_bodies_are_400_and_nothing_is_stored(emulator_clean, raw):
    emu = emulator_clean
    with emu.client() as c:
        response = _put_raw(c, emu.arm_url("/batchEndpoints/endpt-nan"), raw)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BadRequest"
        assert "not valid JSON" in response.json()["error"]["message"]
        assert c.get(emu.arm_url("/batchEndpoints/endpt-nan")).status_code == 404
        listed = c.get(emu.arm_url("/batchEndpoints"))
        assert listed.status_code == 200 and listed.json()["value"] == []


def test_oversized_body_is_413_and_nothing_is_stored(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        big = json.dumps({"location": "eastus", "properties": {"description": "x" * (5 * 1024 * 1024)}})
        response = _put_raw(c, emu.arm_url("/batchEndpoints/endpt-big"), big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "RequestEntityTooLarge"
        assert c.get(emu.arm_url("/batchEndpoints/endpt-big")).status_code == 404


def test_names_azure_rejects_are_400_and_nothing_is_stored(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        response = c.put(emu.arm_url("/onlineEndpoints/my_endpoint"), json={"location": "eastus", "properties": {"authMode": "Key"}})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "UserError" and "'my_endpoint'" in error["message"] and "3 to 32" in error["message"]
        assert c.get(emu.arm_url("/onlineEndpoints")).json()["value"] == []
