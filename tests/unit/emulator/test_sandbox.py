"""The emulator is safe to expose: what a caller may reach, and what the admin side keeps to itself.

- datastore paths stay inside the datastore (``paths/../..`` refused);
- local paths and ``file://`` (inputs, outputs, code, models) only with ``--allow-local-paths``;
- ``/_emulator/*`` admin routes need the token (the health probe does not);
- ``--state`` records are readable by their owner only;
- a fault setting with a bad ``match`` regex is refused whole;
- ``--provisioning-delay 0`` means no delay.
"""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from airflow_provider_mlendpoints.emulator.config import EmulatorConfig, FaultSettings
from tests.fixtures.emulator import start_emulator

from .helpers import put_and_wait, wait_job

SCRIPT = textwrap.dedent(
    """
    def init():
        pass

    def run(mini_batch):
        return [str(p) for p in mini_batch]
    """
)


@pytest.fixture(scope="module")
def strict_emulator(tmp_path_factory):
    """An emulator started without --allow-local-paths, with a code version on its datastore."""
    with start_emulator(log_dir=tmp_path_factory.mktemp("strict-emu"), allow_local_paths=False) as emu:
        yield emu


def _batch_endpoint(c, emu, code_uri: str) -> str:
    c.put(emu.arm_url("/codes/sandboxed/versions/1"), json={"properties": {"codeUri": code_uri}}).raise_for_status()
    endpoint = put_and_wait(c, emu.arm_url("/batchEndpoints/endpt-sandbox"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
    dep = put_and_wait(c, emu.arm_url("/batchEndpoints/endpt-sandbox/deployments/dep"), {
        "location": "eastus",
        "properties": {"codeConfiguration": {"codeId": "azureml:sandboxed:1", "scoringScript": "score.py"}},
    })
    assert dep["properties"]["provisioningState"] == "Succeeded"
    return endpoint["properties"]["scoringUri"]


def _invoke(c, uri: str, input_uri: str, output_uri: str = "azureml://datastores/workspaceblobstore/paths/out/") -> httpx.Response:
    return c.post(uri, json={"properties": {
        "InputData": {"in": {"JobInputType": "UriFolder", "Uri": input_uri}},
        "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": output_uri}},
    }})


def test_datastore_paths_stay_in_the_datastore_and_local_paths_need_the_flag(strict_emulator, tmp_path):
    emu = strict_emulator
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "f.txt").write_text("not yours")
    store = "azureml://datastores/workspaceblobstore/paths"
    with emu.client() as c:
        uri = _batch_endpoint(c, emu, f"{store}/code")
        refused = {
            f"{store}/../../../../../..{secret}": "outside the datastore",
            f"{store}/in/%2e%2e/%2e%2e/%2e%2e/x": "outside the datastore",
            f"file://{secret}": "--allow-local-paths",
            str(secret): "--allow-local-paths",
        }
        for input_uri, fragment in refused.items():
            response = _invoke(c, uri, input_uri)
            assert response.status_code == 400, (input_uri, response.text)
            assert fragment in response.json()["error"]["message"], response.text
        for output_uri in (f"{store}/../../escape/", f"file://{tmp_path / 'written'}"):
            response = _invoke(c, uri, f"{store}/in/", output_uri)
            assert response.status_code == 400, (output_uri, response.text)
        assert c.get(emu.arm_url("/jobs")).json()["value"] == []  # nothing was started
        assert not (tmp_path / "written").exists()

        # ".." that stays inside the datastore is only a path
        config = c.get(emu.url("/_emulator/config")).json()
    root = Path(config["data_root"]) / "datastores" / emu.subscription / emu.resource_group / emu.workspace / "workspaceblobstore"
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / "score.py").write_text(SCRIPT)
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "in" / "a.txt").write_text("1")
    with emu.client() as c:
        job = _invoke(c, uri, f"{store}/other/../in/").json()
        done = wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))
        assert done["properties"]["status"] == "Completed", done["properties"]["properties"]
    assert (root / "out" / "predictions.csv").read_text().strip().endswith("a.txt")


