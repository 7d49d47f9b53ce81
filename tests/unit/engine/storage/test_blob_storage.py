"""BlobStorage against a real Azurite: every way to authenticate, errors, secrets."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from airflow_provider_mlendpoints.engine.storage.base import FileInfo, StorageError
from airflow_provider_mlendpoints.engine.storage.blob import BlobStorage

from .conftest import abfs_uri

pytestmark = pytest.mark.azurite

WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk9PQ=="


def _sas(azurite, container: str) -> str:
    return generate_container_sas(
        azurite.account_name,
        container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _round_trip(storage) -> None:
    storage.write_bytes("k/v.txt", b"value")
    assert list(storage.list_files()) == [FileInfo("k/v.txt", 5)]
    assert storage.read_bytes("k/v.txt") == b"value"
    storage.delete_prefix("")
    assert list(storage.list_files()) == []


def _assert_secret_free(storage, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in storage.uri
        assert secret not in repr(storage)


def test_connection_string_with_each_scheme(azurite, blob_container):
    options = {"connection_string": azurite.connection_string}
    for uri in (
        abfs_uri(azurite, blob_container, "p1"),
        f"abfss://{blob_container}@{azurite.account_name}.dfs.core.windows.net/p2",
        f"wasb://{blob_container}@{azurite.account_name}.blob.core.windows.net/p3",
        f"wasbs://{blob_container}@{azurite.account_name}.blob.core.windows.net/p4",
        f"az://{blob_container}/p5",
        f"{azurite.blob_endpoint}/{blob_container}/p6",
    ):
        storage = BlobStorage.from_uri(uri, options)
        _round_trip(storage)
        _assert_secret_free(storage, azurite.account_key)


def test_path_style_url_with_account_key(azurite, blob_container):
    storage = BlobStorage.from_uri(f"{azurite.blob_endpoint}/{blob_container}/in", {"account_key": azurite.account_key})
    _round_trip(storage)


def test_account_url_and_key_credential(azurite, blob_container):
    options = {"account_url": azurite.account_url, "credential": azurite.account_key}
    storage = BlobStorage.from_uri(abfs_uri(azurite, blob_container, "in"), options)
    _round_trip(storage)
    _assert_secret_free(storage, azurite.account_key)


def test_sas_in_the_uri(azurite, blob_container):
    sas = _sas(azurite, blob_container)
    storage = BlobStorage.from_uri(f"{azurite.blob_endpoint}/{blob_container}/in?{sas}", {})
    _round_trip(storage)
    assert storage.uri == f"{azurite.blob_endpoint}/{blob_container}/in"
    _assert_secret_free(storage, sas, sas.split("sig=")[1])


def test_sas_token_option_and_sas_credential(azurite, blob_container):
    sas = _sas(azurite, blob_container)
    for options in (
        {"account_url": azurite.account_url, "sas_token": "?" + sas},
        {"account_url": azurite.account_url, "credential": sas},
    ):
        storage = BlobStorage.from_uri(abfs_uri(azurite, blob_container, "in"), options)
        _round_trip(storage)


def test_missing_container(azurite):
    storage = BlobStorage.from_uri(abfs_uri(azurite, "no-such-container", "in"), {"connection_string": azurite.connection_string})
    for action in (
        lambda: list(storage.list_files()),
        lambda: storage.write_bytes("x", b"1"),
        lambda: storage.read_bytes("x"),
        storage.is_file_root,
        lambda: storage.delete("x"),
    ):
        with pytest.raises(StorageError, match="container 'no-such-container' does not exist") as info:
            action()
        assert "no-such-container/in" in str(info.value)
    with pytest.raises(StorageError, match="does not exist"), storage.open_write("x") as f:
        f.write(b"data")


def test_wrong_key_is_an_auth_error_without_the_key(azurite, blob_container):
    options = {"account_url": azurite.account_url, "credential": WRONG_KEY}
    storage = BlobStorage.from_uri(abfs_uri(azurite, blob_container, "in"), options)
    with pytest.raises(StorageError, match="authentication or authorization failed") as info:
        storage.write_bytes("x.txt", b"1")
    message = str(info.value)
    assert f"{blob_container}/in/x.txt" in message
    assert WRONG_KEY not in message and WRONG_KEY[:20] not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no SDK traceback
    _assert_secret_free(storage, WRONG_KEY)
    with pytest.raises(StorageError, match="authentication"):
        list(storage.list_files())


def test_expired_sas_error_hides_the_signature(azurite, blob_container):
    sas = generate_container_sas(
        azurite.account_name,
        blob_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(timezone.utc) - timedelta(hours=1),
    )
    storage = BlobStorage.from_uri(f"{azurite.blob_endpoint}/{blob_container}?{sas}", {})
    with pytest.raises(StorageError) as info:
        storage.read_bytes("x")
    assert sas.split("sig=")[1].split("&")[0] not in str(info.value)


def test_unreachable_endpoint_hides_the_sas(blob_container):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    sas = "sv=2023-11-03&sr=c&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=TOPSECRETSIG%3D"
    storage = BlobStorage.from_uri(f"http://127.0.0.1:{port}/devstoreaccount1/c/in?{sas}", {"retry_total": 0})
    with pytest.raises(StorageError, match="could not be reached") as info:
        storage.read_bytes("x")
    assert "TOPSECRETSIG" not in str(info.value)
    assert info.value.__cause__ is None


def test_adls_folder_markers_are_not_files(azurite, blob_container):
    with azurite.service_client() as client:
        container = client.get_container_client(blob_container)
        container.upload_blob("in", b"", metadata={"hdi_isfolder": "true"})
        container.upload_blob("in/sub", b"", metadata={"hdi_isfolder": "true"})
        container.upload_blob("in/sub/a.csv", b"abc")
    storage = BlobStorage.from_uri(abfs_uri(azurite, blob_container, "in"), {"connection_string": azurite.connection_string})
    assert not storage.is_file_root()
    assert list(storage.list_files()) == [FileInfo("sub/a.csv", 3)]
    storage.delete_prefix("sub")
    with azurite.service_client() as client:
        assert [b.name for b in client.get_container_client(blob_container).list_blobs()] == ["in"]


def test_container_root(azurite, blob_container):
    storage = BlobStorage.from_uri(abfs_uri(azurite, blob_container), {"connection_string": azurite.connection_string})
    assert not storage.is_file_root()
    storage.write_bytes("top.txt", b"t")
    assert storage.child("top.txt").is_file_root()
    assert [f.key for f in storage.list_files()] == ["top.txt"]
    with pytest.raises(StorageError, match="empty key"):
        storage.read_bytes("")
