"""The self-hosted scoring TaskGroup on real Airflow 3 (dag.test() on a migrated SQLite DB).

No mocks: the sample deployment's real scoring script and scikit-learn model
run in the engine's scoring processes; Airflow renders the templates, expands
the mapped score task and stores XCom in its metadata DB.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.fixtures.airflow_db import (
    asset_events,
    clear_and_rerun,
    load_dag,
    run_dag,
    task_states,
    xcom_size,
    xcom_value,
)
from tests.fixtures.samples import DEPLOYMENT, EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

GROUP = "score_digits"
LOGICAL_DATE = datetime(2026, 1, 15, tzinfo=timezone.utc)


def _mapped_indexes(states: dict[tuple[str, int], str], task_id: str) -> list[int]:
    return sorted(index for (tid, index), _ in states.items() if tid == task_id and index >= 0)


def _score_states(states: dict[tuple[str, int], str], task_id: str) -> list[str]:
    """The states of the mapped score task's instances, in map index order."""
    return [state for (tid, index), state in sorted(states.items()) if tid == task_id and index >= 0]


def _plan(output: Path) -> dict:
    return json.loads((output / "_mlendpoints" / "plan.json").read_text(encoding="utf-8"))


def _prediction_lines(output: Path) -> list[str]:
    return (output / "predictions.csv").read_text(encoding="utf-8").splitlines()


def _summary(output: Path) -> dict:
    return json.loads((output / "_mlendpoints" / "report" / "summary.json").read_text(encoding="utf-8"))


def _test_dag_source(dag_id: str, body: str) -> str:
    return f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

DEPLOYMENT = {str(DEPLOYMENT)!r}

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
{body}
"""


def _scoring_dag(test_dags, dag_id: str, tmp_path: Path, arguments: str):
    """A DAG whose TaskGroup "scoring" scores ``tmp_path/in`` into ``tmp_path/out``; ``arguments``:
    further argument lines of ``self_hosted_batch_scoring``."""
    body = f"""
    self_hosted_batch_scoring(
        "scoring",
        deployment=DEPLOYMENT,
        input_path={str(tmp_path / "in")!r},
        output_path={str(tmp_path / "out")!r},
{arguments}    )
"""
    return load_dag(test_dags.write(dag_id, _test_dag_source(dag_id, body)), dag_id)


def test_example_dag_scores_params_paths_in_input_order(airflow_db, make_inputs, tmp_path):
    names = make_inputs(tmp_path / "in", 45)
    output = tmp_path / "out"
    dag = load_dag(EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID)

    run = run_dag(
        dag,
        LOGICAL_DATE,
        conf={"input_path": str(tmp_path / "in"), "output_path": str(output), "mini_batch_size": 4},
    )

    states = task_states(run)
    assert run.state == "success", states
    assert set(states.values()) == {"success"}
    lines = _prediction_lines(output)
    assert [line.split()[0] for line in lines] == names  # one row per input, in input order
    assert all(line.split()[1] in "0123456789" and len(line.split()) == 2 for line in lines)

    summary = _summary(output)
    assert summary["status"] == "Completed"
    assert summary["items"] == {"total": 45, "succeeded": 45, "failed": 0}
    assert summary["mini_batches"]["total"] == 12  # mini_batch_size override from the Param: ceil(45 / 4)

    assert f"{GROUP}.plan" not in dag.task_dict  # the score tasks planned: the first to start
    assert _mapped_indexes(states, f"{GROUP}.score") == [0, 1]  # instance_count 2 in the YAML
    assert len(_plan(output)["shards"]) == 2  # several shards, merged in order
    scored = [xcom_value(run, f"{GROUP}.score", map_index=i) for i in (0, 1)]
    assert sum(shard["scored"] for shard in scored) == 12  # every mini-batch once, by either task
    collected = xcom_value(run, f"{GROUP}.collect")
    assert collected["status"] == "Completed" and collected["output_rows"] == 45


def test_default_paths_render_ds_and_a_second_run_resumes(airflow_db, make_inputs, tmp_path, monkeypatch):
    demo_dir = tmp_path / "demo"
    monkeypatch.setenv("MLENDPOINTS_DEMO_DIR", str(demo_dir))  # read when the DAG file is parsed
    names = make_inputs(demo_dir / "inputs" / "2026-01-15", 24)
    make_inputs(demo_dir / "inputs" / "2026-01-16", 3)  # another date: must not be read
    dag = load_dag(EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID)
    output = demo_dir / "outputs" / "2026-01-15"

    first = run_dag(dag, LOGICAL_DATE)
    assert first.state == "success", task_states(first)
    assert [line.split()[0] for line in _prediction_lines(output)] == names
    assert not (demo_dir / "outputs" / "2026-01-16").exists()

    # Same date again (what clearing the run or a backfill over it does): resume, no duplicate rows.
    second = run_dag(dag, LOGICAL_DATE)
    states = task_states(second)
    assert second.state == "success", states
    lines = _prediction_lines(output)
    assert len(lines) == 24 and [line.split()[0] for line in lines] == names
    for index in _mapped_indexes(states, f"{GROUP}.score"):
        counts = xcom_value(second, f"{GROUP}.score", index)
        assert counts["scored"] == 0 and counts["skipped"] == counts["mini_batches"]  # nothing re-scored
    assert _summary(output)["items"]["succeeded"] == 24
    # Each run recorded an event for the rendered output through the example's AssetAlias.
    events = asset_events(f"file://{output}")
    assert [event["source_run_id"] for event in events] == [first.run_id, second.run_id]
    assert events[-1]["extra"]["status"] == "Completed" and events[-1]["extra"]["output_rows"] == 24


def test_failed_job_fails_collect_with_a_clear_message(airflow_db, test_dags, make_inputs, tmp_path, capfd):
    make_inputs(tmp_path / "in", 12)
    (tmp_path / "in" / "digit_00005.txt").write_text("not an image\n", encoding="utf-8")
    dag = _scoring_dag(test_dags, "mlendpoints_failing_job", tmp_path, """
        overrides={"mini_batch_size": 3, "error_threshold": 0, "retry_settings.max_retries": 0,
                   "resources.instance_count": 1},
