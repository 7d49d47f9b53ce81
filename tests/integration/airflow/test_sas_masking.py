"""A SAS signature never lands anywhere the provider writes (issue 9 point 1).

A self-hosted TaskGroup reads and writes Azurite through SAS URLs (a real
container SAS made with azure-storage-blob) that come from Airflow Variables
(environment variables, so the Variables themselves are not in the DB). After
a real ``dag.test()`` the whole Airflow home (task logs, the SQLite metadata
DB with XCom, rendered fields and the task state store), the captured task
output, the OpenLineage datasets and every report file in the output are
searched for the signature, as written and URL-decoded.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest

from airflow_provider_mlendpoints.engine.redact import location, redact, secret_parts
from tests.fixtures.airflow_db import load_dag, run_dag, task_states, xcom_value
from tests.fixtures.samples import DEPLOYMENT

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.azurite]

LOGICAL_DATE = datetime(2026, 1, 15, tzinfo=timezone.utc)

SAS_URL = (
    "https://acct.blob.core.windows.net/c/in?sv=2023-11-03&se=2026-01-01T00%3A00%3A00Z&sr=c&sp=rl"
    "&sig=AbCd%2BEf%2FGh%3D"
)


def test_redact_hides_credentials_and_keeps_the_place() -> None:
    assert redact(f"Planning {SAS_URL} -> /out") == (
        "Planning https://acct.blob.core.windows.net/c/in?sv=2023-11-03&se=2026-01-01T00%3A00%3A00Z&sr=c&sp=rl"
        "&sig=*** -> /out"
    )
    assert location(SAS_URL) == "https://acct.blob.core.windows.net/c/in"
    assert redact("AccountName=a;AccountKey=c2VjcmV0==;EndpointSuffix=x") == "AccountName=a;AccountKey=***;EndpointSuffix=x"
    assert redact("https://user:pw@host/p?token=t0k3n&a=1") == "https://***@host/p?token=***&a=1"
    assert redact("query was sv=1&sig=abcdef") == "query was sv=1&sig=***"
    parts = secret_parts(SAS_URL)
    assert "AbCd%2BEf%2FGh%3D" in parts and "AbCd+Ef/Gh=" in parts
    assert secret_parts("/data/in") == [] and secret_parts("https://acct/c/in") == []


def _signature_forms(sas: str) -> set[str]:
    sig = parse_qs(sas)["sig"][0]
    return {sig, quote(sig, safe=""), quote(sig)}


def _files_holding(root: Path, needles: set[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(needle.encode() in data for needle in needles):
                found.append(str(path))
    return found


def test_sas_urls_leave_no_signature_behind(
    airflow_db, test_dags, make_inputs, tmp_path, azurite, blob_container, monkeypatch, capfd
):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    names = make_inputs(tmp_path / "in", 9)
    container = azurite.service_client().get_container_client(blob_container)
    for name in names:
        container.upload_blob(f"in/{name}", (tmp_path / "in" / name).read_bytes())
    sas = generate_container_sas(
        azurite.account_name,
        blob_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=2),
    )
    signatures = _signature_forms(sas)
    base = f"{azurite.blob_endpoint}/{blob_container}"
    monkeypatch.setenv("AIRFLOW_VAR_MLE_SAS_INPUT", f"{base}/in?{sas}")
    monkeypatch.setenv("AIRFLOW_VAR_MLE_SAS_OUTPUT", f"{base}/out/{{{{ ds }}}}?{sas}")
    path = test_dags.write(
        "mlendpoints_sas",
        f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

with DAG(dag_id="mlendpoints_sas", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    self_hosted_batch_scoring(
        "scoring",
        deployment={str(DEPLOYMENT)!r},
        input_path="{{{{ var.value.mle_sas_input }}}}",
        output_path="{{{{ var.value.mle_sas_output | replace('{{{{ ds }}}}', ds) }}}}",
        overrides={{"mini_batch_size": 2, "resources.instance_count": 2}},
        existing_output="error",
        max_shards=2,
    )
""",
    )
    dag = load_dag(path, "mlendpoints_sas")

    run = run_dag(dag, LOGICAL_DATE)

    states = task_states(run)
    assert run.state == "success", states
    predictions = container.download_blob("out/2026-01-15/predictions.csv").readall().decode()
    assert [line.split()[0] for line in predictions.splitlines()] == names  # the SAS did work

    # Task output as printed while the DAG ran (planning logs its locations).
    captured = capfd.readouterr()
    printed = captured.out + captured.err
    assert "Planning http" in printed and "the manifest is in" in printed
    assert not [s for s in signatures if s in printed]

    # The whole Airflow home: task logs, the metadata DB (XCom, rendered fields, task state store).
    home = Path(os.environ["AIRFLOW_HOME"])
    assert (home / "airflow.db").is_file()
    assert _files_holding(home, signatures) == []
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(dag_id="mlendpoints_sas").all()
        rendered = json.dumps([row.rendered_fields for row in rows])
    assert f"{base}/in?***" in rendered  # the UI shows the place, not the SAS token
    summary = xcom_value(run, "scoring.collect")
    assert summary["status"] == "Completed"
    assert not [s for s in signatures if s in json.dumps(summary)]

    # Every file the job wrote (reports, manifest, plan, merged output).
    written = tmp_path / "written"
    for blob in container.list_blobs(name_starts_with="out/"):
        target = written / blob.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.download_blob(blob.name).readall())
    assert (written / "out/2026-01-15/_mlendpoints/report/summary.json").is_file()
    assert _files_holding(written, signatures) == []

    # OpenLineage datasets of the collect task, read as the OpenLineage listener reads them.
    pytest.importorskip("airflow.providers.openlineage")
    from airflow.providers.openlineage.extractors.base import DefaultExtractor

    from airflow_provider_mlendpoints.operators.self_hosted import CollectScoringOperator

    op = CollectScoringOperator(
        task_id="collect",
        deployment=str(DEPLOYMENT),
        input_path=f"{base}/in?{sas}",
        output_path=f"{base}/out/2026-01-15?{sas}",
    )
    lineage = DefaultExtractor(op).extract_on_complete(None)
    events = json.dumps([[d.namespace, d.name] for d in lineage.inputs + lineage.outputs])
    assert blob_container in events
    assert not [s for s in signatures if s in events]


