"""Azure Blob Storage backend of the engine's :class:`~.base.Storage` interface.

Locations (parsed by :func:`parse_blob_uri`):

- ``abfs[s]://container@account.dfs.core.windows.net/path`` (dfs hosts map to
  the blob endpoint), ``wasb[s]://container@account.blob.core.windows.net/path``;
- ``az://container/path`` and ``abfs://container/path`` (the account comes from
  ``storage_options``);
- ``https://account.blob.core.windows.net/container/path[?<SAS>]``;
- path-style, for Azurite and other emulators:
  ``http://127.0.0.1:10000/devstoreaccount1/container/path``.

``storage_options`` (adlfs-compatible names where they exist):

- ``connection_string``: wins over everything else, including the URI's host;
- ``account_url`` (overrides the endpoint derived from the URI; may carry a SAS
  query) with ``credential`` (account key, SAS token, or an azure-identity
  TokenCredential);
- ``account_name`` + ``account_key``; ``sas_token``;
- ``tenant_id`` + ``client_id`` + ``client_secret`` (a service principal);
- ``anon: True`` for public containers;
- otherwise a SAS in the URI, else ``azure.identity.DefaultAzureCredential``;
- ``retry_total`` (default 3), ``connection_timeout`` (20 s), ``read_timeout``
  (120 s), ``block_size`` (streamed-write block size, default 8 MiB).

Secrets never reach ``uri``, ``repr()`` or error messages. Pure Python: no
airflow imports.
"""

from __future__ import annotations

import base64
import contextlib
import io
import ipaddress
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast
from urllib.parse import unquote, urlsplit

from ..redact import location
from .base import NESTED_FOLDER, FileInfo, SkipCallback, Storage, StorageError

if TYPE_CHECKING:
    from azure.storage.blob import (
        BlobClient,
        BlobProperties,
        BlobServiceClient,
        ContainerClient,
        StorageStreamDownloader,
    )

SCHEMES = ("abfs", "abfss", "wasb", "wasbs", "az", "https", "http")
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024
_SECRET_OPTIONS = ("connection_string", "credential", "account_key", "sas_token", "client_secret")


@dataclass(frozen=True)
class BlobLocation:
    """A parsed blob URI. ``sas_token`` is the URI's query string (a secret); ``uri`` is without it."""

    uri: str
    container: str
    path: str
    account_name: str | None = None
    account_url: str | None = None
    sas_token: str | None = field(default=None, repr=False)


def _is_path_style(host: str) -> bool:
    """Emulator hosts (IP addresses, localhost, single-label names) put the account in the path."""
    if host == "localhost" or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _blob_host(host: str) -> str:
    """Map an ADLS Gen2 (``dfs``) host name to the same account's blob endpoint."""
    labels = host.split(".")
    if "dfs" in labels[1:]:
        labels[labels.index("dfs", 1)] = "blob"
    return ".".join(labels)


