"""Every Storage backend behaves the same: LocalStorage and BlobStorage on Azurite."""

from __future__ import annotations

import hashlib
import io
import os

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine.storage.base import FileInfo, StorageError

MB = 1024 * 1024


def _write_tree(storage, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        storage.write_bytes(key, data)


def test_list_files_nested_sorted_with_sizes(storage):
    files = {"b/2.txt": b"22", "a0": b"0", "a/x/deep.bin": b"deep!", "a-b": b"", "a.c": b"ccc", "b/1.txt": b"1"}
    _write_tree(storage, files)

    listed = list(storage.list_files())

    # Plain string order of the keys: '-' < '.' < '/' < '0'.
    assert listed == [FileInfo(k, len(files[k])) for k in sorted(files)]
    assert [f.key for f in listed] == ["a-b", "a.c", "a/x/deep.bin", "a0", "b/1.txt", "b/2.txt"]


def test_list_files_below_a_prefix(storage):
    _write_tree(storage, {"b/2.txt": b"22", "b/1.txt": b"1", "bb/3.txt": b"3", "a.txt": b"a"})

    assert list(storage.list_files("b")) == [FileInfo("b/1.txt", 1), FileInfo("b/2.txt", 2)]
    assert list(storage.list_files("b/")) == [FileInfo("b/1.txt", 1), FileInfo("b/2.txt", 2)]
    assert list(storage.list_files("a.txt")) == [FileInfo("a.txt", 1)]
    assert list(storage.list_files("missing")) == []


def test_empty_root_lists_nothing(storage):
    assert list(storage.list_files()) == []
    assert not storage.is_file_root()


def test_exists_and_read_write(storage):
    assert not storage.exists("x/y.txt")
    storage.write_bytes("x/y.txt", b"first")
    assert storage.exists("x/y.txt")
    assert not storage.exists("x")  # a folder-like prefix is not a file
    assert storage.read_bytes("x/y.txt") == b"first"
    storage.write_bytes("x/y.txt", b"second")
    assert storage.read_bytes("x/y.txt") == b"second"


def test_single_file_root(storage):
    storage.write_bytes("in/data.csv", b"a,b\n1,2\n")
    folder = storage.child("in")
    single = storage.child("in/data.csv")

    assert not folder.is_file_root()
    assert single.is_file_root()
    assert list(single.list_files()) == [FileInfo("", 8)]
    assert single.read_bytes("") == b"a,b\n1,2\n"
    assert not storage.child("in/missing.csv").is_file_root()


def test_open_write_is_visible_only_when_closed(storage):
    with storage.open_write("out/part") as f:
        f.write(b"x" * (3 * MB))  # several blob blocks staged
        assert not storage.exists("out/part")
        assert list(storage.list_files()) == []
        f.write(b"tail")
    assert storage.read_bytes("out/part") == b"x" * (3 * MB) + b"tail"


def test_failed_open_write_leaves_nothing(storage):
    with pytest.raises(RuntimeError, match="scoring failed"), storage.open_write("out/part") as f:
        f.write(b"y" * (2 * MB + 10))
        raise RuntimeError("scoring failed")
    assert not storage.exists("out/part")
    assert list(storage.list_files()) == []


def test_failed_open_write_keeps_old_content(storage):
    storage.write_bytes("predictions.csv", b"old")
    with pytest.raises(KeyboardInterrupt), storage.open_write("predictions.csv") as f:
        f.write(b"new" * MB)
        raise KeyboardInterrupt
    assert storage.read_bytes("predictions.csv") == b"old"


def test_open_write_of_nothing_creates_an_empty_file(storage):
    with storage.open_write("empty.txt"):
        pass
    assert list(storage.list_files()) == [FileInfo("empty.txt", 0)]


def test_streaming_a_multi_megabyte_file(storage):
    chunk = bytes(range(256)) * 4096  # 1 MiB
    digest = hashlib.sha256()
    with storage.open_write("big/file.bin") as f:
        for i in range(6):
            data = chunk[i:] + chunk[:i]
            digest.update(data)
            f.write(data)
    assert list(storage.list_files("big")) == [FileInfo("big/file.bin", 6 * MB)]

    seen = hashlib.sha256()
    total = 0
    with storage.open_read("big/file.bin") as f:
        while block := f.read(300_000):
            seen.update(block)
            total += len(block)
    assert total == 6 * MB
    assert seen.hexdigest() == digest.hexdigest()


def test_open_read_and_open_write_work_with_pandas(storage):
    frame = pd.DataFrame({"a": range(50_000), "b": [f"row {i}" for i in range(50_000)]})
    with storage.open_write("frame.csv") as f:
        frame.to_csv(f, index=False)
    with storage.open_read("frame.csv") as f:
        back = pd.read_csv(f)
    pd.testing.assert_frame_equal(back, frame)
    with storage.open_read("frame.csv") as f:
        assert f.readline() == b"a,b\n"


def test_text_wrapper_over_open_write(storage):
    with storage.open_write("lines.txt") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        for i in range(3):
            text.write(f"line {i}\n")
    assert storage.read_bytes("lines.txt") == b"line 0\nline 1\nline 2\n"


def test_create_exclusive_has_one_winner(storage):
    assert storage.create_exclusive("claims/0001", b"first")
    assert not storage.create_exclusive("claims/0001", b"second")
    assert storage.read_bytes("claims/0001") == b"first"
    assert [f.key for f in storage.list_files()] == ["claims/0001"]  # no temporary file left behind
    storage.write_bytes("claims/0001", b"refreshed")  # an ordinary write still replaces it
    assert storage.read_bytes("claims/0001") == b"refreshed"


def test_create_exclusive_under_contention(storage):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda n: storage.create_exclusive("contended", str(n).encode()), range(16)))
    assert wins.count(True) == 1
    assert storage.read_bytes("contended") == str(wins.index(True)).encode()


