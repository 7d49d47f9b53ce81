"""What task logs show on the stack: the per-request lines of a ``verbose_http`` connection, and a
score task's progress lines in Airflow's own UI (a real browser)."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.parse

import pytest

from .browser import chromium_path, headless_chromium
from .conftest import EXAMPLE_DAG_ID

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PROGRESS = re.compile(
    r"(\d+)/(\d+) mini-batches \(\d+%(?:, \d+ by other tasks)?\), (\d+)/(\d+) items \(\d+ succeeded, \d+ failed\), "
    r"[\d.]+ items/s, elapsed \d+:\d\d:\d\d, time left ~\d+:\d\d:\d\d"
)
REQUEST_LINE = re.compile(r"\b(GET|PUT|POST) (https?://\S+) -> (\d{3}) \(\d+ ms\)")


def test_verbose_http_connection_logs_one_line_per_request(local_stack):
    airflow = local_stack.airflow
    conn = json.loads(json.dumps(local_stack.stack.connections()["azure_ml_endpoints_default"]))
    conn["extra"]["verbose_http"] = True
    body = {
        "connection_id": "ml_verbose_http",
        "conn_type": conn["conn_type"],
        "host": conn["host"],
        "extra": json.dumps(conn["extra"]),
    }
    with contextlib.suppress(urllib.error.HTTPError):  # absent on a fresh stack
        airflow.api("DELETE", "/connections/ml_verbose_http")
    airflow.api("POST", "/connections", body)
    local_stack.wait_for_dag("stack_verbose_http")
    run_id = airflow.trigger("stack_verbose_http")
    run = local_stack.wait_for_run("stack_verbose_http", run_id, timeout=240)
    assert run["state"] == "success", local_stack.describe("stack_verbose_http", run_id)

    (ti,) = local_stack.task_instances("stack_verbose_http", run_id)
    log = local_stack.task_log("stack_verbose_http", run_id, ti)
    requests = REQUEST_LINE.findall(log)
    methods = {method for method, _, _ in requests}
    # the endpoint's PUT and the polls of its provisioning, each one line, in the task's own log
    assert "PUT" in methods and "GET" in methods, log[-3000:]
    assert all(url.startswith(local_stack.stack.emulator_url) for _, url, _ in requests), requests
    assert local_stack.stack.state["token"] not in log
    assert "Request headers" not in log and "Response headers" not in log  # azure-core stays quiet


@pytest.mark.slow
def test_score_log_in_a_real_browser_shows_progress(local_stack, make_inputs, tmp_path):
    chromium_path()
    inputs, output = tmp_path / "inputs", tmp_path / "output"
    make_inputs(inputs, 120)
    local_stack.wait_for_dag(EXAMPLE_DAG_ID)
    conf = {"input_path": str(inputs), "output_path": str(output), "mini_batch_size": 6}
    run_id = local_stack.airflow.trigger(EXAMPLE_DAG_ID, conf=conf)
    run = local_stack.wait_for_run(EXAMPLE_DAG_ID, run_id)
    assert run["state"] == "success", local_stack.describe(EXAMPLE_DAG_ID, run_id)
    score = min(
        (ti for ti in local_stack.task_instances(EXAMPLE_DAG_ID, run_id) if ti["task_id"].endswith(".score")),
        key=lambda ti: ti["map_index"],
    )

    # the log as the REST API gives it: every progress line carries real totals and time left
    log = local_stack.task_log(EXAMPLE_DAG_ID, run_id, score)
    label = f"shard {score['map_index']}: "  # its own range; "shard N helping shard M: " lines follow
    own = [PROGRESS.search(line) for line in log.splitlines() if label in line]
    lines = [match.groups() for match in own if match]
    assert lines, log[-3000:]
    last = lines[-1]
    assert int(last[0]) == int(last[1]) > 0 and int(last[2]) == int(last[3]) > 0, lines
    assert all(int(total) > 0 for _, _, _, total in PROGRESS.findall(log)), log[-3000:]

    base = local_stack.airflow.base_url
    quoted = urllib.parse.quote(run_id, safe="")
    url = f"{base}/dags/{EXAMPLE_DAG_ID}/runs/{quoted}/tasks/{score['task_id']}/mapped/{score['map_index']}"
    with headless_chromium(1920, 1000) as browser:  # wide enough for a whole progress line
        browser.goto(url)
        browser.wait_for("document.body && document.body.innerText.includes('mini-batches')", 90)
        time.sleep(1.0)
        text = browser.evaluate("document.body.innerText")
        shot = browser.screenshot(tmp_path / "score-log.png")
    assert PROGRESS.search(text), text[-3000:]
    assert shot.stat().st_size > 10_000
