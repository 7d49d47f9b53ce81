"""The self-hosted benchmark's harness runs end to end at tiny sizes (its figures are not checked)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.fixtures.airflow_db import load_dag, run_dag, task_states


@pytest.fixture(scope="module")
def bench(repo_root: Path) -> ModuleType:
    """``bench/self_hosted.py`` imported as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_self_hosted", repo_root / "bench" / "self_hosted.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_self_hosted_quick_prints_figures(repo_root: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "self_hosted.py"), "--quick", "--skip-airflow", "--skip-stack",
         "--repeat", "2", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("a_seconds", "b_seconds", "b_over_a", "d_plan_seconds", "d_plan_peak_rss_mb",
                "e_collect_rows", "e_collect_peak_rss_mb"):
        assert key in figures, key
    assert figures["e_collect_rows"] == 20_000
    assert figures["airflow_settings"] == {}  # Airflow's defaults unless --min-heartbeat-interval
    assert figures["b_over_a"] > 0 and figures["d_plan_peak_rss_mb"] > 0
    assert figures["repeat"] == 2 and len(figures["a_seconds_runs"]) == 2  # (a) ran twice; its figure is the median
    assert min(figures["a_seconds_runs"]) <= figures["a_seconds"] <= max(figures["a_seconds_runs"])
    assert "(a) multiprocessing.Pool(2): " in proc.stdout and "(median of 2: " in proc.stdout
    predictions = (tmp_path / "cli-output" / "predictions.csv").read_text().splitlines()
    assert len(predictions) == figures["files"]


def test_timeline_names_each_task_instance_in_start_order(bench: ModuleType) -> None:
    run = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-01T00:01:00.5Z"}
    tis = [
        {"task_id": "g.collect", "map_index": -1, "queued_when": "2026-01-01T00:00:58Z",
         "start_date": "2026-01-01T00:00:59Z", "end_date": "2026-01-01T00:01:00Z"},
        {"task_id": "g.score", "map_index": 1, "queued_when": "2026-01-01T00:00:02Z",
         "start_date": "2026-01-01T00:00:02.5Z", "end_date": None},
        {"task_id": "g.plan", "map_index": -1, "queued_when": None,
         "start_date": "2026-01-01T00:00:00.2Z", "end_date": "2026-01-01T00:00:01Z"},
    ]
    assert bench.timeline(run, tis) == (
        "plan q- s0.2 e1.0; score[1] q2.0 s2.5 e-; collect q58.0 s59.0 e60.0; run end 60.5"
    )


def test_services_cpu_seconds_reads_each_running_service(bench: ModuleType) -> None:
    class Stack:
        services = ("scheduler", "api-server")

        def pid(self, service: str) -> int | None:
            return os.getpid() if service == "scheduler" else None  # the api-server is not running

    before = bench.services_cpu_seconds(Stack())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = bench.services_cpu_seconds(Stack())
    assert set(before) == set(after) == {"scheduler"}
    assert after["scheduler"] - before["scheduler"] >= 0.2


def test_slot_holds_reads_when_the_scheduler_freed_each_slot(bench: ModuleType) -> None:
    log = "\n".join([
        "2026-01-01T00:01:00.100000Z [info     ] Workload finished   [supervisor] duration=60.0 exit_code=0 "
        "final_state=success loc=supervisor.py:2658 workload_id=aaaa-1 workload_type=ExecuteTask",
        "2026-01-01T00:01:05.550000Z [info     ] Workload finished   [supervisor] duration=65.4 exit_code=0 "
        "final_state=success loc=supervisor.py:2658 workload_id=bbbb-2 workload_type=ExecuteTask",
        "2026-01-01T00:01:05.600000Z [info     ] Task finished   workload_id=cccc-3",
    ])
    tis = [
        {"id": "aaaa-1", "task_id": "g.score", "map_index": 0, "end_date": "2026-01-01T00:01:00.05Z"},
        {"id": "bbbb-2", "task_id": "g.score", "map_index": 1, "end_date": "2026-01-01T00:01:00.5Z"},
        {"id": "cccc-3", "task_id": "g.collect", "map_index": -1, "end_date": "2026-01-01T00:01:05.5Z"},
        {"id": "dddd-4", "task_id": "g.other", "map_index": -1, "end_date": None},
    ]
    assert bench.slot_holds(log, tis) == {"score[0]": 0.05, "score[1]": 5.05}