""")

    run = run_dag(dag, LOGICAL_DATE)

    states = task_states(run)
    assert run.state == "failed"
    assert states[("scoring.collect", -1)] == "failed"
    assert _score_states(states, "scoring.score") == ["success"]
    log = capfd.readouterr()
    text = log.out + log.err
    assert "batch scoring job failed" in text
    assert "3 of 12 items failed" in text  # the whole mini-batch holding the bad file
    assert "error_threshold 0" in text
    assert "expected 64 pixel values" in text  # the scoring script's own error reaches the task log,
    assert "Traceback" in text and "score.py" in text  # with its traceback
    summary = _summary(tmp_path / "out")
    assert summary["status"] == "Failed" and summary["items"]["failed"] == 3


def test_more_score_tasks_than_mini_batches_leaves_the_extra_ones_nothing_to_do(
    airflow_db, test_dags, make_inputs, tmp_path
):
    names = make_inputs(tmp_path / "in", 4)
    dag = _scoring_dag(test_dags, "mlendpoints_few_inputs", tmp_path, """
        overrides={"mini_batch_size": 2, "resources.instance_count": 3},
""")
    run = run_dag(dag, LOGICAL_DATE)

    states = task_states(run)
    assert run.state == "success", states
    assert _score_states(states, "scoring.score") == ["success"] * 3  # 0..instance_count - 1
    assert len(_plan(tmp_path / "out")["shards"]) == 2  # one per mini-batch: no more
    assert xcom_value(run, "scoring.score", map_index=2) == {"shard": 2, "mini_batches": 0}
    assert [line.split()[0] for line in _prediction_lines(tmp_path / "out")] == names


def test_large_input_plans_few_small_shards_under_max_map_length(
    airflow_db, test_dags, tmp_path, monkeypatch
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(50_000):
        (inputs / f"f{i:05d}.txt").write_bytes(b"0")
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "300")
    path = test_dags.write(
        "mlendpoints_large_plan",
        _test_dag_source(
            "mlendpoints_large_plan",
            f"""
    self_hosted_batch_scoring(
        "scoring",
        deployment="{{{{ '" + DEPLOYMENT + "' }}}}",  # templated: a plan task cuts the shards
        input_path={str(inputs)!r},
        output_path={str(tmp_path / "out")!r},
        overrides={{"resources.instance_count": 400, "mini_batch_size": "{{{{ params.get('size', 20) }}}}"}},
    )
