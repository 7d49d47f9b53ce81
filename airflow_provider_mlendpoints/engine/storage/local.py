"""Local filesystem storage: a folder (or a single file) on this machine."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import BinaryIO

from .base import NESTED_FOLDER, FileInfo, SkipCallback, Storage, StorageError

#: Name prefix of the temporary files writes are staged in (never listed as inputs).
TEMP_PREFIX = ".mlendpoints-tmp-"


def _temporary_file(folder: str) -> tuple[int, str]:
    """A new temporary file in ``folder``, with the mode a plain ``open(path, "w")`` would give.

    Created with mode 0o666 so that the kernel applies the umask, as for any file the
    scoring script writes (``mkstemp`` would make it readable by its owner only).
    """
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(8)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp  # not inherited (PEP 446)
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary file name in {folder}")


class LocalStorage(Storage):
    """Files below a local folder. Writes are atomic (temporary file + ``os.replace``)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.uri = self.root

    def __repr__(self) -> str:
        return f"LocalStorage({self.root!r})"

    def _path(self, key: str) -> str:
        key = key.strip("/")
        if not key:
            return self.root
        path = os.path.normpath(os.path.join(self.root, *key.split("/")))
        if path != self.root and not path.startswith(self.root.rstrip(os.sep) + os.sep):
            raise StorageError(f"key {key!r} escapes the storage root {self.root}")
        return path

    def list_files(
        self, prefix: str = "", *, recursive: bool = True, on_skip: SkipCallback | None = None
    ) -> Iterator[FileInfo]:
        """Yield files below ``prefix`` in key order, one directory listing in memory at a time.

        Folder links are followed, each real folder at most once (a link back to a folder
        already listed, such as ``loop -> .``, is reported to ``on_skip``, never walked again);
        dangling links and entries that cannot be read are reported too.
        """
        prefix = prefix.strip("/")
        start = self._path(prefix)
        if os.path.isfile(start):
            st = os.stat(start)
            yield FileInfo(prefix, st.st_size, f"mtime:{st.st_mtime_ns}")
            return
        if not os.path.isdir(start):
            return
        skip = on_skip or (lambda key, reason: None)
        seen = {os.path.realpath(start)}
        yield from self._walk(start, prefix + "/" if prefix else "", recursive, skip, seen)

    def _walk(
        self, folder: str, key_prefix: str, recursive: bool, skip: SkipCallback, seen: set[str]
    ) -> Iterator[FileInfo]:
        try:
            with os.scandir(folder) as it:
                entries = []
                for entry in it:
                    try:
                        is_dir = entry.is_dir()
                    except OSError as exc:
                        skip(key_prefix + entry.name, f"cannot be read: {exc.strerror or exc}")
                        continue
                    # A folder sorts as "name/" so the walk yields keys in plain string order.
                    entries.append((entry.name + "/" if is_dir else entry.name, is_dir, entry))
        except OSError as exc:
            raise StorageError(f"cannot list {folder}: {exc}") from exc
        entries.sort(key=lambda e: e[0])
        for sort_name, is_dir, entry in entries:
            key = key_prefix + sort_name
            if is_dir:
                if not recursive:
                    skip(key, NESTED_FOLDER)
                    continue
                real = os.path.realpath(entry.path)
                if real in seen:
                    skip(key, f"a link to a folder already listed ({real}): a symlink loop or a second path")
                    continue
                seen.add(real)
                yield from self._walk(entry.path, key, recursive, skip, seen)
            else:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                try:
                    st = entry.stat()
                except OSError as exc:
                    reason = "a dangling link" if entry.is_symlink() else f"cannot be read: {exc.strerror or exc}"
                    skip(key, reason)
                    continue
                yield FileInfo(key, st.st_size, f"mtime:{st.st_mtime_ns}")

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def is_file_root(self) -> bool:
        return os.path.isfile(self.root)

    def read_bytes(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except OSError as exc:
            raise StorageError(f"cannot read {self._path(key)}: {exc.strerror or exc}") from exc

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115 - returned as a context manager
        except OSError as exc:
            raise StorageError(f"cannot read {self._path(key)}: {exc.strerror or exc}") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as f:
            f.write(data)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Write a temporary file, then hard-link it into place: link() fails when the key exists."""
        try:
            with self._staged(key, os.link) as f:
                f.write(data)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot write {self._path(key)}: {exc.strerror or exc}") from exc

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        with self._staged(key, os.replace) as f:
            yield f

    @contextmanager
    def _staged(self, key: str, publish: Callable[[str, str], None]) -> Iterator[BinaryIO]:
        """A temporary file beside ``key``, put in place by ``publish(tmp, path)`` once written and closed.

        The temporary file is removed whatever happens (after a link or a failure; a replace moved it).
        """
        path = self._path(key)
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = _temporary_file(folder)
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        try:
            try:
                with os.fdopen(fd, "wb") as f:
                    yield f
                publish(tmp, path)
            except FileExistsError:
                raise  # create_exclusive: the key is there
            except OSError as exc:  # no space, permission, a lost network file system: a storage error
                raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            with suppress(OSError):
                os.unlink(tmp)

    def delete(self, key: str) -> None:
        with suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=False)
        elif os.path.isfile(path):
            os.unlink(path)

    @contextmanager
    def local_path(self, key: str) -> Iterator[str]:
        path = self._path(key)
        if not os.path.isfile(path):
            raise StorageError(f"no such file: {path}")
        yield path

    def child(self, prefix: str) -> LocalStorage:
        return LocalStorage(self._path(prefix))
