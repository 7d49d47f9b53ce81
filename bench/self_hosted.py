"""Benchmark of self-hosted batch scoring against a bare multiprocessing ceiling.

Workload (issue 2): N small input files, ``init()`` sleeps 0.5 s, ``run()``
spends about 5 ms of CPU per file and returns one row per file. Measured in
one run, on this machine:

(a) a ``multiprocessing.Pool`` of 2 processes calling the same init/run over
    the same mini-batches: the ceiling;
(b) ``mlendpoints score --workers 2``;
(c) the self-hosted TaskGroup on a real Airflow (LocalExecutor, SQLite,
    2 parallel task slots, instance_count 2), after one untimed run of a
    no-op DAG (a running deployment has long paid its first task's start-up);
    its timeline shows where the run's time went; the benchmark looks at a
    timed run every 5 s (its figures come from the run's own start and end),
    a Pool(2) run just before it gives ``c_over_pool2`` as in (f); between
    the two, the same work as plain Airflow tasks (two mapped ``@task``
    instances calling init/run, a merge task; no provider code) gives the
    floor this Airflow sets here (``c_plain_over_a``, ``c_over_plain``);
    it prints how long each task instance held its executor slot after it
    ended (``c_slot_holds``: Airflow's supervisor at times holds one 5 s),
    and the CPU time the Airflow services (scheduler, dag-processor,
    api-server) used meanwhile, time the scoring processes could not have;
(d) planning time and peak RSS for 200,000 input files;
(e) peak RSS of collect for 2,000,000 output rows;
(f) the workload of (c) on the ``scripts/stack`` deployment (PostgreSQL,
    LocalExecutor, api-server + scheduler + dag-processor + triggerer) with 2
    and then 4 parallel task slots (instance_count = slots), each after an
    untimed warm-up run as in (c): throughput ratios
    to (a) (``f2_over_a``, ``f4_over_a``) and to a Pool of as many processes
    run just before (``f2_over_pool2``, ``f4_over_pool4``), and the scheduling overhead per task
    instance, measured with a DAG of 32 mapped no-op tasks on the same stack:
    slot-seconds per task instance (``f*_overhead_per_ti_s`` = slots x wall
    time / task instances), of which ``f*_noop_ti_runtime_s`` is spent inside
    the task process (start-up, API calls; the rest is scheduling and fork).

``--repeat N`` runs (a), each timed run of (c) (with its Pool(2) and plain-Airflow runs) and each
slot count of (f) N times: every figure is then the median of its N runs (each ratio the median of
the per-run ratios, each run against the median (a)), and the JSON's ``*_runs`` lists give every
run's figures; the lines printed give every run, then the medians. On a machine whose speed moves by
a few percent from minute to minute, one run cannot tell 0.92 from 0.94.

(c) and (f) run with Airflow's default settings; ``--min-heartbeat-interval N`` sets
``[workers] min_heartbeat_interval`` to N seconds for both (Airflow's default is 5: the longest a
supervisor may hold a finished task's slot, and how often each running task heartbeats). The
JSON's ``airflow_settings`` says what was set.

The last line printed is one JSON object with the figures, including
``b_over_a``, ``c_over_a``, ``f2_over_a`` and ``f4_over_a`` (throughput ratios). ``--quick`` shrinks every
size so the test suite can check the harness itself; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Seconds between the benchmark's looks at a timed run. A run's time is read from its own start and
#: end dates, so looking less often changes no figure; looking every second cost the api-server
#: about 0.8 CPU-s per (c) run, CPU the scoring shares on a 2-core machine.
OBSERVER_POLL_SECONDS = 5.0
sys.path.insert(0, str(REPO / "scripts"))

SCORE_PY = '''
import os
import time

CPU_SECONDS_PER_FILE = float(os.environ.get("BENCH_CPU_PER_FILE", "0.005"))
INIT_SECONDS = float(os.environ.get("BENCH_INIT_SECONDS", "0.5"))
ROWS_PER_FILE = int(os.environ.get("BENCH_ROWS_PER_FILE", "1"))


def init():
    time.sleep(INIT_SECONDS)


def run(mini_batch):
    rows = []
    for path in mini_batch:
        with open(path) as handle:
            value = handle.read().strip()
        deadline = time.process_time() + CPU_SECONDS_PER_FILE
        spins = 0
        while time.process_time() < deadline:
            spins += 1
        name = os.path.basename(path)
        for i in range(ROWS_PER_FILE):
            rows.append(f"{name} {value} {i}")
    return rows
'''

DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: bench
endpoint_name: bench-endpoint
type: model
model:
  path: model
code_configuration:
  code: code
  scoring_script: score.py
resources:
  instance_count: {instance_count}
settings:
  max_concurrency_per_instance: {concurrency}
  mini_batch_size: {mini_batch_size}
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: warning
"""