def parse_blob_uri(uri: str) -> BlobLocation:
    """Parse a blob location into account, container and path; raise StorageError if it is not one."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StorageError(
            f"not an Azure Blob location (scheme {scheme or 'missing'!r}): {location(uri)}"
        )
    clean = location(uri)
    sas = parts.query or None
    path = parts.path.strip("/")
    account_name = account_url = None
    if scheme in ("http", "https"):
        path = unquote(path)
        host = parts.hostname or ""
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if _is_path_style(host):
            account_name, _, path = path.partition("/")
            if not account_name:
                raise StorageError(f"no account name in the path of emulator location {clean}")
            account_url = f"{scheme}://{netloc}/{account_name}"
        else:
            netloc = _blob_host(netloc)
            account_name = host.split(".", 1)[0]
            account_url = f"{scheme}://{netloc}"
        container, _, path = path.partition("/")
    else:
        container, at, host = parts.netloc.partition("@")
        if at and host:
            account_name = host.split(".", 1)[0]
            blob_host = _blob_host(host) if "." in host else f"{host}.blob.core.windows.net"
            account_url = f"https://{blob_host}"
    if not container:
        raise StorageError(f"no container in blob location {clean}")
    return BlobLocation(clean, container, path.strip("/"), account_name, account_url, sas)


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def _check_key(key: str) -> str:
    key = key.strip("/")
    if any(seg in ("..", ".") for seg in key.split("/")):
        raise StorageError(f"invalid key {key!r}: '.' and '..' segments are not allowed")
    return key


class BlobStorage(Storage):
    """A prefix in an Azure Blob container (or one blob, for a single-file input)."""

    def __init__(self, container_client: ContainerClient, root: str, uri: str, account_name: str | None = None):
        """Use :meth:`from_uri`; this takes an ``azure.storage.blob.ContainerClient``."""
        self._container = container_client
        self._root = root.strip("/")
        self._account = account_name or getattr(container_client, "account_name", None) or "?"
        self.uri = uri
        self._block_size = DEFAULT_BLOCK_SIZE

    @classmethod
    def from_uri(cls, uri: str, storage_options: dict[str, Any] | None = None) -> BlobStorage:
        """Open a blob location; see the module docstring for URIs and ``storage_options``."""
        options = dict(storage_options or {})
        loc = parse_blob_uri(uri)
        service = _service_client(loc, options)
        storage = cls(service.get_container_client(loc.container), loc.path, loc.uri, service.account_name)
        storage._block_size = int(options.get("block_size") or DEFAULT_BLOCK_SIZE)
        return storage

    def __repr__(self) -> str:
        return f"BlobStorage({self.uri!r})"

    # -- locations and errors -------------------------------------------------------

    @property
    def container_name(self) -> str:
        return self._container.container_name

    def _name(self, key: str) -> str:
        name = _join(self._root, _check_key(key))
        if not name:
            raise StorageError(f"an empty key names no blob in {self._where('')}")
        return name

    def _where(self, name: str | None = None) -> str:
        name = self._root if name is None else name
        return f"'{self.container_name}/{name}' (account {self._account})"

    def _fail(self, exc: Exception, action: str, name: str | None = None) -> NoReturn:
        """Raise a StorageError naming the location and the cause, never the SDK's text."""
        raise StorageError(
            f"{action} {self._where(name)} failed: {_describe(exc, self.container_name)}"
        ) from None

    # -- reading --------------------------------------------------------------------

    def list_files(
        self, prefix: str = "", *, recursive: bool = True, on_skip: SkipCallback | None = None
    ) -> Iterator[FileInfo]:
        """Every blob below ``prefix`` (a folder-like prefix), sorted by key.

        A prefix naming a blob lists that blob too; a root naming one blob (a single-file
        input) lists it with the key ``""``. ADLS Gen2 folder markers are skipped.
        ``recursive=False`` keeps the blobs directly below ``prefix`` and reports each
        nested folder once to ``on_skip``.
        """
        prefix = _check_key(prefix)
        start = _join(self._root, prefix)
        files: list[FileInfo] = []
        if start:
            props = self._properties(start)
            if props is not None and not _is_folder_marker(props):
                files.append(FileInfo(prefix, props.size, _version(props)))
        base = len(self._root) + 1 if self._root else 0
        below = len(prefix) + 1 if prefix else 0
        nested: set[str] = set()
        try:
            for blob in self._container.list_blobs(
                name_starts_with=f"{start}/" if start else None, include=["metadata"]
            ):
                key = blob.name[base:]
                if not recursive and "/" in key[below:]:
                    nested.add(key[: below + key[below:].index("/") + 1])
                    continue
                if _is_folder_marker(blob):
                    if not recursive:
                        nested.add(key + "/")
                    continue
                files.append(FileInfo(key, blob.size, _version(blob)))
        except Exception as exc:  # noqa: BLE001 - translated
            self._fail(exc, "listing", start)
        if on_skip is not None:
            for folder in sorted(nested):
                on_skip(folder, NESTED_FOLDER)
        files.sort()
        yield from files

    def _properties(self, name: str) -> BlobProperties | None:
        """The blob's properties, or None when there is no blob ``name``."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._container.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                self._fail(exc, "checking", name)
            return None
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "checking", name)

    def _size_if_file(self, name: str) -> int | None:
        """The size of blob ``name``; None when there is none (or it is an ADLS folder marker)."""
        props = self._properties(name)
        if props is None or _is_folder_marker(props):
            return None
        return props.size

    def exists(self, key: str) -> bool:
        """Whether a blob exists at ``key``."""
        if not _join(self._root, _check_key(key)):
            return False
        name = self._name(key)
        try:
            return self._container.get_blob_client(name).exists()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "checking", name)

    def is_file_root(self) -> bool:
        """Whether the root itself names one blob (not an ADLS folder marker)."""
        return bool(self._root) and self._size_if_file(self._root) is not None

    def read_bytes(self, key: str) -> bytes:
        """The whole content of ``key``."""
        name = self._name(key)
        try:
            return self._container.get_blob_client(name).download_blob().readall()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "reading", name)

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        """A buffered binary stream of ``key``, downloaded in 4 MiB chunks as it is read."""
        name = self._name(key)
        try:
            downloader = self._container.get_blob_client(name).download_blob()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "reading", name)
        raw = _DownloadReader(downloader, lambda exc: self._fail(exc, "reading", name))
        with io.BufferedReader(raw, buffer_size=_CHUNK) as stream:
            yield stream

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[str]:
        """Download ``key`` to a private temporary folder, keeping its base name; removed afterwards."""
        name = self._name(key)
        folder = tempfile.mkdtemp(prefix="mlendpoints-blob-")
        try:
            path = os.path.join(folder, os.path.basename(name) or "blob")
            try:
                with open(path, "wb") as fh:
                    self._container.get_blob_client(name).download_blob().readinto(fh)
            except Exception as exc:  # noqa: BLE001
                self._fail(exc, "downloading", name)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- writing --------------------------------------------------------------------

    def write_bytes(self, key: str, data: bytes) -> None:
        """Upload ``key`` in one request (or a committed block list when huge): atomic either way."""
        name = self._name(key)
        try:
            self._container.get_blob_client(name).upload_blob(data, overwrite=True)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "writing", name)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Upload with ``If-None-Match: *`` (overwrite=False): the service refuses a second creator."""
        from azure.core.exceptions import ResourceExistsError

        name = self._name(key)
        try:
            self._container.get_blob_client(name).upload_blob(data, overwrite=False)
            return True
        except ResourceExistsError:
            return False
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "writing", name)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        """A stream that stages blocks as it fills and commits them only on a clean exit.

        Until the commit, readers see the old content (or no blob); on an error the
        staged blocks are never committed (Azure discards them) and the old content stays.
        """
        name = self._name(key)
        writer = _BlockWriter(
            self._container.get_blob_client(name),
            self._block_size,
            lambda exc: self._fail(exc, "writing", name),
        )
        try:
            yield cast(BinaryIO, writer)  # write-only: callers use write() and tell()
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def delete(self, key: str) -> None:
        """Delete ``key`` (and its snapshots) if it exists."""
        self._delete_name(self._name(key))

    def _delete_name(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._container.delete_blob(name, delete_snapshots="include")
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                self._fail(exc, "deleting", name)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "deleting", name)

    def delete_prefix(self, prefix: str) -> None:
        """Delete every blob below ``prefix``, or the blob ``prefix`` names; then ADLS folder markers."""
        start = _join(self._root, _check_key(prefix))
        try:
            blobs = list(
                self._container.list_blobs(
                    name_starts_with=f"{start}/" if start else None, include=["metadata"]
                )
            )
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "listing", start)
        markers = [b.name for b in blobs if _is_folder_marker(b)]
        files = [b.name for b in blobs if not _is_folder_marker(b)]
        props = self._properties(start) if start else None
        if props is not None:  # the prefix names a blob itself (as a local file would be)
            (markers if _is_folder_marker(props) else files).append(start)
        for name in files + sorted(markers, key=lambda n: n.count("/"), reverse=True):
            self._delete_name(name)

    # -- navigation -----------------------------------------------------------------

    def child(self, prefix: str) -> BlobStorage:
        """The storage rooted at ``prefix`` below this one (same client and credentials)."""
        prefix = _check_key(prefix)
        uri = f"{self.uri.rstrip('/')}/{prefix}" if prefix else self.uri
        storage = BlobStorage(self._container, _join(self._root, prefix), uri, self._account)
        storage._block_size = self._block_size
        return storage


