"""Every client operation sends the verb and path that mfe.json / machineLearningServices.json define.

Each operation runs against a recording HTTP server; the recorded request is
matched against the OpenAPI path templates and must hit the expected operationId.
"""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_mlendpoints.client.computes import aml_compute_body

WS_TEMPLATE = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}"


def _done(result):
    return result.result() if hasattr(result, "result") and hasattr(result, "continuation_token") else result


#: (operationId, call) for every operation of DESIGN.md section 4.
OPERATIONS = [
    (
        "BatchEndpoints_CreateOrUpdate",
        lambda c: c.batch_endpoints.begin_create_or_update("e", {"location": "l"}),
    ),
    ("BatchEndpoints_Update", lambda c: c.batch_endpoints.begin_update("e", {"tags": {}})),
    ("BatchEndpoints_Get", lambda c: c.batch_endpoints.get("e")),
    ("BatchEndpoints_Delete", lambda c: c.batch_endpoints.begin_delete("e")),
    ("BatchEndpoints_List", lambda c: c.batch_endpoints.list()),
    ("BatchEndpoints_ListKeys", lambda c: c.batch_endpoints.list_keys("e")),
    ("BatchDeployments_CreateOrUpdate", lambda c: c.batch_deployments.begin_create_or_update("e", "d", {})),
    ("BatchDeployments_Update", lambda c: c.batch_deployments.begin_update("e", "d", {"tags": {}})),
    ("BatchDeployments_Get", lambda c: c.batch_deployments.get("e", "d")),
    ("BatchDeployments_Delete", lambda c: c.batch_deployments.begin_delete("e", "d")),
    ("BatchDeployments_List", lambda c: c.batch_deployments.list("e")),
    ("OnlineEndpoints_CreateOrUpdate", lambda c: c.online_endpoints.begin_create_or_update("e", {})),
    ("OnlineEndpoints_Update", lambda c: c.online_endpoints.begin_update("e", {"tags": {}})),
    ("OnlineEndpoints_Get", lambda c: c.online_endpoints.get("e")),
    ("OnlineEndpoints_Delete", lambda c: c.online_endpoints.begin_delete("e")),
    ("OnlineEndpoints_List", lambda c: c.online_endpoints.list()),
    ("OnlineEndpoints_ListKeys", lambda c: c.online_endpoints.list_keys("e")),
    ("OnlineEndpoints_RegenerateKeys", lambda c: c.online_endpoints.begin_regenerate_keys("e", "Secondary")),
    ("OnlineEndpoints_GetToken", lambda c: c.online_endpoints.get_token("e")),
    ("OnlineDeployments_CreateOrUpdate", lambda c: c.online_deployments.begin_create_or_update("e", "d", {})),
    (
        "OnlineDeployments_Update",
        lambda c: c.online_deployments.begin_update("e", "d", {"sku": {"capacity": 2}}),
    ),
    ("OnlineDeployments_Get", lambda c: c.online_deployments.get("e", "d")),
    ("OnlineDeployments_Delete", lambda c: c.online_deployments.begin_delete("e", "d")),
    ("OnlineDeployments_List", lambda c: c.online_deployments.list("e")),
    (
        "OnlineDeployments_GetLogs",
        lambda c: c.online_deployments.get_logs("e", "d", "StorageInitializer", tail=10),
    ),
    ("OnlineDeployments_ListSkus", lambda c: c.online_deployments.list_skus("e", "d")),
    ("Jobs_Get", lambda c: c.jobs.get("j")),
    ("Jobs_List", lambda c: c.jobs.list()),
    ("Jobs_Cancel", lambda c: c.jobs.begin_cancel("j")),
    ("CodeVersions_CreateOrUpdate", lambda c: c.code_versions.create_or_update("n", "1", {"properties": {}})),
    ("CodeVersions_Get", lambda c: c.code_versions.get("n", "1")),
    ("CodeVersions_List", lambda c: c.code_versions.list("n")),
    (
        "ModelVersions_CreateOrUpdate",
        lambda c: c.model_versions.create_or_update("n", "1", {"properties": {}}),
    ),
    ("ModelVersions_Get", lambda c: c.model_versions.get("n", "1")),
    ("ModelVersions_List", lambda c: c.model_versions.list("n")),
    (
        "EnvironmentVersions_CreateOrUpdate",
        lambda c: c.environment_versions.create_or_update("n", "1", {"properties": {}}),
    ),
    ("EnvironmentVersions_Get", lambda c: c.environment_versions.get("n", "1")),
    ("EnvironmentVersions_List", lambda c: c.environment_versions.list("n")),
    ("Datastores_List", lambda c: c.datastores.list()),
    ("Datastores_Get", lambda c: c.datastores.get("s")),
    ("Datastores_ListSecrets", lambda c: c.datastores.list_secrets("s")),
    (
        "Compute_CreateOrUpdate",
        lambda c: c.computes.begin_create_or_update("cpu", aml_compute_body(location="l")),
    ),
    ("Compute_Get", lambda c: c.computes.get("cpu")),
    ("Compute_Delete", lambda c: c.computes.begin_delete("cpu")),
]


def _openapi_table(rest_ref) -> list[tuple[str, re.Pattern[str], str]]:
    table = []
    for doc in ("mfe.json", "machineLearningServices.json"):
        spec = json.loads((rest_ref / doc).read_text())
        for path, ops in spec["paths"].items():
            if not path.startswith(WS_TEMPLATE + "/"):
                continue
            tail = path[len(WS_TEMPLATE) :]
            rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tail)) + "$")
            for verb, op in ops.items():
                if verb != "parameters":
                    table.append((verb.upper(), rx, op["operationId"]))
    return table


@pytest.mark.parametrize("operation_id,call", OPERATIONS, ids=[o for o, _ in OPERATIONS])
def test_operation_matches_openapi(rest_ref, client, fake, operation_id, call):
    _done(call(client))
    first = fake.requests[0]
    prefix = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
    assert first.path.startswith(prefix + "/")
    tail = first.path[len(prefix) :]
    matches = [op for verb, rx, op in _openapi_table(rest_ref) if verb == first.method and rx.match(tail)]
    assert operation_id in matches, f"{first.method} {tail} matched {matches}"
    assert first.query["api-version"] == ["2024-04-01"]


def test_every_design_operation_is_in_the_table():
    ids = {o for o, _ in OPERATIONS}
    assert len(ids) == len(OPERATIONS) == 44
