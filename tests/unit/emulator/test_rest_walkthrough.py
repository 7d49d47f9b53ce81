"""The emulator driven with curl and jq, as Microsoft's REST walkthroughs drive Azure ML.

``walkthrough/rest_walkthrough.sh`` (written for this project) reads the operation URL from the PUT
body (``properties.properties.AzureAsyncOperationUri``), polls it, takes the scoring URI from the
endpoint, polls the batch job at ``<scoringUri>/<job name>``, and sends hand-written bodies with
trailing commas, a conda file with raw newlines, enum values in lower case and numbers as strings.
The code and input sit on Azurite, the emulator's default datastore, and the emulator runs without
``--allow-local-paths``, as a shared one would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.emulator import start_emulator

SCRIPT = Path(__file__).with_name("walkthrough") / "rest_walkthrough.sh"

BATCH_SCORE = textwrap.dedent(
    """
    import os

    def init():
        print("batch init", flush=True)

    def run(mini_batch):
        return [f"{os.path.basename(p)},{len(open(p).read())}" for p in mini_batch]
    """
)
ONLINE_SCORE = textwrap.dedent(
    """
    import json

    def init():
        print("walkthrough init done", flush=True)

    def run(raw_data):
        return [sum(row) for row in json.loads(raw_data)["data"]]
    """
)


@pytest.mark.slow
def test_rest_walkthrough_with_curl_and_jq(azurite, tmp_path):
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the REST walkthrough needs {', '.join(missing)} on PATH (make test installs jq)")
    container = azurite.create_container()
    try:
        blobs = azurite.service_client().get_container_client(container)
        blobs.upload_blob("score/score.py", BATCH_SCORE.encode())
        blobs.upload_blob("online/score.py", ONLINE_SCORE.encode())
        blobs.upload_blob("model/model.txt", b"weights")
        for i in range(5):
            blobs.upload_blob(f"data/digit-{i}.txt", ("x" * i).encode())
        env = {
            "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
        }
        with start_emulator(env=env, log_dir=tmp_path, provisioning_delay=0.3, allow_local_paths=False) as emu:
            run_env = {
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path),
                "MANAGEMENT": emu.base_url,
                "TOKEN": emu.token,
                "SUBSCRIPTION_ID": emu.subscription,
                "RESOURCE_GROUP": emu.resource_group,
                "WORKSPACE": emu.workspace,
                "LOCATION": "eastus",
            }
            done = subprocess.run(
                ["bash", str(SCRIPT)], env=run_env, capture_output=True, text=True, timeout=600, cwd=tmp_path
            )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        steps = [line for line in done.stdout.splitlines() if line.startswith("step ")]
        assert [s.split(":")[0] for s in steps] == [
            "step datastore", "step assets", "step compute", "step batch endpoint", "step batch deployment",
            "step endpoint defaults", "step batch job", "step online endpoint", "step online deployment",
            "step online scoring", "step online logs", "step delete",
        ]
        assert done.stdout.rstrip().endswith("WALKTHROUGH OK")
        endpoint, _job = next(s for s in steps if s.startswith("step batch job")).split()[-2:]
        # the job wrote its output file, and only that, where the walkthrough asked
        written = sorted(b.name for b in blobs.list_blobs(name_starts_with=f"walk-output/{endpoint}/"))
        assert written == [f"walk-output/{endpoint}/predictions.csv"]
        rows = blobs.download_blob(written[0]).readall().decode().splitlines()
        assert sorted(rows) == [f"digit-{i}.txt,{i}" for i in range(5)]
    finally:
        azurite.delete_container(container)