DAG_PY = '''
import pendulum
from airflow.sdk import dag

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def bench_self_hosted():
    self_hosted_batch_scoring(
        "score",
        deployment={deployment!r},
        input_path={input!r},
        output_path="{{{{ dag_run.conf['output'] }}}}",
        recursive=True,
    )


bench_self_hosted()
'''


#: (c)'s floor: the same work as plain Airflow tasks, no provider code. Each instance of a mapped
#: ``@task`` loads the scoring script, calls ``init()`` and then ``run()`` on its
#: contiguous share of the mini-batches, writing one part file; a last task concatenates the
#: parts in input order into predictions.csv (the rows the Pool writes, in the same order).
PLAIN_DAG_PY = """
import importlib.util
import os

import pendulum
from airflow.sdk import dag, task

SCORE_PY = {score_py!r}
INPUT_DIR = {input!r}
SHARDS = {shards}
MINI_BATCH_SIZE = {mini_batch_size}


def mini_batches():
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(INPUT_DIR) for name in names)
    return [files[i : i + MINI_BATCH_SIZE] for i in range(0, len(files), MINI_BATCH_SIZE)]


@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def plain_airflow():
    @task
    def score(shard, dag_run=None):
        spec = importlib.util.spec_from_file_location("bench_plain_score", SCORE_PY)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.init()
        batches = mini_batches()
        mine = batches[shard * len(batches) // SHARDS : (shard + 1) * len(batches) // SHARDS]
        output = dag_run.conf["output"]
        os.makedirs(output, exist_ok=True)
        part = os.path.join(output, f"part-{{shard}}.csv")
        with open(part, "w") as handle:
            for batch in mine:
                handle.write("".join(f"{{row}}\\n" for row in script.run(batch)))
        return part

    @task
    def merge(parts, dag_run=None):
        with open(os.path.join(dag_run.conf["output"], "predictions.csv"), "w") as out:
            for part in parts:
                with open(part) as handle:
                    out.write(handle.read())

    merge(score.expand(shard=list(range(SHARDS))))


plain_airflow()
"""


def plain_dag_source(dag_id: str, deploy_dir: Path, input_dir: Path, shards: int, mini_batch_size: int = 10) -> str:
    """The source of (c)'s plain-Airflow DAG over ``deploy_dir``'s scoring script and ``input_dir``."""
    return PLAIN_DAG_PY.format(dag_id=dag_id, score_py=str(deploy_dir / "code" / "score.py"), input=str(input_dir),
                               shards=shards, mini_batch_size=mini_batch_size)


def make_deployment(root: Path, *, instance_count: int, concurrency: int, mini_batch_size: int = 10) -> Path:
    """Write the benchmark's deployment folder (YAML, scoring script, empty model) under ``root``."""
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "model").mkdir(exist_ok=True)
    (root / "code" / "score.py").write_text(SCORE_PY)
    path = root / "deployment.yml"
    path.write_text(
        DEPLOYMENT_YML.format(
            instance_count=instance_count, concurrency=concurrency, mini_batch_size=mini_batch_size
        )
    )
    return path


def make_inputs(folder: Path, count: int) -> list[str]:
    """``count`` small files, in nested folders of 1,000; returns their sorted paths."""
    paths = []
    for i in range(count):
        sub = folder / f"part-{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"item-{i:07d}.txt"
        path.write_text(f"{i % 97}\n")
        paths.append(str(path))
    return sorted(paths)


# ---------------------------------------------------------------------- (a) the ceiling
_SCORE = None


def _pool_init(code_dir: str) -> None:
    global _SCORE
    sys.path.insert(0, code_dir)
    import score  # noqa: PLC0415 - the benchmark's own scoring script

    score.init()
    _SCORE = score


def _pool_run(mini_batch: list[str]) -> list[str]:
    return _SCORE.run(mini_batch)


