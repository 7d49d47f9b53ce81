"""ARM jobs: list, get, cancel, delete.

The list shows each job's ``systemData.createdAt``, ``properties.properties``
(``azureml.endpointname``, ``azureml.deploymentname``, the invocation's own
properties), ``properties.tags``, ``inputs`` and ``outputs``: what a client needs to
find the job an invocation created when the invocation's answer was lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import not_found
from .context import emulator_of
from .ids import WS_PATH, workspace_id
from .lro import accepted_action
from .resources import list_resources, render
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

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
    return JSONResponse(render(emu, request, emu.jobs.current((sub, rg, ws), id)))


def _job_key(request: Request, sub: str, rg: str, ws: str, id: str) -> tuple[Emulator, str, bool]:
    """(emulator, store key, whether the job exists) of the job a request names."""
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = norm_key(workspace_id(sub, rg, ws) + f"/jobs/{id}")
    return emu, key, emu.store.get(key) is not None


@router.post(JOBS + "/{id}/cancel")
async def cancel_job(request: Request, sub: str, rg: str, ws: str, id: str) -> Response:
    """202 + Location; the job ends Canceled (a terminal job stays as it is)."""
    emu, key, exists = _job_key(request, sub, rg, ws, id)
    if not exists:
        raise not_found("job", id)
    emu.jobs.cancel(key)
    return accepted_action(request, sub)


@router.delete(JOBS + "/{id}")
async def delete_job(request: Request, sub: str, rg: str, ws: str, id: str) -> Response:
    """Cancel if running, then forget the job (202 + Location); 204 when absent."""
    emu, key, exists = _job_key(request, sub, rg, ws, id)
    if not exists:
        return Response(status_code=204)
    emu.jobs.cancel(key, reason="deleted")
    emu.store.delete(key)
    return accepted_action(request, sub)
