"""storage_options from real Airflow ``wasb`` connections (AIRFLOW_CONN_* JSON) against Azurite."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from airflow_provider_mlendpoints.engine.storage.base import FileInfo, StorageError
from airflow_provider_mlendpoints.engine.storage.blob import BlobStorage
from airflow_provider_mlendpoints.hooks.storage_options import storage_options_from_connection

pytestmark = [pytest.mark.azurite, pytest.mark.airflow]


def _define(monkeypatch, conn_id: str, **fields) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "wasb", **fields}))
    return conn_id


def _round_trip(azurite, container: str, options: dict, scheme: str = "abfs") -> None:
    host = "dfs" if scheme.startswith("abfs") else "blob"
    uri = f"{scheme}://{container}@{azurite.account_name}.{host}.core.windows.net/via-airflow"
    storage = BlobStorage.from_uri(uri, options)
    storage.write_bytes("in/file.csv", b"a,b\n1,2\n")
    assert list(storage.list_files()) == [FileInfo("in/file.csv", 8)]
    with storage.open_read("in/file.csv") as f:
        assert f.read() == b"a,b\n1,2\n"
    storage.delete_prefix("in")
    assert list(storage.list_files()) == []


def _redacted(secret: str) -> bool:
    from airflow.sdk._shared.secrets_masker import redact

    return secret not in str(redact(f"the secret is {secret}"))


def test_account_key_as_password(azurite, blob_container, monkeypatch):
    conn_id = _define(
        monkeypatch, "azurite_key", login=azurite.account_name, password=azurite.account_key, host=azurite.account_url
    )
    options = storage_options_from_connection(conn_id)
    assert options["account_url"] == azurite.account_url
    assert options["account_key"] == azurite.account_key
    _round_trip(azurite, blob_container, options)
    _round_trip(azurite, blob_container, options, scheme="wasbs")
    assert _redacted(azurite.account_key)


def test_connection_string_extra(azurite, blob_container, monkeypatch):
    conn_id = _define(monkeypatch, "azurite_cs", extra={"connection_string": azurite.connection_string})
    options = storage_options_from_connection(conn_id)
    _round_trip(azurite, blob_container, options)
    assert _redacted(azurite.account_key)


def test_shared_access_key_extra(azurite, blob_container, monkeypatch):
    conn_id = _define(
        monkeypatch,
        "azurite_sak",
        login=azurite.account_name,
        host=azurite.account_url,
        extra={"shared_access_key": azurite.account_key},
    )
    _round_trip(azurite, blob_container, storage_options_from_connection(conn_id))


def test_sas_token_extra(azurite, blob_container, monkeypatch):
    sas = generate_container_sas(
        azurite.account_name,
        blob_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    conn_id = _define(
        monkeypatch, "azurite_sas", login=azurite.account_name, host=azurite.account_url, extra={"sas_token": sas}
    )
    options = storage_options_from_connection(conn_id)
    assert options["sas_token"] == sas
    _round_trip(azurite, blob_container, options)
    assert _redacted(sas)


def test_sas_url_client_options():
    # WasbHook turns an https:// sas_token extra into the client's URL (Azurite is http, so no round trip).
    from azure.storage.blob import BlobServiceClient

    from airflow_provider_mlendpoints.hooks.storage_options import options_from_blob_client

    sas = "sv=2023-11-03&ss=b&srt=co&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=SIGNATURE%3D"
    options = options_from_blob_client(BlobServiceClient(account_url=f"https://acct.blob.core.windows.net/?{sas}"))
    assert options == {"account_url": "https://acct.blob.core.windows.net", "sas_token": sas}
    storage = BlobStorage.from_uri("abfss://c@acct.dfs.core.windows.net/x", options)
    assert "SIGNATURE" in storage._container.url  # the SAS travels on the requests...
    assert "SIGNATURE" not in storage.uri + repr(storage)  # ...never in what is shown


def test_service_principal_gives_a_token_credential(monkeypatch):
    from azure.identity import ClientSecretCredential

    conn_id = _define(
        monkeypatch,
        "sp",
        login="client-id",
        password="client-secret-value",
        host="https://acct.blob.core.windows.net",
        extra={"tenant_id": "tenant"},
    )
    options = storage_options_from_connection(conn_id)
    assert options["account_url"] == "https://acct.blob.core.windows.net"
    assert isinstance(options["credential"], ClientSecretCredential)
    storage = BlobStorage.from_uri("abfss://c@acct.dfs.core.windows.net/x", options)
    assert storage._container.credential._credential is options["credential"]


def test_no_secret_falls_back_to_default_credential(monkeypatch):
    conn_id = _define(monkeypatch, "mi", login="acct")
    options = storage_options_from_connection(conn_id)
    assert options["account_url"] == "https://acct.blob.core.windows.net"
    assert hasattr(options["credential"], "get_token")


def test_no_connection():
    assert storage_options_from_connection(None) == {}
    assert storage_options_from_connection("") == {}


def test_wrong_key_in_the_connection(azurite, blob_container, monkeypatch):
    wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk9PQ=="
    conn_id = _define(monkeypatch, "azurite_wrong", login=azurite.account_name, password=wrong, host=azurite.account_url)
    options = storage_options_from_connection(conn_id)
    storage = BlobStorage.from_uri(f"az://{blob_container}/x", options)
    with pytest.raises(StorageError, match="authentication") as info:
        storage.write_bytes("y", b"1")
    assert wrong not in str(info.value)