def _version(props: BlobProperties) -> str:
    """A blob's version for the input fingerprint: its ETag (else its last-modified time)."""
    etag = getattr(props, "etag", None)
    if etag:
        return f"etag:{str(etag).strip(chr(34))}"
    modified = getattr(props, "last_modified", None)
    return f"modified:{modified.isoformat()}" if modified is not None else ""


class _DownloadReader(io.RawIOBase):
    """A raw, forward-only stream over a StorageStreamDownloader."""

    def __init__(self, downloader: StorageStreamDownloader[bytes], on_error: Callable[[Exception], NoReturn]):
        self._downloader = downloader
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._downloader.read(len(buffer))
        except Exception as exc:  # noqa: BLE001
            self._on_error(exc)
        buffer[: len(data)] = data
        return len(data)


class _BlockWriter(io.RawIOBase):
    """Buffers writes into blocks, stages each full block, commits the list on :meth:`commit`.

    ``close()`` never commits (so a writer dropped after an error publishes nothing).
    Content smaller than one block is uploaded with a single Put Blob.
    """

    def __init__(self, blob_client: BlobClient, block_size: int, on_error: Callable[[Exception], NoReturn]):
        self._blob = blob_client
        self._block_size = block_size
        self._on_error = on_error
        self._buffer = bytearray()
        self._blocks: list[str] = []
        self._prefix = uuid.uuid4().hex  # one writer's block ids never collide with another's
        self._position = 0
        self._done = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        if self.closed or self._done:
            raise ValueError("write to a closed blob stream")
        view = memoryview(data).cast("B")
        self._buffer += view
        self._position += len(view)
        while len(self._buffer) >= self._block_size:
            self._stage(bytes(self._buffer[: self._block_size]))
            del self._buffer[: self._block_size]
        return len(view)

    def _stage(self, chunk: bytes) -> None:
        block_id = base64.b64encode(f"{self._prefix}{len(self._blocks):08d}".encode()).decode()
        try:
            self._blob.stage_block(block_id, chunk, length=len(chunk))
        except Exception as exc:  # noqa: BLE001
            self._on_error(exc)
        self._blocks.append(block_id)

    def commit(self) -> None:
        """Make everything written visible at once."""
        if self._done:
            return
        from azure.storage.blob import BlobBlock

        try:
            if not self._blocks:
                self._blob.upload_blob(bytes(self._buffer), overwrite=True)
            else:
                if self._buffer:
                    self._stage(bytes(self._buffer))
                self._blob.commit_block_list([BlobBlock(block_id=b) for b in self._blocks])
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._on_error(exc)
        finally:
            self._done = True
            self._buffer.clear()
            super().close()

    def abort(self) -> None:
        """Drop the buffer and never commit; staged blocks expire unreferenced."""
        self._done = True
        self._buffer.clear()
        super().close()

    def close(self) -> None:
        """Close for writing; publishing happens at the end of the ``with open_write(...)`` block."""
        # Deliberately not committing: only the context manager knows whether the block failed.
        if self._done:
            super().close()


