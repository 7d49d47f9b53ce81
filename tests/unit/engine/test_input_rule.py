"""Azure's input rule: uri_folder/uri_file inputs give run() file paths, counted as files, top level only.

Deployments written here in the shapes of Microsoft's published batch deployments
(azureml-examples cli/endpoints/batch/deploy-models/*): scoring scripts that loop over
``mini_batch`` as file paths. Only a folder holding an MLTable file is tabular. The listing
reports every input it leaves out (nested folders, dangling links, symlink loops).
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine import InputError, JobFailed, plan_job, run_local

from .helpers import make_job, write_script

quiet = {"log": lambda line: None}

# The shape of heart-classifier-mlflow/deployment-custom/code/batch_driver.py: each path read with pandas.
FILE_LOOP_SCRIPT = """
import os
import pandas as pd

def init():
    global factor
    factor = 2

def run(mini_batch):
    print(f"run method start: {__file__}, run({len(mini_batch)} files)")
    data = pd.concat(
        map(lambda fp: pd.read_csv(fp).assign(filename=os.path.basename(fp)), mini_batch)
    )
    data["pred"] = data["age"] * factor
    return data
"""


def _csv_folder(folder, files=4, rows=38):
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        pd.DataFrame({"age": range(f * 100, f * 100 + rows), "sex": [f % 2] * rows}).to_csv(
            folder / f"heart-unlabeled-{f}.csv", index=False
        )
    return folder


def _plan(tmp_path):
    return json.loads((tmp_path / "out" / "_mlendpoints" / "plan.json").read_text())


def _manifest_keys(tmp_path):
    lines = (tmp_path / "out" / "_mlendpoints" / "manifest.jsonl").read_text().splitlines()
    return [[key for key, _ in json.loads(line)["files"]] for line in lines]


def test_csv_folder_gives_run_file_paths_counted_as_files(tmp_path):
    code = write_script(tmp_path, FILE_LOOP_SCRIPT)
    inputs = _csv_folder(tmp_path / "data")
    (inputs / "README.txt").write_text("a stray file does not switch the folder to another mode")
    job = make_job(tmp_path, code, inputs, mini_batch_size=2, job_kw={"input_glob": "*.csv"})
    summary = run_local(job, workers=2, **quiet)
    assert summary["input_kind"] == "file"
    assert summary["mini_batches"]["total"] == 2  # 4 files / 2 per mini-batch, as on Azure (not 152 row slices)
    assert summary["items"] == {"total": 4, "succeeded": 4, "failed": 0}  # items are files, not rows
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert len(lines) == 4 * 38
    assert lines[0].split() == ["0", "0", "heart-unlabeled-0.csv", "0"]


def test_error_threshold_counts_files(tmp_path):
    script = """
    def run(mini_batch):
        for path in mini_batch:
            if path.endswith("bad.csv"):
                raise ValueError(f"cannot score {path}")
        return [f"ok {p}" for p in mini_batch]
    """
    code = write_script(tmp_path, script)
    inputs = _csv_folder(tmp_path / "data", files=3)
    (inputs / "bad.csv").write_text("age\n1\n")
    job = make_job(tmp_path, code, inputs, mini_batch_size=1, error_threshold=0, retry=(0, 30))
    with pytest.raises(JobFailed) as failed:
        run_local(job, workers=1, **quiet)
    assert failed.value.summary["items"] == {"total": 4, "succeeded": 3, "failed": 1}
    assert "1 failed items exceed error_threshold 0" in failed.value.summary["failure_reason"]


def test_nested_folders_are_left_out_and_named_unless_recursive(tmp_path):
    script = """
    def run(mini_batch):
        return list(mini_batch)
    """
    code = write_script(tmp_path, script)
    inputs = _csv_folder(tmp_path / "data", files=2)
    _csv_folder(inputs / "2024" / "jan", files=1)
    _csv_folder(inputs / "more", files=1)
    lines: list[str] = []
    summary = run_local(make_job(tmp_path, code, inputs), workers=1, log=lines.append)
    assert summary["items"]["total"] == 2
    assert [s["input"] for s in summary["skipped_inputs"]["inputs"]] == ["2024/", "more/"]
    assert summary["skipped_inputs"]["count"] == 2
    assert any("left out 2024/: nested folder" in line and "recursive" in line for line in lines)

    recursive = make_job(tmp_path, code, inputs, job_kw={"recursive": True, "existing_output": "overwrite"})
    summary = run_local(recursive, workers=1, **quiet)
    assert summary["items"]["total"] == 4 and summary["skipped_inputs"]["count"] == 0
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    # the relative path is kept in what run() gets and in the keys of the report
    assert rows[0].endswith("data/2024/jan/heart-unlabeled-0.csv")
    assert _manifest_keys(tmp_path) == [[
        "2024/jan/heart-unlabeled-0.csv", "heart-unlabeled-0.csv", "heart-unlabeled-1.csv",
        "more/heart-unlabeled-0.csv",
    ]]


def test_only_nested_files_names_the_nested_folders(tmp_path):
    code = write_script(tmp_path, "def run(mini_batch):\n    return list(mini_batch)\n")
    inputs = tmp_path / "data"
    _csv_folder(inputs / "sub", files=1)
    with pytest.raises(InputError, match=r"no input files found \(1 left out: sub/: nested folder"):
        plan_job(make_job(tmp_path, code, inputs))


TABLE_SCRIPT = """
import pandas as pd

def run(mini_batch):
    assert isinstance(mini_batch, pd.DataFrame), type(mini_batch)
    return pd.DataFrame({"a": mini_batch["Column1"], "sum": mini_batch["Column1"] + mini_batch["Column2"]})
