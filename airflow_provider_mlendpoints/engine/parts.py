"""Per-mini-batch part records: what a finished mini-batch leaves in storage.

A part (``_mlendpoints/parts/<mini-batch-id>``) is one object written
atomically: a first line holding the JSON status record, then the rendered
rows. The status record has ``id``, ``index``, ``status`` ("succeeded",
"partial" — a short return —, "failed"), ``items``, ``succeeded``, ``failed``,
``attempts``, ``error``, ``traceback``, ``files`` (input names), ``started``
(epoch seconds), ``seconds``, ``rows`` (output rows), ``payload`` ("csv",
"arrow" or null), ``columns`` (DataFrame column names, or null) and, for
tabular input, ``rows_range`` ([first, end) rows of the input file), and ``warning`` (what was
odd about run()'s result, e.g. more results than inputs, or null).

Rows are rendered when the part is written, in the job's output format: CSV
text (``str()`` per list element, DataFrame rows without header or index), or
an Arrow IPC stream for Parquet output. Collecting is then a streamed
concatenation in input order.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .storage.base import Storage

LIST_COLUMN = "prediction"


def is_dataframe(obj: Any) -> bool:
    """Whether ``obj`` is a pandas DataFrame (without importing pandas when the script did not)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


def check_result(result: Any) -> Any:
    """Accept a list, a tuple (as a list) or a DataFrame from run(); raise TypeError for anything else."""
    if isinstance(result, list) or is_dataframe(result):
        return result
    if isinstance(result, tuple):
        return list(result)
    kind = type(result)
    raise TypeError(
        f"run() returned {kind.__module__}.{kind.__qualname__}; expected a list, a tuple or a pandas DataFrame "
        "with one element or row per input"
    )


def render_rows(result: Any, fmt: str, separator: str) -> tuple[bytes, list[str] | None]:
    """Render run()'s result as (payload bytes, DataFrame columns or None) in format 'csv' or 'arrow'."""
    columns = [str(c) for c in result.columns] if is_dataframe(result) else None
    if fmt == "csv":
        if columns is not None:
            text = result.to_csv(sep=separator, header=False, index=False, lineterminator="\n")
        else:
            text = "".join(f"{item}\n" for item in result)
        return text.encode("utf-8"), columns
    import pyarrow as pa

    if columns is not None:
        try:
            table = pa.Table.from_pandas(result, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            table = pa.Table.from_pandas(result.astype(str), preserve_index=False)
    else:
        table = pa.table({LIST_COLUMN: pa.array([str(item) for item in result], type=pa.string())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), columns


def result_warning(results: int, items: int, lines: int) -> str | None:
    """What is odd about run()'s result, or None: more results than inputs; results with line breaks.

    ``lines``: the output rows the results were written as (more than ``results`` when list
    elements hold line breaks; the status record counts those).
    """
    notes = []
    if results > items:
        notes.append(f"run() returned {results} results for {items} inputs; all {results} are written")
    if lines != results:
        notes.append(f"some of run()'s {results} results hold line breaks: they make {lines} output lines")
    return "; ".join(notes) or None


def encode_part(status: dict[str, Any], payload: bytes = b"") -> bytes:
    """The bytes of a part: status line + payload."""
    return json.dumps(status, separators=(",", ":"), default=str).encode("utf-8") + b"\n" + payload


def read_status(storage: Storage, key: str) -> dict[str, Any]:
    """Only the status record of the part at ``key``."""
    with storage.open_read(key) as stream:
        status: dict[str, Any] = json.loads(stream.readline())
    return status


def read_part(storage: Storage, key: str) -> tuple[dict[str, Any], bytes]:
    """The status record and the payload of the part at ``key``."""
    data = storage.read_bytes(key)
    head, _, payload = data.partition(b"\n")
    status: dict[str, Any] = json.loads(head)
    return status, payload
