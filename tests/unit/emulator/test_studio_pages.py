"""The emulator's Studio-like HTML pages and the self-hosted report's index.html (one renderer),
over HTTP and in headless Chromium (DOM dump checked for the expected elements)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from airflow_provider_mlendpoints.engine import report_html

from .helpers import put_and_wait, wait_job
from .test_batch_jobs import batch_setup  # noqa: F401 - the fixture


def _studio(emu, path: str = "") -> str:
    return f"{emu.base_url}/studio/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}/workspaces/{emu.workspace}{path}"


def test_workspace_endpoint_and_compute_pages(emulator_clean):
    emu = emulator_clean
    with emu.client() as c:
        put_and_wait(c, emu.arm_url("/computes/cpu"), {"location": "eastus", "properties": {"computeType": "AmlCompute", "properties": {"vmSize": "STANDARD_D2_V2"}}})
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
        put_and_wait(c, emu.arm_url("/batchEndpoints/be-1"), {"location": "eastus", "properties": {"authMode": "AADToken"}})
        keys = c.post(emu.arm_url("/onlineEndpoints/oe-1/listKeys"), json={}).json()
    # no token: the pages are read-only views for a browser
    index = httpx.get(_studio(emu))
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for name in ("oe-1", "be-1", "cpu"):
        assert f">{name}</a>" in index.text
    online = httpx.get(_studio(emu, "/onlineEndpoints/oe-1")).text
    assert 'id="traffic"' in online and 'class="badge status"' in online and "Succeeded" in online
    assert keys["primaryKey"] not in online and keys["primaryKey"] not in index.text
    compute = httpx.get(_studio(emu, "/computes/cpu")).text
    assert "STANDARD_D2_V2" in compute
    missing = httpx.get(_studio(emu, "/batchEndpoints/nope"))
    assert missing.status_code == 404


def test_secrets_are_hidden_in_tables():
    page = report_html.table(
        {"storage": {"accountKey": "K3Y", "url": "https://a.blob.core.windows.net/c?sv=1&sig=S1G"}, "token": "T0K"}
    )
    assert "K3Y" not in page and "S1G" not in page and "T0K" not in page
    assert report_html.HIDDEN in page


def _rows():
    return [
        {"id": f"mb-{i:03d}", "seconds": 0.1 + i * 0.05, "status": "failed" if i == 3 else "succeeded"}
        for i in range(8)
    ]


def test_timeline_svg_has_one_bar_per_mini_batch_and_marks_failures():
    svg = report_html.timeline_svg(_rows())
    assert svg.count('<rect class="mini-batch ') == 8
    assert svg.count('class="mini-batch failed"') == 1
    assert "8 mini-batches, 1 failed" in svg


def test_self_hosted_report_writes_index_html(tmp_path):
    from airflow_provider_mlendpoints.engine import run_local

    from ..engine.helpers import ECHO_SCRIPT, make_job, write_script

    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(6):
        (inputs / f"f{i}.txt").write_text(str(i))
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, str(inputs), output=str(tmp_path / "out"), mini_batch_size=2)
    run_local(job, workers=1, log=lambda line: None)
    page = (tmp_path / "out" / "_mlendpoints" / "report" / "index.html").read_text()
    assert page.count('<rect class="mini-batch succeeded"') == 3
    assert "Completed" in page and 'id="settings"' in page


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; make chromium)")
    return found


def _dump_dom(browser: str, url: str, screenshot: Path | None = None) -> str:
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
    if screenshot is not None:
        subprocess.run([*base, f"--screenshot={screenshot}", "--window-size=1200,900", url],
                       capture_output=True, timeout=120, check=True)  # fmt: skip
    done = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.mark.slow
def test_pages_in_headless_chromium(emulator_clean, tmp_path):
    browser = _chromium()
    emu = emulator_clean
    with emu.client() as c:
        put_and_wait(c, emu.arm_url("/onlineEndpoints/oe-1"), {"location": "eastus", "properties": {"authMode": "Key"}})
    dom = _dump_dom(browser, _studio(emu, "/onlineEndpoints/oe-1"), tmp_path / "online.png")
    assert "<h1>Online endpoint oe" in dom and 'id="traffic"' in dom
    assert (tmp_path / "online.png").stat().st_size > 1000

    page = tmp_path / "report.html"
    page.write_text(report_html.job_page("job-1", "Completed", settings={"deployment": "d"}, mini_batches=_rows(),
                                         log_tail="scored 8 mini-batches"))  # fmt: skip
    dom = _dump_dom(browser, page.as_uri(), tmp_path / "job.png")
    assert dom.count('class="mini-batch ') == 8 and 'class="mini-batch failed"' in dom
    assert '<svg id="timeline"' in dom and 'id="logs"' in dom


def _run_job(emu, scoring_uri, data, out, deployment=None):
    body = {
        "properties": {
            "InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": str(data)}},
            "OutputData": {"score": {"JobOutputType": "UriFolder", "Uri": str(out)}},
        }
    }
    headers = {"azureml-model-deployment": deployment} if deployment else {}
    with emu.client() as c:
        job = c.post(scoring_uri, json=body, headers=headers).json()
        return wait_job(c, f"{scoring_uri}/{job['name']}")


def test_job_pages_show_the_mini_batch_timeline(batch_setup, tmp_path):  # noqa: F811
    emu, scoring_uri, data, _ = batch_setup
    done = _run_job(emu, scoring_uri, data, tmp_path / "out")
    assert done["properties"]["status"] == "Completed"
    page = httpx.get(_studio(emu, f"/jobs/{done['name']}")).text
    assert page.count('<rect class="mini-batch succeeded"') == 3  # 5 files, 2 per mini-batch
    assert "Completed" in page and 'id="logs"' in page and "emulator job" in page
    assert 'id="outputs"' in page and str(tmp_path / "out") in page
    index = httpx.get(_studio(emu)).text
    assert f">{done['name']}</a>" in index and ">be-1 / ok</a>" in index

    failed = _run_job(emu, scoring_uri, data, tmp_path / "out-failed", deployment="failing")
    assert failed["properties"]["status"] == "Failed"
    page = httpx.get(_studio(emu, f"/jobs/{failed['name']}")).text
    assert page.count('<rect class="mini-batch failed"') == 3
    assert "the model refuses this input" in page
    # As on Azure, the job's output folder holds only its output file (the engine's report, and
    # its index.html, stay in the emulator's own job folder; test_self_hosted_report_writes_index_html
    # checks the self-hosted page).
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["predictions.csv"]
