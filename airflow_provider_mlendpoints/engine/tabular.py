"""Tabular inputs (CSV, Parquet): cut files into row slices and read a slice as a DataFrame.

A tabular mini-batch is a contiguous row range of one file:
``{"file": key, "start": first_row, "stop": end_row, "offset": ..., "end": ...}``
(``offset``/``end``: byte range of those rows, CSV only). Mini-batches do not
span files. CSV rows are found by line ends, so a quoted field holding a line
break is not supported. pandas and pyarrow are imported only when used.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .minibatch import BatchSize
from .storage.base import FileInfo, Storage

if TYPE_CHECKING:
    import pandas as pd

CSV_EXTENSIONS = (".csv",)
PARQUET_EXTENSIONS = (".parquet", ".pq")
TABULAR_EXTENSIONS = CSV_EXTENSIONS + PARQUET_EXTENSIONS


def tabular_kind(key: str) -> str | None:
    """'csv', 'parquet' or None, from the file name's extension."""
    lower = key.lower()
    if lower.endswith(CSV_EXTENSIONS):
        return "csv"
    if lower.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    return None


def tabular_slices(
    storage: Storage, info: FileInfo, size: BatchSize, where: str, reader: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the row slices (mini-batches) of one tabular file.

    ``reader`` (from an MLTable file, see :mod:`.mltable`) decides the format; without it the
    file name's extension does.
    """
    kind = reader["format"] if reader else tabular_kind(info.key)
    if kind == "csv":
        yield from _csv_slices(storage, info, size, header=reader["header"] if reader else True)
    elif kind == "parquet":
        yield from _parquet_slices(storage, info, size, where)
    else:
        raise InputError(
            f"{where}: input file {info.key!r} is not tabular: expected .csv or .parquet "
            "(use input_type 'file' to pass file paths to run())"
        )


def _csv_slices(storage: Storage, info: FileInfo, size: BatchSize, header: bool = True) -> Iterator[dict[str, Any]]:
    with storage.open_read(info.key) as stream:
        header_line = stream.readline() if header else b""
        offset = len(header_line)
        start_offset = offset
        row = 0
        start_row = 0
        for line in stream:
            offset += len(line)
            if line.strip():
                row += 1
            full = (
                (size.count is not None and row - start_row >= size.count)
                or (size.nbytes is not None and offset - start_offset >= size.nbytes)
            )
            if full and row > start_row:
                yield {"file": info.key, "start": start_row, "stop": row, "offset": start_offset, "end": offset}
                start_row, start_offset = row, offset
        if row > start_row:
            yield {"file": info.key, "start": start_row, "stop": row, "offset": start_offset, "end": offset}


def _parquet_slices(storage: Storage, info: FileInfo, size: BatchSize, where: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    with storage.local_path(info.key) as path:
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f"{where}: {info.key!r} is not a readable Parquet file: {exc}") from exc
    # Parquet is compressed: a size is turned into rows from the file's bytes per row.
    step = size.count if size.count is not None else max(1, int(size.nbytes * rows // max(1, info.size)))
    for start in range(0, rows, step):
        yield {"file": info.key, "start": start, "stop": min(rows, start + step)}


def read_slice(path: str, mb: dict[str, Any], reader: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read one tabular mini-batch from the local file ``path`` as a pandas DataFrame.

    Like Azure's, the frame has a fresh 0-based index; ``attrs`` names the
    source (``attrs["file"]``: the input key, ``attrs["start"]``: its first row in that file).
    ``reader``: an MLTable's reading options (format, delimiter, header, encoding, columns).
    """
    frame = _read(path, mb, reader or {}).reset_index(drop=True)
    if reader and reader.get("keep_columns"):
        frame = frame[list(reader["keep_columns"])]
    if reader and reader.get("drop_columns"):
        frame = frame.drop(columns=list(reader["drop_columns"]))
    frame.attrs["file"] = mb["file"]
    frame.attrs["start"] = mb["start"]
    return frame


def _read(path: str, mb: dict[str, Any], reader: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    if reader.get("format", tabular_kind(mb["file"])) == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        start, stop = mb["start"], mb["stop"]
        groups, first_row, seen = [], None, 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if seen + n > start and seen < stop:
                groups.append(g)
                if first_row is None:
                    first_row = seen
            seen += n
        table = pf.read_row_groups(groups).slice(start - (first_row or 0), stop - start)
        return table.to_pandas()
    has_header = reader.get("header", True)
    with open(path, "rb") as f:
        header = f.readline() if has_header else b""
        f.seek(mb["offset"])
        data = f.read(mb["end"] - mb["offset"])
    options: dict[str, Any] = {"sep": reader.get("delimiter", ","), "encoding": reader.get("encoding") or None}
    if not has_header:  # as mltable names them
        options.update(header=None)
        frame = pd.read_csv(io.BytesIO(data), **options)
        frame.columns = [f"Column{n + 1}" for n in range(frame.shape[1])]
        return frame
    return pd.read_csv(io.BytesIO(header + data), **options)