# -- clients and error messages -------------------------------------------------------


def _service_client(loc: BlobLocation, options: dict[str, Any]) -> BlobServiceClient:
    """A BlobServiceClient for ``loc`` built from ``options`` (see the module docstring)."""
    from azure.storage.blob import BlobServiceClient

    from ...client.http_logging import quiet_azure_http_logging

    quiet_azure_http_logging()
    kwargs: dict[str, Any] = {
        "retry_total": int(options.get("retry_total", 3)),
        "connection_timeout": options.get("connection_timeout", 20),
        "read_timeout": options.get("read_timeout", 120),
        "max_single_get_size": _CHUNK,
        "max_chunk_get_size": _CHUNK,
    }
    try:
        if options.get("connection_string"):
            return BlobServiceClient.from_connection_string(options["connection_string"], **kwargs)
        account_name = options.get("account_name") or loc.account_name
        account_url = options.get("account_url") or loc.account_url
        if not account_url and account_name:
            account_url = f"https://{account_name}.blob.core.windows.net"
        if not account_url:
            raise StorageError(
                f"no storage account for {loc.uri}: give it in the URI (container@account...) or in "
                "storage_options (account_name, account_url or connection_string)"
            )
        account_url, _, url_sas = account_url.partition("?")  # a SAS on the account URL is a credential
        credential = _credential(loc, options, account_name, url_sas or None)
        if hasattr(credential, "get_token"):
            credential = _FinalTokenFailures(credential)
        return BlobServiceClient(account_url, credential=credential, **kwargs)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the SDK's ValueError text may quote the connection string
        raise StorageError(f"invalid storage options for {loc.uri}: {type(exc).__name__}") from None