def bench_pool(deploy_dir: Path, files: list[str], out: Path, workers: int = 2, mini_batch_size: int = 10) -> float:
    """(a): a plain Pool over the same mini-batches, results written in order. Returns seconds."""
    batches = [files[i : i + mini_batch_size] for i in range(0, len(files), mini_batch_size)]
    start = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_pool_init, initargs=(str(deploy_dir / "code"),)) as pool, out.open(
        "w"
    ) as handle:
        for rows in pool.imap(_pool_run, batches, chunksize=1):
            handle.write("".join(f"{row}\n" for row in rows))
    return time.perf_counter() - start


# ---------------------------------------------------------------------- (b) the CLI
def bench_cli(deployment: Path, input_dir: Path, output: Path, workers: int = 2) -> float:
    """(b): ``mlendpoints score --workers N``. Returns seconds."""
    cli = Path(sys.executable).with_name("mlendpoints")
    start = time.perf_counter()
    subprocess.run(
        [str(cli), "score", "--deployment", str(deployment), "--input", str(input_dir), "--output", str(output),
         "--workers", str(workers), "--overwrite", "--recursive"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


# ---------------------------------------------------------------------- (c) real Airflow
def bench_airflow(
    work: Path, deployment: Path, input_dir: Path, files: list[str], slots: int = 2, airflow_env: dict | None = None,
    repeat: int = 1,
) -> list[dict]:
    """(c): the TaskGroup on LocalExecutor with ``slots`` parallel task slots, ``repeat`` times on one Airflow.

    Returns each repetition's timings.

    As in (f), a Pool of as many processes scores the same files first (Airflow idle by then):
    on a machine whose speed drifts, ``c_over_pool2`` compares the run with a ceiling measured
    a minute earlier, not several. Between the two, the plain-Airflow DAG does the same work
    with no provider code (:data:`PLAIN_DAG_PY`): the floor this Airflow sets on this machine.
    ``airflow_env``: Airflow settings (``AIRFLOW__...``) for every Airflow process (see :func:`airflow_settings`).
    """
    from airflow_stack import AirflowStack

    dags = work / "dags"
    dags.mkdir()
    (dags / "bench_self_hosted.py").write_text(DAG_PY.format(deployment=str(deployment), input=str(input_dir)))
    (dags / "bench_plain_airflow.py").write_text(
        plain_dag_source("bench_plain_airflow", deployment.parent, input_dir, shards=slots)
    )
    (dags / "bench_warm_up.py").write_text(NOOP_DAG_PY.format(dag_id="bench_warm_up", count=slots))
    stack = AirflowStack(home=work / "airflow-home", dags_folder=dags, parallelism=slots,
                         services=("api-server", "scheduler", "dag-processor"), extra_env=dict(airflow_env or {}))
    with stack:
        warm_up(stack)
        stack.wait_for_dag("bench_self_hosted")
        stack.wait_for_dag("bench_plain_airflow")
        return [_airflow_repetition(stack, work, deployment, files, slots, _suffix(i, repeat)) for i in range(repeat)]


def _suffix(index: int, repeat: int) -> str:
    """What tells repetition ``index``'s output folders from the others' (nothing when there is one)."""
    return "" if repeat == 1 else f"-{index + 1}"


def _airflow_repetition(stack, work: Path, deployment: Path, files: list[str], slots: int, suffix: str) -> dict:
    """One repetition of (c): a Pool just before, the plain-Airflow DAG, then the TaskGroup's timed run."""
    pool_seconds = bench_pool(deployment.parent, files, work / f"pool-c{suffix}.csv", workers=slots)
    plain_run, plain_tis = _timed_run(stack, "bench_plain_airflow", {"output": str(work / f"plain-output{suffix}")})
    _wait_for_free_slots(stack, {ti["id"] for ti in plain_tis})
    services_before = services_cpu_seconds(stack)
    run, tis = _timed_run(stack, "bench_self_hosted", {"output": str(work / f"airflow-output{suffix}")})
    services_after = services_cpu_seconds(stack)
    _wait_for_free_slots(stack, {ti["id"] for ti in tis})
    scheduler_log = stack._log_file("scheduler").read_text(errors="replace")
    seconds = _iso_seconds(run["end_date"]) - _iso_seconds(run["start_date"])
    busy = sum(_iso_seconds(ti["end_date"]) - _iso_seconds(ti["start_date"]) for ti in tis)
    services = {name: used - services_before[name] for name, used in services_after.items() if name in services_before}
    return {"seconds": seconds, "task_instances": len(tis), "task_busy_seconds": busy, "pool_seconds": pool_seconds,
            "timeline": timeline(run, tis), "services_cpu_seconds": services,
            "plain_seconds": _iso_seconds(plain_run["end_date"]) - _iso_seconds(plain_run["start_date"]),
            "plain_timeline": timeline(plain_run, plain_tis),
            "slot_holds": slot_holds(scheduler_log, tis), "plain_slot_holds": slot_holds(scheduler_log, plain_tis)}


def _timed_run(stack, dag_id: str, conf: dict) -> tuple[dict, list[dict]]:
    """Trigger ``dag_id`` and wait for its run to end, looking every few seconds; fails unless it succeeded."""
    run_id = stack.trigger(dag_id, conf=conf)
    run = stack.wait_for_run(dag_id, run_id, poll=OBSERVER_POLL_SECONDS)
    tis = stack.task_instances(dag_id, run_id)
    if run["state"] != "success":
        raise RuntimeError(f"{dag_id} ended {run['state']}; logs under {stack.home}")
    return run, tis


def services_cpu_seconds(stack) -> dict[str, float]:
    """CPU seconds each Airflow service process has used so far (user + system, with its reaped children).

    Task processes are not counted: LocalExecutor's long-lived worker processes fork and
    reap them, so their time stays with those workers. The dag-processor's figure includes
    the DAG-file parses it forks.
    """
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for service in stack.services:
        pid = stack.pid(service)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            continue
        used[service] = sum(int(value) for value in fields[11:15]) / tick  # utime stime cutime cstime
    return used


def timeline(run: dict, tis: list[dict]) -> str:
    """Where a run's time went: each task instance's queued, start and end, in seconds after the run started."""
    start = _iso_seconds(run["start_date"])

    def at(value: str | None) -> str:
        return "-" if not value else f"{_iso_seconds(value) - start:.1f}"

    rows = sorted(tis, key=lambda ti: (ti.get("start_date") or "", ti.get("map_index", -1)))
    parts = [
        f"{_ti_name(ti)} q{at(ti.get('queued_when'))} s{at(ti.get('start_date'))} e{at(ti.get('end_date'))}"
        for ti in rows
    ]
    return "; ".join(parts) + f"; run end {at(run.get('end_date'))}"


def _ti_name(ti: dict) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"].rsplit(".", 1)[-1] + ("" if index is None or index < 0 else f"[{index}]")


def slot_holds(scheduler_log: str, tis: list[dict]) -> dict[str, float]:
    """Seconds each task instance kept its executor slot after it ended, read from the scheduler's log.

    A task instance ends when it reports its state; its slot is free when the supervisor logs
    "Workload finished". Airflow 3.3's supervisor sometimes sees the task's sockets close a moment
    before the process can be reaped, and then sleeps out its heartbeat interval (5 s) before it
    looks again: a slot held so delays the next task when every slot is taken.
    """
    finished: dict[str, float] = {}
    for line in scheduler_log.splitlines():
        if "Workload finished" in line and "workload_id=" in line:
            workload = line.split("workload_id=", 1)[1].split()[0]
            finished[workload] = _iso_seconds(line.split()[0])
    return {
        _ti_name(ti): round(finished[ti["id"]] - _iso_seconds(ti["end_date"]), 2)
        for ti in tis
        if ti.get("end_date") and ti["id"] in finished
    }


def warm_up(airflow) -> float:
    """Run the ``bench_warm_up`` DAG (no-op tasks) once, untimed; returns its seconds.

    The first task instances after an Airflow start pay for what a running
    deployment has long done (the api-server's first execution-API calls, the
    executor's first worker processes): seconds that no later run sees.
    """
    airflow.wait_for_dag("bench_warm_up", timeout=300)
    run_id = airflow.trigger("bench_warm_up")
    run = airflow.wait_for_run("bench_warm_up", run_id, timeout=600)
    if run["state"] != "success":
        raise RuntimeError(f"warm-up run ended {run['state']}")
    _wait_for_free_slots(airflow, {ti["id"] for ti in airflow.task_instances("bench_warm_up", run_id)})
    return _iso_seconds(run["end_date"]) - _iso_seconds(run["start_date"])


def _wait_for_free_slots(airflow, ti_ids: set[str], timeout: float = 60.0) -> None:
    """Wait until the executor has let go of these task instances (the scheduler log's "Workload finished").

    A task instance is done when it reports success, but its supervisor may hold the
    executor slot up to ``[workers] min_heartbeat_interval`` (5 s) longer before it
    notices the process has exited; a timed run must not start in slots still held so.
    """
    log = airflow._log_file("scheduler")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if all(f"workload_id={ti_id}" in text for ti_id in ti_ids):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the executor still holds warm-up task instances after {timeout:.0f}s; see {log}")


# ---------------------------------------------------------------------- (f) the scripts/stack deployment
NOOP_DAG_PY = '''
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def noop_dag():
    @task
    def items():
        return list(range({count}))

    @task
    def noop(item):
        return item

    noop.expand(item=items())


noop_dag()
'''

FSTACK_DAG_PY = DAG_PY.replace("bench_self_hosted", "bench_stack_{slots}")


def _run_on_stack(stack, dag_id: str, conf: dict, timeout: float = 3600) -> tuple[dict, list[dict]]:
    airflow = stack.airflow()
    airflow.wait_for_dag(dag_id, timeout=300)
    run_id = airflow.trigger(dag_id, conf=conf)
    run = airflow.wait_for_run(dag_id, run_id, timeout=timeout, poll=OBSERVER_POLL_SECONDS)
    tis = airflow.task_instances(dag_id, run_id)
    if run["state"] != "success":
        raise RuntimeError(f"{dag_id} ended {run['state']}; logs under {stack.state_dir}")
    return run, tis


def bench_stack(
    work: Path,
    input_dir: Path,
    files: list[str],
    slot_counts: tuple[int, ...] = (2, 4),
    noop_tasks: int = 32,
    airflow_env: dict | None = None,
    repeat: int = 1,
) -> dict[int, list[dict]]:
    """(f): the TaskGroup and a no-op mapped DAG on scripts/stack (PostgreSQL) with each slot count.

    Right before each Airflow run, a Pool of as many processes as slots scores the same files:
    on a shared machine the CPU share moves over time, and the adjacent ceiling shows how much.
    Returns each slot count's ``repeat`` repetitions (on one stack start per slot count).
    """
    from stack_services import Stack

    dags = work / "stack-dags"
    dags.mkdir(exist_ok=True)
    for slots in slot_counts:
        deployment = make_deployment(work / f"deploy-stack-{slots}", instance_count=slots, concurrency=1)
        (dags / f"bench_stack_{slots}.py").write_text(
            FSTACK_DAG_PY.format(slots=slots, deployment=str(deployment), input=str(input_dir))
        )
    (dags / "bench_noop.py").write_text(NOOP_DAG_PY.format(dag_id="bench_noop", count=noop_tasks))
    (dags / "bench_warm_up.py").write_text(NOOP_DAG_PY.format(dag_id="bench_warm_up", count=max(slot_counts)))
    stack = Stack(work / "stack")
    results: dict[int, list[dict]] = {}
    try:
        for slots in slot_counts:
            stack.up(executor="local", parallelism=slots, dags_folder=str(dags), env=dict(airflow_env or {}))
            warm_up(stack.airflow())
            results[slots] = [_stack_repetition(stack, work, files, slots, _suffix(i, repeat)) for i in range(repeat)]
    finally:
        stack.down()
    return results


def _stack_repetition(stack, work: Path, files: list[str], slots: int, suffix: str) -> dict:
    """One repetition of (f) with ``slots`` slots: a Pool just before, the TaskGroup's run, the no-op DAG's."""
    pool_seconds = bench_pool(work / f"deploy-stack-{slots}", files, work / f"pool-{slots}{suffix}.csv", workers=slots)
    run, tis = _run_on_stack(stack, f"bench_stack_{slots}", {"output": str(work / f"stack-output-{slots}{suffix}")})
    seconds = _iso_seconds(run["end_date"]) - _iso_seconds(run["start_date"])
    noop_run, noop_tis = _run_on_stack(stack, "bench_noop", {})
    noop_seconds = _iso_seconds(noop_run["end_date"]) - _iso_seconds(noop_run["start_date"])
    mapped = [ti for ti in noop_tis if ti["task_id"] == "noop"]
    runtimes = [_iso_seconds(ti["end_date"]) - _iso_seconds(ti["start_date"]) for ti in mapped]
    return {
        "seconds": seconds,
        "pool_seconds": pool_seconds,
        "task_instances": len(tis),
        "noop_seconds": noop_seconds,
        "noop_task_instances": len(noop_tis),
        "overhead_per_ti_s": slots * noop_seconds / len(noop_tis),
        "noop_runtime_s": sum(runtimes) / len(runtimes),
        "timeline": timeline(run, tis),
    }


def _iso_seconds(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------- (d), (e) memory
_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from airflow_provider_mlendpoints.engine import plan_job, score_shard, collect_job
    from airflow_provider_mlendpoints.engine.job import ScoringJob
    from airflow_provider_mlendpoints.specs import load_spec
    step, deployment, input_dir, output = sys.argv[1:5]
    job = ScoringJob(deployment=load_spec(deployment), input_uri=input_dir, output_uri=output,
                     existing_output="resume", recursive=True)
    start = time.perf_counter()
    if step == "plan":
        shards = plan_job(job)
        extra = {"shards": len(shards)}
    elif step == "score":
        shards = plan_job(job)
        for shard in shards:
            score_shard(job, shard, log=lambda line: None)
        extra = {"shards": len(shards)}
    else:
        summary = collect_job(job, log=lambda line: None)
        extra = {"rows": summary.get("items", {}).get("succeeded") if isinstance(summary.get("items"), dict) else None}
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss_mb, **extra}))
    """
)


def measure(step: str, deployment: Path, input_dir: Path, output: Path, env: dict | None = None) -> dict:
    """Run one engine step in a fresh process; returns its seconds and peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, step, str(deployment), str(input_dir), str(output)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _of_runs(values: list[float], unit: str = "") -> str:
    """``" (median of 3: 1.0, 2.0, 3.0)"`` for several runs' values; nothing for one run."""
    if len(values) < 2:
        return ""
    shown = [f"{value:.1f} {unit}" if unit else f"{value:.3f}" for value in values]
    return f" (median of {len(values)}: {', '.join(shown)})"


