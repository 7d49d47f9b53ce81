"""Waiting for compute clusters and for deletions on real Airflow against the emulator.

CreateAmlComputeOperator checks the cluster first, then (deferrable) defers to the compute kind of
ProvisioningStateTrigger; the delete operators wait with ``wait_for="deleted"``, the 404 being the
explicit success. The emulator's provisioning delay is raised for these tests so every wait really
waits (and a deferrable task really defers).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.airflow_db import xcom_value

from .conftest import run_operators, states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]


@pytest.fixture
def slow_provisioning(ml_workspace) -> Iterator[None]:
    before = ml_workspace.set_config()["provisioning_delay"]
    ml_workspace.set_config(provisioning_delay=2.0)
    try:
        yield
    finally:
        ml_workspace.set_config(provisioning_delay=before)


def _log(capfd, caplog) -> str:
    out = capfd.readouterr()
    return out.out + out.err + caplog.text


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_create_compute_waits_then_is_idempotent(
    airflow_db, test_dags, ws, slow_provisioning, capfd, caplog, deferrable
):
    name = unique("cc")
    body = f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name={name!r}, max_nodes=2)
        """
    run = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert run.state == "success", states(run)
    summary = xcom_value(run, "compute")
    assert summary["name"] == name and summary["provisioning_state"] == "Succeeded"
    assert summary["scale_settings"]["maxNodeCount"] == 2
    assert ws.get(f"/computes/{name}")["properties"]["provisioningState"] == "Succeeded"
    log = _log(capfd, caplog)
    if deferrable:
        assert f"Deferring until compute '{name}' finishes provisioning" in log
        assert "Deferring until compute" in log and "TaskDeferred" not in states(run).values()
    else:
        assert "Deferring until compute" not in log
        assert f"compute '{name}' is Creating" in log

    # Same settings again: checked first, nothing sent, no deferral.
    puts = ws.put_count()
    again = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert again.state == "success", states(again)
    assert ws.put_count() == puts
    assert "Deferring until compute" not in _log(capfd, caplog)


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_deletes_wait_for_the_404(
    airflow_db, test_dags, ws, batch_assets, slow_provisioning, capfd, caplog, deferrable
):
    batch, online = unique("be"), unique("oe")
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster")
        bep = CreateOrUpdateBatchEndpointOperator(task_id="bep", endpoint_name={batch!r})
        blue = CreateOrUpdateBatchDeploymentOperator(
            task_id="blue", spec={str(batch_assets / "deployment.yml")!r}, endpoint_name={batch!r},
            set_default=True,
        )
        green = CreateOrUpdateBatchDeploymentOperator(
            task_id="green", spec={str(batch_assets / "deployment.yml")!r}, endpoint_name={batch!r},
            deployment_name="green",
        )
        del_bdep = DeleteBatchDeploymentOperator(task_id="del_bdep", endpoint_name={batch!r}, deployment_name="green")
        del_bep = DeleteBatchEndpointOperator(task_id="del_bep", endpoint_name={batch!r})
        compute >> bep >> blue >> green >> del_bdep >> del_bep

        oep = CreateOrUpdateOnlineEndpointOperator(task_id="oep", endpoint_name={online!r})
        broken = CreateOrUpdateOnlineDeploymentOperator(
            task_id="broken",
            spec={{"name": "broken", "endpoint_name": {online!r}, "model": "azureml:no-such-model:1",
                   "instance_type": "Standard_DS3_v2", "instance_count": 1}},
        )
        del_odep = DeleteOnlineDeploymentOperator(
            task_id="del_odep", endpoint_name={online!r}, deployment_name="broken", trigger_rule="all_done"
        )
        del_oep = DeleteOnlineEndpointOperator(task_id="del_oep", endpoint_name={online!r})
        oep >> broken >> del_odep >> del_oep
        """,
        default_args={"deferrable": deferrable},
    )
    st = states(run)
    assert st["broken"] == "failed", st  # a Failed deployment: its deletion still succeeds
    for task in ("del_bdep", "del_bep", "del_odep", "del_oep"):
        assert st[task] == "success", st
        result = xcom_value(run, task)
        assert result["deleted"] is True and result["existed"] is True, (task, result)
    assert ws.get(f"/batchEndpoints/{batch}") is None
    assert ws.get(f"/onlineEndpoints/{online}") is None

    log = _log(capfd, caplog)
    labels = (
        f"batch deployment '{batch}/green'",
        f"batch endpoint '{batch}'",
        f"online deployment '{online}/broken'",
        f"online endpoint '{online}'",
    )
    for label in labels:
        assert f"{label} deleted" in log, label
        assert (f"Deferring until {label} is deleted" in log) is deferrable, label
