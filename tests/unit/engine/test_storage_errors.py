"""Storage errors stop the run, are never scoring failures, lose nothing; resume then completes exactly once.

Real faults: a tmpfs that fills up (mounted by the test when it runs as root), and real Azurite behind a
proxy that answers part writes with 503 ServerBusy (throttling) once some went through.
"""

from __future__ import annotations

import collections
import json
from dataclasses import replace

import pytest

from airflow_provider_mlendpoints.engine import StorageFailed, run_local
from airflow_provider_mlendpoints.engine.layout import PARTS_PREFIX
from airflow_provider_mlendpoints.engine.parts import read_status
from airflow_provider_mlendpoints.engine.storage import open_storage

from .faulty_storage import FailingBlobProxy, grow_tmpfs, small_tmpfs
from .helpers import make_inputs, make_job, write_script

quiet = {"log": lambda line: None}

# Each result row is ~30 KB, so a 512 KiB output folder fills after a dozen mini-batches.
BIG_ROWS = """
import os

def run(mini_batch):
    return [os.path.basename(p) + " " + "x" * 30000 for p in mini_batch]
"""

# init() fills the output disk once (FILL_FLAG names a flag file); run() fails while the filler is
# there, so the parent itself must write "failed" parts on a full disk.
FILL_THEN_FAIL = """
import os

FILLER = os.path.join(os.environ["OUT_DIR"], "filler")

def init():
    flag = os.environ["FILL_FLAG"]
    if os.path.exists(flag):
        os.remove(flag)
        with open(FILLER, "wb") as f:
            try:
                while True:
                    f.write(b"\\0" * 65536)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                pass

def run(mini_batch):
    if os.path.exists(FILLER):
        raise RuntimeError("a transient problem")
    return [os.path.basename(p) for p in mini_batch]
"""


def _statuses(store) -> list[str]:
    return [read_status(store, info.key)["status"] for info in store.list_files(PARTS_PREFIX)]


def _names(lines: list[str]) -> collections.Counter:
    return collections.Counter(line.split(" ", 1)[0] for line in lines if line)


def test_full_disk_stops_the_run_and_resume_completes_every_item_once(tmp_path):
    inputs = make_inputs(tmp_path, 40)
    code = write_script(tmp_path, BIG_ROWS)
    with small_tmpfs(tmp_path / "disk") as disk:
        out = disk / "out"
        job = make_job(tmp_path, code, inputs, output=out, mini_batch_size=1, retry=(3, 30))
        with pytest.raises(StorageFailed) as info:
            run_local(job, workers=2, **quiet)
        message = str(info.value)
        assert str(out / "_mlendpoints" / "parts") in message, message
        assert "No space left on device" in message, message
        store = open_storage(str(out))
        statuses = _statuses(store)
        assert 0 < len(statuses) < 40
        assert set(statuses) == {"succeeded"}, statuses  # never recorded as a scoring failure

        grow_tmpfs(disk)  # the cause is fixed
        summary = run_local(replace(job, existing_output="resume"), workers=2, **quiet)
        assert summary["items"] == {"total": 40, "succeeded": 40, "failed": 0}
        lines = (out / "predictions.csv").read_text().splitlines()
        assert _names(lines) == collections.Counter(f"f{i:03d}.txt" for i in range(40))


def test_a_failed_part_the_parent_cannot_write_stops_the_run(tmp_path):
    inputs = make_inputs(tmp_path, 6)
    code = write_script(tmp_path, FILL_THEN_FAIL)
    with small_tmpfs(tmp_path / "disk") as disk:
        out = disk / "out"
        flag = tmp_path / "fill-once"
        flag.write_text("")
        job = make_job(tmp_path, code, inputs, output=out, mini_batch_size=2, retry=(0, 30),
                       environment_variables={"OUT_DIR": str(disk), "FILL_FLAG": str(flag)})
        with pytest.raises(StorageFailed, match="No space left on device"):
            run_local(job, workers=1, **quiet)
        assert _statuses(open_storage(str(out))) == []  # nothing counted as failed, nothing half-written

        (disk / "filler").unlink()  # the cause is fixed
        resume = replace(job, existing_output="resume")
        summary = run_local(resume, workers=1, **quiet)
        assert summary["items"] == {"total": 6, "succeeded": 6, "failed": 0}
        assert sorted((out / "predictions.csv").read_text().splitlines()) == [f"f{i:03d}.txt" for i in range(6)]


@pytest.mark.azurite
@pytest.mark.parametrize(("mode", "cause"), [("throttle", ("503", "busy")), ("drop", ("could not be reached",
                                                                                    "connection"))])
def test_blob_write_errors_past_retries_stop_the_run_and_resume_completes(
    tmp_path, azurite, blob_container, mode, cause
):
    inputs = make_inputs(tmp_path, 20)
    code = write_script(tmp_path, "import os\ndef run(mb):\n    return [os.path.basename(p) for p in mb]\n")
    with FailingBlobProxy(f"http://{azurite.host}:{azurite.port}", path_part="/_mlendpoints/parts/",
                          fail_after=6, mode=mode) as proxy:
        endpoint = f"http://127.0.0.1:{proxy.port}/{azurite.account_name}"
        options = {
            "connection_string": (f"DefaultEndpointsProtocol=http;AccountName={azurite.account_name};"
                                  f"AccountKey={azurite.account_key};BlobEndpoint={endpoint};"),
            "retry_total": 0,
        }
        root = f"{endpoint}/{blob_container}"
        job = make_job(tmp_path, code, inputs, output=f"{root}/out", mini_batch_size=1,
                       job_kw={"storage_options": options})
        with pytest.raises(StorageFailed) as info:
            run_local(job, workers=2, **quiet)
        message = str(info.value)
        assert f"{blob_container}/out/_mlendpoints/parts/" in message, message
        assert any(word in message.lower() for word in cause), message
        assert azurite.account_key not in message
        assert proxy.refused >= 1
        store = open_storage(f"{azurite.blob_endpoint}/{blob_container}/out",
                             {"connection_string": azurite.connection_string})
        statuses = _statuses(store)
        assert 0 < len(statuses) < 20 and set(statuses) == {"succeeded"}, statuses

        proxy.heal()
        summary = run_local(replace(job, existing_output="resume"), workers=2, **quiet)
        assert summary["items"] == {"total": 20, "succeeded": 20, "failed": 0}
        lines = store.read_bytes("predictions.csv").decode().splitlines()
        assert lines == [f"f{i:03d}.txt" for i in range(20)]
        report = json.loads(store.read_bytes("_mlendpoints/report/summary.json"))
        assert report["mini_batches"]["failed"] == 0
