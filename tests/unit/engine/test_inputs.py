"""Listing and partitioning: nested folders, globs, single files, sizes, storage dispatch."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mlendpoints.engine import InputError, plan_job, run_local
from airflow_provider_mlendpoints.engine.minibatch import (
    BatchSize,
    file_mini_batches,
    glob_matcher,
    parse_mini_batch_size,
    shard_ranges,
)
from airflow_provider_mlendpoints.engine.plan import SHARDS_PER_SLOT
from airflow_provider_mlendpoints.engine.storage import LocalStorage, open_storage
from airflow_provider_mlendpoints.engine.storage.base import FileInfo, StorageError

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

quiet = {"log": lambda line: None}


def _manifest(tmp_path):
    text = (tmp_path / "out" / "_mlendpoints" / "manifest.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_nested_folders_sorted_by_key_and_glob(tmp_path):
    inputs = make_inputs(tmp_path, 9, nested=True)
    (inputs / "d0" / "skip.csv").write_text("a,b\n1,2\n")
    (inputs / "a.txt").write_text("top")
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs, mini_batch_size=4, job_kw={"input_glob": "*.txt", "recursive": True})
    run_local(job, workers=2, **quiet)
    files = [key for mb in _manifest(tmp_path) for key, _ in mb["files"]]
    assert files[0] == "a.txt"
    assert files[1:4] == ["d0/f000.txt", "d0/f003.txt", "d0/f006.txt"]
    assert "d0/skip.csv" not in files and len(files) == 10
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert lines[:3] == ["a.txt top", "f000.txt 0", "f003.txt 3"]


def test_glob_with_folders(tmp_path):
    inputs = make_inputs(tmp_path, 9, nested=True)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs, job_kw={"input_glob": "d1/**/*.txt", "recursive": True})
    plan_job(job)
    assert [k for mb in _manifest(tmp_path) for k, _ in mb["files"]] == ["d1/f001.txt", "d1/f004.txt",
                                                                         "d1/f007.txt"]


def test_single_file_input(tmp_path):
    inputs = make_inputs(tmp_path, 3)
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, inputs / "f001.txt")
    summary = run_local(job, workers=1, **quiet)
    assert summary["items"]["total"] == 1
    assert (tmp_path / "out" / "predictions.csv").read_text() == "f001.txt 1\n"


def test_no_input_files_is_a_clear_error(tmp_path):
    inputs = make_inputs(tmp_path, 2)
    code = write_script(tmp_path, ECHO_SCRIPT)
    with pytest.raises(InputError, match=r"no input files found matching '\*.jpg'"):
        plan_job(make_job(tmp_path, code, inputs, job_kw={"input_glob": "*.jpg"}))
    with pytest.raises(InputError, match="mini_batch_size"):
        plan_job(make_job(tmp_path, code, inputs, mini_batch_size="ten"))


def test_shards_follow_instance_count_and_max_shards(tmp_path):
    inputs = make_inputs(tmp_path, 50)
    code = write_script(tmp_path, ECHO_SCRIPT)
    ov = {"existing_output": "overwrite"}
    assert len(plan_job(make_job(tmp_path, code, inputs, mini_batch_size=1, job_kw=ov))) == 1
    shards = plan_job(make_job(tmp_path, code, inputs, mini_batch_size=1, instance_count=4, job_kw=ov))
    assert len(shards) == 4 * SHARDS_PER_SLOT
    assert [s["first"] for s in shards[1:]] == [s["last"] + 1 for s in shards[:-1]]
    assert len(plan_job(make_job(tmp_path, code, inputs, mini_batch_size=1, instance_count=4, job_kw=ov),
                       max_shards=3)) == 3
    assert len(plan_job(make_job(tmp_path, code, inputs, mini_batch_size=25, instance_count=4, job_kw=ov))) == 2


def test_mini_batch_size_parsing_and_partitioning():
    assert parse_mini_batch_size(10) == BatchSize(count=10)
    assert parse_mini_batch_size("7") == BatchSize(count=7)
    assert parse_mini_batch_size("10MB") == BatchSize(nbytes=10_000_000)
    assert parse_mini_batch_size("1.5 KiB") == BatchSize(nbytes=1536)
    for bad in (0, -1, "abc", "10 parsecs", True):
        with pytest.raises(InputError, match="mini_batch_size"):
            parse_mini_batch_size(bad)
    files = [FileInfo(f"{i}", size) for i, size in enumerate([5, 5, 20, 1, 1, 1])]
    assert [[f.key for f in b] for b in file_mini_batches(files, BatchSize(nbytes=10))] == [
        ["0", "1"], ["2"], ["3", "4", "5"]]
    assert [len(b) for b in file_mini_batches(files, BatchSize(count=4))] == [4, 2]
    assert shard_ranges(10, 3) == [(0, 2), (3, 5), (6, 9)]
    assert shard_ranges(2, 5) == [(0, 0), (1, 1)]


def test_glob_matcher():
    assert glob_matcher("*.csv")("a/b/c.csv")
    assert not glob_matcher("*.csv")("a/b/c.txt")
    assert glob_matcher("a/*.csv")("a/c.csv") and not glob_matcher("a/*.csv")("a/b/c.csv")
    assert glob_matcher("a/**/*.csv")("a/c.csv") and glob_matcher("a/**/*.csv")("a/b/d/c.csv")
    assert glob_matcher(None)("anything")


def test_local_storage_order_atomic_writes_and_dispatch(tmp_path):
    store = LocalStorage(str(tmp_path))
    for key in ["b.txt", "a/x.txt", "a.txt", "a/b/y.txt", "a-b.txt"]:
        store.write_bytes(key, b"1")
    assert [f.key for f in store.list_files()] == sorted(["b.txt", "a/x.txt", "a.txt", "a/b/y.txt", "a-b.txt"])
    assert [f.key for f in store.list_files("a")] == ["a/b/y.txt", "a/x.txt"]
    with pytest.raises(RuntimeError), store.open_write("c.txt") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert not store.exists("c.txt")
    assert not [f for f in store.list_files() if "tmp" in f.key]
    store.delete_prefix("a/")
    assert [f.key for f in store.list_files()] == ["a-b.txt", "a.txt", "b.txt"]
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)
    assert open_storage(f"file://{tmp_path}/b.txt").is_file_root()
    with pytest.raises(StorageError, match="escapes"):
        store.read_bytes("../x")
    with pytest.raises(StorageError, match="unsupported storage location"):
        open_storage("s3://bucket/x")


def test_output_inside_the_input_folder_is_not_scored(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    for case in ("below", "same"):
        inputs = make_inputs(tmp_path / case, 3)
        output = inputs / "results" if case == "below" else inputs
        job = make_job(tmp_path, code, inputs, output=output, job_kw={"existing_output": "resume"})
        run_local(job, workers=1, **quiet)
        run_local(job, workers=1, **quiet)  # a resume lists the input again, next to the output
        assert (output / "predictions.csv").read_text().splitlines() == ["f000.txt 0", "f001.txt 1",
                                                                          "f002.txt 2"]
