"""A batch deployment scored by the engine with input and output both in Azurite."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from airflow_provider_mlendpoints.engine import plan_job, run_local, score_shard
from airflow_provider_mlendpoints.engine.job import ScoringJob
from airflow_provider_mlendpoints.engine.storage.blob import BlobStorage
from airflow_provider_mlendpoints.specs.model import BatchDeploymentSpec, CodeSpec, ModelSpec, RetrySettings

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

# Returns "<file name> <content>" per input file; leaves one marker file per run() call.
SCRIPT = """
import os, uuid

def init():
    global PREFIX
    PREFIX = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "prefix.txt")).read().strip()

def run(mini_batch):
    open(os.path.join(os.environ["MARK_DIR"], f"run-{uuid.uuid4().hex}"), "w").close()
    return [f"{PREFIX}{os.path.basename(p)} {open(p).read()}" for p in mini_batch]
"""


@pytest.fixture
def blob_job(tmp_path, azurite, blob_container, monkeypatch):
    """A job reading abfs://<container>/inputs (12 files) and writing wasbs://<container>/out/<date>."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(textwrap.dedent(SCRIPT))
    model = tmp_path / "model"
    model.mkdir()
    (model / "prefix.txt").write_text("p-")
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARK_DIR", str(marks))

    options = {"connection_string": azurite.connection_string}
    account = azurite.account_name
    input_uri = f"abfs://{blob_container}@{account}.dfs.core.windows.net/inputs"
    output_uri = f"wasbs://{blob_container}@{account}.blob.core.windows.net/out/2024-01-01"
    inputs = BlobStorage.from_uri(input_uri, options)
    for i in range(12):
        inputs.write_bytes(f"day/{i:02d}.txt", str(i).encode())

    deployment = BatchDeploymentSpec(
        name="blob-e2e",
        model=ModelSpec(path=str(model)),
        code=CodeSpec(scoring_script="score.py", path=str(code)),
        mini_batch_size=2,
        instance_count=2,
        retry_settings=RetrySettings(max_retries=1, timeout=60),
    )
    job = ScoringJob(deployment=deployment, input_uri=input_uri, output_uri=output_uri, storage_options=options,
                     recursive=True)  # the files lie in inputs/day/
    return job, BlobStorage.from_uri(output_uri, options), marks


EXPECTED = [f"p-{i:02d}.txt {i}" for i in range(12)]


def test_scores_from_blob_to_blob(blob_job):
    job, out, marks = blob_job

    logs: list[str] = []
    summary = run_local(job, workers=2, log=logs.append)

    assert summary["status"] == "Completed"
    assert summary["items"] == {"total": 12, "succeeded": 12, "failed": 0}
    assert out.read_bytes("predictions.csv").decode().splitlines() == EXPECTED
    keys = [f.key for f in out.list_files()]
    assert "_mlendpoints/report/summary.json" in keys
    assert json.loads(out.read_bytes("_mlendpoints/report/summary.json"))["status"] == "Completed"
    assert len(os.listdir(marks)) == 6  # 6 mini-batches, each run once
    key = job.storage_options["connection_string"].split("AccountKey=")[1].split(";")[0]
    for text in (json.dumps(summary, default=str), "\n".join(logs), repr(job)):
        assert key not in text


def test_resume_after_an_interrupted_run(blob_job):
    job, out, marks = blob_job

    # The first run dies after scoring only its first shard (the other shard never ran).
    shards = plan_job(job)
    assert len(shards) == 2
    first = score_shard(job, shards[0], help_others=False, log=lambda m: None)
    assert first["failed_items"] == 0
    runs_before = len(os.listdir(marks))
    assert runs_before == shards[0]["last"] - shards[0]["first"] + 1
    assert not out.exists("predictions.csv")

    resumed = ScoringJob(
        deployment=job.deployment,
        input_uri=job.input_uri,
        output_uri=job.output_uri,
        storage_options=job.storage_options,
        existing_output="resume",
        recursive=True,
    )
    summary = run_local(resumed, workers=2, log=lambda m: None)

    assert summary["status"] == "Completed"
    assert len(os.listdir(marks)) == 6  # finished mini-batches were not scored again
    assert out.read_bytes("predictions.csv").decode().splitlines() == EXPECTED  # ordered, exactly once


def test_shard_tasks_share_the_work_through_blob_claims(blob_job):
    """Both shards at once, one slow to start: claims on Azurite keep every mini-batch scored once."""
    import threading
    import time

    from airflow_provider_mlendpoints.engine import collect_job

    job, out, marks = blob_job
    shards = plan_job(job)
    results: dict[int, dict] = {}

    def late_start(shard, delay):
        time.sleep(delay)
        results[shard["shard"]] = score_shard(job, shard, log=lambda m: None)

    threads = [threading.Thread(target=late_start, args=(shard, delay)) for shard, delay in zip(shards, (0, 1.0), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(r["scored"] for r in results.values()) == 6
    assert results[0]["helped_mini_batches"] > 0  # the late shard's range was taken from its end
    assert results[1]["scored"] == 3 - results[0]["helped_mini_batches"]
    assert len(os.listdir(marks)) == 6
    assert collect_job(job, log=lambda m: None)["status"] == "Completed"
    assert out.read_bytes("predictions.csv").decode().splitlines() == EXPECTED
    assert sorted(f.key for f in out.list_files("_mlendpoints/claims/")) == [
        f"_mlendpoints/claims/{i:08d}" for i in range(6)
    ]


def test_existing_output_is_refused_by_default(blob_job):
    from airflow_provider_mlendpoints.engine import OutputExistsError

    job, out, _ = blob_job
    run_local(job, workers=1, log=lambda m: None)
    with pytest.raises(OutputExistsError) as info:
        run_local(job, workers=1, log=lambda m: None)
    assert "AccountKey" not in str(info.value)


def test_single_blob_input_and_sas_output(blob_job, azurite, blob_container):
    job, _, _ = blob_job
    sas = generate_container_sas(
        azurite.account_name,
        blob_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    # Input: one blob, path-style https-like URL with the SAS in its query; output: another prefix.
    single = ScoringJob(
        deployment=job.deployment,
        input_uri=f"{azurite.blob_endpoint}/{blob_container}/inputs/day/03.txt?{sas}",
        output_uri=f"{azurite.blob_endpoint}/{blob_container}/single-out?{sas}",
    )
    logs: list[str] = []
    summary = run_local(single, workers=1, log=logs.append)
    assert summary["items"] == {"total": 1, "succeeded": 1, "failed": 0}
    out = BlobStorage.from_uri(f"{azurite.blob_endpoint}/{blob_container}/single-out?{sas}")
    assert out.read_bytes("predictions.csv") == b"p-03.txt 3\n"
    signature = sas.split("sig=")[1].split("&")[0]
    assert signature not in "\n".join(logs) + json.dumps(summary, default=str)