""",
        ),
    )
    dag = load_dag(path, "mlendpoints_large_plan")
    assert dag.task_dict["scoring.score"].max_active_tis_per_dagrun is None  # unknown at parse time

    # Plan for real; mark the mapped score tasks and collect successful instead of scoring 50,000 files.
    run = dag.test(logical_date=LOGICAL_DATE, mark_success_pattern=r"scoring\.(score|collect)")

    states = task_states(run)
    shards = xcom_value(run, "scoring.plan")
    assert len(shards) == 150  # capped at max_map_length // 2, well under Airflow's limit
    assert _mapped_indexes(states, "scoring.score") == list(range(150))
    plan = json.loads((tmp_path / "out" / "_mlendpoints" / "plan.json").read_text(encoding="utf-8"))
    assert plan["mini_batches"] == 2_500 and plan["files"] == 50_000  # templated mini_batch_size rendered: 20
    assert sum(shard["mini_batches"] for shard in shards) == 2_500
    assert xcom_size(run, "scoring.plan") < 150 * 120  # only shard references: ~100 bytes each, no file lists


def test_instance_count_bounds_concurrent_shard_tasks_at_parse_time(airflow_db, sample_model):
    from airflow.sdk import DAG, Asset, AssetAlias

    from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

    example = load_dag(EXAMPLE_DAG_FILE, EXAMPLE_DAG_ID)
    assert example.task_dict[f"{GROUP}.score"].max_active_tis_per_dagrun == 2  # resources.instance_count

    with DAG("mlendpoints_bounds", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        self_hosted_batch_scoring(
            "static", DEPLOYMENT, "/in", "/out/{{ ds }}", overrides={"resources.instance_count": 3}
        )
        self_hosted_batch_scoring(
            "templated", DEPLOYMENT, "/in", "/out2", overrides={"instance_count": "{{ params.n }}"}
        )
        self_hosted_batch_scoring(
            "explicit", DEPLOYMENT, "/in", "/out3", max_active_tis_per_dagrun=7, retries=2
        )
        self_hosted_batch_scoring("unknown", "{{ params.deployment }}", "/in", "/out4")

    assert dag.task_dict["static.score"].max_active_tis_per_dagrun == 3
    assert dag.task_dict["templated.score"].max_active_tis_per_dagrun == 2  # the YAML's value
    assert dag.task_dict["explicit.score"].max_active_tis_per_dagrun == 7
    assert dag.task_dict["unknown.plan"].max_active_tis_per_dagrun is None  # the score task only
    # A deployment read at parse time: score tasks mapped over shard numbers, no plan task.
    assert dag.task_dict["static.score"].expand_input.value == {"shard": [0, 1, 2]}
    assert dag.task_dict["explicit.score"].expand_input.value == {"shard": [0, 1]}  # the YAML's 2
    assert not {"static.plan", "templated.plan", "explicit.plan"} & set(dag.task_dict)
    assert dag.task_dict["explicit.collect"].retries == 2
    assert dag.task_dict["unknown.score"].max_active_tis_per_dagrun is None
    # The collect task's outlet: the output's Asset, or for a templated output an AssetAlias.
    assert dag.task_dict["templated.collect"].outlets == [Asset("file:///out2")]
    assert dag.task_dict["static.collect"].outlets == [AssetAlias("mlendpoints_bounds.static.output")]


def test_scoring_arguments_reach_every_task_and_a_misspelt_one_fails_at_parse_time(airflow_db, sample_model):
    from airflow.sdk import DAG

    from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

    with DAG("mlendpoints_arguments", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        self_hosted_batch_scoring(
            "scoring", DEPLOYMENT, "/in", "/out", recursive=True, input_glob="*.png", output_format="csv",
            init_timeout=30, rescore_failed=False,
        )
        self_hosted_batch_scoring(
            "planned", "{{ params.deployment }}", "/in", "/out3", recursive=True, input_glob="*.png",
            output_format="csv", init_timeout=30, rescore_failed=False,
        )
        with pytest.raises(TypeError, match="recursivee"):
            self_hosted_batch_scoring("typo", DEPLOYMENT, "/in", "/out2", recursivee=True)
    for task_id in ("scoring.score", "scoring.collect", "planned.plan", "planned.score", "planned.collect"):
        task = dag.task_dict[task_id]
        kwargs = getattr(task, "partial_kwargs", None) or vars(task)
        assert kwargs["recursive"] is True and kwargs["input_glob"] == "*.png", task_id
        assert kwargs["output_format"]["format"] == "csv" and kwargs["init_timeout"] == 30, task_id
        assert kwargs["rescore_failed"] is False, task_id


def test_provider_info_is_exposed_through_the_entry_point(airflow_db):
    from importlib.metadata import entry_points

    from airflow.providers_manager import ProvidersManager

    (entry,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_mlendpoints")
    ]
    info = entry.load()()
    assert info["package-name"] == "airflow-provider-mlendpoints"
    modules = [m for group in info["operators"] for m in group["python-modules"]]
    assert "airflow_provider_mlendpoints.operators.self_hosted" in modules
    for module in modules:
        __import__(module)
    assert "airflow-provider-mlendpoints" in ProvidersManager().providers


def test_existing_output_error_fails_a_fresh_run_without_retries(
    airflow_db, test_dags, make_inputs, tmp_path
):
    make_inputs(tmp_path / "in", 6)
    dag = _scoring_dag(test_dags, "mlendpoints_existing_error", tmp_path, """
        overrides={"resources.instance_count": 1},
        existing_output="error",
        retries=3,
