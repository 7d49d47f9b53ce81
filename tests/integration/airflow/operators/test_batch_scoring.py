"""batch_scoring(mode=...): the same deployment YAML scored on Azure (emulator) and self-hosted
gives the same output layout and the same rows; the switch is the ``mode`` word."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import samples
from tests.fixtures.airflow_db import asset_events, load_dag, run_dag, task_states, xcom_value
from tests.fixtures.workspace import DIGITS_ENDPOINT

pytestmark = [pytest.mark.azurite, pytest.mark.airflow, pytest.mark.slow]


def test_parse_time_checks():
    from airflow.sdk import DAG

    from airflow_provider_mlendpoints import batch_scoring
    from airflow_provider_mlendpoints.batch_scoring import azure_overrides

    assert azure_overrides(
        {"mini_batch_size": 5, "resources.instance_count": 2, "output_file_name": "x.csv"}
    ) == (
        {"mini_batch_size": 5, "instance_count": 2},
        "x.csv",
    )
    with pytest.raises(ValueError, match="environment_variables"):
        azure_overrides({"environment_variables.X": "1"})
    with DAG("parse_checks", schedule=None) as dag:
        with pytest.raises(ValueError, match="only Azure mode"):
            batch_scoring(
                "s",
                deployment=str(samples.DEPLOYMENT),
                input_path="azureml:data:1",
                output_path="/tmp/o",
                mode="self_hosted",
            )
        with pytest.raises(ValueError, match="mode must be"):
            batch_scoring("m", input_path="a", output_path="b", mode="cloud")  # type: ignore[arg-type]
        group = batch_scoring(
            "a",
            deployment=str(samples.DEPLOYMENT),
            input_path="azureml://datastores/d/paths/i/",
            output_path="azureml://datastores/d/paths/o/{{ ds }}",
        )
    invoke = dag.get_task("a.invoke")
    assert group.group_id == "a"
    assert invoke.endpoint_name == "digits-batch" and invoke.deployment_name == "digits-svc"  # from the YAML
    assert [o.name for o in invoke.outlets] == ["parse_checks.a.output"]  # an AssetAlias, as self-hosted uses


def test_same_layout_and_rows_in_both_modes(workspace, digits_deployment, test_dags, tmp_path):
    builder = samples.build_model_module()
    local_in = tmp_path / "in"
    names = [p.name for p in builder.write_inputs(local_in, 12)]
    prefix = "digits-in/both-modes"
    with workspace.azurite.service_client() as svc:
        cc = svc.get_container_client(workspace.container)
        for path in sorted(local_in.iterdir()):
            cc.upload_blob(f"{prefix}/{path.name}", path.read_bytes(), overwrite=True)
    blob_out = f"{workspace.azurite.blob_endpoint}/{workspace.container}/digits-out/blob-url/{{{{ ds }}}}"
    common = f"deployment={str(digits_deployment)!r}, overrides={{'mini_batch_size': 5}}, poll_interval=0.2"
    path = test_dags.write(
        "batch_scoring_modes",
        f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mlendpoints import batch_scoring

with DAG(dag_id="batch_scoring_modes", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    batch_scoring("azure", mode="azure", endpoint_name={DIGITS_ENDPOINT!r}, deferrable=True,
                  input_path="azureml://datastores/workspaceblobstore/paths/{prefix}/",
                  output_path="azureml://datastores/workspaceblobstore/paths/digits-out/{{{{ ds }}}}", {common})
    batch_scoring("azure_blob_url", mode="azure",
                  input_path="azureml://datastores/workspaceblobstore/paths/{prefix}/",
                  output_path={blob_out!r}, {common})
    batch_scoring("local", mode="self_hosted",
                  input_path={str(local_in)!r}, output_path={str(tmp_path / "out")!r} + "/{{{{ ds }}}}", {common})
""",
    )
    dag = load_dag(path, "batch_scoring_modes")

    run = run_dag(dag)

    assert run.state == "success", task_states(run)
    local_rows = (tmp_path / "out" / "2026-01-15" / "predictions.csv").read_text().splitlines()
    azure_rows = workspace.read_blob("digits-out/2026-01-15/predictions.csv").splitlines()
    blob_rows = workspace.read_blob("digits-out/blob-url/2026-01-15/predictions.csv").splitlines()
    assert [row.split()[0] for row in local_rows] == names  # Azure's format: "<file> <digit>"
    assert sorted(azure_rows) == sorted(local_rows)
    assert sorted(blob_rows) == sorted(local_rows)

    azure = xcom_value(run, "azure.invoke")
    assert azure["status"] == "Completed"
    assert (
        azure["output_file"]
        == "azureml://datastores/workspaceblobstore/paths/digits-out/2026-01-15/predictions.csv"
    )
    assert xcom_value(run, "local.collect")["status"] == "Completed"
    # both modes record the rendered output folder through their AssetAlias
    assert asset_events(azure["output_location"])[-1]["source_run_id"] == run.run_id
    local_uri = "file://" + str(Path(tmp_path / "out" / "2026-01-15").resolve())
    assert asset_events(local_uri)[-1]["source_run_id"] == run.run_id
