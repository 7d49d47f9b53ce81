"""The job report below ``_mlendpoints/report/``: mini_batches.csv, errors.txt, summary.json, index.html."""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack
from typing import Any

from .layout import ERRORS_KEY, REPORT_CSV_KEY, REPORT_PREFIX, SUMMARY_KEY
from .storage.base import Storage, display_key

#: The job's HTML page beside summary.json (see :mod:`.report_html`).
INDEX_KEY = f"{REPORT_PREFIX}index.html"

CSV_COLUMNS = ["id", "shard", "files", "items", "succeeded", "failed", "attempts", "status", "seconds", "error"]


class ReportWriter:
    """Streams mini_batches.csv and errors.txt; both become visible only if the block ends without error."""

    def __init__(self, out: Storage) -> None:
        self.out = out
        self._stack = ExitStack()
        self._rows: list[str] = []
        self._errors: list[str] = []
        self.error_count = 0

    def __enter__(self) -> ReportWriter:
        self._csv = self._stack.enter_context(self.out.open_write(REPORT_CSV_KEY))
        self._err = self._stack.enter_context(self.out.open_write(ERRORS_KEY))
        self._write_csv_row(CSV_COLUMNS)
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        if exc[0] is None:
            self._flush()
        return self._stack.__exit__(*exc)

    def _write_csv_row(self, row: list[Any]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        self._rows.append(buf.getvalue())
        if len(self._rows) >= 2000:
            self._flush()

    def _flush(self) -> None:
        self._csv.write(display_key("".join(self._rows)).encode("utf-8"))
        self._rows.clear()
        self._err.write(display_key("".join(self._errors)).encode("utf-8"))
        self._errors.clear()

    def add(self, status: dict[str, Any], shard: int) -> None:
        """One mini-batch's row, and its errors.txt entry if it did not fully succeed."""
        error = status.get("error") or ""
        self._write_csv_row([
            status["id"], shard, len(status.get("files") or []), status["items"], status["succeeded"],
            status["failed"], status["attempts"], status["status"], f"{status.get('seconds', 0):.3f}",
            error.splitlines()[0] if error else "",
        ])
        if status["status"] != "succeeded":
            self.error_count += 1
            where = ""
            if status.get("rows_range"):
                where = f" (rows {status['rows_range'][0]}-{status['rows_range'][1] - 1})"
            entry = [
                f"mini-batch {status['id']} (shard {shard}): {status['status']} after "
                f"{status['attempts']} attempt(s); {status['failed']} of {status['items']} items failed",
                f"input files{where}: " + ", ".join(status.get("files") or []),
                f"error: {error}",
            ]
            if status.get("traceback"):
                entry.append(status["traceback"].rstrip())
            self._errors.append("\n".join(entry) + "\n" + "-" * 72 + "\n")


def write_summary(out: Storage, summary: dict[str, Any]) -> None:
    """Write summary.json, and index.html: the job's page (the emulator's Studio-like job page)."""
    out.write_bytes(SUMMARY_KEY, json.dumps(summary, indent=2, default=str).encode("utf-8"))
    from . import report_html

    try:
        rows = report_html.mini_batches_from_csv(out.read_bytes(REPORT_CSV_KEY).decode("utf-8"))
    except Exception:  # noqa: BLE001 - the page is a view; summary.json is the record
        rows = []
    scalars = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    nested = {k: v for k, v in summary.items() if isinstance(v, dict)}
    page = report_html.job_page(
        str(summary.get("job") or summary.get("name") or out.uri.rstrip("/").rsplit("/", 1)[-1]),
        str(summary.get("status") or ""),
        settings=scalars,
        summary=nested,
        mini_batches=rows,
    )
    out.write_bytes(INDEX_KEY, page.encode("utf-8"))
