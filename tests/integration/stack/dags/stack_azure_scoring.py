"""Test DAG of the stack integration tests (tests/integration/stack/): Azure mode against the workspace emulator.

Creates a batch endpoint and a slow deployment on the ``azure_ml_endpoints_default``
connection (the stack's emulator, datastore on Azurite), invokes it on local files without
waiting, waits with a deferrable sensor and downloads ``predictions.csv``. The test scores
30 files at 1 s each on 2 instances: the job takes 15 s or more, so the sensor finds it
running and defers to the triggerer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.operators.batch import (
    CreateOrUpdateBatchDeploymentOperator,
    CreateOrUpdateBatchEndpointOperator,
    DownloadBatchJobResultsOperator,
    InvokeBatchEndpointOperator,
)
from airflow_provider_mlendpoints.sensors.batch_job import BatchJobSensor

HERE = Path(__file__).resolve().parent
ENDPOINT_YAML = HERE.parents[3] / "dags" / "sample_batch_endpoint" / "endpoint.yml"
DEPLOYMENT_YAML = HERE / "slow_deployment" / "deployment-azure.yml"
ENDPOINT = "{{ params.endpoint_name }}"
JOB = "{{ ti.xcom_pull(task_ids='invoke')['job_name'] }}"

with DAG(
    dag_id="stack_azure_scoring",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"poll_interval": 1.0},
    params={
        "endpoint_name": Param("stack-slow", type="string"),
        "input_path": Param("", type="string"),
        "result_path": Param("", type="string"),
    },
):
    endpoint = CreateOrUpdateBatchEndpointOperator(
        task_id="create_endpoint", spec=str(ENDPOINT_YAML), endpoint_name=ENDPOINT
    )
    deployment = CreateOrUpdateBatchDeploymentOperator(
        task_id="create_deployment", spec=str(DEPLOYMENT_YAML), endpoint_name=ENDPOINT, set_default=True
    )
    invoke = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name=ENDPOINT,
        input="{{ params.input_path }}",
        input_type="uri_folder",
        output_path="azureml://datastores/workspaceblobstore/paths/stack/{{ run_id | replace(':', '-') | replace('+', '-') }}/",
        wait_for_completion=False,
    )
    wait_for_job = BatchJobSensor(task_id="wait_for_job", job_name=JOB, deferrable=True, timeout=600)
    download = DownloadBatchJobResultsOperator(
        task_id="download_results", job_name=JOB, local_path="{{ params.result_path }}"
    )
    endpoint >> deployment >> invoke >> wait_for_job >> download
