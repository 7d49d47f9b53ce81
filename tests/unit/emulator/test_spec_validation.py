"""With --spec: every example request passes, responses have the documented shape, bad bodies get 400."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest

from airflow_provider_mlendpoints.emulator.openapi_validation import SpecValidator
from tests.fixtures.emulator import start_emulator
from tests.fixtures.paths import SHARED_REFERENCE

REFERENCE = SHARED_REFERENCE / "azureml-rest-2024-04-01"
WS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}"
RESOURCES = {
    "Compute": "/computes/{computeName}",
    "Datastore": "/datastores/{name}",
    "Job": "/jobs/{id}",
    "OnlineDeployment": "/onlineEndpoints/{endpointName}/deployments/{deploymentName}",
    "BatchDeployment": "/batchEndpoints/{endpointName}/deployments/{deploymentName}",
    "BatchEndpoint": "/batchEndpoints/{endpointName}",
    "OnlineEndpoint": "/onlineEndpoints/{endpointName}",
    "CodeContainer": "/codes/{name}",
    "CodeVersion": "/codes/{name}/versions/{version}",
    "ModelContainer": "/models/{name}",
    "ModelVersion": "/models/{name}/versions/{version}",
    "EnvironmentContainer": "/environments/{name}",
    "EnvironmentVersion": "/environments/{name}/versions/{version}",
}
OPERATIONS = {  # file stem -> (method, suffix); "list" drops the last segment
    "createOrUpdate": ("PUT", ""),
    "get": ("GET", ""),
    "delete": ("DELETE", ""),
    "update": ("PATCH", ""),
    "list": ("GET", None),
    "listKeys": ("POST", "/listKeys"),
    "listSecrets": ("POST", "/listSecrets"),
    "cancel": ("POST", "/cancel"),
    "listSkus": ("GET", "/skus"),
    "getLogs": ("POST", "/getLogs"),
    "getToken": ("POST", "/token"),
    "regenerateKeys": ("POST", "/regenerateKeys"),
    "createOrGetStartPendingUpload": ("POST", "/startPendingUpload"),
}
ORDER = {"PUT": 0, "PATCH": 1, "POST": 2, "GET": 3, "DELETE": 4}
KIND_ORDER = ["Container", "Version", "Compute", "Datastore", "BatchEndpoint", "OnlineEndpoint", "Deployment", "Job"]


def _example_requests() -> list[tuple[str, str, str, dict | None]]:
    """(example name, method, path with ?api-version, body) for every example, creates first."""
    out = []
    for path in sorted((REFERENCE / "examples").rglob("*.json")):
        rel = path.relative_to(REFERENCE / "examples")
        folder = rel.parts[1] if rel.parts[0] == "Workspace" else rel.parts[0]
        operation = path.stem if path.stem in OPERATIONS else path.parent.name  # Compute/<op>/<Example>.json
        method, suffix = OPERATIONS[operation]
        template = RESOURCES[folder]
        if folder == "BatchEndpoint" and operation == "listKeys":
            suffix = "/listkeys"  # the document spells the batch action in lower case
        template = template.rsplit("/", 1)[0] if suffix is None else template + suffix
        example = json.loads(path.read_text())
        params = example["parameters"]
        url = WS + template
        for name, value in params.items():
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        body = params.get("body", params.get("parameters"))
        out.append((str(rel), method, url + "?api-version=" + params["api-version"], body))
    rank = {k: i for i, k in enumerate(KIND_ORDER)}

    def order(item):
        kind = next((i for k, i in rank.items() if k in item[0]), len(rank))
        return (ORDER[item[1]], kind, item[0])

    return sorted(out, key=order)


@pytest.fixture(scope="module")
def spec_emulator(tmp_path_factory):
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not beside this checkout")
    with start_emulator(spec=REFERENCE, provisioning_delay=0, log_dir=tmp_path_factory.mktemp("spec-emu")) as emu:
        yield emu


@pytest.fixture(scope="module")
def validator():
    return SpecValidator.load(REFERENCE)


def test_every_example_request_is_accepted_and_answers_the_documented_shape(spec_emulator, validator):
    emu = spec_emulator
    problems = []
    with emu.client() as c:
        for name, method, url, body in _example_requests():
            response = c.request(method, url, json=body) if body is not None else c.request(method, url)
            if response.status_code == 400:
                problems.append(f"{name}: {method} -> 400 {response.text[:300]}")
                continue
            if response.status_code >= 500:
                problems.append(f"{name}: {method} -> {response.status_code} {response.text[:300]}")
                continue
            if response.status_code in (200, 201) and response.content:
                path = httpx.URL(url).path
                for problem in validator.validate_response(method, path, response.status_code, response.json()):
                    problems.append(f"{name}: response {response.status_code}: {problem['message']}")
    assert not problems, "\n".join(problems)


def test_examples_are_valid_offline(validator):
    problems = []
    for name, method, url, body in _example_requests():
        if body is not None:
            for problem in validator.validate_request(method, httpx.URL(url).path, body):
                problems.append(f"{name}: {problem['message']}")
    assert not problems, "\n".join(problems)


def test_invalid_body_is_a_400_naming_the_property(spec_emulator):
    emu = spec_emulator
    with emu.client() as c:
        c.put(emu.arm_url("/batchEndpoints/ep-v"), json={"location": "eastus", "properties": {"authMode": "AADToken"}}).raise_for_status()
        response = c.put(
            emu.arm_url("/batchEndpoints/ep-v/deployments/d"),
            json={"location": "eastus", "properties": {"miniBatchSize": "ten"}},
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "UserError"
        assert "property 'properties.miniBatchSize'" in error["message"]
        assert error["details"][0]["target"] == "properties.miniBatchSize"

        unknown = c.put(emu.arm_url("/batchEndpoints/ep-v"), json={"location": "eastus", "properties": {"authMode": "AADToken", "trafic": {}}})
        assert unknown.status_code == 400 and "trafic" in unknown.json()["error"]["message"]

        enum = c.put(emu.arm_url("/batchEndpoints/ep-v"), json={"location": "eastus", "properties": {"authMode": "Password"}})
        assert enum.status_code == 400 and "properties.authMode" in enum.json()["error"]["message"]

        missing = c.put(emu.arm_url("/onlineEndpoints/oe-o"), json={"location": "eastus", "properties": {}})
        assert missing.status_code == 400 and "authMode" in missing.json()["error"]["message"]

        # Discriminated subtypes are validated by their discriminator value.
        bad_sub = c.put(
            emu.arm_url("/onlineEndpoints/oe-v2/deployments/d"),
            json={"location": "eastus", "properties": {"endpointComputeType": "Managed", "instanceType": {"size": 3}}},
        )
        assert bad_sub.status_code == 400 and "properties.instanceType" in bad_sub.json()["error"]["message"]

        # What the service's binding takes is not refused: an enum value in another letter case.
        lenient = c.put(emu.arm_url("/batchEndpoints/be-v3"), json={"location": "eastus", "properties": {"authMode": "aadToken"}})
        assert lenient.status_code in (200, 201), lenient.text


def test_responses_of_a_populated_workspace_have_the_documented_shape(emulator_clean, validator):
    from .helpers import put_and_wait

    emu = emulator_clean
    problems = []
    with emu.client() as c:
        put_and_wait(c, emu.arm_url("/batchEndpoints/ep-e"), {"location": "x", "properties": {"authMode": "AADToken"}})
        put_and_wait(c, emu.arm_url("/batchEndpoints/ep-e/deployments/d"), {"location": "x", "properties": {}})
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-o"), {"location": "x", "properties": {"authMode": "Key", "keys": {"primaryKey": "p"}}})
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-o/deployments/d"), {"location": "x", "properties": {"endpointComputeType": "Managed"}})
        put_and_wait(c, emu.arm_url("/computes/c"), {"location": "x", "properties": {"computeType": "AmlCompute", "properties": {"vmSize": "S"}}})
        for rel, body in (("/codes/k/versions/1", {"codeUri": "/x"}), ("/models/m/versions/1", {"modelUri": "/x"}),
                          ("/environments/en/versions/1", {"image": "img"})):
            response = c.put(emu.arm_url(rel), json={"properties": body})
            problems += validator.validate_response("PUT", httpx.URL(emu.arm_url(rel)).path, response.status_code, response.json())
        calls = [("GET", rel, None) for rel in (
            "", "/batchEndpoints", "/batchEndpoints/ep-e", "/batchEndpoints/ep-e/deployments", "/onlineEndpoints",
            "/onlineEndpoints/oe-o", "/onlineEndpoints/oe-o/deployments", "/onlineEndpoints/oe-o/deployments/d",
            "/onlineEndpoints/oe-o/deployments/d/skus", "/computes/c", "/computes", "/datastores",
            "/datastores/workspaceblobstore", "/codes", "/codes/k", "/codes/k/versions", "/models/m/versions/1",
            "/environments/en/versions/1", "/jobs",
        )] + [("POST", rel, None) for rel in (
            "/batchEndpoints/ep-e/listkeys", "/onlineEndpoints/oe-o/listKeys", "/onlineEndpoints/oe-o/token",
            "/datastores/workspaceblobstore/listSecrets",
        )] + [("POST", "/onlineEndpoints/oe-o/deployments/d/getLogs", {"tail": 3})]
        for method, rel, body in calls:
            url = emu.arm_url(rel)
            response = c.request(method, url, json=body)
            assert response.status_code == 200, (method, rel, response.text)
            for problem in validator.validate_response(method, httpx.URL(url).path, 200, response.json()):
                problems.append(f"{method} {rel or '(workspace)'}: {problem['message']}")
    assert not problems, "\n".join(map(str, problems))


def test_spec_validation_is_never_stricter_than_the_service(spec_emulator):
    """What the service takes (modelAsString enums in any case, numbers as strings, trailing
    commas, property names in another case) passes ``--spec``; a value outside the enum does not."""
    emu = spec_emulator
    ws = emu.workspace_path
    with emu.client() as c:
        online = c.put(
            emu.arm_url("/onlineEndpoints/endpt-spec"),
            content='{"identity": {"type": "systemAssigned"}, "location": "eastus",'
            ' "properties": {"authMode": "aadToken", "publicNetworkAccess": "disabled",},}',
            headers={"Content-Type": "application/json"},
        )
        assert online.status_code in (200, 201), online.text
        assert online.json()["properties"]["authMode"] == "AADToken"
        assert online.json()["properties"]["publicNetworkAccess"] == "Disabled"
        c.put(emu.arm_url("/batchEndpoints/endpt-spec"), json={"location": "eastus", "properties": {"authMode": "aadToken"}}).raise_for_status()
        c.put(emu.arm_url("/codes/spec-code/versions/1"), json={"properties": {"codeUri": "https://a.blob.core.windows.net/c/score"}}).raise_for_status()
        deployment = c.put(
            emu.arm_url("/batchEndpoints/endpt-spec/deployments/spec-dep"),
            json={
                "location": "eastus",
                "Properties": {
                    "codeConfiguration": {"codeId": f"{ws}/codes/spec-code/versions/1", "scoringScript": "score.py"},
                    "maxConcurrencyPerInstance": "4",
                    "errorThreshold": "10",
                    "loggingLevel": "info",
                    "miniBatchSize": "5",
                    "outputAction": "appendRow",
                },
            },
        )
        assert deployment.status_code in (200, 201), deployment.text
        props = deployment.json()["properties"]
        assert (props["maxConcurrencyPerInstance"], props["miniBatchSize"], props["loggingLevel"]) == (4, 5, "Info")
        wrong = c.put(emu.arm_url("/batchEndpoints/endpt-spec"), json={"location": "eastus", "properties": {"authMode": "Password"}})
        assert wrong.status_code == 400 and "properties.authMode" in wrong.json()["error"]["message"]