def _medians(runs: list[dict], keys: tuple[str, ...]) -> dict[str, float]:
    """The median over ``runs`` of each of ``keys``."""
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def airflow_figures(runs: list[dict], a: float, files: int) -> dict:
    """(c)'s figures (medians over its repetitions, each against the median ``a``), printing every run."""
    for i, c in enumerate(runs):
        c["over_a"], c["over_pool2"] = a / c["seconds"], c["pool_seconds"] / c["seconds"]
        c["plain_over_a"], c["over_plain"] = a / c["plain_seconds"], c["plain_seconds"] / c["seconds"]
        label = f" (run {i + 1} of {len(runs)})" if len(runs) > 1 else ""
        print(f"(c) Airflow LocalExecutor, 2 slots{label}: {c['seconds']:.1f} s, c/a = {c['over_a']:.3f}; "
              f"a Pool(2) just before: {c['pool_seconds']:.1f} s, c/pool2 = {c['over_pool2']:.3f}", flush=True)
        print(f"    timeline (s after the run started): {c['timeline']}", flush=True)
        print(f"    the same work as plain Airflow tasks (no provider code), run between the two: "
              f"{c['plain_seconds']:.1f} s, plain/a = {c['plain_over_a']:.3f}, c/plain = {c['over_plain']:.3f}",
              flush=True)
        print(f"    its timeline: {c['plain_timeline']}", flush=True)
        print("    seconds each task instance held its executor slot after it ended (Airflow's supervisor): "
              + ", ".join(f"{name} {held:.2f}" for name, held in c["slot_holds"].items())
              + "; plain: " + ", ".join(f"{name} {held:.2f}" for name, held in c["plain_slot_holds"].items()),
              flush=True)
        services = c["services_cpu_seconds"]
        print("    Airflow services' CPU from trigger until the run was seen to end: "
              + ", ".join(f"{name} {value:.2f} s" for name, value in services.items())
              + f" ({sum(services.values()):.2f} CPU-s that the scoring shares {os.cpu_count()} cores with)", flush=True)
    m = _medians(runs, ("seconds", "over_a", "pool_seconds", "over_pool2", "plain_seconds", "plain_over_a",
                        "over_plain"))
    if len(runs) > 1:
        print(f"(c) median of {len(runs)} runs: {m['seconds']:.1f} s, c/a = {m['over_a']:.3f}"
              f"{_of_runs([c['over_a'] for c in runs])}; c/pool2 = {m['over_pool2']:.3f}, "
              f"plain/a = {m['plain_over_a']:.3f}, c/plain = {m['over_plain']:.3f}", flush=True)
    last = runs[-1]
    figures = {
        "c_seconds": round(m["seconds"], 2), "c_files_per_s": round(files / m["seconds"], 1),
        "c_over_a": round(m["over_a"], 3), "c_task_instances": last["task_instances"],
        "c_pool2_seconds": round(m["pool_seconds"], 2), "c_over_pool2": round(m["over_pool2"], 3),
        "c_plain_seconds": round(m["plain_seconds"], 2), "c_plain_over_a": round(m["plain_over_a"], 3),
        "c_over_plain": round(m["over_plain"], 3),
        "c_slot_holds": last["slot_holds"], "c_plain_slot_holds": last["plain_slot_holds"],
        "c_services_cpu_seconds": {name: round(value, 2) for name, value in last["services_cpu_seconds"].items()},
    }
    if len(runs) > 1:
        figures["c_runs"] = [_rounded(c) for c in runs]
    return figures


