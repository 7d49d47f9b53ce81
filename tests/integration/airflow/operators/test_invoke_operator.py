"""InvokeBatchEndpointOperator on real Airflow (dag.test) against the emulator.

Covers deferral and resumption through the trigger, templated fields, Studio links, the output
asset event, a failed job failing the task with the service's message and the Studio link,
reattach on retry (exactly one job), on_kill, and secrets absent from task logs and XCom.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.airflow_db import asset_events, load_dag, run_dag, task_states, xcom_value
from tests.fixtures.workspace import TOY_ENDPOINT
from tests.integration.airflow.helpers import (
    all_xcoms,
    dag_source,
    rendered_fields,
    task_logs,
    try_numbers,
    ui_extra_links,
)

pytestmark = [pytest.mark.azurite, pytest.mark.airflow, pytest.mark.slow]


def _job_names(workspace) -> set[str]:
    return {job.name for job in workspace.jobs()}


def test_deferred_invoke_with_templates_links_and_asset(workspace, test_dags, capfd, caplog):
    prefix = workspace.upload_inputs(5)
    path = test_dags.write(
        "azure_invoke_deferred",
        dag_source(
            "azure_invoke_deferred",
            """
    InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name="{{ params.endpoint }}",
        input="azureml://datastores/workspaceblobstore/paths/{{ params.prefix }}/",
        output_path="azureml://datastores/workspaceblobstore/paths/out/{{ ds }}/deferred",
        output_file_name="{{ params.file_name }}",
        overrides={"mini_batch_size": "{{ params.mbs }}", "error_threshold": ""},
        deferrable=True,
        poll_interval=0.2,
    )
""",
            params=repr(
                {"endpoint": TOY_ENDPOINT, "prefix": prefix, "file_name": "scored.csv", "mbs": 2}
            ),
        ),
    )
    dag = load_dag(path, "azure_invoke_deferred")
    capfd.readouterr()
    before = _job_names(workspace)

    run = run_dag(dag)

    assert run.state == "success", task_states(run)
    text = task_logs(capfd, caplog)
    assert "Pausing task as DEFERRED" in text and "running trigger in line" in text  # really deferred
    result = xcom_value(run, "invoke")
    new_jobs = _job_names(workspace) - before
    assert new_jobs == {result["job_name"]}  # exactly one job
    assert result["status"] == "Completed"
    assert (
        result["output_location"] == "azureml://datastores/workspaceblobstore/paths/out/2026-01-15/deferred"
    )
    assert result["output_file"] == result["output_location"] + "/scored.csv"
    assert "/studio/subscriptions/" in result["studio_url"] and result["studio_url"].endswith("/jobs/" + result["job_name"])
    # the output_file_name override reached the job: the merged output has the new name, not the default
    assert workspace.read_blob("out/2026-01-15/deferred/scored.csv").splitlines() == [
        f"pred f{i}.txt {i}" for i in range(5)
    ]
    assert not workspace.blob_exists("out/2026-01-15/deferred/predictions.csv")

    rendered = rendered_fields(run, "invoke")
    assert rendered["endpoint_name"] == TOY_ENDPOINT
    assert rendered["input"] == f"azureml://datastores/workspaceblobstore/paths/{prefix}/"
    assert rendered["output_path"].endswith("/out/2026-01-15/deferred")
    assert rendered["overrides"] == {"mini_batch_size": "2", "error_threshold": ""}

    assert xcom_value(run, "invoke", key="_link_AzureMLJobLink") == result["studio_url"]
    endpoint_link = xcom_value(run, "invoke", key="_link_AzureMLEndpointLink")
    assert endpoint_link.endswith(f"/batchEndpoints/{TOY_ENDPOINT}") and "/studio/subscriptions/" in endpoint_link

    links = ui_extra_links(run, "invoke")  # what the UI shows (serialized DAG + XCom)
    assert links["Azure ML Job"] == result["studio_url"] and links["Azure ML Endpoint"] == endpoint_link

    # the templated output resolves the AssetAlias to the day's folder
    events = asset_events(result["output_location"])
    assert events and events[-1]["source_run_id"] == run.run_id
    assert events[-1]["extra"]["job_name"] == result["job_name"]


def test_failed_job_fails_the_task_with_service_message_and_studio_link(workspace, test_dags, capfd, caplog):
    prefix = workspace.upload_inputs(2)
    path = test_dags.write(
        "azure_invoke_failing",
        dag_source(
            "azure_invoke_failing",
            f"""
    InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name={TOY_ENDPOINT!r},
        deployment_name="failing",
        input="azureml://datastores/workspaceblobstore/paths/{prefix}/",
        deferrable=True,
        poll_interval=0.2,
        retries=2,
    )
