"""Generic ARM resource behaviour shared by every route module.

PUT (create or replace; LRO kinds provision asynchronously), PATCH (merge,
202), DELETE (202, or 204 when absent), GET, list, and :func:`render`, which
adds what depends on the request (scoring URIs pointing back at the emulator,
Studio links) and drops secrets.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import ArmError, not_found
from .assets import ws_key_of
from .ids import TENANT_ID, TYPE_PREFIX, new_id, studio_url, system_data
from .lro import accepted_headers, async_headers, finish_operation, new_operation
from .provisioning import settle
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

LABELS = {
    "batchEndpoint": "batch endpoint",
    "batchDeployment": "batch deployment",
    "onlineEndpoint": "online endpoint",
    "onlineDeployment": "online deployment",
    "compute": "compute",
    "job": "job",
    "datastore": "datastore",
}
TOP_LEVEL_OPTIONAL = ("kind", "identity", "sku")


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object body; ARM-style 400 when it is not one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ArmError(400, "BadRequest", f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise ArmError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def render(emu: Emulator, request: Request, record: dict[str, Any]) -> dict[str, Any]:
    """The resource as a response body."""
    resource: dict[str, Any] = json.loads(json.dumps(record["resource"]))  # a deep copy
    meta = record["meta"]
    kind = meta.get("kind")
    base = str(request.base_url).rstrip("/")
    props = resource.get("properties")
    if kind in ("batchEndpoint", "onlineEndpoint") and props is not None:
        sub, rg, ws = meta["ws"]
        name = resource["name"]
        if kind == "batchEndpoint":
            props["scoringUri"] = f"{base}/batch/{sub}/{rg}/{ws}/{name}/jobs"
            props["swaggerUri"] = f"{base}/batch/{sub}/{rg}/{ws}/{name}/swagger.json"
        else:
            props["scoringUri"] = f"{base}/online/{sub}/{rg}/{ws}/{name}/score"
            props["swaggerUri"] = f"{base}/online/{sub}/{rg}/{ws}/{name}/swagger.json"
        props.pop("keys", None)
    if kind == "workspace" and props is not None:
        props["discoveryUrl"] = f"{base}/discovery"
    if kind == "job" and props is not None:
        sub, rg, ws = meta["ws"]
        link = studio_url(sub, rg, ws, resource["name"])
        services = props.setdefault("services", {}) or {}
        services["Studio"] = {"jobServiceType": "Studio", "endpoint": link}
        props["services"] = services
    if kind == "datastore" and props is not None:
        creds = props.get("credentials")
        if isinstance(creds, dict) and isinstance(creds.get("secrets"), dict):
            # Like the service: the secrets object keeps only its type; values come from listSecrets.
            creds["secrets"] = {"secretsType": creds["secrets"].get("secretsType")}
    return resource


def current(emu: Emulator, key: str, label: str, name: str) -> dict[str, Any]:
    """The settled record at ``key``, or an ARM 404."""
    record = settle(emu, key)
    if record is None:
        raise not_found(label, name)
    return record


def _base_resource(
    emu: Emulator, arm_id: str, name: str, arm_type: str, body: dict[str, Any], old: dict[str, Any] | None, tracked: bool
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": arm_id,
        "name": name,
        "type": f"{TYPE_PREFIX}/{arm_type}" if arm_type else TYPE_PREFIX,
        "properties": dict(body.get("properties") or {}),
        "systemData": system_data(old["resource"].get("systemData") if old else None),
    }
    if tracked:  # proxy resources (asset versions, datastores) keep tags in properties
        resource["tags"] = body.get("tags") or {}
        resource["location"] = body.get("location") or (old or {}).get("resource", {}).get("location") or emu.config.location
    for field in TOP_LEVEL_OPTIONAL:
        if body.get(field) is not None:
            resource[field] = body[field]
    if isinstance(resource.get("identity"), dict):
        resource["identity"] = _identity(resource["identity"], (old or {}).get("resource", {}).get("identity"))
    return resource


def _identity(identity: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """A managed identity as the service answers it: a system-assigned one gets its principalId and
    tenantId (kept across updates)."""
    out = dict(identity)
    if "systemassigned" in str(out.get("type", "")).lower():
        old = old if isinstance(old, dict) else {}
        out["principalId"] = old.get("principalId") or new_id()
        out["tenantId"] = old.get("tenantId") or TENANT_ID
    return out


def put_resource(
    emu: Emulator,
    request: Request,
    *,
    ws: tuple[str, str, str],
    arm_id: str,
    name: str,
    arm_type: str,
    kind: str,
    body: dict[str, Any],
    lro: bool,
    tracked: bool = True,
    defaults: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Response:
    """Create or replace a resource; LRO kinds answer 201/200 with Azure-AsyncOperation."""
    key = norm_key(arm_id)
    sub = ws[0]
    with emu.store.lock:
        old = settle(emu, key)
        if old is not None and old["meta"].get("pending"):
            raise ArmError(
                409,
                "Conflict",
                f"The {LABELS.get(kind, kind)} '{name}' has an operation in progress "
                f"({old['resource'].get('properties', {}).get('provisioningState')}); retry when it is done.",
            )
        resource = _base_resource(emu, arm_id, name, arm_type, body, old, tracked)
        for field, value in (defaults or {}).items():
            resource["properties"].setdefault(field, value)
        new_meta = dict(old["meta"]) if old else {}
        new_meta.update(meta or {})
        new_meta.update(kind=kind, key=key, ws=list(ws), ws_key=ws_key_of(*ws))
        headers: dict[str, str] = {}
        if lro:
            resource["properties"]["provisioningState"] = "Updating" if old else "Creating"
            ready_at = emu.now() + emu.config.provisioning_delay
            op = new_operation(emu, sub, resource_key=key, kind="put")
            new_meta.update(pending="put", ready_at=ready_at, op=op, error=None)
            headers = async_headers(request, sub, op)
            # The service also names the operation in the body; Microsoft's REST walkthroughs read it there.
            inner = resource["properties"].get("properties")
            inner = dict(inner) if isinstance(inner, dict) else {}
            inner["AzureAsyncOperationUri"] = headers["Azure-AsyncOperation"]
            resource["properties"]["properties"] = inner
        elif kind not in ("datastore", "dataVersion"):  # DataVersionBase has no provisioningState
            resource["properties"].setdefault("provisioningState", "Succeeded")
        record = {"resource": resource, "meta": new_meta}
        emu.store.put(key, record)
        if lro and emu.config.provisioning_delay <= 0:
            record = settle(emu, key) or record
    return JSONResponse(render(emu, request, record), status_code=200 if old else 201, headers=headers)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for field, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(field), dict) and field != "tags":
            _merge(target[field], value)
        else:
            target[field] = value


def patch_resource(emu: Emulator, request: Request, *, key: str, label: str, name: str, body: dict[str, Any]) -> Response:
    """Merge ``body`` (tags, identity, sku, properties.description...) and answer 202 + Location."""
    with emu.store.lock:
        record = current(emu, key, label, name)
        if record["meta"].get("pending"):
            raise ArmError(409, "Conflict", f"The {label} '{name}' has an operation in progress.")
        _merge(record["resource"], body)
        record["resource"]["systemData"] = system_data(record["resource"].get("systemData"))
        record["resource"].setdefault("properties", {})["provisioningState"] = "Updating"
        sub = record["meta"]["ws"][0]
        op = new_operation(emu, sub, resource_key=key, kind="patch")
        record["meta"].update(pending="patch", ready_at=emu.now() + emu.config.provisioning_delay, op=op)
        emu.store.put(key, record)
    return Response(status_code=202, headers=accepted_headers(request, sub, op))


def delete_resource(emu: Emulator, request: Request, *, key: str, lro: bool = True) -> Response:
    """Start deleting (202 + Location); 204 when there is nothing to delete."""
    with emu.store.lock:
        record = settle(emu, key)
        if record is None:
            return Response(status_code=204)
        if not lro:
            emu.on_deleted(record)
            emu.store.delete(key)
            return Response(status_code=200)
        sub = record["meta"]["ws"][0]
        op = new_operation(emu, sub, resource_key=key, kind="delete")
        if record["meta"].get("pending") and record["meta"].get("op"):
            finish_operation(emu, record["meta"]["op"], "Canceled")
        record["resource"].setdefault("properties", {})["provisioningState"] = "Deleting"
        record["meta"].update(pending="delete", ready_at=emu.now() + emu.config.provisioning_delay, op=op)
        emu.store.put(key, record)
        if emu.config.provisioning_delay <= 0:
            settle(emu, key)
    return Response(status_code=202, headers=accepted_headers(request, sub, op))


def get_resource(emu: Emulator, request: Request, *, key: str, label: str, name: str) -> JSONResponse:
    """200 with the resource, or an ARM 404."""
    return JSONResponse(render(emu, request, current(emu, key, label, name)))


def list_resources(emu: Emulator, request: Request, *, collection_key: str) -> JSONResponse:
    """``{"value": [...]}`` of the settled children of ``collection_key``."""
    value = []
    for key, _ in emu.store.children(collection_key):
        record = settle(emu, key)
        if record is not None:
            value.append(render(emu, request, record))
    return JSONResponse({"value": value})