@pytest.mark.airflow
def test_plain_airflow_dag_scores_every_file_in_input_order(bench: ModuleType, airflow_db, test_dags, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """(c)'s floor does the same work as the Pool: one row per file, in input order, over uneven shares."""
    monkeypatch.setenv("BENCH_INIT_SECONDS", "0")
    monkeypatch.setenv("BENCH_CPU_PER_FILE", "0")
    deployment = bench.make_deployment(tmp_path / "deploy", instance_count=3, concurrency=1)
    files = bench.make_inputs(tmp_path / "in", 35)  # 4 mini-batches of 10 over 3 shards: 1, 1 and 2
    source = bench.plain_dag_source("bench_plain_test", deployment.parent, tmp_path / "in", shards=3)
    dag = load_dag(test_dags.write("bench_plain_test", source), "bench_plain_test")

    run = run_dag(dag, conf={"output": str(tmp_path / "out")})

    assert run.state == "success", task_states(run)
    expected = [f"{Path(path).name} {int(Path(path).stem.split('-')[1]) % 97} 0" for path in files]
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected
    assert sorted(p.name for p in (tmp_path / "out").glob("part-*.csv")) == ["part-0.csv", "part-1.csv", "part-2.csv"]


def test_airflow_settings_are_airflows_own_unless_asked(bench: ModuleType) -> None:
    assert bench.airflow_settings(None) == {}
    assert bench.airflow_settings(1) == {"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}
    with pytest.raises(ValueError, match="min-heartbeat-interval must be a whole number of seconds >= 1, not 0"):
        bench.airflow_settings(0)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--min-heartbeat-interval", "--min-heartbeat-interval must be a whole number of seconds >= 1, not 0"),
        ("--repeat", "--repeat must be a whole number >= 1, not 0"),
    ],
)
def test_bench_refuses_a_setting_under_one(repo_root: Path, tmp_path: Path, option: str, message: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "self_hosted.py"), "--quick", option, "0", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=repo_root,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not list(tmp_path.iterdir())  # refused before any work


def _c_run(seconds: float, pool: float, plain: float) -> dict:
    return {"seconds": seconds, "pool_seconds": pool, "plain_seconds": plain, "task_instances": 3,
            "timeline": "collect q1.0 s1.0 e2.0; run end 2.5", "plain_timeline": "merge q1.0 s1.0 e1.5; run end 2.0",
            "slot_holds": {"collect": 0.05}, "plain_slot_holds": {"merge": 0.02},
            "services_cpu_seconds": {"scheduler": 1.5}}


def test_airflow_figures_are_medians_of_the_runs_and_every_run_is_printed(bench: ModuleType, capsys) -> None:
    runs = [_c_run(60.0, 55.0, 57.0), _c_run(50.0, 50.0, 50.0), _c_run(56.0, 54.0, 55.0)]

    figures = bench.airflow_figures(runs, 52.0, 20_000)

    assert figures["c_seconds"] == 56.0
    assert figures["c_over_a"] == round(52.0 / 56.0, 3)  # the median run against the median (a)
    assert [run["over_a"] for run in figures["c_runs"]] == [round(52.0 / s, 3) for s in (60.0, 50.0, 56.0)]
    assert figures["c_over_plain"] == round(55.0 / 56.0, 3)  # the median of 0.95, 1.0 and 0.982
    assert figures["c_over_pool2"] == round(54.0 / 56.0, 3)
    out = capsys.readouterr().out
    assert out.count("(c) Airflow LocalExecutor, 2 slots (run ") == 3
    assert "(c) median of 3 runs: 56.0 s, c/a = 0.929 (median of 3: 0.867, 1.040, 0.929)" in out


def test_one_run_prints_and_reports_as_before(bench: ModuleType, capsys) -> None:
    figures = bench.airflow_figures([_c_run(56.0, 54.0, 55.0)], 52.0, 20_000)

    assert "c_runs" not in figures and figures["c_over_a"] == 0.929
    out = capsys.readouterr().out
    assert "(c) Airflow LocalExecutor, 2 slots: 56.0 s, c/a = 0.929" in out and "median" not in out


def test_stack_figures_are_medians_per_slot_count(bench: ModuleType, capsys) -> None:
    runs = [{"seconds": s, "pool_seconds": 54.0, "task_instances": 5, "noop_seconds": 20.0, "noop_task_instances": 33,
             "overhead_per_ti_s": o, "noop_runtime_s": 0.2, "timeline": "run end 1.0"}
            for s, o in ((58.0, 1.2), (60.0, 1.4), (57.0, 1.3))]

    figures = bench.stack_figures(runs, 2, 52.0, 20_000)

    assert figures["f2_seconds"] == 58.0 and figures["f2_over_a"] == round(52.0 / 58.0, 3)
    assert figures["f2_overhead_per_ti_s"] == 1.3 and len(figures["f2_runs"]) == 3
    assert "(f) 2 slots, median of 3 runs: 58.0 s, f/a = 0.897" in capsys.readouterr().out
