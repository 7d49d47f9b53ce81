"""Parsing blob locations: every accepted scheme, no network."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.engine.storage.base import StorageError
from airflow_provider_mlendpoints.engine.storage.blob import BlobLocation, BlobStorage, parse_blob_uri

SAS = "sv=2023-11-03&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=SECRETSIGNATURE%3D"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "abfs://data@acct.dfs.core.windows.net/in/2024",
            BlobLocation("abfs://data@acct.dfs.core.windows.net/in/2024", "data", "in/2024", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "abfss://data@acct.dfs.core.windows.net/",
            BlobLocation("abfss://data@acct.dfs.core.windows.net/", "data", "", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "wasb://data@acct.blob.core.windows.net/x/y.csv",
            BlobLocation("wasb://data@acct.blob.core.windows.net/x/y.csv", "data", "x/y.csv", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "wasbs://data@acct.blob.core.windows.net/x",
            BlobLocation("wasbs://data@acct.blob.core.windows.net/x", "data", "x", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "abfss://data@acct.dfs.core.chinacloudapi.cn/x",
            BlobLocation("abfss://data@acct.dfs.core.chinacloudapi.cn/x", "data", "x", "acct", "https://acct.blob.core.chinacloudapi.cn"),
        ),
        ("az://data/some/path", BlobLocation("az://data/some/path", "data", "some/path")),
        ("abfs://data/some/path", BlobLocation("abfs://data/some/path", "data", "some/path")),
        (
            "https://acct.blob.core.windows.net/data/in/file%20one.csv",
            BlobLocation("https://acct.blob.core.windows.net/data/in/file%20one.csv", "data", "in/file one.csv", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "https://acct.dfs.core.windows.net/data/in",
            BlobLocation("https://acct.dfs.core.windows.net/data/in", "data", "in", "acct", "https://acct.blob.core.windows.net"),
        ),
        (
            "http://127.0.0.1:10000/devstoreaccount1/data/in/x.csv",
            BlobLocation("http://127.0.0.1:10000/devstoreaccount1/data/in/x.csv", "data", "in/x.csv", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1"),
        ),
        (
            "http://localhost:10000/devstoreaccount1/data",
            BlobLocation("http://localhost:10000/devstoreaccount1/data", "data", "", "devstoreaccount1", "http://localhost:10000/devstoreaccount1"),
        ),
        (
            "http://azurite:10000/devstoreaccount1/data/p",  # a docker-compose service name
            BlobLocation("http://azurite:10000/devstoreaccount1/data/p", "data", "p", "devstoreaccount1", "http://azurite:10000/devstoreaccount1"),
        ),
    ],
)  # fmt: skip
def test_parse(uri, expected):
    assert parse_blob_uri(uri) == expected


def test_sas_query_is_kept_apart_from_the_uri():
    loc = parse_blob_uri(f"https://acct.blob.core.windows.net/data/in?{SAS}")
    assert loc.sas_token == SAS
    assert loc.uri == "https://acct.blob.core.windows.net/data/in"
    assert "SECRET" not in repr(loc)


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket/x", "/local/path", "abfs://@acct.dfs.core.windows.net/x", "https://acct.blob.core.windows.net/", "http://127.0.0.1:10000/"],
)
def test_rejects_non_blob_locations(uri):
    with pytest.raises(StorageError):
        parse_blob_uri(uri)


def test_az_without_account_needs_options():
    with pytest.raises(StorageError, match="no storage account"):
        BlobStorage.from_uri("az://data/x", {})


def test_az_with_account_name_option_uses_default_credential():
    from azure.identity import DefaultAzureCredential

    storage = BlobStorage.from_uri("az://data/x", {"account_name": "acct"})
    assert storage._container.url.startswith("https://acct.blob.core.windows.net/data")
    assert isinstance(storage._container.credential._credential, DefaultAzureCredential)


def test_account_only_falls_back_to_default_credential():
    from azure.identity import DefaultAzureCredential

    storage = BlobStorage.from_uri("abfss://data@acct.dfs.core.windows.net/in", None)
    assert isinstance(storage._container.credential._credential, DefaultAzureCredential)
    assert storage._container.url.startswith("https://acct.blob.core.windows.net/")


def test_token_credential_is_handed_to_the_sdk():
    from azure.core.credentials import AccessToken

    class Fixed:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("t", 2**31)

    cred = Fixed()
    storage = BlobStorage.from_uri(
        "wasbs://data@acct.blob.core.windows.net/x", {"account_url": "https://acct.blob.core.windows.net", "credential": cred}
    )
    assert storage._container.credential._credential is cred


def test_uri_and_repr_drop_the_sas():
    storage = BlobStorage.from_uri(f"https://acct.blob.core.windows.net/data/in?{SAS}", {})
    assert storage.uri == "https://acct.blob.core.windows.net/data/in"
    assert "SECRET" not in repr(storage)
    assert "SECRET" not in storage.child("x").uri


def test_invalid_connection_string_is_not_echoed():
    with pytest.raises(StorageError) as info:
        BlobStorage.from_uri("az://data/x", {"connection_string": "AccountKey=TOPSECRET;garbage"})
    assert "TOPSECRET" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_credential_that_cannot_give_a_token_fails_once_and_fast():
    from azure.identity import CredentialUnavailableError

    class Unavailable:
        calls = 0

        def get_token(self, *scopes, **kwargs):
            Unavailable.calls += 1
            raise CredentialUnavailableError("no identity here")

    storage = BlobStorage.from_uri("abfss://data@acct.dfs.core.windows.net/in", {"credential": Unavailable()})
    with pytest.raises(StorageError, match="no usable Azure credential") as info:
        storage.read_bytes("x.csv")  # the token is asked for before any request is sent
    assert "data/in/x.csv" in str(info.value)
    assert Unavailable.calls == 1  # not retried by the storage pipeline
