"""The engine against real blob storage (Azurite): blob inputs and outputs, no secret written anywhere."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from airflow_provider_mlendpoints.engine import InputError, plan_job, run_local
from airflow_provider_mlendpoints.engine.job import OutputFormat
from airflow_provider_mlendpoints.engine.storage import open_storage

from .helpers import ECHO_SCRIPT, make_job, write_script

pytestmark = pytest.mark.azurite

quiet = {"log": lambda line: None}


def test_blob_input_and_output(tmp_path, azurite, blob_container):
    options = {"connection_string": azurite.connection_string}
    root = f"{azurite.blob_endpoint}/{blob_container}"
    store = open_storage(root, options)
    for i in range(5):
        store.write_bytes(f"in/sub{i % 2}/f{i:03d}.txt", str(i).encode())
    store.write_bytes("tables/t.csv", b"id,x\n" + b"".join(f"{i},{i}\n".encode() for i in range(30)))
    code = write_script(tmp_path, ECHO_SCRIPT)

    top_level = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out", job_kw={"storage_options": options})
    with pytest.raises(InputError, match=r"no input files found \(2 left out: sub0/: nested folder.*; sub1/: nested"):
        plan_job(top_level)  # Azure does not explore nested folders
    job = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out", mini_batch_size=2,
                   job_kw={"storage_options": options, "recursive": True})
    summary = run_local(job, workers=2, **quiet)
    assert summary["items"] == {"total": 5, "succeeded": 5, "failed": 0}
    lines = store.read_bytes("out/predictions.csv").decode().splitlines()
    assert lines == ["f000.txt 0", "f002.txt 2", "f004.txt 4", "f001.txt 1", "f003.txt 3"]  # key order
    written = [store.read_bytes(f.key) for f in store.list_files("out/_mlendpoints/") if "/parts/" not in f.key]
    assert not any(azurite.account_key.encode() in data for data in written)

    single = make_job(tmp_path, code, f"{root}/in/sub1/f003.txt", output=f"{root}/one",
                      job_kw={"storage_options": options})
    run_local(single, workers=1, **quiet)
    assert store.read_bytes("one/predictions.csv") == b"f003.txt 3\n"

    tab_code = write_script(tmp_path / "tab", "def run(df):\n    return (df['x'] * 10).tolist()\n")
    tabular = make_job(tmp_path, tab_code, f"{root}/tables", output=f"{root}/tab-out", mini_batch_size=7,
                       job_kw={"storage_options": options, "input_type": "tabular"})
    summary = run_local(tabular, workers=2, **quiet)
    assert summary["mini_batches"]["total"] == 5
    assert store.read_bytes("tab-out/predictions.csv").decode().splitlines() == [str(i * 10) for i in range(30)]

    parquet = make_job(tmp_path, code, f"{root}/in", output=f"{root}/pq-out", output_file_name="p.parquet",
                       output_format=OutputFormat(format="parquet"),
                      job_kw={"storage_options": options, "recursive": True})
    run_local(parquet, workers=1, **quiet)
    with store.local_path("pq-out/p.parquet") as path:
        assert pq.read_table(path).column("prediction").to_pylist()[0] == "f000.txt 0"


def test_anonymous_read_of_a_public_container(tmp_path, azurite):
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    name = f"public-{uuid.uuid4().hex[:12]}"
    with azurite.service_client() as service:
        container = service.create_container(name, public_access="container")
        for i in range(3):
            container.upload_blob(f"in/f{i}.txt", str(i).encode())
    try:
        code = write_script(tmp_path, ECHO_SCRIPT)
        (tmp_path / "deployment.yml").write_text(
            "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
            "name: d\nmodel:\n  path: code\ncode_configuration:\n  code: code\n  scoring_script: score.py\n"
        )
        cli = [str(Path(sys.executable).with_name("mlendpoints")), "score", "--deployment",
               str(tmp_path / "deployment.yml"), "--input", f"{azurite.blob_endpoint}/{name}/in"]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no connection string, no Azure login
        done = subprocess.run([*cli, "--output", str(tmp_path / "out"), "--anonymous"], capture_output=True,
                              text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == [f"f{i}.txt {i}" for i in range(3)]
        refused = subprocess.run([*cli, "--output", f"{azurite.blob_endpoint}/{name}/out", "--anonymous"],
                                 capture_output=True, text=True, env=env, timeout=300)
        assert refused.returncode == 2 and "must be a local folder or a blob URL with a SAS" in refused.stderr
        assert code.exists()
    finally:
        azurite.delete_container(name)


def test_resume_refuses_a_blob_input_rewritten_with_the_same_size(tmp_path, azurite, blob_container):
    from airflow_provider_mlendpoints.engine import PlanMismatchError, plan_job

    options = {"connection_string": azurite.connection_string}
    root = f"{azurite.blob_endpoint}/{blob_container}"
    store = open_storage(root, options)
    for i in range(3):
        store.write_bytes(f"in/f{i:03d}.txt", str(i).encode())
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out", job_kw={"storage_options": options})
    run_local(job, workers=1, **quiet)
    store.write_bytes("in/f001.txt", b"7")  # same size, new ETag
    resume = make_job(tmp_path, code, f"{root}/in", output=f"{root}/out",
                      job_kw={"storage_options": options, "existing_output": "resume"})
    with pytest.raises(PlanMismatchError, match=r"f001\.txt \(modified: same size, ETag changed\)"):
        plan_job(resume)
