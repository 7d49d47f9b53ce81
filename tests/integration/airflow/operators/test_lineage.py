"""OpenLineage datasets of the invoke operator (apache-airflow-providers-openlineage installed)."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.lineage import dataset_name
from tests.fixtures.workspace import TOY_ENDPOINT

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


@pytest.mark.parametrize(
    "uri,expected",
    [
        (
            "https://acct.blob.core.windows.net/data/in/2026-01-01/?sv=x&sig=secret",
            ("wasbs://data@acct.blob.core.windows.net", "in/2026-01-01"),
        ),
        ("https://acct.dfs.core.windows.net/fs/a/b.csv", ("abfss://fs@acct.dfs.core.windows.net", "a/b.csv")),
        ("http://127.0.0.1:10000/devstoreaccount1/c/p/q", ("wasbs://c@devstoreaccount1", "p/q")),
        ("abfss://fs@acct.dfs.core.windows.net/x/y", ("abfss://fs@acct.dfs.core.windows.net", "x/y")),
        ("azureml://datastores/ds1/paths/in/", ("azureml://datastores/ds1", "in")),
        (f"azureml:{WS}/data/heart/versions/3", (f"azureml://{WS.lstrip('/')}", "data/heart/versions/3")),
        (f"{WS}/data/heart/versions/3", (f"azureml://{WS.lstrip('/')}", "data/heart/versions/3")),
        ("azureml:heart:3", ("azureml://workspace", "data/heart/versions/3")),
        ("/data/in", ("file", "/data/in")),
        ("file:///data/in", ("file", "/data/in")),
    ],
)
def test_dataset_names(uri, expected):
    assert dataset_name(uri) == expected


@pytest.mark.azurite
@pytest.mark.slow
def test_invoke_operator_reports_input_and_output_datasets(workspace):
    pytest.importorskip("airflow.providers.openlineage")
    from airflow.providers.openlineage.extractors.base import DefaultExtractor

    from airflow_provider_mlendpoints.operators.batch_invoke import InvokeBatchEndpointOperator

    prefix = workspace.upload_inputs(2)
    op = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name=TOY_ENDPOINT,
        input=workspace.datastore_uri(prefix + "/"),
        output_path=workspace.datastore_uri("out/lineage"),
        poll_interval=0.2,
    )
    job_name = op.submit_job({})
    result = op.poll_until_complete(job_name, {})
    assert result["status"] == "Completed"

    lineage = DefaultExtractor(op).extract_on_complete(None)

    namespace = f"wasbs://{workspace.container}@devstoreaccount1.blob.core.windows.net"
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(namespace, prefix)]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(namespace, "out/lineage")]
    assert lineage.run_facets["externalQuery"].externalQueryId == job_name