""")

    first = run_dag(dag, LOGICAL_DATE)
    assert first.state == "success", task_states(first)
    rows = _prediction_lines(tmp_path / "out")

    second = run_dag(dag, LOGICAL_DATE)  # a new run over the same output: the user said "error"

    states = task_states(second)
    assert second.state == "failed"
    # at once: no retry can change an existing output
    assert set(_score_states(states, "scoring.score")) == {"failed"}
    assert _prediction_lines(tmp_path / "out") == rows  # left untouched


@pytest.mark.azurite
def test_blob_input_and_output_through_a_wasb_connection(
    airflow_db, test_dags, make_inputs, tmp_path, azurite, blob_container, monkeypatch, capfd
):
    names = make_inputs(tmp_path / "in", 16)
    container = azurite.service_client().get_container_client(blob_container)
    for name in names:
        container.upload_blob(f"in/2026-01-15/{name}", (tmp_path / "in" / name).read_bytes())
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLENDPOINTS_AZURITE",
        json.dumps({"conn_type": "wasb", "extra": {"connection_string": azurite.connection_string}}),
    )
    account = azurite.account_name
    path = test_dags.write(
        "mlendpoints_blob",
        _test_dag_source(
            "mlendpoints_blob",
            f"""
    self_hosted_batch_scoring(
        "scoring",
        deployment=DEPLOYMENT,
        input_path="abfs://{blob_container}@{account}.dfs.core.windows.net/in/{{{{ ds }}}}",
        output_path="wasbs://{blob_container}@{account}.blob.core.windows.net/out/{{{{ ds }}}}",
        wasb_conn_id="mlendpoints_azurite",
        overrides={{"mini_batch_size": 3, "resources.instance_count": 2}},
        max_shards=2,
    )
