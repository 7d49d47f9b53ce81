"""Online endpoint operators on real Airflow against the emulator (real scoring processes)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.airflow_db import xcom_value
from tests.fixtures.paths import REPO_ROOT

from .conftest import run_operators, states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]

SAMPLE = REPO_ROOT / "dags" / "sample_online_endpoint"


@pytest.fixture
def legacy_endpoint(tmp_path: Path) -> tuple[Path, str]:
    """A 2021-05 endpoint file with inline blue and green deployments and a 90/10 split."""
    name = unique("legacy")
    root = tmp_path / "2021-05"
    shutil.copytree(SAMPLE / "code", root / "onlinescoring")
    for version in (1, 2):
        (root / f"model-{version}").mkdir(parents=True)
        shutil.copy(SAMPLE / f"model-{version}" / "model.json", root / f"model-{version}" / "model.json")
    shutil.copytree(SAMPLE / "environment", root / "environment")

    def deployment(label: str, version: int, count: int) -> str:
        return f"""
          - name: {label}
            model:
              name: legacy-model-{name}-{version}
              version: 1
              local_path: model-{version}/model.json
            code_configuration:
              code:
                local_path: onlinescoring/
              scoring_script: score.py
            environment:
              name: legacy-env-{name}
              version: 1
              path: .
              conda_file: file:environment/conda.yaml
              docker:
                image: mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:20210727.v1
            environment_variables:
              DEPLOYMENT_LABEL: {label}
            instance_type: Standard_F2s_v2
            scale_settings:
              scale_type: manual
              instance_count: {count}
              min_instances: 1
              max_instances: 2"""

    text = textwrap.dedent(
        f"""\
        $schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
        name: {name}
        type: online
        auth_mode: key
        traffic:
          blue: 90
          green: 10

        deployments:"""
    )
    text += textwrap.indent(textwrap.dedent(deployment("blue", 1, 2) + deployment("green", 2, 1)), "")
    path = root / "4-flight-green.yml"
    path.write_text(text + "\n", encoding="utf-8")
    return path, name


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_2021_05_file_with_inline_deployments_and_traffic(
    airflow_db, test_dags, ws, legacy_endpoint, deferrable
):
    path, name = legacy_endpoint
    body = f"""
    endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", spec={str(path)!r})
    score = InvokeOnlineEndpointOperator(
        task_id="score_green", endpoint_name={name!r}, deployment_name="green", data={{"data": [[1, 1, 1, 1]]}}
    )
    endpoint >> score
    """
    first = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert first.state == "success", states(first)
    puts = ws.put_count()
    second = run_operators(test_dags, body, default_args={"deferrable": deferrable})
    assert second.state == "success", states(second)
    assert ws.put_count() == puts  # applied twice: nothing changed the second time

    ep = ws.get(f"/onlineEndpoints/{name}")
    assert ep["properties"]["traffic"] == {"blue": 90, "green": 10}
    assert ws.names(f"/onlineEndpoints/{name}/deployments") == ["blue", "green"]
    blue = ws.get(f"/onlineEndpoints/{name}/deployments/blue")
    assert blue["sku"]["capacity"] == 2 and blue["properties"]["provisioningState"] == "Succeeded"
    assert "/models/legacy-model-" in blue["properties"]["model"]
    result = xcom_value(second, "endpoint")
    assert result["traffic"] == {"blue": 90, "green": 10} and result["provisioning_state"] == "Succeeded"
    assert xcom_value(second, "score_green") == {
        "deployment": "green",
        "model_version": 2,
        "predictions": [1.35],
    }


def test_traffic_shifts_mirror_logs_update_and_delete(airflow_db, test_dags, ws):
    name = unique("ol")
    ws.emu.set_config(traffic_seed=5)  # which live requests green's mirror copies is deterministic
    try:
        run = _rollout_run(test_dags, name)
    finally:
        ws.emu.set_config(traffic_seed=None)
    _check_rollout(run, ws, name, test_dags)


def _rollout_run(test_dags, name: str):
    return run_operators(
        test_dags,
        f"""
        endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", spec="{SAMPLE}/endpoint.yml",
                                                        endpoint_name={name!r})
        blue = CreateOrUpdateOnlineDeploymentOperator(task_id="blue", spec="{SAMPLE}/blue-deployment.yml",
                                                      endpoint_name={name!r})
        green = CreateOrUpdateOnlineDeploymentOperator(task_id="green", spec="{SAMPLE}/green-deployment.yml",
                                                       endpoint_name={name!r})
        all_blue = SetOnlineTrafficOperator(task_id="all_blue", endpoint_name={name!r}, traffic={{"blue": 100}})
        mirror = SetOnlineTrafficOperator(task_id="mirror", endpoint_name={name!r}, mirror_traffic={{"green": 50}})
        live = [InvokeOnlineEndpointOperator(task_id=f"live_{{i}}", endpoint_name={name!r},
                                             request_file="{SAMPLE}/sample-request.json") for i in range(6)]
        shift = SetOnlineTrafficOperator(
            task_id="shift", endpoint_name={name!r}, traffic={{"blue": "{{{{ params.blue }}}}", "green": 10}},
            mirror_traffic={{}},
        )
        scale = CreateOrUpdateOnlineDeploymentOperator(
            task_id="scale_green", spec="{SAMPLE}/green-deployment.yml", endpoint_name={name!r},
            overrides={{"instance_count": 3, "environment_variables.EXTRA": "{{{{ ds }}}}"}},
        )
        invoke = InvokeOnlineEndpointOperator(task_id="invoke_blue", endpoint_name={name!r},
                                              request_file="{SAMPLE}/sample-request.json", deployment_name="blue")
        logs = GetOnlineDeploymentLogsOperator(task_id="logs", endpoint_name={name!r}, deployment_name="blue",
                                               tail=5)
        init_logs = GetOnlineDeploymentLogsOperator(task_id="init_logs", endpoint_name={name!r},
                                                    deployment_name="blue", container_type="StorageInitializer")
        refuse = DeleteOnlineDeploymentOperator(task_id="refuse", endpoint_name={name!r}, deployment_name="blue",
                                                retries=2)
        bad_split = SetOnlineTrafficOperator(task_id="bad_split", endpoint_name={name!r},
                                             traffic='{{"blue": 50, "green": 45}}', retries=2)
        unknown = SetOnlineTrafficOperator(task_id="unknown", endpoint_name={name!r}, traffic={{"purple": 100}},
                                           retries=2)
        overlap = SetOnlineTrafficOperator(task_id="overlap", endpoint_name={name!r}, traffic={{"blue": 100}},
                                           mirror_traffic={{"blue": 10}}, retries=2)
        for a, b in zip([mirror, *live], [*live, shift]):
            a >> b
        (endpoint >> blue >> green >> all_blue >> mirror)
        (shift >> scale >> invoke >> logs >> init_logs >> [refuse, bad_split, unknown, overlap])
        """,
        params={"blue": 90},
    )


def _check_rollout(run, ws, name: str, test_dags) -> None:
    st = states(run)
    ok = {t for t in st if t not in ("refuse", "bad_split", "unknown", "overlap")}
    assert all(st[t] == "success" for t in ok), st
    assert st["refuse"] == st["bad_split"] == st["unknown"] == st["overlap"] == "failed"
    assert xcom_value(run, "all_blue")["traffic"] == {"blue": 100}
    assert xcom_value(run, "mirror")["mirror_traffic"] == {"green": 50}
    # every live answer came from blue; green really received the mirrored copies (its log shows them)
    assert {xcom_value(run, f"live_{i}")["deployment"] for i in range(6)} == {"blue"}
    green_log = ws.post(
        f"/onlineEndpoints/{name}/deployments/green/getLogs", {"containerType": "InferenceServer"}
    )["content"]
    assert 1 <= green_log.count("run: scored 2 row(s)") <= 6, green_log
    assert xcom_value(run, "mirror")["traffic"] == {"blue": 100}  # mirror alone keeps the live split
    ep = ws.get(f"/onlineEndpoints/{name}")
    assert ep["properties"]["traffic"] == {"blue": 90, "green": 10}
    assert ep["properties"]["mirrorTraffic"] == {}
    assert ep["properties"]["description"].startswith("Blue/green rollout")  # full-body PUT kept it
    green = ws.get(f"/onlineEndpoints/{name}/deployments/green")
    assert green["sku"]["capacity"] == 3
    assert green["properties"]["environmentVariables"] == {"DEPLOYMENT_LABEL": "green", "EXTRA": "2026-01-15"}
    answer = xcom_value(run, "invoke_blue")
    assert answer["deployment"] == "blue" and answer["model_version"] == 1 and len(answer["predictions"]) == 2
    lines = xcom_value(run, "logs")
    assert 0 < len(lines) <= 5 and any("run: scored 2 row(s)" in line for line in lines)
    assert any("Downloading" in line for line in xcom_value(run, "init_logs"))
    assert ws.names(f"/onlineEndpoints/{name}/deployments") == ["blue", "green"]  # refused to delete blue

    done = run_operators(
        test_dags,
        f"""
        to_green = SetOnlineTrafficOperator(task_id="to_green", endpoint_name={name!r}, traffic={{"green": 100}})
        delete_blue = DeleteOnlineDeploymentOperator(task_id="delete_blue", endpoint_name={name!r},
                                                     deployment_name="blue")
        again = DeleteOnlineDeploymentOperator(task_id="again", endpoint_name={name!r}, deployment_name="blue")
        delete_ep = DeleteOnlineEndpointOperator(task_id="delete_ep", endpoint_name={name!r})
        delete_ep_again = DeleteOnlineEndpointOperator(task_id="delete_ep_again", endpoint_name={name!r})
        to_green >> delete_blue >> again >> delete_ep >> delete_ep_again
        """,
        default_args={"deferrable": True},
    )
    assert set(states(done).values()) == {"success"}, states(done)
    assert (
        xcom_value(done, "delete_blue")["existed"] is True and xcom_value(done, "again")["existed"] is False
    )
    assert ws.get(f"/onlineEndpoints/{name}") is None


def test_keys_and_tokens_never_reach_logs_or_xcom(airflow_db, test_dags, ws, capfd, caplog):
    from airflow.models.variable import Variable
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    name = unique("sec")
    token_ep = unique("tok")
    variable_key = f"{name}_api_key"
    run = run_operators(
        test_dags,
        f"""
        endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", spec="{SAMPLE}/endpoint.yml",
                                                        endpoint_name={name!r})
        blue = CreateOrUpdateOnlineDeploymentOperator(task_id="blue", spec="{SAMPLE}/blue-deployment.yml",
                                                      endpoint_name={name!r})
        traffic = SetOnlineTrafficOperator(task_id="traffic", endpoint_name={name!r}, traffic={{"blue": 100}})
        key = GetOnlineEndpointCredentialsOperator(task_id="key", endpoint_name={name!r},
                                                   variable_key={variable_key!r})
        check = GetOnlineEndpointCredentialsOperator(task_id="check_only", endpoint_name={name!r},
                                                     credential_type="key", key_name="secondary")
        invoke = InvokeOnlineEndpointOperator(task_id="invoke", endpoint_name={name!r},
                                              data={{"data": [[1, 2, 3, 4]]}})
        token_endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="token_endpoint", endpoint_name={token_ep!r},
                                                              auth_mode="aml_token")
        token = GetOnlineEndpointCredentialsOperator(task_id="token", endpoint_name={token_ep!r},
                                                     variable_key="{token_ep}_token")
        plain_name = GetOnlineEndpointCredentialsOperator(task_id="plain_name", endpoint_name={name!r},
                                                          variable_key="{name}_credential")
        endpoint >> blue >> traffic >> key >> check >> invoke >> token_endpoint >> token >> plain_name
        """,
    )
    st = states(run)
    assert st["plain_name"] == "failed"  # a Variable name Airflow would not hide is refused
    assert all(state == "success" for task, state in st.items() if task != "plain_name"), st

    keys = ws.post(f"/onlineEndpoints/{name}/listKeys")
    secrets = [keys["primaryKey"], keys["secondaryKey"]]
    with create_session() as session:
        stored = Variable.get(variable_key)
        token_value = Variable.get(f"{token_ep}_token")
        xcoms = session.scalars(
            select(XComModel.value).where(XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id)
        ).all()
    assert stored == keys["primaryKey"]  # handed downstream through the Variable
    assert token_value and token_value not in secrets
    secrets.append(token_value)

    out = capfd.readouterr()
    text = out.out + out.err + caplog.text
    xcom_text = "\n".join(str(value) for value in xcoms)
    assert "Stored the key of" in text  # the tasks did log
    for secret in secrets:
        assert secret not in text
        assert secret not in xcom_text
    reference = xcom_value(run, "key")
    assert reference["variable_key"] == variable_key and reference["credential_type"] == "key"
    assert xcom_value(run, "check_only")["variable_key"] is None
    assert xcom_value(run, "token")["credential_type"] == "token"
    assert xcom_value(run, "token")["expiry_time_utc"] > 0
    assert xcom_value(run, "invoke")["deployment"] == "blue"  # scored with the (masked) key


def test_templated_traffic_and_request_fields_render(airflow_db, test_dags, ws, tmp_path):
    name = unique("tpl")
    request = tmp_path / "2026-01-15" / "request.json"
    request.parent.mkdir()
    request.write_text('{"data": [[2, 0, 0, 0]]}')
    run = run_operators(
        test_dags,
        """
        endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", endpoint_name="{{ params.name }}",
                                                        tags={"day": "{{ ds }}"})
        blue = CreateOrUpdateOnlineDeploymentOperator(task_id="blue", spec="{{ params.sample }}/blue-deployment.yml",
                                                      endpoint_name="{{ params.name }}")
        traffic = SetOnlineTrafficOperator(task_id="traffic", endpoint_name="{{ params.name }}",
                                           traffic="{{ params.split | tojson }}")
        invoke = InvokeOnlineEndpointOperator(task_id="invoke", endpoint_name="{{ params.name }}",
                                              request_file="{{ params.requests }}/{{ ds }}/request.json")
        invoke_data = InvokeOnlineEndpointOperator(task_id="invoke_data", endpoint_name="{{ params.name }}",
                                                   data={"data": [["{{ params.x }}", 0, 0, 0]]},
                                                   deployment_name="{{ params.deployment }}",
                                                   ml_endpoints_conn_id="{{ params.conn }}")
        endpoint >> blue >> traffic >> invoke >> invoke_data
        """,
        params={
            "name": name,
            "sample": str(SAMPLE),
            "split": {"blue": 100},
            "requests": str(tmp_path),
            "x": 4,
            "deployment": "blue",
            "conn": "azure_ml_endpoints_default",
        },
    )
    assert run.state == "success", states(run)
    assert ws.get(f"/onlineEndpoints/{name}")["tags"] == {"day": "2026-01-15"}
    assert xcom_value(run, "traffic")["traffic"] == {"blue": 100}
    assert xcom_value(run, "invoke")["predictions"] == [1.1]
    assert xcom_value(run, "invoke_data") == {"deployment": "blue", "model_version": 1, "predictions": [2.1]}


def test_failed_deployment_is_reported_and_can_be_deleted(airflow_db, test_dags, ws, capfd, caplog):
    name = unique("fail")
    run = run_operators(
        test_dags,
        f"""
        endpoint = CreateOrUpdateOnlineEndpointOperator(task_id="endpoint", endpoint_name={name!r})
        broken = CreateOrUpdateOnlineDeploymentOperator(
            task_id="broken",
            spec={{"name": "broken", "endpoint_name": {name!r}, "model": "azureml:no-such-model:1",
                   "instance_type": "Standard_DS3_v2", "instance_count": 1}},
        )
        cleanup = DeleteOnlineDeploymentOperator(
            task_id="cleanup", endpoint_name={name!r}, deployment_name="broken", trigger_rule="all_done"
        )
        endpoint >> broken >> cleanup
        """,
    )
    st = states(run)
    assert st["broken"] == "failed" and st["cleanup"] == "success", st
    out = capfd.readouterr()
    assert "no-such-model" in out.out + out.err + caplog.text  # the service's reason, not just "Failed"
    assert ws.names(f"/onlineEndpoints/{name}/deployments") == []


def test_kubernetes_endpoint_compute_is_sent_as_its_arm_id(airflow_db, test_dags, ws, tmp_path):
    """Like the SDK, the endpoint PUT names a Kubernetes compute by ARM id, and the identity defaults."""
    name = unique("k8s")
    path = tmp_path / "kubernetes-endpoint.yml"
    path.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json\n"
        f"name: {name}\ncompute: azureml:inferencecompute\nauth_mode: key\n",
        encoding="utf-8",
    )
    run = run_operators(test_dags, f"CreateOrUpdateOnlineEndpointOperator(task_id='endpoint', spec={str(path)!r})")
    assert run.state == "success", states(run)
    endpoint = ws.get(f"/onlineEndpoints/{name}")
    assert endpoint["properties"]["compute"] == f"{ws.emu.workspace_path}/computes/inferencecompute"
    assert endpoint["identity"]["type"] == "SystemAssigned"
