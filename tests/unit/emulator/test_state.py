"""--state DIR: resources and jobs survive a restart."""

from __future__ import annotations

import textwrap

import httpx

from tests.fixtures.emulator import free_port, start_emulator

from .helpers import put_and_wait, wait_job


def test_resources_and_jobs_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    code, data = tmp_path / "code", tmp_path / "in"
    code.mkdir()
    data.mkdir()
    (code / "score.py").write_text(textwrap.dedent("""
        def init():
            pass

        def run(mini_batch):
            return [p.rsplit("/", 1)[-1] for p in mini_batch]
    """))
    (data / "a.txt").write_text("a")
    port = free_port()
    with start_emulator(state=state, token="tok-1", port=port, log_dir=tmp_path) as emu, emu.client() as c:
        c.put(emu.arm_url("/codes/c/versions/1"), json={"properties": {"codeUri": str(code)}}).raise_for_status()
        put_and_wait(c, emu.arm_url("/batchEndpoints/keep"), {"location": "eastus", "tags": {"k": "v"}, "properties": {"authMode": "AADToken"}})
        put_and_wait(c, emu.arm_url("/batchEndpoints/keep/deployments/d"), {
            "location": "eastus",
            "properties": {"codeConfiguration": {"codeId": "azureml:c:1", "scoringScript": "score.py"}},
        })
        keys = c.post(emu.arm_url("/batchEndpoints/keep/listkeys")).json()
        uri = c.get(emu.arm_url("/batchEndpoints/keep")).json()["properties"]["scoringUri"]
        job = c.post(uri, json={"properties": {"InputData": {"i": {"JobInputType": "UriFolder", "Uri": str(data)}},
                                               "OutputData": {"o": {"JobOutputType": "UriFolder", "Uri": str(tmp_path / "out")}}}}).json()
        assert wait_job(c, emu.arm_url(f"/jobs/{job['name']}"))["properties"]["status"] == "Completed"
        # an operation still in progress when the emulator stops
        emu.set_config(provisioning_delay=2)
        pending = c.put(emu.arm_url("/onlineEndpoints/later"), json={"location": "eastus", "properties": {"authMode": "Key"}})
        assert pending.status_code == 201
    assert emu.process.returncode == 0  # clean exit on SIGTERM

    with start_emulator(state=state, token="tok-2", port=port, log_dir=tmp_path) as emu2:
        with emu2.client() as c:
            endpoint = c.get(emu2.arm_url("/batchEndpoints/keep"))
            assert endpoint.status_code == 200
            assert endpoint.json()["tags"] == {"k": "v"} and endpoint.json()["properties"]["provisioningState"] == "Succeeded"
            assert c.get(emu2.arm_url("/batchEndpoints/keep/deployments/d")).json()["properties"]["provisioningState"] == "Succeeded"
            assert c.get(emu2.arm_url("/codes/c/versions/1")).json()["properties"]["codeUri"] == str(code)
            assert c.post(emu2.arm_url("/batchEndpoints/keep/listkeys")).json() == keys
            restored = c.get(emu2.arm_url(f"/jobs/{job['name']}")).json()
            assert restored["properties"]["status"] == "Completed"
            status = c.get(pending.headers["Azure-AsyncOperation"].replace(emu.base_url, emu2.base_url))
            assert status.status_code == 200
            from .helpers import wait_async

            assert wait_async(c, str(status.url))["status"] == "Succeeded"
            assert c.get(emu2.arm_url("/onlineEndpoints/later")).json()["properties"]["provisioningState"] == "Succeeded"
        assert httpx.get(emu2.arm_url("/batchEndpoints"), headers={"Authorization": "Bearer tok-1"}).status_code == 401
