"""Fixtures for the storage tests: one empty storage root per backend."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_mlendpoints.engine.storage.base import Storage

BACKENDS = ["local", pytest.param("blob", marks=pytest.mark.azurite)]

#: A small block size so streamed blob writes really stage several blocks.
BLOCK_SIZE = 1024 * 1024


def abfs_uri(azurite, container: str, path: str = "") -> str:
    """An abfs:// location in Azurite's account (reached through the connection string)."""
    uri = f"abfs://{container}@{azurite.account_name}.dfs.core.windows.net"
    return f"{uri}/{path}" if path else uri


@pytest.fixture(params=BACKENDS)
def storage(request, tmp_path) -> Storage:
    """An empty storage root: a local folder, or a prefix in a fresh Azurite container."""
    if request.param == "local":
        from airflow_provider_mlendpoints.engine.storage.local import LocalStorage

        root = tmp_path / "root"
        root.mkdir()
        return LocalStorage(str(root))
    from airflow_provider_mlendpoints.engine.storage.blob import BlobStorage

    azurite = request.getfixturevalue("azurite")
    container = request.getfixturevalue("blob_container")
    options = {"connection_string": azurite.connection_string, "block_size": BLOCK_SIZE}
    return BlobStorage.from_uri(abfs_uri(azurite, container, f"root-{uuid.uuid4().hex[:6]}"), options)
