"""Download a registered asset version's files (model, code, data) from its datastore.

An asset version names where its files are (``modelUri``, ``codeUri``, ``dataUri``): an
``azureml://...datastores/<ds>/paths/<p>`` URI, an https blob URL of a datastore's container,
or (the emulator) a local path or ``file://`` URL. Sync client only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from .datastore_blob import container_client, datastore_location
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._facade import MLEndpointsClient

URI_PROPERTIES = {"models": "modelUri", "codes": "codeUri", "data": "dataUri"}


def asset_version(client: MLEndpointsClient, kind: str, name: str, version: str | None) -> Any:
    """The :class:`AssetVersion` ``name:version`` of ``kind`` (``models``, ``codes``, ``data``); latest when None."""
    ops = {"models": client.model_versions, "codes": client.code_versions, "data": client.data_versions}[kind]
    return ops.get(name, version) if version else ops.get_latest(name)


def download_location(client: MLEndpointsClient, uri: str, target: str | os.PathLike[str]) -> list[Path]:
    """Download the file or folder at ``uri`` into ``target`` (a folder); returns the files written.

    A folder's files keep their paths below it; one file lands as ``target/<its name>``.
    """
    dest = Path(target)
    dest.mkdir(parents=True, exist_ok=True)
    if uri.startswith("file://") or "://" not in uri:
        return _copy_local(unquote(urlparse(uri).path) if uri.startswith("file://") else uri, dest)
    store, path = datastore_location(client, uri, "asset location")
    return download_prefix(client, store, path, dest)


def download_prefix(client: MLEndpointsClient, store: Any, path: str, target: Path) -> list[Path]:
    """Download one blob (``path``) or every blob below the folder ``path`` of a datastore into ``target``."""
    written: list[Path] = []
    path = path.strip("/")
    with container_client(client, store) as container:
        blob = container.get_blob_client(path) if path else None
        if blob is not None and blob.exists():
            dest = target / Path(path).name
            with open(dest, "wb") as fh:
                container.download_blob(path).readinto(fh)
            return [dest]
        prefix = f"{path}/" if path else ""
        for item in container.list_blobs(name_starts_with=prefix):
            rel = item.name[len(prefix) :]
            if not rel or rel.endswith("/") or (item.metadata or {}).get("hdi_isfolder") == "true":
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                container.download_blob(item.name).readinto(fh)
            written.append(dest)
    if not written:
        raise NotFoundError(f"nothing found at {store.name}:{path or '/'}", status=404)
    return written


def _copy_local(source: str, target: Path) -> list[Path]:
    if os.path.isfile(source):
        dest = target / os.path.basename(source)
        shutil.copy2(source, dest)
        return [dest]
    if not os.path.isdir(source):
        raise NotFoundError(f"nothing found at {source}", status=404)
    shutil.copytree(source, target, dirs_exist_ok=True)
    return [p for p in target.rglob("*") if p.is_file()]
