"""Storage backends of the engine and ``open_storage`` to pick one from a URI.

Local paths and ``file://`` URLs open :class:`LocalStorage`; Azure Blob
locations (``abfs://``, ``abfss://``, ``wasb://``, ``wasbs://``, ``az://``,
``https://<account>.blob.core.windows.net/...``) open ``blob.BlobStorage``,
imported only when needed.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

from .base import FileInfo, Storage, StorageError
from .local import LocalStorage

BLOB_SCHEMES = ("abfs", "abfss", "wasb", "wasbs", "az")

__all__ = ["FileInfo", "LocalStorage", "Storage", "StorageError", "absolute_uri", "is_remote", "open_input", "open_storage"]


def is_remote(uri: str) -> bool:
    """Whether ``uri`` names Azure Blob storage rather than a local path."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in BLOB_SCHEMES:
        return True
    return scheme in ("http", "https") and bool(parts.netloc)


def open_storage(uri: str, storage_options: dict[str, Any] | None = None) -> Storage:
    """The :class:`Storage` rooted at ``uri`` (a local path, ``file://`` URL or blob location)."""
    if not uri:
        raise StorageError("empty storage location")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return LocalStorage(unquote(parts.path))
    if is_remote(uri):
        from .blob import BlobStorage

        return BlobStorage.from_uri(uri, storage_options or {})
    if len(scheme) > 1 and "://" in uri:
        raise StorageError(
            f"unsupported storage location {uri.split('?')[0]!r}: expected a local path, file://, "
            "abfs(s)://, wasb(s)://, az:// or https://<account>.blob.core.windows.net/..."
        )
    return LocalStorage(uri)


def absolute_uri(uri: str) -> str:
    """``uri`` with a relative local path made absolute (child processes run in another directory)."""
    if is_remote(uri) or "://" in uri:
        return uri
    return os.path.abspath(os.path.expanduser(uri))


def parent_uri(uri: str) -> tuple[str, str]:
    """Split ``uri`` into (parent location, last name), keeping any query string on the parent."""
    if not is_remote(uri) and not uri.startswith("file://"):
        path = os.path.abspath(os.path.expanduser(uri))
        return os.path.dirname(path), os.path.basename(path)
    base, sep, query = uri.partition("?")
    base = base.rstrip("/")
    head, _, name = base.rpartition("/")
    return head + (sep + query if sep else ""), unquote(name)


def open_input(uri: str, storage_options: dict[str, Any] | None = None) -> tuple[Storage, str, str | None]:
    """Open an input location that may be a folder or a single file.

    Returns (storage, root uri of that storage, the single file's key or None).
    A single file input is opened as its parent folder plus the file's name.
    """
    storage = open_storage(uri, storage_options)
    if storage.is_file_root():
        parent, name = parent_uri(uri)
        return open_storage(parent, storage_options), parent, name
    return storage, uri, None


def anonymous_storage_options(output_uri: str) -> dict[str, Any]:
    """Storage options reading a public blob input without credentials.

    The same options reach the output: it must be local or a blob URL carrying its own SAS.
    """
    if is_remote(output_uri) and "sig=" not in output_uri.split("?", 1)[-1]:
        raise StorageError(
            f"--anonymous / anonymous=True reads blobs without credentials, so the output "
            f"{output_uri.split('?')[0]!r} must be a local folder or a blob URL with a SAS"
        )
    return {"anon": True}
