"""`make demo`: score today's sample digit images with the example DAG on embedded SQLite.

1. builds the sample model (a scikit-learn digits classifier) into
   dags/sample_deployment/model/ and writes 300 sample inputs for today's date
   to <demo dir>/inputs/<date>/ (plus their true labels);
2. sets up a private Airflow home in <demo dir>/airflow (SQLite, no example
   DAGs, dags folder = this repository's dags/) and runs `airflow db migrate`;
3. runs `airflow dags test example_self_hosted_scoring <date>` (mapped score
   tasks, the first of which plans, -> collect), streaming its output;
4. prints where predictions.csv and the report are, the first predictions,
   the job summary and the accuracy against the true labels.

<demo dir> is $MLENDPOINTS_DEMO_DIR, by default .demo/ in this repository.
Running it again is fine: the DAG resumes the existing output (every
mini-batch is already done) and rewrites predictions.csv from its parts.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_self_hosted_scoring"
SAMPLE_COUNT = 300
SUMMARY_KEYS = ("status", "failure_reason", "items", "mini_batches", "error_threshold", "shards", "timings")


def _step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def _airflow_command() -> list[str]:
    airflow = Path(sys.executable).with_name("airflow")
    return [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]


def _run(command: list[str], env: dict[str, str], *, quiet: bool = False) -> int:
    """Run ``command``, streaming its output (or keeping it for an error message when ``quiet``)."""
    if not quiet:
        return subprocess.run(command, env=env, cwd=REPO, check=False).returncode
    done = subprocess.run(command, env=env, cwd=REPO, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    return done.returncode


def _airflow_env(demo_dir: Path) -> dict[str, str]:
    home = demo_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("AIRFLOW__") or key == "AIRFLOW_CONFIG":
            del env[key]  # a private, predictable configuration
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "MLENDPOINTS_DEMO_DIR": str(demo_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _show_results(output: Path, labels_file: Path) -> None:
    predictions = output / "predictions.csv"
    report = output / "_mlendpoints" / "report"
    print(f"predictions: {predictions}")
    print(f"report:      {report}/")
    if not predictions.exists():
        print("(no predictions.csv was written)")
        return
    lines = predictions.read_text(encoding="utf-8").splitlines()
    print(f"\nfirst lines of predictions.csv ({len(lines)} lines):")
    for line in lines[:5]:
        print(f"  {line}")
    summary_file = report / "summary.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        print("\nsummary:")
        for key in SUMMARY_KEYS:
            value = summary.get(key)
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (dict, list)))
            if value is not None:
                print(f"  {key}: {value}")
    if labels_file.exists():
        with open(labels_file, encoding="utf-8", newline="") as f:
            truth = {row["file_name"]: row["label"] for row in csv.DictReader(f)}
        scored = [line.split() for line in lines if len(line.split()) == 2]
        right = sum(1 for name, digit in scored if truth.get(name) == digit)
        if scored:
            print(f"\naccuracy against the true labels: {right}/{len(scored)} ({right / len(scored):.1%})")


def default_demo_dir() -> Path:
    """The one data folder of the examples: $MLENDPOINTS_DEMO_DIR, else .demo/ in this repository."""
    return Path(os.environ.get("MLENDPOINTS_DEMO_DIR") or REPO / ".demo").resolve()


def prepare_sample_data(demo_dir: Path, ds: str, *, quiet: bool = False) -> int:
    """Build the sample model and write ``SAMPLE_COUNT`` input images (and their labels) for ``ds``.

    The images go to ``<demo_dir>/inputs/<ds>/`` (kept when already there), the labels to
    ``<demo_dir>/labels/<ds>.csv``. Used by ``make demo`` and ``scripts/stack up``; returns the
    build script's exit code.
    """
    inputs = demo_dir / "inputs" / ds
    build = REPO / "dags" / "sample_deployment" / "build_model.py"
    command = [sys.executable, str(build)]
    if not (inputs.is_dir() and any(inputs.iterdir())):
        command += ["--inputs", str(inputs), "--count", str(SAMPLE_COUNT)]
        command += ["--labels", str(demo_dir / "labels" / f"{ds}.csv")]
    return _run(command, dict(os.environ), quiet=quiet)


def main() -> int:
    started = time.monotonic()
    demo_dir = default_demo_dir()
    ds = datetime.now(timezone.utc).date().isoformat()
    labels = demo_dir / "labels" / f"{ds}.csv"
    output = demo_dir / "outputs" / ds

    _step(f"Building the sample model and {SAMPLE_COUNT} input images for {ds}")
    if prepare_sample_data(demo_dir, ds) != 0:
        print("could not build the sample model (is scikit-learn installed? it is in the demo extra)")
        return 1

    env = _airflow_env(demo_dir)
    _step(f"Migrating the Airflow metadata database in {env['AIRFLOW_HOME']} (SQLite)")
    if _run([*_airflow_command(), "db", "migrate"], env, quiet=True) != 0:
        return 1

    _step(f"Running the DAG: airflow dags test {DAG_ID} {ds}")
    code = _run([*_airflow_command(), "dags", "test", DAG_ID, ds], env)

    _step("Result" if code == 0 else f"The DAG run failed (exit code {code})")
    _show_results(output, labels)
    print(
        f"\nDemo folder: {demo_dir} (inputs, outputs, Airflow home). Took {time.monotonic() - started:.0f} s."
    )
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
