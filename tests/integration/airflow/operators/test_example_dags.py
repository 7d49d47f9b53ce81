"""The example DAGs run to success with ``dag.test()`` against the emulator (Azurite-backed datastore)."""

from __future__ import annotations

import pytest

from tests.fixtures.airflow_db import load_dag, run_dag, xcom_value
from tests.fixtures.paths import REPO_ROOT

from .conftest import states, unique

pytestmark = [pytest.mark.airflow, pytest.mark.azurite, pytest.mark.slow]

DAGS = REPO_ROOT / "dags"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setenv("MLENDPOINTS_POLL_INTERVAL", "0.2")  # read when the DAG file is parsed


def test_example_online_rollout(airflow_db, ws):
    name = unique("rollout")
    dag = load_dag(DAGS / "example_online_rollout.py", "example_online_rollout")

    run = run_dag(dag, conf={"endpoint_name": name})

    st = states(run)
    assert run.state == "success", st
    assert set(st.values()) == {"success"}, st
    assert xcom_value(run, "score_blue")["deployment"] == "blue"
    assert xcom_value(run, "test_green")["deployment"] == "green"
    assert xcom_value(run, "mirror_to_green")["mirror_traffic"] == {"green": 20}
    assert xcom_value(run, "green_10")["traffic"] == {"blue": 90, "green": 10}
    assert xcom_value(run, "green_10")["mirror_traffic"] == {}
    assert xcom_value(run, "green_50")["traffic"] == {"blue": 50, "green": 50}
    assert xcom_value(run, "green_100")["traffic"] == {"green": 100}
    assert xcom_value(run, "score_at_100")["deployment"] == "green"
    assert xcom_value(run, "scale_green")["sku"]["capacity"] == 2
    assert any("init: loaded" in line for line in xcom_value(run, "blue_logs"))
    assert xcom_value(run, "delete_endpoint")["deleted"] is True
    assert ws.get(f"/onlineEndpoints/{name}") is None


def test_example_batch_endpoint(airflow_db, ws, tmp_path, monkeypatch):
    pytest.importorskip("sklearn", reason="the sample models need scikit-learn")
    pytest.importorskip("mlflow.sklearn", reason="the MLflow deployment needs mlflow")
    demo = tmp_path / "demo"
    monkeypatch.setenv("MLENDPOINTS_DEMO_DIR", str(demo))  # read when the DAG file is parsed
    name = unique("digits")
    dag = load_dag(DAGS / "example_batch_endpoint.py", "example_batch_endpoint")

    run = run_dag(dag, conf={"endpoint_name": name, "images": 12})

    st = states(run)
    assert run.state == "success", st
    assert set(st.values()) == {"success"}, st
    assert xcom_value(run, "get_endpoint")["default_deployment"] == "digits-svc"
    assert xcom_value(run, "get_deployment")["properties"]["codeConfiguration"]["scoringScript"] == "score.py"
    assert xcom_value(run, "set_default")["default_deployment"] == "digits-mlflow"

    day = demo / "batch-results" / "2026-01-15"
    lines = (day / "digits-svc" / "predictions.csv").read_text().splitlines()
    assert [line.split()[0] for line in sorted(lines)] == [f"digit_{i:05d}.txt" for i in range(12)]
    assert all(line.split()[1] in "0123456789" for line in lines)
    rows = [line.split() for line in (day / "digits-mlflow" / "predictions.csv").read_text().splitlines()]
    assert len(rows) == 20  # row, prediction, file_name (Azure's space-separated append_row format)
    assert {row[-1] for row in rows} == {"digits_000.csv", "digits_001.csv"}
    assert all(row[1] in "0123456789" for row in rows)

    assert xcom_value(run, "delete_old_deployment")["deleted"] is True
    assert ws.get(f"/batchEndpoints/{name}") is None
