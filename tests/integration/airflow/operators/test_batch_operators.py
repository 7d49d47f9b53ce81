"""Batch endpoint operators on real Airflow against the emulator (Azurite-backed datastore)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.airflow_db import xcom_value

from .conftest import run_operators, states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]


def _setup_body(
    endpoint: str, deployment_yml: Path, *, deployment: str = "blue", set_default: bool = False
) -> str:
    return f"""
    compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster", max_nodes=2)
    endpoint = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
    deployment = CreateOrUpdateBatchDeploymentOperator(
        task_id="deployment",
        spec={str(deployment_yml)!r},
        endpoint_name={endpoint!r},
        deployment_name={deployment!r},
        set_default={set_default!r},
    )
    get_endpoint = GetBatchEndpointOperator(task_id="get_endpoint", endpoint_name={endpoint!r})
    get_deployment = GetBatchDeploymentOperator(
        task_id="get_deployment", endpoint_name={endpoint!r}, deployment_name={deployment!r}
    )
    compute >> endpoint >> deployment >> [get_endpoint, get_deployment]
    """


def test_create_is_idempotent_and_details_reach_xcom(airflow_db, test_dags, ws, batch_assets):
    endpoint = unique("be")
    body = _setup_body(endpoint, batch_assets / "deployment.yml")

    first = run_operators(test_dags, body)
    assert first.state == "success", states(first)
    puts_after_first = ws.put_count()
    second = run_operators(test_dags, body)
    assert second.state == "success", states(second)

    assert ws.put_count() == puts_after_first  # nothing changed: no PUT at all the second time
    assert endpoint in ws.names("/batchEndpoints")
    assert ws.names(f"/batchEndpoints/{endpoint}/deployments") == ["blue"]
    dep = ws.get(f"/batchEndpoints/{endpoint}/deployments/blue")
    assert dep["properties"]["provisioningState"] == "Succeeded"
    assert dep["properties"]["model"]["assetId"].startswith("/subscriptions/")  # local model registered
    assert dep["properties"]["compute"].endswith("/computes/cpu-cluster")
    assert dep["properties"]["miniBatchSize"] == 2

    details = xcom_value(second, "get_endpoint")
    assert details["name"] == endpoint and details["provisioning_state"] == "Succeeded"
    assert details["scoring_uri"].endswith(f"/{endpoint}/jobs")
    assert details["default_deployment"] == "blue"  # the first deployment becomes the default
    json.dumps(details)  # JSON-safe
    dep_details = xcom_value(second, "get_deployment")
    assert dep_details["name"] == "blue" and dep_details["endpoint_name"] == endpoint
    assert xcom_value(second, "compute")["scale_settings"]["maxNodeCount"] == 2


def test_set_default_flip_and_delete(airflow_db, test_dags, ws, batch_assets):
    endpoint = unique("be")
    yml = str(batch_assets / "deployment.yml")
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster")
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        blue = CreateOrUpdateBatchDeploymentOperator(
            task_id="blue", spec={yml!r}, endpoint_name={endpoint!r}, set_default=True
        )
        green = CreateOrUpdateBatchDeploymentOperator(
            task_id="green", spec={yml!r}, endpoint_name={endpoint!r}, deployment_name="green",
            overrides={{"mini_batch_size": 5}},
        )
        still_blue = GetBatchEndpointOperator(task_id="still_blue", endpoint_name={endpoint!r})
        flip = SetBatchDefaultDeploymentOperator(
            task_id="flip", endpoint_name={endpoint!r}, deployment_name="green"
        )
        refuse = DeleteBatchDeploymentOperator(
            task_id="refuse_default", endpoint_name={endpoint!r}, deployment_name="green", retries=3
        )
        delete_blue = DeleteBatchDeploymentOperator(
            task_id="delete_blue", endpoint_name={endpoint!r}, deployment_name="blue"
        )
        compute >> ep >> blue >> green >> still_blue >> flip >> [refuse, delete_blue]
        """,
    )
    st = states(run)
    assert st["flip"] == "success" and st["delete_blue"] == "success", st
    assert st["refuse_default"] == "failed"  # the default deployment is never deleted, no retries
    assert xcom_value(run, "still_blue")["default_deployment"] == "blue"  # green created beside it
    assert xcom_value(run, "flip")["default_deployment"] == "green"
    endpoint_now = ws.get(f"/batchEndpoints/{endpoint}")
    assert endpoint_now["properties"]["defaults"]["deploymentName"] == "green"
    assert endpoint_now["properties"]["authMode"] == "AADToken"  # the rest of the body kept
    assert ws.names(f"/batchEndpoints/{endpoint}/deployments") == ["green"]
    assert ws.get(f"/batchEndpoints/{endpoint}/deployments/green")["properties"]["miniBatchSize"] == 5
    assert xcom_value(run, "delete_blue") == {
        "endpoint_name": endpoint, "deployment_name": "blue", "deleted": True, "existed": True,
    }  # fmt: skip

    # Deleting what is already gone succeeds; then the endpoint goes, twice.
    gone = run_operators(
        test_dags,
        f"""
        again = DeleteBatchDeploymentOperator(task_id="again", endpoint_name={endpoint!r}, deployment_name="blue")
        delete_ep = DeleteBatchEndpointOperator(task_id="delete_ep", endpoint_name={endpoint!r})
        delete_ep_again = DeleteBatchEndpointOperator(task_id="delete_ep_again", endpoint_name={endpoint!r})
        missing_dep = DeleteBatchDeploymentOperator(
            task_id="missing_dep", endpoint_name={endpoint!r}, deployment_name="green"
        )
        again >> delete_ep >> delete_ep_again >> missing_dep
        """,
    )
    assert set(states(gone).values()) == {"success"}, states(gone)
    assert ws.get(f"/batchEndpoints/{endpoint}") is None
    assert xcom_value(gone, "again")["existed"] is False
    assert xcom_value(gone, "delete_ep")["existed"] is True
    assert xcom_value(gone, "delete_ep_again")["existed"] is False


