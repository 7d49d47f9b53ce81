"""Long-running operations: Azure-AsyncOperation and Location URLs.

An operation record (key ``ops/<id>``) remembers which resource it is about and
when it is done. Status is computed lazily: reading it first settles the
resource (see :mod:`.provisioning`), so no timers run and state survives a
restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import ArmError
from .context import emulator_of
from .ids import PROVIDER, new_id, utc_now_iso

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter()

STATUS_PATH = "/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}/mfeOperationsStatus/{op_id}"
RESULT_PATH = "/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}/mfeOperationResults/{op_id}"
TERMINAL = {"Succeeded", "Failed", "Canceled"}
#: Terminal operations older than this are forgotten (checked every PRUNE_EVERY new operations).
KEEP_SECONDS = 3600.0
PRUNE_EVERY = 500
_created = 0


def op_key(op_id: str) -> str:
    return f"ops/{op_id}"


def new_operation(
    emu: Emulator,
    sub: str,
    *,
    resource_key: str | None,
    kind: str,
    ready_at: float | None = None,
    result: dict[str, Any] | None = None,
) -> str:
    """Record an in-progress operation; ``kind`` is put, patch, delete or action."""
    global _created
    _created += 1
    if _created % PRUNE_EVERY == 0:
        prune_operations(emu)
    op_id = new_id()
    emu.store.put(
        op_key(op_id),
        {
            "resource": {"id": op_id, "status": "InProgress", "startTime": utc_now_iso()},
            "meta": {
                "sub": sub,
                "resource_key": resource_key,
                "kind": kind,
                "ready_at": ready_at,
                "result": result,
                "created": emu.now(),
            },
        },
    )
    return op_id


def prune_operations(emu: Emulator, keep_seconds: float = KEEP_SECONDS) -> int:
    """Forget terminal operations older than ``keep_seconds``; how many were removed."""
    removed = 0
    cutoff = emu.now() - keep_seconds
    for key in emu.store.list_keys("ops/"):
        record = emu.store.get(key)
        if record and record["resource"]["status"] in TERMINAL and record["meta"].get("created", 0) < cutoff:
            emu.store.delete(key)
            removed += 1
    return removed


def finish_operation(emu: Emulator, op_id: str | None, status: str, error: dict[str, Any] | None = None) -> None:
    """Mark an operation terminal (idempotent)."""
    if not op_id:
        return
    with emu.store.lock:
        record = emu.store.get(op_key(op_id))
        if record is None or record["resource"]["status"] in TERMINAL:
            return
        record["resource"]["status"] = status
        record["resource"]["endTime"] = utc_now_iso()
        if error:
            record["resource"]["error"] = error
        emu.store.put(op_key(op_id), record)


def operation_state(emu: Emulator, op_id: str) -> dict[str, Any]:
    """The operation record after settling what it is about; 404 when unknown."""
    record = emu.store.get(op_key(op_id))
    if record is None:
        raise ArmError(404, "ResourceNotFound", f"The operation '{op_id}' was not found.")
    if record["resource"]["status"] not in TERMINAL:
        meta = record["meta"]
        if meta.get("resource_key"):
            from .provisioning import settle

            settle(emu, meta["resource_key"])
        elif meta.get("ready_at") is not None and emu.now() >= meta["ready_at"]:
            finish_operation(emu, op_id, "Succeeded")
        record = emu.store.get(op_key(op_id)) or record
    return record


def _urls(request: Request, sub: str, op_id: str) -> tuple[str, str]:
    base = str(request.base_url).rstrip("/")
    location = emulator_of(request).config.location
    status = base + STATUS_PATH.format(sub=sub, location=location, op_id=op_id) + "?api-version=2024-04-01"
    result = base + RESULT_PATH.format(sub=sub, location=location, op_id=op_id) + "?api-version=2024-04-01"
    return status, result


def async_headers(request: Request, sub: str, op_id: str) -> dict[str, str]:
    """Headers of a PUT that is provisioning (Azure-AsyncOperation)."""
    status, _ = _urls(request, sub, op_id)
    return {"Azure-AsyncOperation": status}


def accepted_headers(request: Request, sub: str, op_id: str) -> dict[str, str]:
    """Headers of a 202 (Location, Retry-After, and the async status URL too)."""
    status, result = _urls(request, sub, op_id)
    return {"Location": result, "Retry-After": str(emulator_of(request).retry_after()), "Azure-AsyncOperation": status}


def accepted_action(request: Request, sub: str) -> Response:
    """The 202 of an action that is already done (cancel, delete a job, regenerate keys): a new
    operation that reads Succeeded, named in the headers."""
    emu = emulator_of(request)
    op = new_operation(emu, sub, resource_key=None, kind="action", ready_at=emu.now())
    return Response(status_code=202, headers=accepted_headers(request, sub, op))


@router.get(STATUS_PATH)
async def get_operation_status(request: Request, sub: str, location: str, op_id: str) -> JSONResponse:
    """``{"status": InProgress|Succeeded|Failed|Canceled, "error": ...}``."""
    record = operation_state(emulator_of(request), op_id)
    body = dict(record["resource"])
    body["name"] = op_id
    body["id"] = request.url.path
    return JSONResponse(body)


@router.get(RESULT_PATH)
async def get_operation_result(request: Request, sub: str, location: str, op_id: str) -> Response:
    """202 while running; then 200 with the resource, 204 without one, or the error."""
    emu = emulator_of(request)
    record = operation_state(emu, op_id)
    status = record["resource"]["status"]
    if status not in TERMINAL:
        return Response(status_code=202, headers=accepted_headers(request, sub, op_id))
    if status == "Failed":
        error = record["resource"].get("error") or {"code": "InternalServerError", "message": "operation failed"}
        raise ArmError(400, error.get("code", "BadRequest"), error.get("message", ""), error.get("details"))
    meta = record["meta"]
    if meta.get("result") is not None:
        return JSONResponse(meta["result"])
    if meta["kind"] in ("put", "patch") and meta.get("resource_key"):
        from .resources import render

        current = emu.store.get(meta["resource_key"])
        if current is not None:
            return JSONResponse(render(emu, request, current))
    return Response(status_code=204)


__all__ = ["PROVIDER", "router", "new_operation", "finish_operation", "operation_state", "accepted_action"]
