"""The Azurite fixture starts a real service that the SDK can talk to."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.azurite


def test_azurite_round_trip(azurite, blob_container):
    with azurite.service_client() as client:
        blob = client.get_blob_client(blob_container, "a/b.txt")
        blob.upload_blob(b"hello")
        assert blob.download_blob().readall() == b"hello"
    assert azurite.account_name == "devstoreaccount1"
    assert azurite.account_url == azurite.blob_endpoint
    assert f"BlobEndpoint={azurite.blob_endpoint}" in azurite.connection_string
