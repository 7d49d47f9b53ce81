"""Admin endpoints under ``/_emulator`` (never faulted; all but ``health`` need the emulator's token).

- ``GET /_emulator/health``: readiness probe.
- ``GET|POST /_emulator/faults``: read / replace the fault settings (JSON of
  :class:`~.config.FaultSettings`; ``{}`` turns faults off).
- ``GET|DELETE /_emulator/requests``: request and fault counters / zero them.
- ``GET|POST /_emulator/config``: read / change ``provisioning_delay`` and
  ``traffic_seed``.
- ``POST /_emulator/reset``: forget all resources and jobs, zero counters, faults off.
- ``GET /_emulator/jobs/{name}/log?tail=N``: the batch job process's log (text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from .arm_errors import ArmError
from .config import FaultSettings
from .context import emulator_of

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter(prefix="/_emulator")


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    emu = emulator_of(request)
    return JSONResponse({"status": "ok", "spec_validation": emu.validator is not None})


@router.get("/faults")
async def get_faults(request: Request) -> JSONResponse:
    return JSONResponse(emulator_of(request).faults.settings.to_dict())


@router.post("/faults")
async def set_faults(request: Request) -> JSONResponse:
    emu = emulator_of(request)
    try:
        data = await request.json() if (await request.body()).strip() else {}
        settings = FaultSettings.from_dict(data if isinstance(data, dict) else {})
    except (ValueError, TypeError) as exc:
        raise ArmError(400, "BadRequest", f"invalid fault settings: {exc}") from exc
    emu.faults.set(settings)
    return JSONResponse(settings.to_dict())


@router.get("/requests")
async def get_requests(request: Request) -> JSONResponse:
    return JSONResponse(emulator_of(request).counters.snapshot())


@router.delete("/requests")
async def reset_requests(request: Request) -> JSONResponse:
    emulator_of(request).counters.reset()
    return JSONResponse(emulator_of(request).counters.snapshot())


def _config_view(emu: Emulator) -> dict[str, Any]:
    return {
        "provisioning_delay": emu.config.provisioning_delay,
        "traffic_seed": emu.config.traffic_seed,
        "location": emu.config.location,
        "state_dir": str(emu.config.state_dir) if emu.config.state_dir else None,
        "data_root": str(emu.config.data_root),
        "spec_validation": emu.validator is not None,
    }


@router.get("/config")
async def get_config(request: Request) -> JSONResponse:
    return JSONResponse(_config_view(emulator_of(request)))


@router.post("/config")
async def set_config(request: Request) -> JSONResponse:
    emu = emulator_of(request)
    data = await request.json()
    if not isinstance(data, dict) or set(data) - {"provisioning_delay", "traffic_seed"}:
        raise ArmError(400, "BadRequest", "settable: provisioning_delay (seconds), traffic_seed (int or null)")
    if "provisioning_delay" in data:
        delay = data["provisioning_delay"]
        if not isinstance(delay, (int, float)) or delay < 0:
            raise ArmError(400, "BadRequest", "provisioning_delay must be a non-negative number")
        emu.config.provisioning_delay = float(delay)
    if "traffic_seed" in data:
        emu.online.seed(data["traffic_seed"])
    return JSONResponse(_config_view(emu))


@router.post("/reset")
async def reset(request: Request) -> JSONResponse:
    emu = emulator_of(request)
    emu.reset()
    emu.counters.reset()
    emu.faults.set(FaultSettings())
    return JSONResponse({"status": "reset"})


@router.get("/jobs/{name}/log")
async def job_log(request: Request, name: str, tail: int = 200) -> PlainTextResponse:
    """The last ``tail`` lines of a batch job's process log (engine output, tracebacks)."""
    emu = emulator_of(request)
    path = emu.jobs.workdir(name) / "job.log"
    if "/" in name or not path.is_file():
        raise ArmError(404, "ResourceNotFound", f"No log for job '{name}'.")
    lines = path.read_text(errors="replace").splitlines()
    return PlainTextResponse("\n".join(lines[-tail:] if tail > 0 else lines) + "\n")
