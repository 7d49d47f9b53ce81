"""Small server-rendered HTML pages in the manner of Azure ML Studio (no JavaScript).

One renderer for the emulator's Studio-like pages (``/studio/...``) and the self-hosted job's
``_mlendpoints/report/index.html``: a page with a title, a status badge, key/value tables
(settings, traffic, outputs), a log block and, for batch jobs, a timeline of the mini-batches
(inline SVG: one bar per mini-batch, its height the duration, failures in red). Values whose key
names a secret (key, secret, token, password, SAS, signature, connection string) are never shown.
Pure Python: no Airflow, no third-party import.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_SECRET_KEY = re.compile(r"key|secret|token|password|sas|signature|connectionstring|connection_string", re.I)
_SECRET_VALUE = re.compile(r"(AccountKey=|SharedAccessSignature=|[?&]sig=)[^;&\s\"]*", re.I)
HIDDEN = "(hidden)"

STATUS_COLOURS = {
    "succeeded": "#107c10", "completed": "#107c10", "running": "#0078d4", "creating": "#0078d4",
    "updating": "#0078d4", "notstarted": "#605e5c", "queued": "#605e5c", "failed": "#a4262c",
    "canceled": "#8a8886", "partial": "#c19c00",
}  # fmt: skip

_CSS = """
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#323130;background:#faf9f8}
header{background:#0078d4;color:#fff;padding:10px 24px;font-size:15px}
header a{color:#fff}
main{padding:16px 24px;max-width:1200px}
h1{font-size:22px;font-weight:600;margin:8px 0}
h2{font-size:16px;font-weight:600;margin:20px 0 8px}
table{border-collapse:collapse;background:#fff;min-width:420px}
td,th{border:1px solid #edebe9;padding:4px 10px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f3f2f1}
pre{background:#201f1e;color:#f3f2f1;padding:10px;font-size:12px;overflow:auto;max-height:420px}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:2px 8px;font-size:13px}
svg text{font-size:11px;fill:#605e5c}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape("" if value is None else str(value))


def redact(key: str, value: Any) -> Any:
    """``value`` with secrets removed: a secret-named key hides the value; signatures are cut."""
    if _SECRET_KEY.search(key.replace("-", "").replace(" ", "")) and value not in (None, "", {}, []):
        return HIDDEN
    if isinstance(value, str):
        return _SECRET_VALUE.sub(lambda m: m.group(1) + "***", value)
    if isinstance(value, Mapping):
        return {k: redact(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(key, v) for v in value]
    return value


def badge(status: str | None) -> str:
    """A coloured status badge."""
    colour = STATUS_COLOURS.get(str(status or "").lower(), "#605e5c")
    return f'<span class="badge status" style="background:{colour}">{esc(status or "unknown")}</span>'


def table(rows: Mapping[str, Any], *, css_id: str = "") -> str:
    """A two-column table of ``rows`` (nested dicts flattened as ``a.b``), secrets hidden."""
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat.append((prefix, value))

    walk("", redact("", dict(rows)))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_text(v))}</td></tr>" for k, v in flat)
    ident = f' id="{esc(css_id)}"' if css_id else ""
    return f"<table{ident}>{body or '<tr><td>none</td></tr>'}</table>"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def link_list(links: Iterable[tuple[str, str, str | None]]) -> str:
    """``<ul>`` of (href, label, status) links."""
    items = [f'<li><a href="{esc(href)}">{esc(label)}</a> {badge(status) if status else ""}</li>' for href, label, status in links]
    return "<ul>" + ("".join(items) or "<li>none</li>") + "</ul>"


def timeline_svg(mini_batches: Sequence[Mapping[str, Any]], *, width: int = 960, height: int = 180) -> str:
    """Inline SVG: one bar per mini-batch (in order), height = seconds, failed ones red.

    Each mini-batch is a dict with ``id``, ``seconds`` and ``status``; bars carry
    ``class="mini-batch succeeded|partial|failed"`` and a ``<title>`` tooltip.
    """
    if not mini_batches:
        return '<p id="timeline-empty">No mini-batch has finished yet.</p>'
    longest = max(float(mb.get("seconds") or 0) for mb in mini_batches) or 1.0
    left, bottom, top = 40, 20, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar = plot_w / len(mini_batches)
    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="duration per mini-batch">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#8a8886"/>',
        f'<text x="2" y="{top + 8}">{longest:.2f}s</text><text x="2" y="{top + plot_h}">0s</text>',
    ]
    for i, mb in enumerate(mini_batches):
        seconds = float(mb.get("seconds") or 0)
        status = str(mb.get("status") or "succeeded")
        h = max(1.0, plot_h * seconds / longest)
        colour = {"failed": "#a4262c", "partial": "#c19c00"}.get(status, "#0078d4")
        parts.append(
            f'<rect class="mini-batch {esc(status)}" x="{left + i * bar:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(bar - 1, 0.5):.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{esc(mb.get('id'))}: {seconds:.3f}s {esc(status)}</title></rect>"
        )
    failed = sum(1 for mb in mini_batches if mb.get("status") == "failed")
    parts.append(
        f'<text x="{left}" y="{height - 4}">{len(mini_batches)} mini-batches, {failed} failed '
        "(bar height: duration; red: failed)</text></svg>"
    )
    return "".join(parts)


def mini_batches_from_csv(text: str) -> list[dict[str, Any]]:
    """The rows of a report's ``mini_batches.csv`` (id, seconds, status, ...)."""
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def page(title: str, status: str | None, sections: Iterable[tuple[str, str]], *, crumbs: str = "") -> str:
    """A whole HTML page: header, ``<h1>`` with a status badge, then (heading, html) sections."""
    body = "".join(f'<section><h2>{esc(heading)}</h2>{content}</section>' for heading, content in sections)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header>Azure Machine Learning (mlendpoints) {crumbs}</header>"
        f"<main><h1>{esc(title)} {badge(status) if status else ''}</h1>{body}</main></body></html>"
    )


def job_page(
    name: str,
    status: str | None,
    *,
    settings: Mapping[str, Any],
    summary: Mapping[str, Any] | None = None,
    mini_batches: Sequence[Mapping[str, Any]] | None = None,
    outputs: Mapping[str, Any] | None = None,
    log_tail: str | None = None,
    crumbs: str = "",
) -> str:
    """A batch job's page: status, settings, outputs, summary, mini-batch timeline, log tail."""
    sections = [("Settings", table(settings, css_id="settings"))]
    if outputs:
        sections.append(("Outputs", table(outputs, css_id="outputs")))
    if summary:
        sections.append(("Summary", table(summary, css_id="summary")))
    sections.append(("Mini-batch timeline", timeline_svg(list(mini_batches or []))))
    if log_tail is not None:
        cleaned = _SECRET_VALUE.sub(lambda m: m.group(1) + "***", log_tail)
        sections.append(("Logs", f'<pre id="logs">{esc(cleaned)}</pre>'))
    return page(f"Job {name}", status, sections, crumbs=crumbs)
