"""Quiet HTTP logging: azure-core's header dumps stay out of logs (WARNING), the client's own
per-request line appears only with ``verbose_http`` and never carries a query string."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_mlendpoints.client.http_logging import (
    AZURE_HTTP_LOGGERS,
    quiet_azure_http_logging,
    redact_url,
)
from airflow_provider_mlendpoints.engine.storage import open_storage

AZURE_CORE_HTTP = "azure.core.pipeline.policies.http_logging_policy"


@pytest.fixture
def fresh_azure_loggers():
    """azure-core's loggers with no level set (as in a fresh process), restored afterwards."""
    saved = {name: logging.getLogger(name).level for name in AZURE_HTTP_LOGGERS}
    for name in AZURE_HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_quiet_sets_warning_but_keeps_a_level_someone_chose(fresh_azure_loggers):
    logging.getLogger(AZURE_HTTP_LOGGERS[1]).setLevel(logging.DEBUG)
    quiet_azure_http_logging()
    assert logging.getLogger(AZURE_CORE_HTTP).level == logging.WARNING
    assert logging.getLogger(AZURE_HTTP_LOGGERS[1]).level == logging.DEBUG


@pytest.mark.azurite
def test_blob_uploads_log_no_request_dumps(fresh_azure_loggers, azurite, blob_container, caplog):
    """Each blob written through the engine's storage used to log two multi-line INFO records."""
    caplog.set_level(logging.INFO)  # what Airflow's task log shows
    store = open_storage(f"{azurite.blob_endpoint}/{blob_container}", {"connection_string": azurite.connection_string})
    for i in range(3):
        store.write_bytes(f"in/f{i}.txt", b"x")
    assert [f.key for f in store.list_files("in/")] == ["in/f0.txt", "in/f1.txt", "in/f2.txt"]
    dumps = [r for r in caplog.records if r.name.startswith("azure.")]
    assert dumps == []
    assert logging.getLogger(AZURE_CORE_HTTP).level == logging.WARNING


def test_redact_url_drops_query_and_fragment():
    url = "https://acct.blob.core.windows.net/c/p.csv?sv=2024&sig=SECRET%3D&se=1#frag"
    assert redact_url(url) == "https://acct.blob.core.windows.net/c/p.csv?…"
    assert redact_url("http://127.0.0.1:8910/x") == "http://127.0.0.1:8910/x"
