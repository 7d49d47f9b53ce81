"""Inputs of the invoke operator (local upload, URIs, data assets, blob-URL outputs), the invoke
body, and the base operator's provisioning wait (check first, then defer or poll)."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.operators.batch_invoke import (
    InvokeBatchEndpointOperator,
    build_overrides,
    infer_input_type,
)
from tests.fixtures.workspace import TOY_ENDPOINT


def test_input_type_inference_and_overrides():
    assert infer_input_type("azureml://datastores/ds/paths/in/") == "uri_folder"
    assert infer_input_type("azureml://datastores/ds/paths/in") == "uri_folder"
    assert infer_input_type("https://a.blob.core.windows.net/c/data.csv?sig=x") == "uri_file"
    over = build_overrides(
        {
            "mini_batch_size": "5",
            "instance_count": 2,
            "max_retries": "",
            "timeout": "90",
            "logging_level": "debug",
        },
        "out.csv",
    )
    assert over.to_rest() == {
        "miniBatchSize": 5,
        "compute": {"instanceCount": 2, "isLocal": False},
        "retrySettings": {"timeout": "PT90S"},
        "outputFileName": "out.csv",
        "loggingLevel": "Debug",
    }
    with pytest.raises(ValueError, match="unknown batch invoke override"):
        build_overrides({"mini_batch": 5})
    with pytest.raises(ValueError, match="must be an integer"):
        build_overrides({"mini_batch_size": "ten"})


@pytest.mark.azurite
@pytest.mark.slow
def test_bodies_for_each_input_kind(workspace, tmp_path):
    ws_id = workspace.client.config.workspace_id

    def body(**kwargs):
        op = InvokeBatchEndpointOperator(task_id="t", endpoint_name=TOY_ENDPOINT, **kwargs)
        return op.invoke_body(*op.resolve_input())["properties"]

    props = body(input="azureml:heart-data:3", output_path="azureml://datastores/workspaceblobstore/paths/o")
    assert props["InputData"] == {
        "input_data": {"JobInputType": "UriFolder", "Uri": f"{ws_id}/data/heart-data/versions/3"}
    }
    for version in ("1", "2", "10"):
        workspace.client.data_versions.create_or_update(
            "heart-data", version, {"properties": {"dataType": "uri_folder", "dataUri": "azureml://datastores/workspaceblobstore/paths/in/"}}
        )
    latest = body(input="azureml:heart-data@latest")  # resolved to the newest version, as the SDK does
    assert latest["InputData"]["input_data"]["Uri"] == f"{ws_id}/data/heart-data/versions/10"
    with pytest.raises(Exception, match="by version or @latest only"):
        body(input="azureml:heart-data@stable")
    assert props["OutputData"] == {
        "score": {"JobOutputType": "UriFolder", "Uri": "azureml://datastores/workspaceblobstore/paths/o/"}
    }
    props = body(input="https://example.com/data/file.csv", input_type="uri_file", input_name="x")
    assert props["InputData"] == {
        "x": {"JobInputType": "UriFile", "Uri": "https://example.com/data/file.csv"}
    }
    assert "OutputData" not in props
    blob_url = f"{workspace.azurite.blob_endpoint}/{workspace.container}/some/out"
    props = body(input="azureml://datastores/workspaceblobstore/paths/in/", output_path=blob_url)
    assert props["OutputData"]["score"]["Uri"] == "azureml://datastores/workspaceblobstore/paths/some/out/"
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="neither a datastore"):  # no retry fixes a missing input
        body(input=str(tmp_path / "missing"))


@pytest.mark.azurite
@pytest.mark.slow
def test_local_input_is_uploaded_then_scored(workspace, tmp_path):
    folder = tmp_path / "local-in"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_text(str(i))
    op = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name=TOY_ENDPOINT,
        input=str(folder),
        output_path=workspace.datastore_uri("out/local-input"),
        poll_interval=0.2,
    )
    uri, kind = op.resolve_input()
    assert (
        uri.startswith("azureml://")
        and "/datastores/workspaceblobstore/paths/" in uri
        and kind == "uri_folder"
    )
    job_name = op.submit_job({})
    result = op.poll_until_complete(job_name, {})
    assert result["status"] == "Completed"
    assert workspace.read_blob("out/local-input/predictions.csv").splitlines() == [
        f"pred f{i}.txt {i}" for i in range(3)
    ]


@pytest.mark.azurite
@pytest.mark.slow
def test_base_wait_for_provisioning_checks_first_then_defers_or_polls(workspace):
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_provider_mlendpoints.operators._base import MLEndpointsBaseOperator
    from airflow_provider_mlendpoints.triggers.wait import WaitTrigger

    client = workspace.client
    # already provisioned: returns at once even when deferrable
    op = MLEndpointsBaseOperator(task_id="t", deferrable=True, poll_interval=0.1)
    details = op.wait_for_provisioning("batch_deployment", TOY_ENDPOINT, "ok", method_name="done")
    assert details["name"] == "ok" and details["properties"]["provisioningState"] == "Succeeded"

    body = {"location": "eastus", "properties": {"authMode": "AADToken"}}
    workspace.emu.set_config(provisioning_delay=2.0)  # long enough to be seen Creating twice
    try:
        client.batch_endpoints.begin_create_or_update("wait-base", body)
    finally:
        workspace.emu.set_config(provisioning_delay=0.2)
    with pytest.raises(TaskDeferred) as deferred:
        op.wait_for_provisioning("batch_endpoint", "wait-base", method_name="done")
    trigger = deferred.value.trigger
    assert isinstance(trigger, WaitTrigger) and deferred.value.method_name == "done"
    assert trigger.serialize()[1]["target"] == {
        "until": "provisioned", "kind": "batch_endpoint", "name": "wait-base",
        "deployment_name": None, "operation_url": None, "first_delay": None,
    }  # fmt: skip

    assert (
        client.batch_endpoints.get("wait-base").provisioning_state == "Creating"
    )  # still, for the sync poll
    sync = MLEndpointsBaseOperator(task_id="s", deferrable=False, poll_interval=0.1, timeout=60)
    assert (
        sync.wait_for_provisioning("batch_endpoint", "wait-base", method_name="done")["name"]
        == "wait-base"
    )
    client.batch_endpoints.begin_delete("wait-base").result()