""",
        ),
    )
    dag = load_dag(path, "azure_invoke_failing")
    capfd.readouterr()
    before = _job_names(workspace)

    run = run_dag(dag)

    assert task_states(run)[("invoke", -1)] == "failed"
    assert try_numbers(run, "invoke") == 1  # a failed scoring job fails at once: no retry, no second job
    (job_name,) = _job_names(workspace) - before
    text = task_logs(capfd, caplog)
    assert f"batch job '{job_name}' Failed: batch scoring job failed: 2 failed items exceed" in text
    assert "(Azure ML Studio: http://127.0.0.1:" in text and f"/jobs/{job_name})" in text


RETRY_DAG = """
from airflow_provider_mlendpoints.operators.batch_invoke import InvokeBatchEndpointOperator as _Base


class CrashAfterSubmit(_Base):
    '''Dies right after the job is submitted on the first try (a worker crash, say).'''

    def poll_until_complete(self, external_id, context):
        if context["ti"].try_number == 1:
            raise RuntimeError("worker died after submitting " + str(external_id))
        return super().poll_until_complete(external_id, context)
"""


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_retry_reattaches_to_the_submitted_job(workspace, test_dags, capfd, caplog, deferrable):
    prefix = workspace.upload_inputs(3)
    dag_id = f"azure_invoke_retry_{'deferrable' if deferrable else 'sync'}"
    path = test_dags.write(
        dag_id,
        dag_source(
            dag_id,
            f"""
    CrashAfterSubmit(
        task_id="invoke",
        endpoint_name={TOY_ENDPOINT!r},
        input="azureml://datastores/workspaceblobstore/paths/{prefix}/",
        output_path="azureml://datastores/workspaceblobstore/paths/out/retry-{deferrable}",
        deferrable={deferrable},
        poll_interval=0.2,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
""",
            imports=RETRY_DAG,
        ),
    )
    dag = load_dag(path, dag_id)
    capfd.readouterr()
    before = _job_names(workspace)

    run = run_dag(dag)

    assert run.state == "success", task_states(run)
    assert try_numbers(run, "invoke") == 2
    new_jobs = _job_names(workspace) - before
    result = xcom_value(run, "invoke")
    assert new_jobs == {result["job_name"]}, new_jobs  # exactly ONE job submitted over two tries
    assert result["status"] == "Completed"
    text = task_logs(capfd, caplog)
    assert "worker died after submitting " + result["job_name"] in text
    assert "Reconnecting to existing job" in text or "Job already completed successfully" in text
    assert workspace.read_blob(f"out/retry-{deferrable}/predictions.csv").count("\n") == 3


def test_secrets_absent_from_task_logs_and_xcom(workspace, test_dags, capfd, caplog, ml_workspace, azurite):
    prefix = workspace.upload_inputs(2)
    path = test_dags.write(
        "azure_invoke_secrets",
        dag_source(
            "azure_invoke_secrets",
            f"""
    InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name={TOY_ENDPOINT!r},
        input="azureml://datastores/workspaceblobstore/paths/{prefix}/",
        output_path="azureml://datastores/workspaceblobstore/paths/out/secrets",
        poll_interval=0.2,
    )
""",
        ),
    )
    dag = load_dag(path, "azure_invoke_secrets")
    capfd.readouterr()
    run = run_dag(dag)
    assert run.state == "success"
    text = task_logs(capfd, caplog)
    secrets = [ml_workspace.token, azurite.account_key]
    for secret in secrets:
        assert secret not in text
        for task_id, key, value in all_xcoms(run):
            assert secret not in json.dumps(value, default=str), (task_id, key)
    assert "Started batch job" in text  # the task log was captured at all


def test_on_kill_cancels_the_running_job(workspace):
    from airflow_provider_mlendpoints.operators.batch_invoke import InvokeBatchEndpointOperator

    prefix = workspace.upload_inputs(2)
    op = InvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name=TOY_ENDPOINT,
        deployment_name="slow",
        input=workspace.datastore_uri(prefix + "/"),
        poll_interval=0.2,
    )
    job_name = op.submit_job({})
    assert workspace.client.jobs.get(job_name).status not in ("Completed", "Failed", "Canceled")
    op.on_kill()
    assert workspace.wait_job(job_name, 60).status == "Canceled"
    InvokeBatchEndpointOperator(
        task_id="idle", endpoint_name=TOY_ENDPOINT, input="x"
    ).on_kill()  # no job: no-op
