"""Studio-like HTML pages of the emulator's workspaces (read only, no JavaScript, no secrets).

URL scheme (the provider's extra links point here when the connection targets the emulator)::

    /studio/subscriptions/{sub}/resourceGroups/{rg}/workspaces/{ws}            index
        .../batchEndpoints/{name}   .../onlineEndpoints/{name}
        .../batchEndpoints/{e}/deployments/{d}   .../onlineEndpoints/{e}/deployments/{d}
        .../jobs/{name}   .../computes/{name}

Each page shows the resource's status, its settings (secrets hidden), traffic for endpoints,
the log tail for online deployments and batch jobs, a job's outputs and summary, and for a
batch job the timeline of its mini-batches (read from the report the engine wrote beside the
output, when the emulator can reach it). Rendered by :mod:`..engine.report_html`, the same
renderer as the self-hosted report's ``index.html``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..engine import report_html as html
from .arm_errors import ArmError
from .context import emulator_of
from .ids import workspace_id
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

PREFIX = "/studio"
WS = "/subscriptions/{sub}/resourceGroups/{rg}/workspaces/{ws}"
router = APIRouter(prefix=PREFIX)

_KINDS = {
    "batchEndpoints": "Batch endpoint",
    "onlineEndpoints": "Online endpoint",
    "computes": "Compute",
    "jobs": "Job",
}


def _ws_url(sub: str, rg: str, ws: str) -> str:
    return f"{PREFIX}/subscriptions/{sub}/resourceGroups/{rg}/workspaces/{ws}"


def _crumbs(sub: str, rg: str, ws: str) -> str:
    return f'/ <a href="{html.esc(_ws_url(sub, rg, ws))}">workspace {html.esc(ws)}</a>'


def _status(resource: dict[str, Any]) -> str | None:
    props = resource.get("properties") or {}
    return props.get("provisioningState") or props.get("status") or props.get("state")


def _children(emu: Emulator, sub: str, rg: str, ws: str, *path: str) -> list[dict[str, Any]]:
    prefix = workspace_id(sub, rg, ws) + "".join(f"/{p}" for p in path)
    return [record["resource"] for _key, record in emu.store.children(prefix) if "resource" in record]


def _record(emu: Emulator, sub: str, rg: str, ws: str, *path: str) -> dict[str, Any]:
    record = emu.store.get(norm_key(workspace_id(sub, rg, ws) + "".join(f"/{p}" for p in path)))
    if record is None or "resource" not in record:
        raise ArmError(404, "ResourceNotFound", f"No {path[-2]} '{path[-1]}' in workspace '{ws}'.")
    return record


def _settings(resource: dict[str, Any], *, job: bool = False) -> dict[str, Any]:
    props = dict(resource.get("properties") or {})
    for noisy in ("traffic", "mirrorTraffic", "inputs", "outputs", *(("properties",) if job else ())):
        props.pop(noisy, None)
    extra = {k: resource[k] for k in ("location", "kind", "sku", "identity", "tags") if resource.get(k)}
    return {**extra, **props}


def _respond(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers={"Cache-Control": "no-store"})


@router.get(WS, response_class=HTMLResponse)
async def workspace_page(request: Request, sub: str, rg: str, ws: str) -> HTMLResponse:
    """Index: the workspace's endpoints (with deployments), jobs and computes."""
    emu = emulator_of(request)
    base = _ws_url(sub, rg, ws)
    sections = []
    for kind in ("batchEndpoints", "onlineEndpoints"):
        links = []
        for endpoint in _children(emu, sub, rg, ws, kind):
            links.append((f"{base}/{kind}/{endpoint['name']}", endpoint["name"], _status(endpoint)))
            for dep in _children(emu, sub, rg, ws, kind, endpoint["name"], "deployments"):
                href = f"{base}/{kind}/{endpoint['name']}/deployments/{dep['name']}"
                links.append((href, f"{endpoint['name']} / {dep['name']}", _status(dep)))
        sections.append((_KINDS[kind] + "s", html.link_list(links)))
    jobs = _children(emu, sub, rg, ws, "jobs")
    sections.append(("Jobs", html.link_list((f"{base}/jobs/{j['name']}", j["name"], _status(j)) for j in jobs)))
    computes = _children(emu, sub, rg, ws, "computes")
    sections.append(
        ("Computes", html.link_list((f"{base}/computes/{c['name']}", c["name"], _status(c)) for c in computes))
    )
    return _respond(html.page(f"Workspace {ws}", None, sections))


def _endpoint_page(emu: Emulator, sub: str, rg: str, ws: str, kind: str, name: str) -> str:
    resource = _record(emu, sub, rg, ws, kind, name)["resource"]
    props = resource.get("properties") or {}
    base = _ws_url(sub, rg, ws)
    deployments = _children(emu, sub, rg, ws, kind, name, "deployments")
    sections = [("Settings", html.table(_settings(resource), css_id="settings"))]
    if kind == "onlineEndpoints":
        sections.append(("Traffic", html.table(props.get("traffic") or {}, css_id="traffic")))
        if props.get("mirrorTraffic"):
            sections.append(("Mirrored traffic", html.table(props["mirrorTraffic"], css_id="mirror-traffic")))
    else:
        default = (props.get("defaults") or {}).get("deploymentName")
        sections.append(("Traffic", html.table({"default deployment": default}, css_id="traffic")))
    links = [(f"{base}/{kind}/{name}/deployments/{d['name']}", d["name"], _status(d)) for d in deployments]
    sections.append(("Deployments", html.link_list(links)))
    return html.page(f"{_KINDS[kind]} {name}", _status(resource), sections, crumbs=_crumbs(sub, rg, ws))