def test_delete(storage):
    storage.write_bytes("a/1", b"1")
    storage.delete("a/1")
    assert not storage.exists("a/1")
    storage.delete("a/1")  # already gone: no error
    storage.delete("never/was")


def test_delete_prefix(storage):
    _write_tree(storage, {"keep.txt": b"k", "_m/parts/1": b"1", "_m/parts/2": b"2", "_m/manifest": b"m", "_mx": b"x"})
    storage.delete_prefix("_m/parts")
    assert [f.key for f in storage.list_files()] == ["_m/manifest", "_mx", "keep.txt"]
    storage.delete_prefix("_m")
    assert [f.key for f in storage.list_files()] == ["_mx", "keep.txt"]
    storage.delete_prefix("nothing/here")
    storage.delete_prefix("keep.txt")  # a prefix naming a file deletes that file
    assert [f.key for f in storage.list_files()] == ["_mx"]


def test_local_path(storage):
    storage.write_bytes("inputs/day 1/data.csv", b"a\n1\n")
    with storage.local_path("inputs/day 1/data.csv") as path:
        assert os.path.basename(path) == "data.csv"  # scoring scripts see the real file name
        with open(path, "rb") as f:
            assert f.read() == b"a\n1\n"
    assert storage.exists("inputs/day 1/data.csv")


def test_local_path_of_missing_key(storage):
    with pytest.raises(StorageError), storage.local_path("missing.csv"):
        pass


def test_read_of_missing_key(storage):
    with pytest.raises(StorageError):
        storage.read_bytes("missing.bin")
    with pytest.raises(StorageError), storage.open_read("missing.bin") as f:
        f.read()


def test_child(storage):
    out = storage.child("out/2024-01-01")
    out.write_bytes("predictions.csv", b"p")
    assert storage.read_bytes("out/2024-01-01/predictions.csv") == b"p"
    assert list(out.list_files()) == [FileInfo("predictions.csv", 1)]
    assert out.uri.rstrip("/").endswith("out/2024-01-01")
    assert out.child("sub").uri.rstrip("/").endswith("out/2024-01-01/sub")
    assert list(storage.list_files()) == [FileInfo("out/2024-01-01/predictions.csv", 1)]
