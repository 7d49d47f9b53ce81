"""ARM jobs: list, get, cancel, delete.

The list shows each job's ``systemData.createdAt``, ``properties.properties``
(``azureml.endpointname``, ``azureml.deploymentname``, the invocation's own
properties), ``properties.tags``, ``inputs`` and ``outputs``: what a client needs to
find the job an invocation created when the invocation's answer was lost.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import not_found
from .context import emulator_of
from .ids import WS_PATH, workspace_id
from .lro import accepted_headers, new_operation
from .resources import list_resources, render
from .store import norm_key

router = APIRouter()
JOBS = WS_PATH + "/jobs"


@router.get(JOBS)
async def list_jobs(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    emu = emulator_of(request)
    collection = emu.workspace(sub, rg, ws) + "/jobs"
    if emu.config.noop_job_seconds is not None:
        for key, _ in list(emu.store.children(collection)):
            emu.jobs.refresh(key)
    return list_resources(emu, request, collection_key=collection)


@router.get(JOBS + "/{id}")
async def get_job(request: Request, sub: str, rg: str, ws: str, id: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = workspace_id(sub, rg, ws) + f"/jobs/{id}"
    emu.jobs.refresh(key)
    record = emu.store.get(key)
    if record is None:
        raise not_found("job", id)
    return JSONResponse(render(emu, request, record))


@router.post(JOBS + "/{id}/cancel")
async def cancel_job(request: Request, sub: str, rg: str, ws: str, id: str) -> Response:
    """202 + Location; the job ends Canceled (a terminal job stays as it is)."""
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = norm_key(workspace_id(sub, rg, ws) + f"/jobs/{id}")
    if emu.store.get(key) is None:
        raise not_found("job", id)
    emu.jobs.cancel(key)
    op = new_operation(emu, sub, resource_key=None, kind="action", ready_at=emu.now())
    return Response(status_code=202, headers=accepted_headers(request, sub, op))


@router.delete(JOBS + "/{id}")
async def delete_job(request: Request, sub: str, rg: str, ws: str, id: str) -> Response:
    """Cancel if running, then forget the job (202 + Location); 204 when absent."""
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = norm_key(workspace_id(sub, rg, ws) + f"/jobs/{id}")
    if emu.store.get(key) is None:
        return Response(status_code=204)
    emu.jobs.cancel(key, reason="deleted")
    emu.store.delete(key)
    op = new_operation(emu, sub, resource_key=None, kind="action", ready_at=emu.now())
    return Response(status_code=202, headers=accepted_headers(request, sub, op))
