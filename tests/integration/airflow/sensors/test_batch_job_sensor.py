"""BatchJobSensor and ProvisioningStateSensor on real Airflow against the emulator."""

from __future__ import annotations

import pytest

from tests.fixtures.airflow_db import load_dag, run_dag, task_states, xcom_value
from tests.fixtures.workspace import TOY_ENDPOINT
from tests.integration.airflow.helpers import dag_source, task_logs, try_numbers

pytestmark = [pytest.mark.azurite, pytest.mark.airflow, pytest.mark.slow]

SENSORS = """
from airflow.sdk import task

from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook
from airflow_provider_mlendpoints.sensors import BatchJobSensor, ProvisioningStateSensor
"""


def test_job_sensor_deferrable_and_provisioning_sensor(workspace, test_dags, capfd, caplog):
    prefix = workspace.upload_inputs(3)
    path = test_dags.write(
        "azure_sensors",
        dag_source(
            "azure_sensors",
            f"""
    submit = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name={TOY_ENDPOINT!r},
        input="azureml://datastores/workspaceblobstore/paths/{prefix}/",
        wait_for_completion=False,
    )
    wait = BatchJobSensor(
        task_id="wait_job",
        job_name="{{{{ ti.xcom_pull(task_ids='invoke')['job_name'] }}}}",
        deferrable=True,
        poll_interval=0.2,
        timeout=300,
    )
    submit >> wait

    @task
    def start_endpoint():
        client = MLEndpointsHook().get_conn()
        client.batch_endpoints.begin_create_or_update(
            "sensed-ep", {{"location": "eastus", "properties": {{"authMode": "AADToken"}}}}
        )
        return client.batch_endpoints.get("sensed-ep").provisioning_state

    started = start_endpoint()
    started >> ProvisioningStateSensor(
        task_id="wait_endpoint", resource="batch_endpoint", endpoint_name="sensed-ep",
        deferrable=True, poll_interval=0.1,
    )
    ProvisioningStateSensor(
        task_id="poke_deployment", resource="batch_deployment", endpoint_name={TOY_ENDPOINT!r},
        deployment_name="ok", poll_interval=0.1, timeout=60,
    )
""",
            imports=SENSORS,
        ),
    )
    dag = load_dag(path, "azure_sensors")
    capfd.readouterr()

    run = run_dag(dag)

    assert run.state == "success", task_states(run)
    text = task_logs(capfd, caplog)
    submitted = xcom_value(run, "invoke")
    assert submitted["status"] in ("NotStarted", "Starting", "Running", "Preparing", "Queued", "Completed")
    waited = xcom_value(run, "wait_job")
    assert waited["status"] == "success" and waited["job_status"] == "Completed"
    assert waited["job_name"] == submitted["job_name"]
    assert xcom_value(run, "wait_job", key="_link_AzureMLJobLink").endswith("/jobs/" + submitted["job_name"])
    assert xcom_value(run, "start_endpoint") in ("Creating", "Updating")  # not provisioned yet when sensed
    assert "running trigger in line" in text
    endpoint = xcom_value(run, "wait_endpoint")
    assert endpoint["provisioning_state"] == "Succeeded" and "details" not in endpoint
    assert xcom_value(run, "poke_deployment")["provisioning_state"] == "Succeeded"
    assert xcom_value(run, "poke_deployment", key="_link_AzureMLDeploymentLink").endswith(
        f"/studio/subscriptions/{workspace.client.config.subscription_id}/resourceGroups/"
        f"{workspace.client.config.resource_group}/workspaces/{workspace.client.config.workspace_name}"
        f"/batchEndpoints/{TOY_ENDPOINT}/deployments/ok"
    )
    workspace.client.batch_endpoints.begin_delete("sensed-ep").result()


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_job_sensor_fails_on_a_failed_job_without_retrying(workspace, test_dags, capfd, caplog, deferrable):
    from airflow_provider_mlendpoints.client import batch_invoke_body

    prefix = workspace.upload_inputs(2)
    job = workspace.client.invoke_batch_endpoint(
        TOY_ENDPOINT,
        batch_invoke_body({"in": workspace.datastore_uri(prefix + "/")}),
        deployment_name="failing",
    )
    dag_id = f"azure_sensor_failed_{'deferrable' if deferrable else 'poke'}"
    path = test_dags.write(
        dag_id,
        dag_source(
            dag_id,
            f"""
    BatchJobSensor(task_id="wait_job", job_name={job.name!r}, deferrable={deferrable}, poll_interval=0.2,
                   timeout=300, retries=2)
""",
            imports=SENSORS,
        ),
    )
    dag = load_dag(path, dag_id)
    capfd.readouterr()

    run = run_dag(dag)

    assert task_states(run)[("wait_job", -1)] == "failed"
    assert try_numbers(run, "wait_job") == 1  # a failed job does not get better: no retry
    text = task_logs(capfd, caplog)
    assert f"batch job '{job.name}' Failed: batch scoring job failed" in text
    assert "(Azure ML Studio: http://127.0.0.1:" in text and f"/jobs/{job.name})" in text