def test_spec_error_fails_at_once_naming_file_and_field(airflow_db, test_dags, ws, batch_assets, capfd):
    endpoint = unique("be")
    bad = batch_assets / "bad-deployment.yml"
    text = (
        (batch_assets / "deployment.yml").read_text().replace("mini_batch_size: 2", "mini_batch_size: lots")
    )
    bad.write_text(text, encoding="utf-8")
    run = run_operators(
        test_dags,
        f"""
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        dep = CreateOrUpdateBatchDeploymentOperator(
            task_id="deployment", spec={str(bad)!r}, endpoint_name={endpoint!r}, retries=3
        )
        ep >> dep
        """,
    )
    assert states(run)["deployment"] == "failed"  # not up_for_retry: a spec error is final
    out = capfd.readouterr()
    log = out.out + out.err
    assert str(bad) in log and "settings.mini_batch_size" in log
    assert ws.names(f"/batchEndpoints/{endpoint}/deployments") == []


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_failed_provisioning_fails_the_task(
    airflow_db, test_dags, ws, batch_assets, capfd, caplog, deferrable
):
    """A deployment on a compute that does not exist: provisioning fails, the task names the service's reason."""
    endpoint = unique("be")
    run = run_operators(
        test_dags,
        f"""
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        dep = CreateOrUpdateBatchDeploymentOperator(
            task_id="deployment", spec={str(batch_assets / "deployment.yml")!r}, endpoint_name={endpoint!r},
            overrides={{"compute": "azureml:no-such-cluster"}},
        )
        ep >> dep
        """,
        default_args={"deferrable": deferrable},
    )
    assert states(run)["deployment"] == "failed"
    props = ws.get(f"/batchEndpoints/{endpoint}/deployments/blue")["properties"]
    assert props["provisioningState"] == "Failed"
    out = capfd.readouterr()
    log = out.out + out.err + caplog.text
    # The service's reason (from the operation's status) and the Studio link, not just "Failed".
    assert (
        "provisioning Failed: UserError: The compute" in log and "no-such-cluster' could not be found" in log
    )
    assert "(Azure ML Studio: http://127.0.0.1:" in log and "/studio/subscriptions/" in log  # the emulator's page