def test_local_code_is_refused_without_the_flag(strict_emulator, tmp_path):
    emu = strict_emulator
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text("import os\nos.system('touch /tmp/pwned')\ndef init(): pass\ndef run(raw): return 1\n")
    with emu.client() as c:
        c.put(emu.arm_url("/codes/local-code/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/onlineEndpoints/endpt-local"), {"location": "eastus", "properties": {"authMode": "Key"}})
        response = c.put(emu.arm_url("/onlineEndpoints/endpt-local/deployments/blue"), json={
            "location": "eastus",
            "properties": {"codeConfiguration": {"codeId": "azureml:local-code:1", "scoringScript": "score.py"}},
        })
        status = c.get(response.headers["Azure-AsyncOperation"]).json()
        while status["status"] == "InProgress":
            status = c.get(response.headers["Azure-AsyncOperation"]).json()
        assert status["status"] == "Failed"
        assert "--allow-local-paths" in status["error"]["message"]


def test_admin_routes_need_the_token(strict_emulator):
    emu = strict_emulator
    assert httpx.get(emu.url("/_emulator/health")).status_code == 200  # the readiness probe stays open
    for method, path in (("GET", "/_emulator/config"), ("POST", "/_emulator/reset"), ("GET", "/_emulator/requests"),
                         ("POST", "/_emulator/faults"), ("GET", "/_emulator/jobs/x/log")):
        assert httpx.request(method, emu.url(path)).status_code == 401, path
        wrong = httpx.request(method, emu.url(path), headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401, path
    assert httpx.get(emu.url("/_emulator/config"), headers=emu.headers).status_code == 200


def test_bad_fault_regex_is_refused_whole(strict_emulator):
    emu = strict_emulator
    before = httpx.get(emu.url("/_emulator/faults"), headers=emu.headers).json()
    for settings in ({"error_rate": 0.5, "match": "batchEndpoints/("},
                     {"script": [{"fault": "500", "match": "ok"}, {"fault": "429", "match": "[unclosed"}]}):
        response = httpx.post(emu.url("/_emulator/faults"), json=settings, headers=emu.headers)
        assert response.status_code == 400
        assert "not a valid regular expression" in response.json()["error"]["message"]
        assert httpx.get(emu.url("/_emulator/faults"), headers=emu.headers).json() == before
    with pytest.raises(ValueError, match="not a valid regular expression"):
        FaultSettings.from_dict({"match": "*"})


def test_state_files_are_private_and_zero_delay_is_no_delay(tmp_path):
    state = tmp_path / "state"
    with start_emulator(state=state, log_dir=tmp_path, provisioning_delay=0) as emu, emu.client() as c:
        created = c.put(emu.arm_url("/batchEndpoints/endpt-state"), json={"location": "eastus", "properties": {"authMode": "AADToken"}})
        assert created.status_code == 201
        # no delay: the PUT's own answer is already Succeeded
        assert created.json()["properties"]["provisioningState"] == "Succeeded"
    records = list((state / "records").glob("*.json"))
    assert records
    for path in records:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((state / "records").stat().st_mode) == 0o700


def test_provisioning_delay_zero_on_the_command_line_wins_over_the_environment():
    args = SimpleNamespace(provisioning_delay=0.0, allow_local_paths=False)
    config = EmulatorConfig.from_args(args, environ={"MLENDPOINTS_EMULATOR_PROVISIONING_DELAY": "5"})
    assert config.provisioning_delay == 0.0
    assert EmulatorConfig.from_args(SimpleNamespace(), environ={}).allow_local_paths is False
    with pytest.raises(ValueError, match="0 or more seconds"):
        EmulatorConfig.from_args(SimpleNamespace(provisioning_delay=-1), environ={})