""",
        ),
    )
    dag = load_dag(path, "mlendpoints_blob")

    run = run_dag(dag, LOGICAL_DATE)

    states = task_states(run)
    assert run.state == "success", states
    assert _mapped_indexes(states, "scoring.score") == [0, 1]  # max_shards
    predictions = container.download_blob("out/2026-01-15/predictions.csv").readall().decode()
    assert [line.split()[0] for line in predictions.splitlines()] == names
    summary = json.loads(container.download_blob("out/2026-01-15/_mlendpoints/report/summary.json").readall())
    assert summary["items"] == {"total": 16, "succeeded": 16, "failed": 0}
    captured = capfd.readouterr()
    assert azurite.account_key not in captured.out + captured.err  # the connection's secret is masked


def test_clearing_a_finished_run_reruns_it_without_duplicate_rows(
    airflow_db, test_dags, make_inputs, tmp_path
):
    names = make_inputs(tmp_path / "in", 10)
    dag = _scoring_dag(test_dags, "mlendpoints_clear_rerun", tmp_path, """
        overrides={"mini_batch_size": 4, "resources.instance_count": 2},
        existing_output="error",
        max_shards=2,
""")
    first = run_dag(dag, LOGICAL_DATE)
    assert first.state == "success", task_states(first)
    planned = _plan(tmp_path / "out")

    # Clear the whole run: its score tasks find the plan this run made and use it despite
    # existing_output="error" (the run plans once); nothing is re-scored.
    again = clear_and_rerun(dag, first)

    states = task_states(again)
    assert again.state == "success", states
    assert again.run_id == first.run_id
    assert _plan(tmp_path / "out")["created_ts"] == planned["created_ts"]  # not planned again
    assert [line.split()[0] for line in _prediction_lines(tmp_path / "out")] == names
    for index in _mapped_indexes(states, "scoring.score"):
        assert xcom_value(again, "scoring.score", index)["scored"] == 0
    # The static output is the collect task's Asset: one event per successful collect, with the counts.
    events = asset_events(f"file://{tmp_path / 'out'}")
    assert len(events) == 2 and all(event["extra"]["output_rows"] == 10 for event in events)


def test_invalid_rendered_override_fails_the_plan_at_once(
    airflow_db, test_dags, make_inputs, tmp_path, capfd
):
    make_inputs(tmp_path / "in", 3)
    dag = _scoring_dag(test_dags, "mlendpoints_bad_override", tmp_path, """
        overrides={"mini_batch_size": "{{ 'many' ~ 'files' }}"},
        retries=3,
""")

    run = run_dag(dag, LOGICAL_DATE)

    states = task_states(run)
    assert run.state == "failed"
    assert set(_score_states(states, "scoring.score")) == {"failed"}  # not up_for_retry: a retry cannot fix it
    captured = capfd.readouterr()
    assert (
        'overrides: mini_batch_size: expected a positive integer or a size like "10MB", found "manyfiles"'
        in (captured.out + captured.err)
    )


def test_registered_model_from_a_templated_model_path_and_left_out_inputs_logged(
    airflow_db, test_dags, make_inputs, sample_model, tmp_path, capfd
):
    names = make_inputs(tmp_path / "in", 6)
    make_inputs(tmp_path / "in" / "older", 2)  # a nested folder: left out, as on Azure, and named
    registered = tmp_path / "deployment.yml"
    registered.write_text(
        DEPLOYMENT.read_text(encoding="utf-8")
        .replace("model:\n  name: digits-svc\n  path: model\n", "model: azureml:digits-svc@latest\n")
        .replace("code: code", f"code: {DEPLOYMENT.parent / 'code'}")
        .replace("conda_file: environment/conda.yaml", f"conda_file: {DEPLOYMENT.parent / 'environment/conda.yaml'}"),
        encoding="utf-8",
    )
    path = test_dags.write(
        "mlendpoints_registered_model",
        f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

with DAG(dag_id="mlendpoints_registered_model", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         params={{"model": {str(sample_model.parent)!r}}}) as dag:
    self_hosted_batch_scoring(
        "scoring",
        deployment={str(registered)!r},
        input_path={str(tmp_path / "in")!r},
        output_path={str(tmp_path / "out")!r},
        model_path="{{{{ params.model }}}}",
        overrides={{"resources.instance_count": 1}},
    )
""",
    )
    run = run_dag(load_dag(path, "mlendpoints_registered_model"), LOGICAL_DATE)
    assert run.state == "success", task_states(run)
    lines = _prediction_lines(tmp_path / "out")
    assert [line.split()[0] for line in lines] == names
    text = capfd.readouterr()
    assert "left out older/: nested folder" in text.out + text.err
    assert _summary(tmp_path / "out")["skipped_inputs"]["count"] == 1


