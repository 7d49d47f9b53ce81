"""The workspace discovery document and the run-history routes the azure-ai-ml SDK reads for jobs.

- ``GET /discovery``: the workspace's ``discoveryUrl`` (rendered per request):
  every service URL (``api``, ``history``, ``catalog``, ...) is the emulator itself.
- ``GET /mferp/managementfrontend/subscriptions/.../batchEndpoints/{e}/jobs``:
  the data-plane job list of a batch endpoint (``batch_endpoints.list_jobs``).
- ``GET /history/v1.0/subscriptions/.../runs/{run}[/details|/children]``: a job
  as run history shows it (``jobs.stream`` reads the details' status).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .context import emulator_of

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter()

DISCOVERY_KEYS = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling", "modelmanagement", "pipelines", "studio")
RUNS = (
    "/history/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices"
    "/workspaces/{ws}/runs/{run}"
)
MFE_BATCH_JOBS = (
    "/mferp/managementfrontend/subscriptions/{sub}/resourceGroups/{rg}/providers"
    "/Microsoft.MachineLearningServices/workspaces/{ws}/batchEndpoints/{endpoint}/jobs"
)
RUN_STATUS = {"NotStarted": "NotStarted", "Starting": "Starting", "Running": "Running", "Completed": "Completed"}


@router.get("/discovery")
async def discovery(request: Request) -> JSONResponse:
    """Service URLs of the workspace: all of them this emulator."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse({key: base for key in DISCOVERY_KEYS})


def _job(emu: Emulator, sub: str, rg: str, ws: str, run: str) -> dict[str, Any]:
    emu.workspace(sub, rg, ws)
    return emu.jobs.current((sub, rg, ws), run, label="run")


def _run(record: dict[str, Any]) -> dict[str, Any]:
    resource = record["resource"]
    props = resource["properties"]
    created = resource.get("systemData", {}).get("createdAt")
    return {
        "runId": resource["name"],
        "runUuid": resource["name"],
        "displayName": props.get("displayName") or resource["name"],
        "experimentId": props.get("experimentName"),
        "status": props.get("status"),
        "runType": "azureml.PipelineRun",
        "createdUtc": created,
        "startTimeUtc": created,
        "properties": props.get("properties") or {},
        "tags": props.get("tags") or {},
        "parentRunId": None,
        "target": props.get("computeId"),
        "error": None,
        "warnings": [],
        "logFiles": {},
    }


@router.get(RUNS)
async def get_run(request: Request, sub: str, rg: str, ws: str, run: str) -> JSONResponse:
    return JSONResponse(_run(_job(emulator_of(request), sub, rg, ws, run)))


@router.get(RUNS + "/details")
async def get_run_details(request: Request, sub: str, rg: str, ws: str, run: str) -> JSONResponse:
    record = _job(emulator_of(request), sub, rg, ws, run)
    details = _run(record)
    status = record["resource"]["properties"].get("status")
    if status == "Failed":
        message = record["resource"]["properties"].get("properties", {}).get("azureml.error") or "The job failed."
        details["error"] = {"error": {"code": "UserError", "message": message}}
    return JSONResponse(details)


@router.get(RUNS + "/children")
async def get_run_children(request: Request, sub: str, rg: str, ws: str, run: str) -> JSONResponse:
    """A batch job has no child runs here (the emulator scores in one process)."""
    _job(emulator_of(request), sub, rg, ws, run)
    return JSONResponse({"value": [], "nextLink": None})


@router.get(MFE_BATCH_JOBS)
async def list_batch_endpoint_jobs(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> JSONResponse:
    """The jobs one batch endpoint started, in the data-plane shape (BatchJobResource)."""
    from .resources import render

    emu = emulator_of(request)
    collection = emu.workspace(sub, rg, ws) + "/jobs"
    value = []
    for key, record in list(emu.store.children(collection)):
        if str(record["resource"]["properties"].get("properties", {}).get("azureml.endpointname", "")).lower() != endpoint.lower():
            continue
        emu.jobs.refresh(key)
        value.append(render(emu, request, emu.store.get(key) or record))
    return JSONResponse({"value": value, "nextLink": None})


WS_DATA = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
)
OUTPUT_MARK = "/outputs/"


def _long_uri(sub: str, rg: str, ws: str, uri: str) -> str:
    """``azureml://datastores/...`` in the service's long form (with subscription, group, workspace)."""
    short = "azureml://datastores/"
    if uri.startswith(short):
        return f"azureml://subscriptions/{sub}/resourcegroups/{rg}/workspaces/{ws}/datastores/" + uri[len(short):]
    return uri


@router.post("/history/v1.0" + WS_DATA + "/rundata")
async def get_run_data(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    """A run's metadata with its outputs as typed asset references (``jobs.download`` reads them)."""
    from .resources import read_body

    body = await read_body(request)
    record = _job(emulator_of(request), sub, rg, ws, str(body.get("runId") or ""))
    run = _run(record)
    outputs = record["resource"]["properties"].get("outputs") or {}
    run["outputs"] = {
        name: {"assetId": record["resource"]["id"] + OUTPUT_MARK + name, "type": str(out.get("jobOutputType") or "uri_folder")}
        for name, out in outputs.items()
        if isinstance(out, dict)
    }
    return JSONResponse({"runMetadata": run, "runDefinition": {}, "jobSpecification": {}})


@router.post("/data/v1.0" + WS_DATA + "/dataversion/batchGetResolvedUris")
async def batch_get_resolved_uris(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    """Storage URIs of job outputs named by the asset ids :func:`get_run_data` answered."""
    from .resources import read_body

    emu = emulator_of(request)
    body = await read_body(request)
    values = {}
    for asset_id in body.get("values") or []:
        job_id, _, name = str(asset_id).rpartition(OUTPUT_MARK)
        record = emu.store.get(job_id) if job_id else None
        out = ((record or {}).get("resource", {}).get("properties", {}).get("outputs") or {}).get(name)
        if isinstance(out, dict) and out.get("uri"):
            values[asset_id] = {"uri": _long_uri(sub, rg, ws, str(out["uri"])), "type": out.get("jobOutputType") or "uri_folder"}
    return JSONResponse({"values": values})
