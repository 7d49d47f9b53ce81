"""AZUREML_BI_OUTPUT_PATH: summary_only scripts write their own files into the output folder.

The script has the shape of Microsoft's custom-outputs-parquet deployment (code/batch_driver.py):
one Parquet file per input file, named after it, written to ``AZUREML_BI_OUTPUT_PATH``.
On local disk that is the output folder; for blob output a staging folder uploaded after
each mini-batch, so reruns neither lose nor duplicate the script's files.
"""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine import JobFailed, run_local
from airflow_provider_mlendpoints.engine.storage import open_storage

from .helpers import make_job, write_script

quiet = {"log": lambda line: None}

PARQUET_OUTPUTS_SCRIPT = """
import os
from pathlib import Path
import pandas as pd

def init():
    global output_path
    output_path = os.environ["AZUREML_BI_OUTPUT_PATH"]

def run(mini_batch):
    for file_path in mini_batch:
        if "poison" in file_path:
            open(os.path.join(output_path, "half-written.parquet"), "wb").write(b"PAR1")
            raise ValueError(f"cannot score {file_path}")
        data = pd.read_csv(file_path)
        data["prediction"] = data["x"] * 2
        data.to_parquet(os.path.join(output_path, Path(file_path).stem + ".parquet"))
    return mini_batch
"""


def _inputs(folder, count=5):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pd.DataFrame({"x": range(i, i + 3)}).to_csv(folder / f"part-{i}.csv", index=False)
    return folder


def test_summary_only_script_writes_parquet_files_into_the_local_output(tmp_path):
    code = write_script(tmp_path, PARQUET_OUTPUTS_SCRIPT)
    job = make_job(tmp_path, code, _inputs(tmp_path / "in"), mini_batch_size=2, output_action="summary_only")
    summary = run_local(job, workers=2, **quiet)
    assert summary["items"] == {"total": 5, "succeeded": 5, "failed": 0}
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"part-{i}.parquet" for i in range(5)]
    frame = pd.read_parquet(out / "part-3.parquet")
    assert frame.columns.tolist() == ["x", "prediction"] and frame["prediction"].tolist() == [6, 8, 10]
    assert not (out / "predictions.csv").exists()


def test_blob_output_gets_the_files_of_successful_mini_batches_once(tmp_path, azurite, blob_container):
    options = {"connection_string": azurite.connection_string}
    root = f"{azurite.blob_endpoint}/{blob_container}"
    store = open_storage(root, options)
    for i in range(4):
        store.write_bytes(f"in/part-{i}.csv", f"x\n{i}\n{i + 1}\n".encode())
    store.write_bytes("in/poison.csv", b"x\n1\n")
    code = write_script(tmp_path, PARQUET_OUTPUTS_SCRIPT)
    job = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out", mini_batch_size=1, retry=(1, 30),
                   output_action="summary_only", job_kw={"storage_options": options})
    summary = run_local(job, workers=2, **quiet)
    assert summary["items"] == {"total": 5, "succeeded": 4, "failed": 1}
    written = sorted(f.key for f in store.list_files("out/", recursive=False))
    # the failed mini-batch's half-written file stays in its staging folder, never uploaded
    assert written == [f"out/part-{i}.parquet" for i in range(4)]
    frame = pd.read_parquet(io.BytesIO(store.read_bytes("out/part-2.parquet")))
    assert frame["prediction"].tolist() == [4, 6]

    # a rerun from scratch rewrites the same names: nothing lost, nothing doubled
    again = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out", mini_batch_size=1, retry=(0, 30),
                     output_action="summary_only",
                     job_kw={"storage_options": options, "existing_output": "overwrite"})
    run_local(again, workers=1, **quiet)
    assert sorted(f.key for f in store.list_files("out/", recursive=False)) == written


def test_summary_only_with_every_file_failing_fails_the_job(tmp_path):
    code = write_script(tmp_path, PARQUET_OUTPUTS_SCRIPT)
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "poison.csv").write_text("x\n1\n")
    job = make_job(tmp_path, code, inputs, retry=(0, 30), output_action="summary_only")
    with pytest.raises(JobFailed, match="no input item was scored successfully"):
        run_local(job, workers=1, **quiet)
    assert os.path.exists(tmp_path / "out" / "_mlendpoints" / "report" / "summary.json")