def test_templated_fields_render(airflow_db, test_dags, ws, batch_assets):
    endpoint = unique("be")
    run = run_operators(
        test_dags,
        """
        ep = CreateOrUpdateBatchEndpointOperator(
            task_id="endpoint",
            spec={"name": "{{ params.endpoint }}", "description": "scores {{ ds }}", "tags": {"run": "{{ ds_nodash }}"}},
        )
        dep = CreateOrUpdateBatchDeploymentOperator(
            task_id="deployment",
            spec="{{ params.folder }}/deployment.yml",
            endpoint_name="{{ params.endpoint }}",
            deployment_name="{{ params.deployment }}",
            overrides={"mini_batch_size": "{{ params.mini_batch_size }}", "environment_variables.RUN_DATE": "{{ ds }}",
                       "retry_settings.max_retries": ""},
        )
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="{{ params.compute }}")
        got = GetBatchDeploymentOperator(
            task_id="get", endpoint_name="{{ params.endpoint }}", deployment_name="{{ params.deployment }}"
        )
        compute >> ep >> dep >> got
        """,
        params={
            "endpoint": endpoint,
            "folder": str(batch_assets),
            "deployment": "templated",
            "mini_batch_size": 7,
            "compute": "cpu-cluster",
        },
    )
    assert run.state == "success", states(run)
    ep = ws.get(f"/batchEndpoints/{endpoint}")
    assert ep["properties"]["description"] == "scores 2026-01-15" and ep["tags"] == {"run": "20260115"}
    props = ws.get(f"/batchEndpoints/{endpoint}/deployments/templated")["properties"]
    assert props["miniBatchSize"] == 7
    assert props["environmentVariables"] == {"RUN_DATE": "2026-01-15"}
    assert props["retrySettings"]["maxRetries"] == 3  # an override that rendered empty keeps the YAML's
    assert xcom_value(run, "get")["properties"]["environmentVariables"] == {"RUN_DATE": "2026-01-15"}


def test_yaml_is_not_rendered_as_a_template(airflow_db, test_dags, ws, batch_assets):
    """A .yml path is a path: its content (which may hold {{ }}) is never rendered by Jinja."""
    endpoint = unique("be")
    yml = batch_assets / "braces.yml"
    yml.write_text(
        (batch_assets / "deployment.yml").read_text()
        + "description: 'uses ${{inputs.data}} and {{ ds }} literally'\n",
        encoding="utf-8",
    )
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster")
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        dep = CreateOrUpdateBatchDeploymentOperator(task_id="deployment", spec={str(yml)!r}, endpoint_name={endpoint!r})
        compute >> ep >> dep
        """,
    )
    assert run.state == "success", states(run)
    props = ws.get(f"/batchEndpoints/{endpoint}/deployments/blue")["properties"]
    assert props["description"] == "uses ${{inputs.data}} and {{ ds }} literally"


def test_deferrable_create_and_delete(airflow_db, test_dags, ws, batch_assets):
    endpoint = unique("be")
    run = run_operators(
        test_dags,
        f"""
        compute = CreateAmlComputeOperator(task_id="compute", compute_name="cpu-cluster")
        ep = CreateOrUpdateBatchEndpointOperator(task_id="endpoint", endpoint_name={endpoint!r})
        dep = CreateOrUpdateBatchDeploymentOperator(
            task_id="deployment", spec={str(batch_assets / "deployment.yml")!r}, endpoint_name={endpoint!r},
            set_default=True,
        )
        delete = DeleteBatchEndpointOperator(task_id="delete", endpoint_name={endpoint!r})
        compute >> ep >> dep >> delete
        """,
        default_args={"deferrable": True},
    )
    assert run.state == "success", states(run)
    assert xcom_value(run, "endpoint")["provisioning_state"] == "Succeeded"
    assert xcom_value(run, "deployment")["name"] == "blue"
    assert xcom_value(run, "delete")["deleted"] is True
    assert ws.get(f"/batchEndpoints/{endpoint}") is None


def test_download_results_to_folder_and_file(airflow_db, test_dags, ws, batch_assets, tmp_path, ml_workspace):
    from airflow_provider_mlendpoints.client import batch_invoke_body
    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    endpoint = unique("be")
    setup = run_operators(test_dags, _setup_body(endpoint, batch_assets / "deployment.yml"))
    assert setup.state == "success", states(setup)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for i in range(3):
        (inputs / f"f{i}.txt").write_text("x")
    hook = MLEndpointsHook()
    job = hook.get_conn().invoke_batch_endpoint(endpoint, batch_invoke_body({"input_data": str(inputs)}))
    hook.close()

    run = run_operators(
        test_dags,
        """
        folder = DownloadBatchJobResultsOperator(
            task_id="folder", job_name="{{ params.job }}", local_path="{{ params.out }}/folder/"
        )
        one_file = DownloadBatchJobResultsOperator(
            task_id="file", job_name="{{ params.job }}", local_path="{{ params.out }}/{{ ds }}/predictions.csv"
        )
        folder >> one_file
        """,
        params={"job": job.name, "out": str(tmp_path / "out")},
    )
    assert run.state == "success", states(run)
    files = xcom_value(run, "folder")
    assert str(tmp_path / "out" / "folder" / "predictions.csv") in files
    target = tmp_path / "out" / "2026-01-15" / "predictions.csv"
    assert xcom_value(run, "file") == [str(target)]
    assert sorted(target.read_text().splitlines()) == ["f0.txt v1", "f1.txt v1", "f2.txt v1"]
