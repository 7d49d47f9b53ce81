"""append_row output: Azure's default format, header/separator/Parquet options, summary_only."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from airflow_provider_mlendpoints.engine import run_local
from airflow_provider_mlendpoints.engine.job import OutputFormat

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

FRAME_SCRIPT = """
import os
import pandas as pd

def run(mini_batch):
    return pd.DataFrame({
        "file": [os.path.basename(p) for p in mini_batch],
        "value": [int(open(p).read()) for p in mini_batch],
        "label": ["a b" if int(open(p).read()) == 1 else "x" for p in mini_batch],
    })
"""

quiet = {"log": lambda line: None}


def test_default_list_output_is_one_str_line_per_element(tmp_path):
    code = write_script(tmp_path, """
def run(mini_batch):
    return [(len(p) > 0, 1.5) for p in mini_batch]
""")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3), mini_batch_size=2)
    run_local(job, workers=1, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text() == "(True, 1.5)\n" * 3


def test_default_dataframe_output_space_separated_no_header_no_index(tmp_path):
    code = write_script(tmp_path, FRAME_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3), mini_batch_size=2)
    summary = run_local(job, workers=2, **quiet)
    assert summary["output_rows"] == 3
    text = (tmp_path / "out" / "predictions.csv").read_text()
    assert text == 'f000.txt 0 x\nf001.txt 1 "a b"\nf002.txt 2 x\n'


def test_header_and_separator_options(tmp_path):
    code = write_script(tmp_path, FRAME_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3), mini_batch_size=2,
                   output_format=OutputFormat(header=True, separator=","))
    run_local(job, workers=1, **quiet)
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(frame.columns) == ["file", "value", "label"]
    assert frame["value"].tolist() == [0, 1, 2]


def test_header_for_list_results(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 2), output_format=OutputFormat(header=True))
    run_local(job, workers=1, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines()[0] == "prediction"


def test_parquet_output_for_dataframes_and_lists(tmp_path):
    code = write_script(tmp_path, FRAME_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 5), mini_batch_size=2,
                   output_format=OutputFormat(format="parquet"), output_file_name="predictions.parquet")
    run_local(job, workers=2, **quiet)
    table = pq.read_table(tmp_path / "out" / "predictions.parquet").to_pandas()
    assert table["file"].tolist() == [f"f{i:03d}.txt" for i in range(5)]
    assert table["value"].tolist() == list(range(5))

    code2 = write_script(tmp_path / "lists", ECHO_SCRIPT)
    job2 = make_job(tmp_path, code2, tmp_path / "inputs", output=tmp_path / "out2", mini_batch_size=2,
                    output_format=OutputFormat(format="parquet"))
    run_local(job2, workers=1, **quiet)
    lists = pq.read_table(tmp_path / "out2" / "predictions.csv").to_pandas()
    assert lists["prediction"].tolist() == [f"f{i:03d}.txt {i}" for i in range(5)]


def test_summary_only_writes_no_merged_file(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 4), output_action="summary_only")
    summary = run_local(job, workers=1, **quiet)
    assert summary["status"] == "Completed"
    assert summary["output_file"] is None
    assert summary["items"]["succeeded"] == 4
    assert not (tmp_path / "out" / "predictions.csv").exists()
    assert (tmp_path / "out" / "_mlendpoints" / "report" / "summary.json").exists()
