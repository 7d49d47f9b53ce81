"""MLTable inputs: a folder holding an ``MLTable`` file is tabular, as on Azure.

Azure ML gives ``run()`` DataFrames only for MLTable inputs; every other
``uri_folder`` / ``uri_file`` input is a list of file paths. This module reads
the ``MLTable`` file with PyYAML (the ``mltable`` package is not needed): its
``paths`` (``file``, ``folder``, ``pattern``, relative to the MLTable file) and
one reading transformation, ``read_delimited`` (``delimiter``, ``header``,
``encoding``) or ``read_parquet``; ``keep_columns`` / ``drop_columns`` are
applied to every mini-batch. Anything else is refused with an error naming the
file and the entry, so a table is never read differently from Azure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .minibatch import key_matcher
from .storage.base import FileInfo, Storage, StorageError

MLTABLE_FILE = "MLTable"
HEADERS = ("all_files_same_headers", "from_first_file", "all_files_different_headers", "no_header")
# mltable's encoding names that Python spells differently
_ENCODINGS = {"utf8bom": "utf-8-sig", "iso88591": "iso8859-1", "windows1252": "cp1252"}
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class TableReader:
    """How tabular files are read: format (``csv``/``parquet``) and the CSV options (JSON-able)."""

    format: str
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    keep_columns: tuple[str, ...] = ()
    drop_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "delimiter": self.delimiter, "header": self.header,
                "encoding": self.encoding, "keep_columns": list(self.keep_columns),
                "drop_columns": list(self.drop_columns)}


@dataclass(frozen=True)
class MLTableSpec:
    """What an MLTable file says: where the data is and how to read it."""

    paths: tuple[tuple[str, str], ...]  # (kind, relative path): file / folder / pattern
    reader: TableReader
    source: str = field(default=MLTABLE_FILE)


def has_mltable(storage: Storage) -> bool:
    """Whether the input folder holds an MLTable file at its top."""
    try:
        return not storage.is_file_root() and storage.exists(MLTABLE_FILE)
    except StorageError:
        return False


def load_mltable(storage: Storage, where: str) -> MLTableSpec:
    """Parse the input's MLTable file; raise :class:`InputError` naming it and the bad entry."""
    from ..specs.yamlio import parse_yaml

    source = f"{where}/{MLTABLE_FILE}"
    try:
        text = storage.read_bytes(MLTABLE_FILE).decode("utf-8-sig")
    except StorageError as exc:
        raise InputError(f"{source}: cannot read: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text: {exc}") from exc
    docs, problems = parse_yaml(text, source)
    if problems:
        raise InputError(f"{source}: {problems[0].message}")
    doc = docs[0] if len(docs) == 1 else None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a mapping with 'paths' and 'transformations'")
    paths = []
    for n, entry in enumerate(doc.get("paths") or []):
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ("file", "folder", "pattern"):
            raise InputError(f"{source}: paths[{n}]: expected one of file:, folder: or pattern:, got {entry!r}")
        kind, value = next(iter(entry.items()))
        value = str(value)
        if _REMOTE.match(value) or value.startswith("/"):
            raise InputError(
                f"{source}: paths[{n}]: {value!r} lies outside the input folder; self-hosted scoring reads "
                "MLTable paths relative to the MLTable file only"
            )
        paths.append((kind, _relative(value)))
    if not paths:
        raise InputError(f"{source}: 'paths' is empty: expected file:, folder: or pattern: entries")
    return MLTableSpec(tuple(paths), _reader(doc.get("transformations") or [], source), source)


def _relative(value: str) -> str:
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _reader(transformations: list[Any], source: str) -> TableReader:
    fmt: dict[str, Any] | None = None
    keep: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    for n, step in enumerate(transformations):
        name, options = (step, {}) if isinstance(step, str) else (next(iter(step)), next(iter(step.values())))
        options = options or {}
        if name == "read_delimited":
            header = str(options.get("header", "all_files_same_headers"))
            if header not in HEADERS:
                raise InputError(f"{source}: transformations[{n}].read_delimited.header: expected one of "
                                 f"{', '.join(HEADERS)}, got {header!r}")
            fmt = {"format": "csv", "delimiter": str(options.get("delimiter", ",")),
                   "header": header != "no_header", "encoding": _ENCODINGS.get(str(options.get("encoding", "utf8")), str(options.get("encoding")))}
        elif name == "read_parquet":
            fmt = {"format": "parquet"}
        elif name == "keep_columns":
            keep = tuple(str(c) for c in (options if isinstance(options, list) else [options]))
        elif name == "drop_columns":
            drop = tuple(str(c) for c in (options if isinstance(options, list) else [options]))
        else:
            raise InputError(
                f"{source}: transformations[{n}]: {name!r} is not supported by self-hosted scoring "
                "(supported: read_delimited, read_parquet, keep_columns, drop_columns)"
            )
    if fmt is None:
        raise InputError(f"{source}: no read_delimited or read_parquet transformation: cannot tell how to read it")
    return TableReader(**fmt, keep_columns=keep, drop_columns=drop)


def mltable_files(spec: MLTableSpec, storage: Storage, where: str) -> Iterator[FileInfo]:
    """The data files the MLTable names, in its order (each file once; the MLTable file itself never)."""
    seen: set[str] = set()
    for kind, path in spec.paths:
        if kind == "file":
            found = [info for info in storage.list_files(path) if info.key == path]
            if not found:
                raise InputError(f"{spec.source}: file {path!r}: no such file in {where}")
        elif kind == "folder":
            found = list(storage.list_files(path))
        else:
            matches = key_matcher(path)
            found = [info for info in storage.list_files("") if matches(info.key)]
        for info in found:
            if info.key != MLTABLE_FILE and info.key not in seen:
                seen.add(info.key)
                yield info