def stack_figures(runs: list[dict], slots: int, a: float, files: int) -> dict:
    """(f)'s figures for one slot count (medians over its repetitions), printing every run."""
    for i, f in enumerate(runs):
        f["over_a"], f["over_pool"] = a / f["seconds"], f["pool_seconds"] / f["seconds"]
        label = f" (run {i + 1} of {len(runs)})" if len(runs) > 1 else ""
        print(
            f"(f) scripts/stack (PostgreSQL, LocalExecutor), {slots} slots{label}: {f['seconds']:.1f} s, "
            f"f/a = {f['over_a']:.3f}; no-op mapped tasks: {f['overhead_per_ti_s']:.2f} slot-s per "
            f"task instance, of which {f['noop_runtime_s']:.2f} s inside the task process",
            flush=True,
        )
        print(f"    timeline (s after the run started): {f['timeline']}", flush=True)
    m = _medians(runs, ("seconds", "over_a", "pool_seconds", "over_pool", "overhead_per_ti_s", "noop_runtime_s"))
    if len(runs) > 1:
        print(f"(f) {slots} slots, median of {len(runs)} runs: {m['seconds']:.1f} s, f/a = {m['over_a']:.3f}"
              f"{_of_runs([f['over_a'] for f in runs])}; f/pool{slots} = {m['over_pool']:.3f}, "
              f"{m['overhead_per_ti_s']:.2f} slot-s per no-op task instance", flush=True)
    figures = {
        f"f{slots}_seconds": round(m["seconds"], 2), f"f{slots}_files_per_s": round(files / m["seconds"], 1),
        f"f{slots}_over_a": round(m["over_a"], 3), f"f{slots}_task_instances": runs[-1]["task_instances"],
        f"f{slots}_pool{slots}_seconds": round(m["pool_seconds"], 2),
        f"f{slots}_over_pool{slots}": round(m["over_pool"], 3),
        f"f{slots}_overhead_per_ti_s": round(m["overhead_per_ti_s"], 3),
        f"f{slots}_noop_ti_runtime_s": round(m["noop_runtime_s"], 3),
    }
    if len(runs) > 1:
        figures[f"f{slots}_runs"] = [_rounded(f) for f in runs]
    return figures


