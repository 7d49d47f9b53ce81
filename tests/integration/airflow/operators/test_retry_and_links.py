"""Retry safety (an earlier try's operation still running) and Studio links of the resource operators."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fixtures.airflow_db import clear_and_rerun, load_dag, xcom_value

from .conftest import run_operators, states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]


@pytest.fixture
def slow_provisioning(ml_workspace):
    """Operations take 1.5 s in the emulator for this test (then back to 0.2 s)."""
    ml_workspace.set_config(provisioning_delay=1.5)
    yield ml_workspace
    ml_workspace.set_config(provisioning_delay=0.2)


def test_operation_in_progress_is_awaited_not_conflicted(airflow_db, test_dags, ws, slow_provisioning):
    """What a retry meets when its first try died mid-way: the resource is still Creating/Deleting."""
    emu = slow_provisioning
    creating, deleting = unique("busy"), unique("gone")
    for name in (creating, deleting):
        response = httpx.put(
            emu.arm_url(f"/onlineEndpoints/{name}"),
            headers=emu.headers,
            json={"location": "eastus", "properties": {"authMode": "Key"}},
            timeout=30,
        )
        assert response.status_code == 201
    assert ws.get(f"/onlineEndpoints/{creating}")["properties"]["provisioningState"] == "Creating"
    deadline = time.monotonic() + 30
    while ws.get(f"/onlineEndpoints/{deleting}")["properties"]["provisioningState"] != "Succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (
        httpx.delete(emu.arm_url(f"/onlineEndpoints/{deleting}"), headers=emu.headers, timeout=30).status_code
        == 202
    )
    assert ws.get(f"/onlineEndpoints/{deleting}")["properties"]["provisioningState"] == "Deleting"

    run = run_operators(
        test_dags,
        f"""
        update = CreateOrUpdateOnlineEndpointOperator(
            task_id="update", endpoint_name={creating!r}, description="second try"
        )
        delete = DeleteOnlineEndpointOperator(task_id="delete", endpoint_name={deleting!r})
        """,
    )

    assert set(states(run).values()) == {"success"}, states(run)  # no 409 Conflict
    ep = ws.get(f"/onlineEndpoints/{creating}")
    assert (
        ep["properties"]["description"] == "second try"
        and ep["properties"]["provisioningState"] == "Succeeded"
    )
    assert ws.get(f"/onlineEndpoints/{deleting}") is None


def test_cleared_tasks_rerun_in_place_without_duplicates(airflow_db, test_dags, ws, batch_assets):
    endpoint = unique("be")
    yml = str(batch_assets / "deployment.yml")
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster")
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        dep = CreateOrUpdateBatchDeploymentOperator(task_id="deployment", spec={yml!r}, endpoint_name={endpoint!r})
        compute >> ep >> dep
        """,
        dag_id=f"rerun_{endpoint.replace('-', '_')}",
    )
    assert run.state == "success", states(run)
    puts = ws.put_count()
    dag = load_dag(test_dags.folder / f"rerun_{endpoint.replace('-', '_')}.py", run.dag_id)

    again = clear_and_rerun(dag, run)

    assert again.state == "success", states(again)
    assert ws.put_count() == puts
    assert ws.names(f"/batchEndpoints/{endpoint}/deployments") == ["blue"]
    assert xcom_value(again, "deployment")["name"] == "blue"


def test_studio_links_are_stored(airflow_db, test_dags, ws, ml_workspace):
    name = unique("lnk")
    run = run_operators(
        test_dags,
        f"""
        CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", endpoint_name={name!r})
        """,
    )
    assert run.state == "success", states(run)
    link = xcom_value(run, "endpoint", key="_link_AzureMLEndpointLink")
    assert "/studio/subscriptions/" in link and link.endswith("/onlineEndpoints/" + name)  # the emulator's page
    assert f"/workspaces/{ml_workspace.workspace}" in link
