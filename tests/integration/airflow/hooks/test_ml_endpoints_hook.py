"""The hooks build clients from real Airflow connections (AIRFLOW_CONN_* JSON env vars)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from azure.identity import (
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.identity import aio as identity_aio

from airflow_provider_mlendpoints.client import AsyncStaticTokenCredential, StaticTokenCredential
from airflow_provider_mlendpoints.hooks.ml_endpoints import AsyncMLEndpointsHook, MLEndpointsHook

WS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
WORKSPACE = {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws"}
SP_SECRET = "sp-client-secret-value-42"
STATIC_TOKEN = "static-bearer-token-value-77"


def set_conn(monkeypatch, conn_id: str, **fields) -> None:
    extra = {**WORKSPACE, **fields.pop("extra", {})}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "azure_ml_endpoints", "extra": extra, **fields}),
    )


@pytest.mark.parametrize(
    "fields,sync_cls,async_cls",
    [
        ({"extra": {"token": STATIC_TOKEN}}, StaticTokenCredential, AsyncStaticTokenCredential),
        (
            {"login": "client-id", "password": SP_SECRET, "extra": {"tenant_id": "tenant"}},
            ClientSecretCredential,
            identity_aio.ClientSecretCredential,
        ),
        (
            {"extra": {"auth_type": "managed_identity", "managed_identity_client_id": "mi-client"}},
            ManagedIdentityCredential,
            identity_aio.ManagedIdentityCredential,
        ),
        (
            {
                "extra": {
                    "auth_type": "workload_identity",
                    "tenant_id": "tenant",
                    "managed_identity_client_id": "wi-client",
                }
            },
            WorkloadIdentityCredential,
            identity_aio.WorkloadIdentityCredential,
        ),
        ({}, DefaultAzureCredential, identity_aio.DefaultAzureCredential),
    ],
    ids=["token", "service_principal", "managed_identity", "workload_identity", "default"],
)
def test_credential_kinds(monkeypatch, tmp_path, fields, sync_cls, async_cls):
    token_file = tmp_path / "federated-token"
    token_file.write_text("jwt")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    set_conn(monkeypatch, "ml_kind", **fields)
    hook = MLEndpointsHook("ml_kind")
    assert isinstance(hook.get_credential(), sync_cls)
    client = hook.get_conn()
    assert client.config.workspace_id == WS
    assert client.config.management_url == "https://management.azure.com"
    hook.close()

    async def build():
        ahook = AsyncMLEndpointsHook("ml_kind")
        aclient = await ahook.get_async_conn()
        cred = aclient.credential
        await ahook.aclose()
        return cred

    assert isinstance(asyncio.run(build()), async_cls)


def test_missing_workspace_fields(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ML_BAD", json.dumps({"conn_type": "azure_ml_endpoints", "extra": {"token": "t" * 10}})
    )
    with pytest.raises(ValueError, match="subscription_id"):
        MLEndpointsHook("ml_bad").get_config()


def test_config_overrides(monkeypatch):
    set_conn(
        monkeypatch,
        "ml_over",
        host="http://127.0.0.1:9999/",
        extra={
            "token": STATIC_TOKEN,
            "api_version": "2023-10-01",
            "data_plane_url": "http://127.0.0.1:9998",
            "storage_urls": json.dumps({"devstoreaccount1": "http://127.0.0.1:10000/devstoreaccount1"}),
        },
    )
    cfg = MLEndpointsHook("ml_over").get_config()
    assert cfg.management_url == "http://127.0.0.1:9999" and cfg.api_version == "2023-10-01"
    assert cfg.rebase_data_plane("https://x.inference.ml.azure.com/jobs") == "http://127.0.0.1:9998/jobs"
    assert cfg.storage_urls["devstoreaccount1"].startswith("http://127.0.0.1:10000")


def test_test_connection_ok_and_failure(monkeypatch, fake):
    set_conn(monkeypatch, "ml_fake", host=fake.url, extra={"token": STATIC_TOKEN})
    fake.route("GET", f"{WS}/batchEndpoints", (200, {}, {"value": [{"name": "e1"}]}))
    ok, message = MLEndpointsHook("ml_fake").test_connection()
    assert ok and "ws" in message
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {STATIC_TOKEN}"
    fake.route(
        "GET",
        f"{WS}/batchEndpoints",
        (401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "The token is invalid"}}),
    )
    ok, message = MLEndpointsHook("ml_fake").test_connection()
    assert not ok and "InvalidAuthenticationToken" in message
    assert STATIC_TOKEN not in message


def test_secrets_masked_in_logs_and_absent_from_reprs(monkeypatch, fake, caplog):
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    set_conn(
        monkeypatch,
        "ml_secret",
        host=fake.url,
        login="client-id",
        password=SP_SECRET,
        extra={"auth_type": "token", "token": STATIC_TOKEN, "tenant_id": "t"},
    )
    fake.route(
        "POST",
        f"{WS}/onlineEndpoints/on1/listKeys",
        (200, {}, {"primaryKey": "primary-key-secret-1", "secondaryKey": "secondary-key-secret-2"}),
    )
    fake.route(
        "POST",
        f"{WS}/datastores/ds/listSecrets",
        (200, {}, {"secretsType": "AccountKey", "key": "account-key-secret-3"}),
    )
    hook = MLEndpointsHook("ml_secret")
    client = hook.get_conn()
    keys = client.online_endpoints.list_keys("on1")
    secrets = client.datastores.list_secrets("ds")
    masker = _secrets_masker()
    log = logging.getLogger("airflow.task.test_mlendpoints")
    for secret in (
        SP_SECRET,
        STATIC_TOKEN,
        "primary-key-secret-1",
        "secondary-key-secret-2",
        "account-key-secret-3",
    ):
        assert masker.redact(f"value {secret} here") == "value *** here"
        assert secret not in repr(keys) + repr(secrets) + repr(client) + repr(hook.get_credential())
    with caplog.at_level(logging.DEBUG):
        client.batch_endpoints.list()
        log.info("keys=%s secrets=%s", keys, secrets)
    assert all(
        s not in caplog.text
        for s in (STATIC_TOKEN, SP_SECRET, "primary-key-secret-1", "account-key-secret-3")
    )
    assert keys.primary_key == "primary-key-secret-1"


def test_ui_behaviour():
    behaviour = MLEndpointsHook.get_ui_field_behaviour()
    assert "extra" in behaviour["hidden_fields"]
    assert behaviour["relabeling"]["host"] == "Management URL (emulator: its base URL)"
    assert behaviour["placeholders"]["subscription_id"] == "00000000-0000-0000-0000-000000000000"
    assert MLEndpointsHook.conn_type == "azure_ml_endpoints"


def test_storage_connection_string_masked_and_not_in_config_repr(monkeypatch):
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    conn_str = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==;"
    )
    set_conn(
        monkeypatch,
        "ml_storage",
        extra={"token": STATIC_TOKEN, "storage_urls": json.dumps({"devstoreaccount1": conn_str})},
    )
    hook = MLEndpointsHook("ml_storage")
    config = hook.get_config()
    assert config.storage_urls["devstoreaccount1"] == conn_str
    assert "c2VjcmV0" not in repr(config) and "c2VjcmV0" not in repr(hook.get_conn())
    assert "c2VjcmV0" not in _secrets_masker().redact(f"url={conn_str}")
