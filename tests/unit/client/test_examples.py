"""The service's example response bodies parse into the client's resource views."""

from __future__ import annotations

import json

from airflow_provider_mlendpoints.client import resources as r

#: example folder (relative to examples/) -> view class for single-resource bodies.
VIEWS = {
    "Workspace/BatchEndpoint": r.BatchEndpoint,
    "Workspace/BatchDeployment": r.BatchDeployment,
    "Workspace/OnlineEndpoint": r.OnlineEndpoint,
    "OnlineDeployment": r.OnlineDeployment,
    "Workspace/CodeVersion": r.AssetVersion,
    "Workspace/ModelVersion": r.AssetVersion,
    "Workspace/EnvironmentVersion": r.AssetVersion,
    "Datastore": r.Datastore,
    "Compute": r.Compute,
    "Job": r.Job,
}
SPECIAL = {
    "listKeys.json": r.EndpointKeys,
    "getToken.json": r.EndpointToken,
    "listSecrets.json": r.DatastoreSecrets,
    "getLogs.json": r.DeploymentLogs,
    "listSkus.json": r.SkuSetting,
}


def _view_for(rel: str):
    name = rel.rsplit("/", 1)[-1]
    if name in SPECIAL:
        return SPECIAL[name]
    for prefix in sorted(VIEWS, key=len, reverse=True):
        if rel.startswith(prefix + "/"):
            return VIEWS[prefix]
    return None


def test_every_example_response_parses(rest_ref):
    examples = rest_ref / "examples"
    parsed = 0
    for path in sorted(examples.rglob("*.json")):
        rel = path.relative_to(examples).as_posix()
        view = _view_for(rel)
        if view is None:
            continue
        doc = json.loads(path.read_text())
        for _status, response in doc.get("responses", {}).items():
            body = response.get("body")
            if not isinstance(body, dict):
                continue
            items = body["value"] if isinstance(body.get("value"), list) else [body]
            for item in items:
                obj = view.from_rest(item)
                repr(obj)
                if isinstance(obj, r.Resource):
                    assert obj.raw is item
                    assert obj.name == item.get("name")
                    _ = (obj.id, obj.provisioning_state, obj.tags, obj.properties)
                parsed += 1
    assert parsed >= 40


def test_specific_fields(rest_ref):
    ex = rest_ref / "examples"

    def body(rel, status="200"):
        return json.loads((ex / rel).read_text())["responses"][status]["body"]

    ep = r.BatchEndpoint.from_rest(body("Workspace/BatchEndpoint/get.json"))
    assert ep.scoring_uri == "https://www.contoso.com/example" and ep.default_deployment == "string"
    assert ep.auth_mode == "AMLToken"
    dep = r.BatchDeployment.from_rest(body("Workspace/BatchDeployment/get.json"))
    assert dep.model["referenceType"] == "Id"
    online = r.OnlineEndpoint.from_rest(body("Workspace/OnlineEndpoint/get.json"))
    assert isinstance(online.traffic, dict)
    store = r.Datastore.from_rest(body("Datastore/get.json"))
    assert store.account_url == "https://string.blob.core.windows.net" and store.container_name == "string"
    compute = r.Compute.from_rest(body("Compute/get/AmlCompute.json"))
    assert compute.compute_type == "AmlCompute" and compute.scale_settings["maxNodeCount"] == 1
    secrets = r.DatastoreSecrets.from_rest(body("Datastore/listSecrets.json"))
    assert secrets.account_key == "string" and "string" not in repr(secrets)
    keys = r.EndpointKeys.from_rest(body("Workspace/BatchEndpoint/listKeys.json"))
    assert keys.primary_key == "string" and "string" not in repr(keys)
    job = r.Job.from_rest(body("Job/CommandJob/get.json"))
    assert job.status == "NotStarted" and not job.is_terminal


def test_batch_invoke_job_studio_link():
    job = r.Job.from_rest(
        {
            "name": "j",
            "properties": {
                "status": "Completed",
                "interactionEndpoints": {"Studio": {"endpoint": "https://ml.azure.com/runs/j"}},
            },
        }
    )
    assert job.is_terminal and job.studio_url == "https://ml.azure.com/runs/j"
