"""dags/example_scheduled_scoring.py runs to success with dag.test() against the emulator,
once per logical date, each date's output in its own folder (backfill-safe)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.fixtures.airflow_db import load_dag, run_dag, task_states, xcom_value
from tests.fixtures.paths import REPO_ROOT

pytestmark = [pytest.mark.azurite, pytest.mark.airflow, pytest.mark.slow]

DAG_FILE = REPO_ROOT / "dags" / "example_scheduled_scoring.py"


def test_example_scheduled_scoring_two_dates(workspace, sample_model, monkeypatch):
    monkeypatch.setenv("MLENDPOINTS_POLL_INTERVAL", "0.3")
    monkeypatch.delenv("MLENDPOINTS_SCORING_MODE", raising=False)
    dag = load_dag(DAG_FILE, "example_scheduled_scoring")
    assert {"ensure_deployment.deployment", "stage_sample_inputs", "score_digits.invoke"} <= set(dag.task_ids)

    for day, count in (("2026-02-01", 6), ("2026-02-02", 4)):
        run = run_dag(
            dag, datetime.fromisoformat(day).replace(tzinfo=timezone.utc), conf={"sample_inputs": count}
        )
        assert run.state == "success", task_states(run)
        result = xcom_value(run, "score_digits.invoke")
        assert result["status"] == "Completed"
        assert result["output_file"] == (
            f"azureml://datastores/workspaceblobstore/paths/digits/predictions/{day}/predictions.csv"
        )
        rows = workspace.read_blob(f"digits/predictions/{day}/predictions.csv").splitlines()
        assert len(rows) == count and all(len(row.split()) == 2 for row in rows)


def test_example_scheduled_scoring_self_hosted_switch(airflow_db, sample_model, monkeypatch, tmp_path):
    """The same example with MLENDPOINTS_SCORING_MODE=self_hosted: no Azure tasks, same layout."""
    monkeypatch.setenv("MLENDPOINTS_SCORING_MODE", "self_hosted")
    monkeypatch.setenv("MLENDPOINTS_DEMO_DIR", str(tmp_path))
    dag = load_dag(DAG_FILE, "example_scheduled_scoring")
    assert not any(task_id.startswith("ensure_deployment") for task_id in dag.task_ids)
    assert {"score_digits.score", "score_digits.collect"} <= set(dag.task_ids)  # the score tasks plan

    run = run_dag(dag, datetime(2026, 2, 1, tzinfo=timezone.utc), conf={"sample_inputs": 5})

    assert run.state == "success", task_states(run)
    rows = (
        (tmp_path / "scheduled" / "predictions" / "2026-02-01" / "predictions.csv").read_text().splitlines()
    )
    assert len(rows) == 5 and all(len(row.split()) == 2 for row in rows)
