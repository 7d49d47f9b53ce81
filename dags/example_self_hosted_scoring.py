"""Nightly self-hosted batch scoring with an Azure ML batch deployment.

Scores the day's input files with the deployment in ``sample_deployment/``
(a scikit-learn digits classifier: ``deployment.yml``, ``code/score.py``) on
this Airflow's own workers, and writes ``predictions.csv`` plus a report.

Where the data lives: every path is keyed by the run's logical date
(``{{ ds }}``), so runs of different dates and backfills never collide.

- inputs: ``<MLENDPOINTS_DEMO_DIR>/inputs/<ds>/``
- output: ``<MLENDPOINTS_DEMO_DIR>/outputs/<ds>/`` (``predictions.csv``,
  ``_mlendpoints/report/summary.json``, ...)

``MLENDPOINTS_DEMO_DIR`` is an environment variable of the Airflow processes;
it defaults to ``.demo`` in this repository. Build the model and sample inputs
with ``python dags/sample_deployment/build_model.py --inputs <dir>/inputs/<ds>``
(``make demo`` does all of it).

Triggering from the UI: the ``input_path`` and ``output_path`` params replace
those folders (leave them empty to keep the dated defaults), and
``mini_batch_size`` overrides the deployment's value (empty: keep it).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

DEPLOYMENT = Path(__file__).resolve().parent / "sample_deployment" / "deployment.yml"
DEMO_DIR = os.environ.get("MLENDPOINTS_DEMO_DIR") or str(Path(__file__).resolve().parent.parent / ".demo")

with DAG(
    dag_id="example_self_hosted_scoring",
    description="Score the day's files with an Azure ML batch deployment on Airflow workers",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["example", "mlendpoints", "self-hosted"],
    user_defined_macros={"demo_dir": DEMO_DIR},
    params={
        "input_path": Param(
            None,
            type=["null", "string"],
            title="Input path",
            description=f"Input folder or blob URL. Empty: {DEMO_DIR}/inputs/<logical date>.",
        ),
        "output_path": Param(
            None,
            type=["null", "string"],
            title="Output path",
            description=f"Output folder or blob URL. Empty: {DEMO_DIR}/outputs/<logical date>.",
        ),
        "mini_batch_size": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Mini-batch size",
            description="Files per run() call. Empty: the deployment's mini_batch_size.",
        ),
    },
):
    self_hosted_batch_scoring(
        "score_digits",
        deployment=str(DEPLOYMENT),
        # The run's day: its logical date, or when it was triggered for a run without one (the UI's
        # default, REST, CLI), whose context has no ds.
        input_path="{{ params.input_path or demo_dir ~ '/inputs/' ~ ((dag_run.logical_date or dag_run.run_after) | ds) }}",
        output_path="{{ params.output_path or demo_dir ~ '/outputs/' ~ ((dag_run.logical_date or dag_run.run_after) | ds) }}",
        overrides={"mini_batch_size": "{{ params.mini_batch_size or '' }}"},
        existing_output="resume",
        retries=1,
        retry_delay=timedelta(seconds=30),
    )
