"""Test DAG of the stack integration tests (tests/integration/stack/): one Azure-mode step on the
connection the test names, so its task log shows what that connection's HTTP logging writes."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.operators.batch import CreateOrUpdateBatchEndpointOperator

with DAG(
    dag_id="stack_verbose_http",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"endpoint_name": Param("stack-verbose", type="string")},
):
    CreateOrUpdateBatchEndpointOperator(
        task_id="create_endpoint",
        endpoint_name="{{ params.endpoint_name }}",
        ml_endpoints_conn_id="ml_verbose_http",
        poll_interval=1.0,
    )
