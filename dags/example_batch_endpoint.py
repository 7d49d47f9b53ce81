"""The documented Azure ML batch-endpoint workflow, step by step, as Airflow tasks.

1. ``prepare``: build the sample models and inputs (generated, not committed):
   the digits classifier of ``sample_deployment/`` (a custom scoring script),
   an MLflow model of the same task (``sample_batch_endpoint/mlflow-model``),
   image files and CSV rows to score, below ``<MLENDPOINTS_DEMO_DIR>``.
2. ``create_compute``: an AmlCompute cluster ``batch-cluster`` (0-2 nodes).
3. ``create_endpoint``: the batch endpoint from ``sample_batch_endpoint/endpoint.yml``.
4. ``create_deployment``: ``sample_deployment/deployment.yml`` (its local model,
   code and conda environment uploaded and registered), made the default.
5. ``get_endpoint`` / ``get_deployment``: their details, in XCom.
6. ``invoke``: a batch job over the day's local image files (uploaded to the
   workspace's default datastore), output to a folder keyed by the logical
   date, with a per-job override of ``mini_batch_size``.
7. ``wait_for_job``: a deferrable sensor (no worker slot while it waits).
8. ``download_results``: ``predictions.csv`` to a local, dated folder.
9. ``deploy_mlflow``: a second deployment beside the first (an MLflow model,
   no scoring script); the default is not touched.
10. ``test_mlflow``: invoke the new deployment *by name* on CSV rows, then
    ``download_mlflow_results``.
11. ``set_default``: make the MLflow deployment the default.
12. ``delete_old_deployment``, then ``delete_endpoint`` (skipped when the
    ``delete_endpoint`` param is false).

Every step is idempotent and safe to retry or clear: re-running the DAG updates
nothing that already matches and re-invokes only what it must.

Where it runs: the ``azure_ml_endpoints_default`` connection. Point it at a real
workspace, or at the offline emulator (``mlendpoints emulator``, its default
datastore on Azurite) as described in docs/operators.md. Waiting tasks defer
when ``[operators] default_deferrable`` is true.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_provider_mlendpoints.operators.batch import (
    CreateAmlComputeOperator,
    CreateOrUpdateBatchDeploymentOperator,
    CreateOrUpdateBatchEndpointOperator,
    DeleteBatchDeploymentOperator,
    DeleteBatchEndpointOperator,
    DownloadBatchJobResultsOperator,
    GetBatchDeploymentOperator,
    GetBatchEndpointOperator,
    InvokeBatchEndpointOperator,
    SetBatchDefaultDeploymentOperator,
)
from airflow_provider_mlendpoints.sensors.batch_job import BatchJobSensor

HERE = Path(__file__).resolve().parent
CUSTOM_DEPLOYMENT = HERE / "sample_deployment" / "deployment.yml"
ENDPOINT_YAML = HERE / "sample_batch_endpoint" / "endpoint.yml"
MLFLOW_DEPLOYMENT = HERE / "sample_batch_endpoint" / "mlflow-deployment.yml"
DEMO_DIR = os.environ.get("MLENDPOINTS_DEMO_DIR") or str(HERE.parent / ".demo")
#: Seconds between state checks while waiting (the emulator answers in well under a second).
#: The run's day: its logical date, or when it was due for runs triggered without one.
DAY = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
POLL_INTERVAL = float(os.environ.get("MLENDPOINTS_POLL_INTERVAL") or 10)

ENDPOINT = "{{ params.endpoint_name }}"
INVOKE_JOB = "{{ ti.xcom_pull(task_ids='invoke')['job_name'] }}"
MLFLOW_JOB = "{{ ti.xcom_pull(task_ids='test_mlflow')['job_name'] }}"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


with DAG(
    dag_id="example_batch_endpoint",
    description="Azure ML batch endpoint workflow: compute, endpoint, deployments, invoke, results, cleanup",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["example", "mlendpoints", "azure", "batch"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "poll_interval": POLL_INTERVAL},
    params={
        "endpoint_name": Param(
            "digits-batch",
            type="string",
            title="Endpoint name",
            description="Batch endpoint name (unique per region).",
        ),
        "images": Param(
            30, type="integer", minimum=1, title="Images to score", description="Image files to score."
        ),
        "delete_endpoint": Param(
            True, type="boolean", title="Delete endpoint", description="Delete the endpoint at the end."
        ),
    },
) as dag:

    @task
    def prepare(images: int, ds: str | None = None, dag_run=None) -> dict[str, str]:
        """Build both models (kept when present) and write the day's inputs."""
        # a run triggered without a logical date (the UI's default, REST, CLI) has no ds
        ds = ds or dag_run.run_after.date().isoformat()
        digits = _load(HERE / "sample_deployment" / "build_model.py", "sample_digits_build")
        mlflow = _load(HERE / "sample_batch_endpoint" / "build_mlflow_model.py", "sample_mlflow_build")
        digits.build_model()
        mlflow.build_mlflow_model()
        images_dir = Path(DEMO_DIR) / "batch-inputs" / str(ds) / "images"
        tables_dir = Path(DEMO_DIR) / "batch-inputs" / str(ds) / "tables"
        digits.write_inputs(images_dir, int(images))
        mlflow.write_tabular_inputs(tables_dir, rows=20)
        return {"images": str(images_dir), "tables": str(tables_dir)}

    inputs = prepare("{{ params.images }}")

    create_compute = CreateAmlComputeOperator(
        task_id="create_compute",
        compute_name="batch-cluster",
        vm_size="STANDARD_DS3_V2",
        min_nodes=0,
        max_nodes=2,
        idle_time_before_scale_down=120,
    )
    create_endpoint = CreateOrUpdateBatchEndpointOperator(
        task_id="create_endpoint", spec=str(ENDPOINT_YAML), endpoint_name=ENDPOINT
    )
    create_deployment = CreateOrUpdateBatchDeploymentOperator(
        task_id="create_deployment",
        spec=str(CUSTOM_DEPLOYMENT),
        endpoint_name=ENDPOINT,
        set_default=True,
    )
    get_endpoint = GetBatchEndpointOperator(task_id="get_endpoint", endpoint_name=ENDPOINT)
    get_deployment = GetBatchDeploymentOperator(
        task_id="get_deployment", endpoint_name=ENDPOINT, deployment_name="digits-svc"
    )
    invoke = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name=ENDPOINT,
        input="{{ ti.xcom_pull(task_ids='prepare')['images'] }}",
        input_type="uri_folder",
        output_path="azureml://datastores/workspaceblobstore/paths/"
        + ENDPOINT
        + "/" + DAY + "/{{ run_id | replace(':', '-') | replace('+', '-') }}/",
        overrides={"mini_batch_size": 5},
        wait_for_completion=False,
    )
    wait_for_job = BatchJobSensor(task_id="wait_for_job", job_name=INVOKE_JOB, deferrable=True, timeout=3600)
    download_results = DownloadBatchJobResultsOperator(
        task_id="download_results",
        job_name=INVOKE_JOB,
        local_path=DEMO_DIR + "/batch-results/" + DAY + "/digits-svc/predictions.csv",
    )
    deploy_mlflow = CreateOrUpdateBatchDeploymentOperator(
        task_id="deploy_mlflow", spec=str(MLFLOW_DEPLOYMENT), endpoint_name=ENDPOINT
    )
    test_mlflow = InvokeBatchEndpointOperator(
        task_id="test_mlflow",
        endpoint_name=ENDPOINT,
        deployment_name="digits-mlflow",
        input="{{ ti.xcom_pull(task_ids='prepare')['tables'] }}",
        input_type="uri_folder",
    )
    download_mlflow_results = DownloadBatchJobResultsOperator(
        task_id="download_mlflow_results",
        job_name=MLFLOW_JOB,
        local_path=DEMO_DIR + "/batch-results/" + DAY + "/digits-mlflow/predictions.csv",
    )
    set_default = SetBatchDefaultDeploymentOperator(
        task_id="set_default", endpoint_name=ENDPOINT, deployment_name="digits-mlflow"
    )
    delete_old_deployment = DeleteBatchDeploymentOperator(
        task_id="delete_old_deployment", endpoint_name=ENDPOINT, deployment_name="digits-svc"
    )

    @task.short_circuit
    def cleanup_wanted(delete_endpoint: str) -> bool:
        """Keep the endpoint when the ``delete_endpoint`` param is false."""
        return str(delete_endpoint).lower() not in ("false", "0", "")

    delete_endpoint = DeleteBatchEndpointOperator(task_id="delete_endpoint", endpoint_name=ENDPOINT)

    [inputs, create_compute] >> create_endpoint >> create_deployment >> [get_endpoint, get_deployment]
    [get_endpoint, get_deployment] >> invoke >> wait_for_job >> download_results
    download_results >> deploy_mlflow >> test_mlflow >> download_mlflow_results >> set_default
    cleanup = cleanup_wanted("{{ params.delete_endpoint }}")
    set_default >> delete_old_deployment >> cleanup >> delete_endpoint