@pytest.mark.parametrize("mode", ["self_hosted", "azure", "self_hosted_mapped", "azure_mapped"])
def test_rendering_registers_the_signature_with_airflows_masker(airflow_db, mode: str) -> None:
    """Plain and mapped task instances alike: a mapped one renders without the operator's
    ``render_template_fields``, before Airflow stores its rendered fields."""
    from types import SimpleNamespace

    from airflow.sdk import DAG
    from airflow.sdk._shared.secrets_masker import redact as airflow_redact

    from airflow_provider_mlendpoints.operators.batch_invoke import InvokeBatchEndpointOperator
    from airflow_provider_mlendpoints.operators.self_hosted import PlanScoringOperator, ScoreShardOperator

    url = SAS_URL.replace("AbCd", f"Zq{mode.replace('_', '')}")  # a signature this test alone registers
    with DAG(f"mlendpoints_mask_{mode}", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        if mode == "self_hosted":
            op = PlanScoringOperator(task_id="plan", deployment=str(DEPLOYMENT), input_path=url, output_path="/tmp/o")
        elif mode == "azure":
            op = InvokeBatchEndpointOperator(task_id="invoke", endpoint_name="ep1", input=url)
        elif mode == "self_hosted_mapped":
            op = ScoreShardOperator.partial(
                task_id="score", deployment=str(DEPLOYMENT), input_path=url, output_path="/tmp/o"
            ).expand(shard=[0, 1])
        else:
            op = InvokeBatchEndpointOperator.partial(task_id="invoke", endpoint_name="ep1").expand(input=[url])
    assert "sig=***" not in airflow_redact(f"Planning {url}")
    op.render_template_fields({"ti": SimpleNamespace(map_index=0), "dag": dag, "dag_run": SimpleNamespace(conf={})})
    shown = airflow_redact(f"Planning {url}")
    assert f"Zq{mode.replace('_', '')}" not in shown and "Planning https://acct.blob.core.windows.net/c/in?" in shown