def _credential(
    loc: BlobLocation, options: dict[str, Any], account_name: str | None, url_sas: str | None
) -> Any:
    """The credential the options (or the URI's SAS) describe; DefaultAzureCredential as the last resort."""
    credential = options.get("credential")
    if credential is None and options.get("account_key"):
        credential = options["account_key"]
    if isinstance(credential, str) and account_name and not _looks_like_sas(credential):
        return {"account_name": account_name, "account_key": credential}
    if credential is not None:
        return credential
    if options.get("sas_token"):
        return str(options["sas_token"]).lstrip("?")
    if loc.sas_token or url_sas:
        return loc.sas_token or url_sas
    if options.get("anon"):
        return None
    if options.get("client_id") and options.get("client_secret") and options.get("tenant_id"):
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(options["tenant_id"], options["client_id"], options["client_secret"])
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise StorageError(
            f"no credential for {loc.uri} and azure-identity is not installed: give storage_options "
            "(connection_string, account_key, sas_token or credential)"
        ) from None
    return DefaultAzureCredential()


class _FinalTokenFailures:
    """A TokenCredential whose failures are final for the storage pipeline.

    Storage's retry policy retries every AzureError, including "no credential
    available", three times with 15 s+ back-off. azure-identity already retries
    its own HTTP calls, so a failure here is re-raised as the storage SDK's
    non-retried signing error (still a ClientAuthenticationError).
    """

    def __init__(self, credential: Any):
        self._credential = credential

    def _final(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            return call(*args, **kwargs)
        except ClientAuthenticationError as exc:
            try:
                from azure.storage.blob._shared.authentication import AzureSigningError
            except ImportError:  # pragma: no cover - SDK layout changed: keep the SDK's behaviour
                raise exc from None
            raise AzureSigningError(f"{type(exc).__name__}: no token from the credential") from None

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._final(self._credential.get_token, *scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        if hasattr(self._credential, "get_token_info"):
            return self._final(self._credential.get_token_info, *scopes, options=options)
        from azure.core.credentials import AccessTokenInfo

        token = self.get_token(*scopes, **(options or {}))
        return AccessTokenInfo(token.token, token.expires_on)


def _is_folder_marker(blob: BlobProperties) -> bool:
    """ADLS Gen2 (hierarchical namespace) folders appear to the blob API as empty marker blobs."""
    return (getattr(blob, "metadata", None) or {}).get("hdi_isfolder") == "true"


def _looks_like_sas(value: str) -> bool:
    return "sig=" in value and ("sv=" in value or "se=" in value)


def _describe(exc: Exception, container: str) -> str:
    """A short, secret-free cause: the service's error code, never its message or the request URL."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, StorageError):
        return str(exc)
    code = getattr(exc, "error_code", None)
    code = getattr(code, "value", code)  # StorageErrorCode enum -> its wire name
    status = getattr(exc, "status_code", None)
    if code == "ContainerNotFound":
        return f"container '{container}' does not exist"
    if isinstance(exc, ResourceNotFoundError) or code == "BlobNotFound":
        return "not found"
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        if status is None:
            return (
                "no usable Azure credential (no token could be obtained): give storage_options "
                "(connection_string, account_key, sas_token or credential) or an Airflow connection, "
                "or sign in for DefaultAzureCredential"
            )
        return f"authentication or authorization failed (HTTP {status}{', ' + str(code) if code else ''})"
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return f"the storage service could not be reached ({type(exc).__name__})"
    if isinstance(exc, HttpResponseError):
        return f"HTTP {status}{', ' + str(code) if code else ''}"
    return type(exc).__name__
