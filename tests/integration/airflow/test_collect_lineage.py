"""OpenLineage datasets of the self-hosted collect task (apache-airflow-providers-openlineage installed).

The scoring runs for real (example DAG through ``dag.test()``, the sample model); the collect
operator's ``get_openlineage_facets_on_complete`` is then read through OpenLineage's own
``DefaultExtractor``, as the OpenLineage listener does.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import pytest

from airflow_provider_mlendpoints.lineage import storage_dataset_name
from tests.fixtures.airflow_db import load_dag, run_dag, task_states, xcom_value
from tests.fixtures.samples import DEPLOYMENT, EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID

ACCOUNT_KEY = "a2V5"  # any base64


@pytest.mark.parametrize(
    "uri,options,expected",
    [
        ("/data/out/predictions.csv", None, ("file", "/data/out/predictions.csv")),
        ("file:///data/in", None, ("file", "/data/in")),
        (
            "abfs://c@acct.dfs.core.windows.net/in/2026-01-15",
            None,
            ("abfss://c@acct.dfs.core.windows.net", "in/2026-01-15"),
        ),
        (
            "wasb://c@acct.blob.core.windows.net/out/x.csv",
            None,
            ("wasbs://c@acct.blob.core.windows.net", "out/x.csv"),
        ),
        ("az://c/in/", {"account_name": "acct"}, ("wasbs://c@acct.blob.core.windows.net", "in")),
        (
            "abfs://c/in",
            {
                "connection_string": f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY}"
            },
            ("abfss://c@acct.dfs.core.windows.net", "in"),
        ),
        (
            "https://acct.blob.core.windows.net/c/out/p.csv?sv=x&sig=secret",
            None,
            ("wasbs://c@acct.blob.core.windows.net", "out/p.csv"),
        ),
        ("http://127.0.0.1:10000/devstoreaccount1/c/in", None, ("wasbs://c@devstoreaccount1", "in")),
    ],
)
def test_storage_dataset_names(uri, options, expected):
    assert storage_dataset_name(uri, options) == expected


def _collect_operator(input_path, output_path):
    from airflow_provider_mlendpoints.operators.self_hosted import CollectScoringOperator

    return CollectScoringOperator(
        task_id="collect",
        deployment=str(DEPLOYMENT),
        input_path=str(input_path),
        output_path=str(output_path),
        overrides={"mini_batch_size": 3},
    )


@pytest.mark.airflow
@pytest.mark.slow
def test_collect_reports_input_and_output_datasets(airflow_db, make_inputs, tmp_path, monkeypatch):
    pytest.importorskip("airflow.providers.openlineage")
    from airflow.providers.openlineage.extractors.base import DefaultExtractor

    make_inputs(tmp_path / "in", 6)
    output = tmp_path / "out" / "2026-01-15"
    run = run_dag(
        load_dag(EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID),
        datetime(2026, 1, 15, tzinfo=timezone.utc),
        conf={"input_path": str(tmp_path / "in"), "output_path": str(output), "mini_batch_size": 3},
    )
    assert run.state == "success", task_states(run)
    assert xcom_value(run, "score_digits.collect")["output_rows"] == 6

    # The collect step again (it always resumes) with the same rendered paths, then its lineage.
    op = _collect_operator(tmp_path / "in", output)
    summary = op.execute({})
    assert summary["output_rows"] == 6

    lineage = DefaultExtractor(op).extract_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(tmp_path / "in"))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(output / "predictions.csv"))]

    # Without the openlineage provider there is no lineage, and nothing fails.
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert op.get_openlineage_facets_on_complete(None) is None


def test_collect_lineage_of_blob_locations_without_running():
    """Rendered blob locations: input and output (with the deployment's output file name)."""
    pytest.importorskip("airflow.providers.openlineage")
    op = _collect_operator(
        "abfs://data@acct.dfs.core.windows.net/in/2026-01-15",
        "wasbs://data@acct.blob.core.windows.net/out/2026-01-15/",
    )
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("abfss://data@acct.dfs.core.windows.net", "in/2026-01-15")
    ]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("wasbs://data@acct.blob.core.windows.net", "out/2026-01-15/predictions.csv")
    ]
