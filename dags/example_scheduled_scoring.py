"""Daily batch scoring on an Azure ML batch endpoint (or on Airflow's workers), safe to backfill.

Every run scores the files of its logical date and writes the result beside them, keyed by
``{{ ds }}``, so runs of different dates, backfills (``airflow backfill create --dag-id
example_scheduled_scoring --from-date ... --to-date ...``) and retries never collide:

- input:  ``<input_root>/<ds>/``   (default ``azureml://datastores/workspaceblobstore/paths/digits/inputs``)
- output: ``<output_root>/<ds>/predictions.csv`` (default ``.../paths/digits/predictions``)

Tasks (Azure mode):

1. ``ensure_deployment``: create-or-update the compute cluster, the ``digits-batch`` endpoint
   and its ``digits-svc`` deployment from ``sample_deployment/deployment.yml`` (default
   deployment). Idempotent: when everything is up to date nothing is sent, so it costs a few
   GETs per run. Drop this group if deployments are managed elsewhere (e.g. by
   ``example_batch_endpoint``).
2. ``stage_sample_inputs``: demo only; writes ``sample_inputs`` digit images into the day's input
   folder when it is empty (the Param defaults to 0: nothing is written).
3. ``score_digits.invoke``: invokes the endpoint on the day's input and waits in the triggerer
   (deferrable). A retried attempt reattaches to the job it already started. The output folder is
   recorded as an asset event of the AssetAlias ``example_scheduled_scoring.score_digits.output``,
   so downstream DAGs can be scheduled on it.

One switch: set ``MLENDPOINTS_SCORING_MODE=self_hosted`` for the Airflow processes and the same
deployment runs on Airflow's workers instead (paths then default to ``<MLENDPOINTS_DEMO_DIR>/
scheduled/{inputs,predictions}``; the output layout is the same).

Against the emulator: start ``mlendpoints emulator`` with its default datastore on Azurite (or
the ``scripts/stack`` services), point the ``azure_ml_endpoints_default`` connection at it (host =
emulator URL, extras ``subscription_id``/``resource_group``/``workspace_name``, ``token``,
``storage_urls``), build the model (``python dags/sample_deployment/build_model.py``), then trigger
with ``{"sample_inputs": 20}``. Against a real workspace: a service principal or managed identity
connection and your own ``input_root``/``output_root``.

Params (UI triggering): ``input_root``, ``output_root``, ``mini_batch_size`` (empty: the
deployment's), ``sample_inputs``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_provider_mlendpoints import batch_scoring

HERE = Path(__file__).resolve().parent
DEPLOYMENT = HERE / "sample_deployment" / "deployment.yml"
ENDPOINT = "digits-batch"
COMPUTE = "batch-cluster"
CONN_ID = "azure_ml_endpoints_default"
MODE = os.environ.get("MLENDPOINTS_SCORING_MODE", "azure")
POLL_INTERVAL = float(os.environ.get("MLENDPOINTS_POLL_INTERVAL", "15"))
DEMO_DIR = os.environ.get("MLENDPOINTS_DEMO_DIR") or str(HERE.parent / ".demo")

if MODE == "azure":
    INPUT_ROOT = "azureml://datastores/workspaceblobstore/paths/digits/inputs"
    OUTPUT_ROOT = "azureml://datastores/workspaceblobstore/paths/digits/predictions"
else:
    INPUT_ROOT = f"{DEMO_DIR}/scheduled/inputs"
    OUTPUT_ROOT = f"{DEMO_DIR}/scheduled/predictions"


@task
def stage_sample_inputs(input_path: str, count: int) -> int:
    """Demo data: write ``count`` digit images into an empty input folder (0: do nothing)."""
    count = int(count or 0)
    if count <= 0:
        return 0
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location(
        "sample_build_model", HERE / "sample_deployment" / "build_model.py"
    )
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    if not input_path.startswith("azureml://"):
        folder = Path(input_path)
        if folder.is_dir() and any(folder.iterdir()):
            return 0
        return len(builder.write_inputs(folder, count))

    from airflow_provider_mlendpoints.client.datastore_blob import container_client, parse_datastore_uri
    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    client = MLEndpointsHook(CONN_ID).get_conn()
    store_name, prefix = parse_datastore_uri(input_path)
    prefix = prefix.strip("/")
    with container_client(client, client.datastores.get(store_name)) as container:
        if next(iter(container.list_blobs(name_starts_with=prefix + "/")), None) is not None:
            return 0  # the day's inputs are there already (a rerun or a real upstream)
        with tempfile.TemporaryDirectory() as tmp:
            files = builder.write_inputs(Path(tmp), count)
            for path in files:
                with open(path, "rb") as fh:
                    container.upload_blob(f"{prefix}/{path.name}", fh, overwrite=True)
    return len(files)


with DAG(
    dag_id="example_scheduled_scoring",
    description="Daily {{ ds }}-keyed batch scoring on an Azure ML batch endpoint",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["example", "mlendpoints", MODE],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "input_root": Param(
            INPUT_ROOT,
            type="string",
            title="Input root folder",
            description="Folder holding one <ds>/ folder per day.",
        ),
        "output_root": Param(
            OUTPUT_ROOT,
            type="string",
            title="Output root folder",
            description="Results go to <output_root>/<ds>/.",
        ),
        "mini_batch_size": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Mini-batch size",
            description="Files per run() call. Empty: the deployment's.",
        ),
        "sample_inputs": Param(
            0,
            type="integer",
            minimum=0,
            title="Sample inputs to generate",
            description="Demo: stage this many sample images when the day's input is empty.",
        ),
    },
) as dag:
    # the run's day: its logical date, or when it was triggered for a run without one (no ds then)
    day = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
    input_path = "{{ params.input_root }}/" + day + "/"
    output_path = "{{ params.output_root }}/" + day

    staged = stage_sample_inputs(input_path, "{{ params.sample_inputs }}")

    scoring = batch_scoring(
        "score_digits",
        deployment=str(DEPLOYMENT),
        input_path=input_path,
        output_path=output_path,
        mode=MODE,  # type: ignore[arg-type]
        endpoint_name=ENDPOINT,
        ml_endpoints_conn_id=CONN_ID,
        overrides={"mini_batch_size": "{{ params.mini_batch_size or '' }}"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=6 * 3600,
    )

    if MODE == "azure":
        from airflow.sdk import TaskGroup

        from airflow_provider_mlendpoints.operators.batch import (
            CreateAmlComputeOperator,
            CreateOrUpdateBatchDeploymentOperator,
            CreateOrUpdateBatchEndpointOperator,
        )

        with TaskGroup(
            "ensure_deployment", tooltip="Idempotent create-or-update of compute, endpoint, deployment"
        ) as ensure:
            compute = CreateAmlComputeOperator(
                task_id="compute", ml_endpoints_conn_id=CONN_ID, compute_name=COMPUTE, max_nodes=2
            )
            endpoint = CreateOrUpdateBatchEndpointOperator(
                task_id="endpoint", ml_endpoints_conn_id=CONN_ID, endpoint_name=ENDPOINT, poll_interval=POLL_INTERVAL
            )
            deployment = CreateOrUpdateBatchDeploymentOperator(
                task_id="deployment",
                ml_endpoints_conn_id=CONN_ID,
                spec=str(DEPLOYMENT),
                endpoint_name=ENDPOINT,
                set_default=True,
                poll_interval=POLL_INTERVAL,
            )
            [compute, endpoint] >> deployment
        ensure >> scoring

    staged >> scoring
