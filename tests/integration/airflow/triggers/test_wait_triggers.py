"""Triggers: serialize round-trip, one event per terminal state on the real emulator, on_kill."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest

from airflow_provider_mlendpoints.client import batch_invoke_body
from airflow_provider_mlendpoints.triggers.batch_job import BatchJobTrigger
from airflow_provider_mlendpoints.triggers.provisioning import ProvisioningStateTrigger
from tests.fixtures.workspace import CONN_ID, TOY_ENDPOINT

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


def _rebuild(trigger):
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # JSON-serializable, as the triggerer stores it
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return cls(**json.loads(json.dumps(kwargs)))


def _events(trigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_serialize_round_trip():
    job = BatchJobTrigger(ml_endpoints_conn_id="c", job_name="j", poll_interval=0.5, timeout=30, cancel_on_kill=False)
    again = _rebuild(job)
    assert again.serialize() == job.serialize()
    assert job.serialize()[0] == "airflow_provider_mlendpoints.triggers.wait.WaitTrigger"

    prov = ProvisioningStateTrigger(
        ml_endpoints_conn_id="c", resource="online_deployment", endpoint_name="e", deployment_name="d"
    )
    assert _rebuild(prov).serialize() == prov.serialize()
    with pytest.raises(ValueError, match="deployment_name"):
        ProvisioningStateTrigger(ml_endpoints_conn_id="c", resource="batch_deployment", endpoint_name="e")
    with pytest.raises(ValueError, match="resource must be"):
        ProvisioningStateTrigger(ml_endpoints_conn_id="c", resource="workspace", endpoint_name="e")


def _invoke(workspace, deployment: str | None = None) -> str:
    prefix = workspace.upload_inputs(2)
    body = batch_invoke_body({"input_data": workspace.datastore_uri(prefix + "/")})
    return workspace.client.invoke_batch_endpoint(TOY_ENDPOINT, body, deployment_name=deployment).name


def test_job_trigger_success_failure_and_timeout(workspace):
    ok = _invoke(workspace)
    failing = _invoke(workspace, "failing")
    slow = _invoke(workspace, "slow")
    try:
        (event,) = _events(_rebuild(BatchJobTrigger(CONN_ID, ok, poll_interval=0.2)))
        assert event["status"] == "success" and event["job_status"] == "Completed"
        assert "/studio/subscriptions/" in event["studio_url"] and event["studio_url"].endswith("/jobs/" + ok)

        (event,) = _events(BatchJobTrigger(CONN_ID, failing, poll_interval=0.2))
        assert event["status"] == "failed" and event["job_status"] == "Failed"
        assert "batch scoring job failed: 2 failed items exceed" in event["message"]
        assert event["studio_url"].endswith("/jobs/" + failing)  # the emulator's own page

        (event,) = _events(BatchJobTrigger(CONN_ID, slow, poll_interval=0.2, timeout=1))
        assert event["status"] == "timeout" and event["job_status"] not in ("Completed", "Failed", "Canceled")
    finally:
        workspace.client.jobs.begin_cancel(slow)
    assert workspace.wait_job(slow, 60).status == "Canceled"

    (event,) = _events(BatchJobTrigger(CONN_ID, slow, poll_interval=0.2))
    assert event["status"] == "canceled" and event["job_status"] == "Canceled"

    (event,) = _events(BatchJobTrigger(CONN_ID, "no-such-job", poll_interval=0.2))
    assert event["status"] == "error" and "no-such-job" in event["message"]


def test_job_trigger_on_kill_cancels_the_job(workspace):
    slow = _invoke(workspace, "slow")
    asyncio.run(BatchJobTrigger(CONN_ID, slow, poll_interval=0.2).on_kill())
    assert workspace.wait_job(slow, 60).status == "Canceled"
    # cancel_on_kill=False leaves the job alone
    other = _invoke(workspace, "slow")
    asyncio.run(BatchJobTrigger(CONN_ID, other, cancel_on_kill=False).on_kill())
    time.sleep(0.5)
    assert workspace.client.jobs.get(other).status not in ("Canceled", "CancelRequested")
    workspace.client.jobs.begin_cancel(other)
    workspace.wait_job(other, 60)


def test_provisioning_trigger_events(workspace):
    client = workspace.client
    client.batch_endpoints.begin_create_or_update(
        "prov-trigger", {"location": "eastus", "properties": {"authMode": "AADToken"}}
    )
    assert client.batch_endpoints.get("prov-trigger").provisioning_state != "Succeeded"
    (event,) = _events(
        _rebuild(ProvisioningStateTrigger(CONN_ID, "batch_endpoint", "prov-trigger", poll_interval=0.1))
    )
    assert event["status"] == "success" and event["provisioning_state"] == "Succeeded"
    assert event["details"]["name"] == "prov-trigger"
    assert "/studio/subscriptions/" in event["studio_url"]
    assert event["studio_url"].endswith("/batchEndpoints/prov-trigger")

    (event,) = _events(
        ProvisioningStateTrigger(CONN_ID, "batch_deployment", TOY_ENDPOINT, "ok", poll_interval=0.1)
    )
    assert event["status"] == "success" and event["details"]["name"] == "ok"

    (event,) = _events(ProvisioningStateTrigger(CONN_ID, "online_endpoint", "missing-ep", poll_interval=0.1))
    assert event["status"] == "error" and "missing-ep" in event["message"]
    client.batch_endpoints.begin_delete("prov-trigger").result()


def test_serialize_round_trip_compute_and_deleted_mode():
    compute = ProvisioningStateTrigger(ml_endpoints_conn_id="c", resource="compute", endpoint_name="cpu-cluster")
    classpath, kwargs = compute.serialize()
    assert kwargs["target"]["kind"] == "compute" and kwargs["target"]["until"] == "provisioned"
    assert _rebuild(compute).serialize() == compute.serialize()

    deleting = ProvisioningStateTrigger(
        ml_endpoints_conn_id="c",
        resource="batch_deployment",
        endpoint_name="e",
        deployment_name="d",
        wait_for="deleted",
        operation_url="https://management.example/operations/1",
    )
    again = _rebuild(deleting)
    assert again.serialize() == deleting.serialize()
    assert again.wait_for == "deleted" and again.operation_url.endswith("/operations/1")

    with pytest.raises(ValueError, match="wait_for must be"):
        ProvisioningStateTrigger(ml_endpoints_conn_id="c", resource="compute", endpoint_name="x", wait_for="gone")


def test_provisioning_trigger_compute(workspace):
    from airflow_provider_mlendpoints.client.computes import aml_compute_body

    client = workspace.client
    client.computes.start_create_or_update("trig-cluster", aml_compute_body(location="eastus", max_nodes=2))
    (event,) = _events(
        _rebuild(ProvisioningStateTrigger(CONN_ID, "compute", "trig-cluster", poll_interval=0.1))
    )
    assert event["status"] == "success" and event["provisioning_state"] == "Succeeded"
    assert event["resource"] == "compute" and event["details"]["name"] == "trig-cluster"
    assert event["studio_url"].endswith("/computes/trig-cluster")
    assert "compute 'trig-cluster'" in event["message"]

    (event,) = _events(ProvisioningStateTrigger(CONN_ID, "compute", "no-cluster", poll_interval=0.1))
    assert event["status"] == "error" and "no-cluster" in event["message"]


def test_provisioning_trigger_deleted_mode(workspace):
    client = workspace.client
    client.batch_endpoints.begin_create_or_update(
        "del-trigger", {"location": "eastus", "properties": {"authMode": "AADToken"}}
    ).result()
    handle = client.batch_endpoints.start_delete("del-trigger")
    assert client.batch_endpoints.get("del-trigger").provisioning_state == "Deleting"
    trigger = ProvisioningStateTrigger(
        CONN_ID,
        "batch_endpoint",
        "del-trigger",
        poll_interval=0.1,
        wait_for="deleted",
        operation_url=handle.polling_url,
    )
    (event,) = _events(_rebuild(trigger))
    assert event["status"] == "success" and event["deleted"] is True
    assert event["message"] == "batch endpoint 'del-trigger' deleted"

    # Already gone: a 404 at the first poll is the same success (in "provisioned" mode an error).
    (event,) = _events(
        ProvisioningStateTrigger(
            CONN_ID, "online_endpoint", "never-there", poll_interval=0.1, wait_for="deleted"
        )
    )
    assert event["status"] == "success" and event["deleted"] is True
