"""Local result files get the mode the umask gives a plain open(), not mkstemp's owner-only 0600."""

from __future__ import annotations

import os
import stat

import pytest

from airflow_provider_mlendpoints.engine.storage.local import LocalStorage


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, mode):
    os.umask(mask)
    storage = LocalStorage(str(tmp_path))
    storage.write_bytes("predictions.csv", b"a\n")
    with storage.open_write("_mlendpoints/parts/00000000") as f:
        f.write(b"p")
    assert storage.create_exclusive("_mlendpoints/claims/00000000", b"c")
    for key in ("predictions.csv", "_mlendpoints/parts/00000000", "_mlendpoints/claims/00000000"):
        assert stat.S_IMODE(os.stat(tmp_path / key).st_mode) == mode, key


def test_a_temporary_name_already_taken_is_passed_over(tmp_path, monkeypatch):
    """A leftover temporary file that happens to have the drawn name is neither reused nor overwritten."""
    from airflow_provider_mlendpoints.engine.storage import local

    names = iter(["taken", "free"])
    monkeypatch.setattr(local.secrets, "token_hex", lambda n: next(names))
    leftover = tmp_path / f"{local.TEMP_PREFIX}taken"
    leftover.write_bytes(b"another writer's bytes")
    storage = LocalStorage(str(tmp_path))
    storage.write_bytes("predictions.csv", b"a\n")
    assert (tmp_path / "predictions.csv").read_bytes() == b"a\n"
    assert leftover.read_bytes() == b"another writer's bytes"
    assert not (tmp_path / f"{local.TEMP_PREFIX}free").exists()  # the staged file was moved into place