@router.get(WS + "/batchEndpoints/{name}", response_class=HTMLResponse)
async def batch_endpoint_page(request: Request, sub: str, rg: str, ws: str, name: str) -> HTMLResponse:
    return _respond(_endpoint_page(emulator_of(request), sub, rg, ws, "batchEndpoints", name))


@router.get(WS + "/onlineEndpoints/{name}", response_class=HTMLResponse)
async def online_endpoint_page(request: Request, sub: str, rg: str, ws: str, name: str) -> HTMLResponse:
    return _respond(_endpoint_page(emulator_of(request), sub, rg, ws, "onlineEndpoints", name))


def _deployment_page(emu: Emulator, sub: str, rg: str, ws: str, kind: str, endpoint: str, name: str) -> str:
    record = _record(emu, sub, rg, ws, kind, endpoint, "deployments", name)
    resource = record["resource"]
    sections = [("Settings", html.table(_settings(resource), css_id="settings"))]
    if kind == "onlineEndpoints":
        try:
            logs = emu.online.logs(record, "InferenceServer", 200)
        except Exception as exc:  # noqa: BLE001 - a view: say why there is no log
            logs = f"(no log: {type(exc).__name__})"
        sections.append(("Logs", f'<pre id="logs">{html.esc(html.redact("", logs))}</pre>'))
    crumbs = _crumbs(sub, rg, ws) + (
        f' / <a href="{html.esc(_ws_url(sub, rg, ws))}/{kind}/{html.esc(endpoint)}">{html.esc(endpoint)}</a>'
    )
    return html.page(f"Deployment {endpoint} / {name}", _status(resource), sections, crumbs=crumbs)


@router.get(WS + "/batchEndpoints/{endpoint}/deployments/{name}", response_class=HTMLResponse)
async def batch_deployment_page(
    request: Request, sub: str, rg: str, ws: str, endpoint: str, name: str
) -> HTMLResponse:
    return _respond(_deployment_page(emulator_of(request), sub, rg, ws, "batchEndpoints", endpoint, name))


@router.get(WS + "/onlineEndpoints/{endpoint}/deployments/{name}", response_class=HTMLResponse)
async def online_deployment_page(
    request: Request, sub: str, rg: str, ws: str, endpoint: str, name: str
) -> HTMLResponse:
    return _respond(_deployment_page(emulator_of(request), sub, rg, ws, "onlineEndpoints", endpoint, name))


def _job_log(emu: Emulator, name: str) -> str | None:
    path = emu.jobs.workdir(name) / "job.log"
    if not path.is_file():
        return None
    return "\n".join(path.read_text(errors="replace").splitlines()[-200:])


def _job_mini_batches(emu: Emulator, name: str) -> list[dict[str, Any]]:
    """The report's mini_batches.csv, when the job's process left a copy in its work folder."""
    for candidate in ("mini_batches.csv", "report/mini_batches.csv"):
        path = emu.jobs.workdir(name) / candidate
        if path.is_file():
            return html.mini_batches_from_csv(path.read_text(errors="replace"))
    return []


@router.get(WS + "/jobs/{name}", response_class=HTMLResponse)
async def job_page(request: Request, sub: str, rg: str, ws: str, name: str) -> HTMLResponse:
    emu = emulator_of(request)
    record = _record(emu, sub, rg, ws, "jobs", name)
    resource = record["resource"]
    props = resource.get("properties") or {}
    service_props = props.get("properties") or {}
    summary: dict[str, Any] = {}
    raw_summary = service_props.get("azureml.summary")
    if raw_summary:
        try:
            summary = json.loads(raw_summary)
        except ValueError:
            summary = {"summary": raw_summary}
    settings = {
        **{k: v for k, v in _settings(resource, job=True).items() if not isinstance(v, dict) or v},
        "endpoint": service_props.get("azureml.endpointname"),
        "deployment": service_props.get("azureml.deploymentname"),
        "error": service_props.get("azureml.error"),
        "inputs": props.get("inputs"),
    }
    page = html.job_page(
        name,
        props.get("status"),
        settings={k: v for k, v in settings.items() if v not in (None, "", {})},
        summary={k: v for k, v in summary.items() if isinstance(v, dict)} or summary,
        mini_batches=_job_mini_batches(emu, name),
        outputs=props.get("outputs") or {},
        log_tail=_job_log(emu, name),
        crumbs=_crumbs(sub, rg, ws),
    )
    return _respond(page)


@router.get(WS + "/computes/{name}", response_class=HTMLResponse)
async def compute_page(request: Request, sub: str, rg: str, ws: str, name: str) -> HTMLResponse:
    emu = emulator_of(request)
    resource = _record(emu, sub, rg, ws, "computes", name)["resource"]
    sections = [("Settings", html.table(_settings(resource), css_id="settings"))]
    return _respond(html.page(f"Compute {name}", _status(resource), sections, crumbs=_crumbs(sub, rg, ws)))
