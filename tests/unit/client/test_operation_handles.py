"""The poller-free client API against the real emulator: ``start_create_or_update`` / ``start_delete``
(an :class:`OperationHandle`, no polling thread), ``workspace.get`` / ``get_location`` and
``operations.get_status`` (an :class:`OperationStatus` with the service's failure reason); sync and
async clients.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest

from airflow_provider_mlendpoints.client import (
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    MLEndpointsClient,
    NotFoundError,
    OperationHandle,
    OperationStatus,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
)
from airflow_provider_mlendpoints.client.computes import aml_compute_body
from airflow_provider_mlendpoints.specs import load_spec
from airflow_provider_mlendpoints.specs.model import OnlineDeploymentSpec, OnlineEndpointSpec

pytestmark = pytest.mark.slow


def _config(emu: Any) -> WorkspaceConfig:
    return WorkspaceConfig(
        emu.subscription,
        emu.resource_group,
        emu.workspace,
        management_url=emu.base_url,
        retry=RetrySettings(retry_total=2, backoff_factor=0.05, backoff_max=0.2, max_retry_after=1),
        polling_interval=0.1,
        max_polling_interval=0.3,
    )


@pytest.fixture
def client(emulator_clean: Any) -> Any:
    with MLEndpointsClient(_config(emulator_clean), StaticTokenCredential(emulator_clean.token)) as c:
        yield c


def _wait_state(fetch: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        if obj.provisioning_state in ("Succeeded", "Failed", "Canceled") or time.monotonic() > deadline:
            return obj
        time.sleep(0.1)


def _wait_status(client: Any, url: str, timeout: float = 60) -> OperationStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = client.operations.get_status(url)
        if status.done or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_workspace_location(client, emulator_clean):
    workspace = client.workspace.get()
    assert workspace.name == emulator_clean.workspace
    assert workspace.location and client.workspace.get_location() == workspace.location


def test_start_create_or_update_and_delete_return_handles_without_polling(client):
    name = f"oe-{uuid.uuid4().hex[:8]}"
    threads_before = set(threading.enumerate())
    body = OnlineEndpointSpec(name=name).to_rest(client.workspace.get_location())
    handle = client.online_endpoints.start_create_or_update(name, body)
    assert isinstance(handle, OperationHandle)
    assert handle.status_code in (200, 201) and handle.polling_url
    assert handle.resource.name == name
    assert set(threading.enumerate()) <= threads_before  # nothing polls in the background
    assert _wait_status(client, handle.polling_url) == OperationStatus("Succeeded")
    assert _wait_state(lambda: client.online_endpoints.get(name)).provisioning_state == "Succeeded"

    gone = client.online_endpoints.start_delete(name)
    assert gone.status_code == 202 and gone.polling_url and gone.resource is None
    assert _wait_status(client, gone.polling_url).status == "Succeeded"
    with pytest.raises(NotFoundError):
        client.online_endpoints.get(name)
    again = client.online_endpoints.start_delete(name)  # nothing to delete: ARM answers 204
    assert again.status_code == 204 and again.polling_url is None
    assert set(threading.enumerate()) <= threads_before


def test_failed_operation_status_carries_the_reason(client):
    name = f"oe-{uuid.uuid4().hex[:8]}"
    location = client.workspace.get_location()
    _wait_status(
        client,
        client.online_endpoints.start_create_or_update(
            name, OnlineEndpointSpec(name=name).to_rest(location)
        ).polling_url,
    )
    spec = load_spec(
        {
            "name": "broken",
            "endpoint_name": name,
            "model": "azureml:no-such-model:1",
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
        },
        kind=OnlineDeploymentSpec,
    )
    handle = client.online_deployments.start_create_or_update(name, "broken", spec.to_rest(location))
    status = _wait_status(client, handle.polling_url)
    assert status.status == "Failed" and status.done
    assert status.error_code and "no-such-model" in (status.error_message or "")
    assert status.reason == f"{status.error_code}: {status.error_message}"
    deleted = client.online_deployments.start_delete(name, "broken")
    _wait_status(client, deleted.polling_url)
    client.online_endpoints.start_delete(name)


def test_location_url_status():
    """A ``Location`` answer: 202 while running, the result once done (no ``status`` field)."""
    assert OperationStatus.from_rest(202, None) == OperationStatus("InProgress")
    assert OperationStatus.from_rest(200, {"name": "x", "properties": {}}).status == "Succeeded"
    assert OperationStatus.from_rest(204, None).done
    failed = OperationStatus.from_rest(200, {"status": "Failed", "error": {"code": "C", "message": "m"}})
    assert (failed.status, failed.reason) == ("Failed", "C: m")


def test_compute_start_and_delete(client):
    handle = client.computes.start_create_or_update("cpu-handle", aml_compute_body(location="eastus"))
    assert handle.resource.name == "cpu-handle"
    assert _wait_state(lambda: client.computes.get("cpu-handle")).provisioning_state == "Succeeded"
    client.computes.start_delete("cpu-handle")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            client.computes.get("cpu-handle")
        except NotFoundError:
            return
        time.sleep(0.1)
    pytest.fail("compute not deleted")


def test_async_client(emulator_clean):
    async def scenario() -> None:
        config = _config(emulator_clean)
        async with AsyncMLEndpointsClient(config, AsyncStaticTokenCredential(emulator_clean.token)) as c:
            location = await c.workspace.get_location()
            assert location == (await c.workspace.get()).location
            name = f"oe-{uuid.uuid4().hex[:8]}"
            handle = await c.online_endpoints.start_create_or_update(
                name, OnlineEndpointSpec(name=name).to_rest(location)
            )
            assert isinstance(handle, OperationHandle) and handle.polling_url
            for _ in range(600):
                status = await c.operations.get_status(handle.polling_url)
                if status.done:
                    break
                await asyncio.sleep(0.1)
            assert status.status == "Succeeded"
            gone = await c.online_endpoints.start_delete(name)
            assert gone.status_code == 202
            for _ in range(600):
                status = await c.operations.get_status(gone.polling_url)
                if status.done:
                    break
                await asyncio.sleep(0.1)
            assert status.status == "Succeeded"

    asyncio.run(scenario())
