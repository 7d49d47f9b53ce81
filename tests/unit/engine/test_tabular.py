"""Tabular inputs (input_type="tabular"): CSV and Parquet cut by rows or bytes; run() gets DataFrames.

MLTable inputs, the tabular inputs of Azure's default rule, are tested in test_input_rule.py.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine import plan_job, run_local

from .helpers import make_job, write_script

# Returns one row per input row: a global id and the doubled value; records each mini-batch's length.
TABULAR_SCRIPT = """
import os, uuid
import pandas as pd

def run(mini_batch):
    assert isinstance(mini_batch, pd.DataFrame), type(mini_batch)
    assert mini_batch.attrs["file"].startswith("part-") and mini_batch.index[0] == 0
    open(os.path.join(os.environ["MARK_DIR"], f"len-{len(mini_batch)}-{uuid.uuid4().hex}"), "w").close()
    return pd.DataFrame({"id": mini_batch["id"], "double": mini_batch["x"] * 2})
"""

quiet = {"log": lambda line: None}
TABULAR = {"input_type": "tabular"}


@pytest.fixture
def marks(tmp_path, monkeypatch):
    folder = tmp_path / "marks"
    folder.mkdir()
    monkeypatch.setenv("MARK_DIR", str(folder))
    return folder


def _frames(folder, kind):
    folder.mkdir()
    for f in range(2):
        frame = pd.DataFrame({"id": range(f * 50, f * 50 + 50), "x": range(50), "name": ["abcdefgh"] * 50})
        if kind == "csv":
            frame.to_csv(folder / f"part-{f}.csv", index=False)
        else:
            frame.to_parquet(folder / f"part-{f}.parquet", index=False, row_group_size=7)
    return folder


def _lens(marks):
    return sorted(int(p.name.split("-")[1]) for p in marks.iterdir())


def _check_output(tmp_path):
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert rows == [f"{i} {2 * (i % 50)}" for i in range(100)]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_rows_per_mini_batch(tmp_path, marks, kind):
    code = write_script(tmp_path, TABULAR_SCRIPT)
    job = make_job(tmp_path, code, _frames(tmp_path / "in", kind), mini_batch_size=20, job_kw=TABULAR)
    summary = run_local(job, workers=2, **quiet)
    assert summary["input_kind"] == "tabular"
    assert summary["items"] == {"total": 100, "succeeded": 100, "failed": 0}
    assert _lens(marks) == [10, 10, 20, 20, 20, 20]  # 50 rows per file: 20 + 20 + 10
    _check_output(tmp_path)


def test_csv_bytes_per_mini_batch(tmp_path, marks):
    code = write_script(tmp_path, TABULAR_SCRIPT)
    # each data row is about 13 bytes ("12,12,abcdefgh\\n"): 200 bytes are ~15 rows
    job = make_job(tmp_path, code, _frames(tmp_path / "in", "csv"), mini_batch_size="200B", job_kw=TABULAR)
    run_local(job, workers=2, **quiet)
    lens = _lens(marks)
    assert sum(lens) == 100 and len(lens) > 4 and max(lens) <= 20
    _check_output(tmp_path)


def test_parquet_bytes_per_mini_batch_and_single_file_input(tmp_path, marks):
    code = write_script(tmp_path, TABULAR_SCRIPT)
    folder = _frames(tmp_path / "in", "parquet")
    size = (folder / "part-0.parquet").stat().st_size
    job = make_job(tmp_path, code, folder / "part-0.parquet", mini_batch_size=f"{size // 4}B", job_kw=TABULAR)
    summary = run_local(job, workers=1, **quiet)
    assert summary["items"]["total"] == 50
    assert sum(_lens(marks)) == 50 and len(_lens(marks)) >= 4


def test_forced_tabular_and_forced_file(tmp_path, marks):
    code = write_script(tmp_path, TABULAR_SCRIPT)
    folder = _frames(tmp_path / "in", "csv")
    (folder / "notes.txt").write_text("not a table")
    auto = make_job(tmp_path, code, folder, mini_batch_size=50)
    plan_job(auto)
    plan = json.loads((tmp_path / "out" / "_mlendpoints" / "plan.json").read_text())
    assert plan["input_kind"] == "file"  # auto (Azure's rule): a folder without an MLTable file is a file input
    forced = make_job(tmp_path, code, folder, mini_batch_size=50, job_kw={"input_type": "tabular",
                                                                          "input_glob": "*.csv",
                                                                          "existing_output": "overwrite"})
    run_local(forced, workers=1, **quiet)
    _check_output(tmp_path)


def test_forced_tabular_with_a_non_tabular_file_names_it(tmp_path):
    from airflow_provider_mlendpoints.engine import InputError

    folder = _frames(tmp_path / "in", "csv")
    (folder / "notes.txt").write_text("x")
    code = write_script(tmp_path, TABULAR_SCRIPT)
    with pytest.raises(InputError, match="'notes.txt' is not tabular"):
        plan_job(make_job(tmp_path, code, folder, job_kw={"input_type": "tabular"}))
