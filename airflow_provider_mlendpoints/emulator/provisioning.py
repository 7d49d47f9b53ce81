"""Provisioning progression and reference checks.

A resource that was PUT, PATCHed or DELETEd carries ``meta.pending`` and
``meta.ready_at``; :func:`settle` finishes it once the delay has passed:
deletes it, or runs its kind's reference check and ends Succeeded or Failed
(with the message in the async operation's error and in
``properties.provisioningErrors``-free form: ``meta.error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import assets
from .lro import finish_operation

if TYPE_CHECKING:
    from .context import Emulator

Checker = Callable[["Emulator", dict[str, Any]], str | None]


def _check_assets(emu: Emulator, record: dict[str, Any], model_id: str | None) -> list[str | None]:
    """What is wrong with the model, code and environment a deployment names (None where all is well)."""
    props = record["resource"].get("properties", {})
    ws_key = record["meta"]["ws_key"]
    problems = []
    if model_id:
        problems.append(assets.check_ref(emu, ws_key, "models", model_id))
    code = props.get("codeConfiguration") or {}
    if code.get("codeId"):
        problems.append(assets.check_ref(emu, ws_key, "codes", code["codeId"]))
    if props.get("environmentId"):
        problems.append(assets.check_ref(emu, ws_key, "environments", props["environmentId"]))
    return problems


def _problem(problems: list[str | None]) -> str | None:
    return "; ".join(p for p in problems if p) or None


def _check_batch_deployment(emu: Emulator, record: dict[str, Any]) -> str | None:
    props = record["resource"].get("properties", {})
    problems = _check_assets(emu, record, (props.get("model") or {}).get("assetId"))
    if props.get("compute"):
        problems.append(assets.check_compute(emu, record["meta"]["ws_key"], props["compute"]))
    return _problem(problems)


def _check_online_deployment(emu: Emulator, record: dict[str, Any]) -> str | None:
    """An online deployment names its model by id (``properties.model``), a batch one in ``model.assetId``."""
    return _problem(_check_assets(emu, record, record["resource"].get("properties", {}).get("model")))


def _check_online_endpoint(emu: Emulator, record: dict[str, Any]) -> str | None:
    props = record["resource"].get("properties", {})
    traffic = props.get("traffic") or {}
    missing = [
        name for name in traffic if emu.store.get(f"{record['meta']['key']}/deployments/{name}") is None
    ]
    if missing:
        return f"Traffic refers to deployments that do not exist: {', '.join(sorted(missing))}."
    total = sum(int(v) for v in traffic.values())
    if traffic and total not in (0, 100):
        return f"Traffic values must sum to 0 or 100; they sum to {total}."
    return None


CHECKERS: dict[str, Checker] = {
    "batchDeployment": _check_batch_deployment,
    "onlineDeployment": _check_online_deployment,
    "onlineEndpoint": _check_online_endpoint,
}


def settle(emu: Emulator, key: str) -> dict[str, Any] | None:
    """Finish a due pending operation on ``key``; the current record (None when gone)."""
    with emu.store.lock:
        record = emu.store.get(key)
        if record is None:
            return None
        meta = record["meta"]
        pending = meta.get("pending")
        if not pending or emu.now() < meta.get("ready_at", 0):
            return record
        if pending == "delete":
            emu.on_deleted(record)
            emu.store.delete(key)
            finish_operation(emu, meta.get("op"), "Succeeded")
            return None
        problem = None
        if pending == "put":
            checker = CHECKERS.get(meta.get("kind", ""))
            problem = checker(emu, record) if checker else None
            if problem is None and meta.get("kind") == "onlineDeployment":
                done, problem = emu.online.provision(record)  # init() runs while the deployment provisions
                if not done:
                    return record
        state = "Failed" if problem else "Succeeded"
        props = record["resource"].setdefault("properties", {})
        props["provisioningState"] = state
        meta["pending"] = None
        error = {"code": "UserError", "message": problem} if problem else None
        meta["error"] = error
        emu.store.put(key, record)
        finish_operation(emu, meta.get("op"), state, error)
        return record