"""


def test_mltable_folder_is_tabular_with_its_reading_options(tmp_path):
    inputs = tmp_path / "table"
    (inputs / "data").mkdir(parents=True)
    for f in range(2):
        (inputs / "data" / f"part-{f}.txt").write_text("".join(f"{f * 10 + i};{i}\n" for i in range(5)))
    (inputs / "notes.md").write_text("not in the table")
    (inputs / "MLTable").write_text(
        "type: mltable\n"
        "paths:\n  - pattern: ./data/*.txt\n"
        "transformations:\n"
        "  - read_delimited:\n      delimiter: ';'\n      header: no_header\n      encoding: utf8\n"
    )
    code = write_script(tmp_path, TABLE_SCRIPT)
    summary = run_local(make_job(tmp_path, code, inputs, mini_batch_size=3), workers=1, **quiet)
    assert summary["input_kind"] == "tabular"
    assert summary["mini_batches"]["total"] == 4  # 5 rows per file: 3 + 2, twice; rows are counted
    assert summary["items"] == {"total": 10, "succeeded": 10, "failed": 0}
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert rows[:2] == ["0 0", "1 2"] and rows[5] == "10 10"


def test_mltable_errors_name_the_file_and_entry(tmp_path):
    inputs = tmp_path / "table"
    inputs.mkdir()
    (inputs / "a.csv").write_text("x\n1\n")
    code = write_script(tmp_path, TABLE_SCRIPT)
    (inputs / "MLTable").write_text("paths:\n  - file: ./a.csv\ntransformations:\n  - read_json_lines: {}\n")
    with pytest.raises(InputError, match=r"MLTable: transformations\[0\]: 'read_json_lines' is not supported"):
        plan_job(make_job(tmp_path, code, inputs))
    (inputs / "MLTable").write_text("paths:\n  - file: https://example.com/a.csv\n")
    with pytest.raises(InputError, match=r"MLTable: paths\[0\]: 'https://example.com/a.csv' lies outside"):
        plan_job(make_job(tmp_path, code, inputs))
    # input_type="file" scores the folder's files, MLTable file included, as paths
    job = make_job(tmp_path, code, inputs, job_kw={"input_type": "file"})
    plan_job(job)
    assert _plan(tmp_path)["input_kind"] == "file"


def test_symlink_loop_scores_each_file_once_and_names_the_loop(tmp_path):
    script = "def run(mini_batch):\n    return list(mini_batch)\n"
    code = write_script(tmp_path, script)
    inputs = tmp_path / "data"
    (inputs / "sub").mkdir(parents=True)
    (inputs / "a.txt").write_text("a")
    (inputs / "sub" / "b.txt").write_text("b")
    os.symlink(".", inputs / "loop")
    os.symlink("..", inputs / "sub" / "up")
    os.symlink("missing.txt", inputs / "dangling.txt")
    job = make_job(tmp_path, code, inputs, job_kw={"recursive": True})
    summary = run_local(job, workers=1, **quiet)
    assert _manifest_keys(tmp_path) == [["a.txt", "sub/b.txt"]]
    assert summary["items"]["total"] == 2
    skipped = {s["input"]: s["reason"] for s in summary["skipped_inputs"]["inputs"]}
    assert set(skipped) == {"dangling.txt", "loop/", "sub/up/"}
    assert skipped["dangling.txt"] == "a dangling link"
    assert "symlink loop" in skipped["loop/"]


def test_non_utf8_file_name_is_scored_and_named(tmp_path):
    script = """
    import os
    def run(mini_batch):
        if any("fail" in p for p in mini_batch):
            raise ValueError(f"cannot score {mini_batch}")
        return [os.path.getsize(p) for p in mini_batch]
    """
    code = write_script(tmp_path, script)
    inputs = tmp_path / "data"
    inputs.mkdir()
    (inputs / "plain.txt").write_text("abc")
    raw = os.fsencode(inputs)
    for name in (b"caf\xe9-latin1.txt", b"fail-\xe9.txt"):
        with open(os.path.join(raw, name), "wb") as f:
            f.write(b"12345")
    os.symlink("nowhere", os.path.join(raw, b"gone-\xff"))
    lines: list[str] = []
    job = make_job(tmp_path, code, inputs, mini_batch_size=1, retry=(0, 30))
    summary = run_local(job, workers=1, log=lines.append)
    assert summary["items"] == {"total": 3, "succeeded": 2, "failed": 1}
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == ["5", "3"]
    assert summary["skipped_inputs"]["inputs"] == [{"input": "gone-\\xff", "reason": "a dangling link"}]
    assert "  left out gone-\\xff: a dangling link" in lines
    errors = (tmp_path / "out" / "_mlendpoints" / "report" / "errors.txt").read_text("utf-8")
    assert "input files: fail-\\xe9.txt" in errors
    assert any("fail-\\xe9.txt" in line for line in lines)


def test_summary_only_fails_when_no_item_succeeded(tmp_path):
    script = """
    def run(mini_batch):
        raise RuntimeError("every file fails")
    """
    code = write_script(tmp_path, script)
    inputs = _csv_folder(tmp_path / "data", files=2)
    job = make_job(tmp_path, code, inputs, output_action="summary_only", retry=(0, 30))
    with pytest.raises(JobFailed) as failed:
        run_local(job, workers=1, **quiet)
    assert failed.value.summary["failure_reason"] == "no input item was scored successfully"


def test_mlflow_driver_fails_the_plan_on_a_file_type_it_cannot_read(tmp_path):
    inputs = _csv_folder(tmp_path / "data", files=1)
    (inputs / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match=r"input file 'data.xlsx': an MLflow deployment without a scoring script"):
        plan_job(make_job(tmp_path, None, inputs))
    assert not (tmp_path / "out" / "_mlendpoints" / "manifest.jsonl").exists()
