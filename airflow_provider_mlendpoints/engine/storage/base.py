"""The storage interface the engine reads inputs from and writes outputs to.

A :class:`Storage` is a folder-like root (a local folder, or a prefix in an
Azure Blob container). Keys are relative, '/'-separated paths below the root.
Implementations: ``local.LocalStorage`` and ``blob.BlobStorage``; pick one
with ``open_storage(uri, storage_options)``. Pure Python: no airflow imports.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import BinaryIO, Callable  # noqa: UP035 - subscripted at import: must work on Python 3.8


@dataclass(frozen=True, order=True)
class FileInfo:
    """One stored file: its key below the root, its size in bytes and its version.

    ``version`` changes whenever the content may have: ``"mtime:<ns>"`` for local files,
    ``"etag:<ETag>"`` for blobs ("" when unknown). It is not part of comparisons.
    """

    key: str
    size: int
    version: str = field(default="", compare=False)


#: Called by a listing for each entry it leaves out: ``(key, reason)``; a folder's key ends with '/'.
SkipCallback = Callable[[str, str], None]

NESTED_FOLDER = "nested folder (Azure does not explore nested folders; recursive=True / --recursive includes it)"


def display_key(key: str) -> str:
    """A key as text that prints and encodes anywhere: bytes of a name that is not UTF-8 as ``\\xNN``."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class StorageError(Exception):
    """A storage operation failed; the message names the location and never a secret."""


class Storage(abc.ABC):
    """A root location holding files addressed by relative keys."""

    #: The location as the user wrote it, with any secret (SAS, key) removed.
    uri: str

    @abc.abstractmethod
    def list_files(
        self, prefix: str = "", *, recursive: bool = True, on_skip: SkipCallback | None = None
    ) -> Iterator[FileInfo]:
        """Yield every file below ``prefix``, sorted by key.

        ``recursive=False`` lists the files directly below ``prefix`` only; each nested folder
        is then reported once to ``on_skip`` (with :data:`NESTED_FOLDER`), as is every entry the
        listing cannot use (a dangling link, a symlink loop, an unreadable entry).
        """

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a file exists at ``key``."""

    @abc.abstractmethod
    def is_file_root(self) -> bool:
        """Whether the root itself is one file (an input given as a single file)."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole content of ``key``."""

    @abc.abstractmethod
    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream of ``key``, for large files."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``key`` atomically: readers see the old content or all of the new."""

    @abc.abstractmethod
    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create ``key`` with ``data`` only if it does not exist; True when this call created it.

        Atomic against concurrent creators, on this machine or others: exactly one wins, and
        readers never see a partial ``data``.
        """

    @abc.abstractmethod
    def open_write(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream that becomes visible at ``key`` atomically when closed without error."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete ``key`` if it exists."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete every file below ``prefix``."""

    @abc.abstractmethod
    def local_path(self, key: str) -> AbstractContextManager[str]:
        """A local filesystem path holding ``key``'s content for the duration of the block.

        Local storage yields the file itself; remote storage downloads to a temporary file.
        """

    @abc.abstractmethod
    def child(self, prefix: str) -> Storage:
        """The storage rooted at ``prefix`` below this one."""