def _rounded(run: dict) -> dict:
    """A repetition's figures for the JSON: floats to 3 places (dicts of floats too)."""
    def r(value):
        if isinstance(value, float):
            return round(value, 3)
        if isinstance(value, dict):
            return {k: r(v) for k, v in value.items()}
        return value
    return {key: r(value) for key, value in run.items()}


def airflow_settings(min_heartbeat_interval: int | None) -> dict[str, str]:
    """The Airflow settings (environment variables) the timed Airflow runs get: none unless asked.

    ``min_heartbeat_interval`` sets ``[workers] min_heartbeat_interval`` (Airflow's default is 5 s):
    how long a supervisor may hold a finished task's slot (see :func:`slot_holds`), and how often
    each running task heartbeats.
    """
    if min_heartbeat_interval is None:
        return {}
    if min_heartbeat_interval < 1:
        raise ValueError(f"--min-heartbeat-interval must be a whole number of seconds >= 1, not {min_heartbeat_interval}")
    return {"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": str(min_heartbeat_interval)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--plan-files", type=int, default=200_000)
    parser.add_argument("--collect-rows", type=int, default=2_000_000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the harness only")
    parser.add_argument("--skip-airflow", action="store_true", help="leave out (c)")
    parser.add_argument("--skip-stack", action="store_true", help="leave out (f)")
    parser.add_argument("--only-stack", action="store_true", help="(a) and (f) only")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--min-heartbeat-interval", type=int, default=None, metavar="SECONDS",
                        help="Airflow's [workers] min_heartbeat_interval for (c) and (f) (default: Airflow's own, 5)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run (a), (c) and (f) N times each and report medians (default: 1)")
    args = parser.parse_args(argv)
    try:
        airflow_env = airflow_settings(args.min_heartbeat_interval)
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeat < 1:
        parser.error(f"--repeat must be a whole number >= 1, not {args.repeat}")
    if args.quick:
        args.files, args.plan_files, args.collect_rows = 200, 2_000, 20_000
        os.environ["BENCH_INIT_SECONDS"] = "0.05"

    work = Path(args.workdir or tempfile.mkdtemp(prefix="mlendpoints-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # (f) runs PostgreSQL as the postgres user, which must reach its data folder
    figures: dict = {"files": args.files, "cpu_count": os.cpu_count(), "quick": args.quick,
                     "airflow_settings": airflow_env, "repeat": args.repeat}

    print(f"workdir {work}", flush=True)
    print("Airflow settings for (c) and (f): "
          + (", ".join(f"{k}={v}" for k, v in airflow_env.items()) or "Airflow's defaults"), flush=True)
    inputs = work / "inputs"
    files = make_inputs(inputs, args.files)
    deploy_cli = make_deployment(work / "deploy-2x1", instance_count=1, concurrency=2)
    deploy_af = make_deployment(work / "deploy-af", instance_count=2, concurrency=1)

    a_runs = [bench_pool(deploy_cli.parent, files, work / f"pool-predictions{_suffix(i, args.repeat)}.csv")
              for i in range(args.repeat)]
    a = statistics.median(a_runs)
    figures["a_seconds"] = round(a, 2)
    figures["a_files_per_s"] = round(args.files / a, 1)
    if args.repeat > 1:
        figures["a_seconds_runs"] = [round(x, 2) for x in a_runs]
    print(f"(a) multiprocessing.Pool(2): {a:.1f} s, {args.files / a:.0f} files/s{_of_runs(a_runs, 's')}", flush=True)

    if args.only_stack:
        args.skip_airflow = True
    else:
        b = bench_cli(deploy_cli, inputs, work / "cli-output")
        figures["b_seconds"] = round(b, 2)
        figures["b_files_per_s"] = round(args.files / b, 1)
        figures["b_over_a"] = round(a / b, 3)
        print(f"(b) mlendpoints score --workers 2: {b:.1f} s, b/a = {a / b:.3f}", flush=True)

    if not args.skip_airflow:
        runs = bench_airflow(work, deploy_af, inputs, files, airflow_env=airflow_env, repeat=args.repeat)
        figures.update(airflow_figures(runs, a, args.files))
    if not args.skip_stack:
        for slots, stack_runs in bench_stack(work, inputs, files, airflow_env=airflow_env, repeat=args.repeat).items():
            figures.update(stack_figures(stack_runs, slots, a, args.files))
    if args.only_stack:
        print(json.dumps(figures))
        return 0

    plan_inputs = work / "plan-inputs"
    make_inputs(plan_inputs, args.plan_files)
    d = measure("plan", deploy_cli, plan_inputs, work / "plan-output")
    figures["d_plan_files"] = args.plan_files
    figures["d_plan_seconds"] = round(d["seconds"], 2)
    figures["d_plan_peak_rss_mb"] = round(d["peak_rss_mb"], 1)
    print(f"(d) plan {args.plan_files} files: {d['seconds']:.1f} s, peak RSS {d['peak_rss_mb']:.0f} MB", flush=True)

    rows_per_file = 1000
    collect_files = max(1, args.collect_rows // rows_per_file)
    collect_inputs = work / "collect-inputs"
    make_inputs(collect_inputs, collect_files)
    env = {"BENCH_ROWS_PER_FILE": str(rows_per_file), "BENCH_CPU_PER_FILE": "0", "BENCH_INIT_SECONDS": "0"}
    measure("score", deploy_cli, collect_inputs, work / "collect-output", env)
    e = measure("collect", deploy_cli, collect_inputs, work / "collect-output", env)
    figures["e_collect_rows"] = collect_files * rows_per_file
    figures["e_collect_seconds"] = round(e["seconds"], 2)
    figures["e_collect_peak_rss_mb"] = round(e["peak_rss_mb"], 1)
    print(f"(e) collect {collect_files * rows_per_file} rows: {e['seconds']:.1f} s, "
          f"peak RSS {e['peak_rss_mb']:.0f} MB", flush=True)

    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