FLAKY_SCRIPT = """
import os

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if os.path.exists(os.environ["BROKEN"]) and any(name.endswith(("1.txt", "3.txt")) for name in names):
        raise ValueError("a transient problem")
    return names
"""


def test_clearing_score_and_collect_rescores_failed_mini_batches(airflow_db, test_dags, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(FLAKY_SCRIPT)
    (tmp_path / "model").mkdir()
    broken = tmp_path / "broken"
    broken.write_text("")
    deployment = tmp_path / "deployment.yml"
    deployment.write_text(
        "name: flaky\nendpoint_name: ep-1\ntype: model\nmodel:\n  path: model\ncode_configuration:\n"
        "  code: code\n  scoring_script: score.py\nsettings:\n  mini_batch_size: 1\n  error_threshold: -1\n"
        f"  retry_settings:\n    max_retries: 0\nenvironment_variables:\n  BROKEN: {broken}\n"
    )
    (tmp_path / "in").mkdir()
    for i in range(4):
        (tmp_path / "in" / f"f{i}.txt").write_text(str(i))
    path = test_dags.write(
        "mlendpoints_rescore",
        _test_dag_source(
            "mlendpoints_rescore",
            f"""
    self_hosted_batch_scoring(
        "scoring",
        deployment={str(deployment)!r},
        input_path={str(tmp_path / "in")!r},
        output_path={str(tmp_path / "out")!r},
        max_shards=2,
        overrides={{"resources.instance_count": 2}},
    )
""",
        ),
    )
    dag = load_dag(path, "mlendpoints_rescore")
    first = run_dag(dag, LOGICAL_DATE)
    assert first.state == "success", task_states(first)
    assert _summary(tmp_path / "out")["items"] == {"total": 4, "succeeded": 2, "failed": 2}

    broken.unlink()  # the transient cause is fixed; clear the score and collect tasks
    again = clear_and_rerun(dag, first, task_ids=["scoring.score", "scoring.collect"])
    assert again.state == "success", task_states(again)
    summary = _summary(tmp_path / "out")
    assert summary["items"] == {"total": 4, "succeeded": 4, "failed": 0}
    assert summary["rescored_mini_batches"] == ["00000001", "00000003"]
    assert _prediction_lines(tmp_path / "out") == [f"f{i}.txt" for i in range(4)]


def test_a_second_dag_run_on_an_output_another_run_holds_is_refused(
    airflow_db, test_dags, make_inputs, tmp_path, capfd
):
    import time

    make_inputs(tmp_path / "in", 4)
    out = tmp_path / "out"
    (out / "_mlendpoints").mkdir(parents=True)
    # Another DAG run is scoring into the same output: its shard tasks beat the lease.
    (out / "_mlendpoints" / "lease.json").write_text(json.dumps(
        {"token": "other_dag/manual__1/scoring", "holder": "other_dag/manual__1/scoring", "owner": True,
         "host": "worker-7", "pid": 1, "beat_ts": time.time()}))
    path = test_dags.write(
        "mlendpoints_busy_output",
        _test_dag_source(
            "mlendpoints_busy_output",
            f"""
    self_hosted_batch_scoring(
        "scoring",
        deployment=DEPLOYMENT,
        input_path={str(tmp_path / "in")!r},
        output_path={str(out)!r},
    )
""",
        ),
    )
    run = run_dag(load_dag(path, "mlendpoints_busy_output"), LOGICAL_DATE)
    states = task_states(run)
    assert run.state == "failed" and _score_states(states, "scoring.score") == ["failed", "failed"], states
    log = capfd.readouterr()
    assert "is in use by another run (other_dag/manual__1/scoring" in log.out + log.err
    assert not (out / "_mlendpoints" / "manifest.jsonl").exists()
