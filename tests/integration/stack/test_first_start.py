"""A fresh ``scripts/stack up`` as a new user meets it: the examples' data is prepared, DAGs wait
paused, the connection form is the provider's own (REST and a real browser), and
``airflow connections test`` reaches the emulator."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.fixtures.paths import REPO_ROOT

from .browser import chromium_path, headless_chromium

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CONN_TYPE = "azure_ml_endpoints"
LABELS = (
    "Management URL (emulator: its base URL)",
    "Client ID (service principal)",
    "Client Secret (service principal)",
    "Subscription ID",
    "Resource Group",
    "Workspace Name",
    "Authentication",
    "Tenant ID",
    "Static Bearer Token",
)


def test_up_prepared_the_sample_model_and_todays_inputs(local_stack):
    today = time.strftime("%Y-%m-%d", time.gmtime())
    inputs = local_stack.demo_dir / "inputs" / today
    assert len(list(inputs.glob("digit_*.txt"))) == 300
    assert (local_stack.demo_dir / "labels" / f"{today}.csv").is_file()
    model = REPO_ROOT / "dags" / "sample_deployment" / "model" / "model.pkl"
    assert model.is_file()


def test_example_dags_start_paused(local_stack):
    local_stack.wait_for_dag("example_scheduled_scoring")
    dag = local_stack.airflow.api("GET", "/dags/example_scheduled_scoring")
    assert dag["is_paused"] is True
    runs = local_stack.airflow.api("GET", "/dags/example_scheduled_scoring/dagRuns")
    assert runs["total_entries"] == 0


def test_hook_meta_returns_the_labelled_form(local_stack):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{local_stack.airflow.base_url}/ui/connections/hook_meta", timeout=30) as response:
        meta = {item["connection_type"]: item for item in json.loads(response.read())}
    ours = meta[CONN_TYPE]
    assert ours["hook_name"] == "Azure ML Endpoints"
    standard = ours["standard_fields"]
    assert standard["host"]["title"] == LABELS[0]
    assert standard["login"]["title"] == LABELS[1] and standard["password"]["title"] == LABELS[2]
    assert standard["port"]["hidden"] is True
    extra = ours["extra_fields"]
    assert extra["subscription_id"]["schema"]["title"] == "Subscription ID"
    assert extra["token"]["schema"]["format"] == "password"
    assert "service_principal" in extra["auth_type"]["schema"]["enum"]


def test_airflow_connections_test_reaches_the_emulator(local_stack):
    from airflow_stack import airflow_bin

    env = {**local_stack.airflow.env(), "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    done = subprocess.run(
        [airflow_bin(), "connections", "test", "azure_ml_endpoints_default"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Connection success!" in output
    assert local_stack.stack.state["token"] not in output


def _open_add_connection_form(browser, base_url: str) -> None:
    browser.goto(f"{base_url}/connections")
    browser.wait_for("document.body && document.body.innerText.includes('Add Connection')", 90)
    browser.click("[...document.querySelectorAll('button')].find(b => b.innerText.includes('Add Connection'))")
    browser.wait_for("!!document.querySelector('input[role=combobox]')", 30)
    browser.evaluate("document.querySelector('input[role=combobox]').focus()")
    browser.type_text("Azure ML Endpoints")
    browser.wait_for("[...document.querySelectorAll('[role=option]')].some(o => o.innerText.includes('Azure ML'))", 30)
    browser.press("Enter", 13)
    browser.wait_for(f"document.body.innerText.includes({LABELS[0]!r})", 30)
    for _ in range(10):  # the Extra Fields section is collapsed; its handler attaches after render
        if browser.evaluate("document.body.innerText.includes('Subscription ID')"):
            return
        browser.click("[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Extra Fields')")
        time.sleep(1)


@pytest.mark.slow
def test_add_connection_form_in_a_real_browser(local_stack, tmp_path):
    chromium_path()
    with headless_chromium(1280, 1800) as browser:
        _open_add_connection_form(browser, local_stack.airflow.base_url)
        browser.wait_for("document.body.innerText.includes('Subscription ID')", 30)
        time.sleep(0.5)
        labels = browser.evaluate("[...document.querySelectorAll('label')].map(l => l.innerText.trim())")
        shot = browser.screenshot(tmp_path / "add-connection.png")
        passwords = browser.evaluate("document.querySelectorAll('input[type=password]').length")
    text = " | ".join(labels)
    for label in LABELS:
        assert any(label in item for item in labels), f"no field labelled {label!r}: {text}"
    # the client secret and the static token are password inputs
    assert passwords >= 2
    assert shot.stat().st_size > 10_000


def test_example_dag_triggered_without_a_logical_date_scores_todays_inputs(local_stack):
    # The REST API (and the CLI without -l) trigger runs without a logical date: no ds in the
    # context, so the example keys its folders by the run's own day.
    dag = "example_self_hosted_scoring"
    local_stack.wait_for_dag(dag)
    run_id = local_stack.airflow.trigger(dag)
    run = local_stack.wait_for_run(dag, run_id)
    assert run["state"] == "success"
    day = run["run_after"][:10]
    assert (local_stack.demo_dir / "outputs" / day / "predictions.csv").exists()
