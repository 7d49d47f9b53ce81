"""Batch and online endpoints and their deployments (ARM management plane)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import ArmError, not_found
from .context import emulator_of
from .ids import WS_PATH, new_key, workspace_id
from .lro import accepted_headers, new_operation
from .provisioning import settle
from .resources import (
    current,
    delete_resource,
    get_resource,
    list_resources,
    patch_resource,
    put_resource,
    read_body,
)
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter()

BATCH_DEPLOYMENT_DEFAULTS: dict[str, Any] = {
    "miniBatchSize": 10,
    "maxConcurrencyPerInstance": 1,
    "outputAction": "AppendRow",
    "outputFileName": "predictions.csv",
    "errorThreshold": -1,
    "loggingLevel": "Info",
    "retrySettings": {"maxRetries": 3, "timeout": "PT30S"},
    "resources": {"instanceCount": 1},
    "environmentVariables": {},
    "properties": {},
}


#: What the service fills in on an online deployment the PUT left out (the documented defaults of
#: the CLI's online deployment YAML: max_queue_wait_ms 500, one request per instance, probes
#: 10 s / 10 s / 2 s, thresholds 1 and 30). The request timeout is the emulator's own 90 s
#: (``online_scoring.DEFAULT_REQUEST_TIMEOUT``; the service's is 5 s) so the answer says what it does.
ONLINE_REQUEST_SETTINGS = {"requestTimeout": "PT1M30S", "maxQueueWait": "PT0.5S", "maxConcurrentRequestsPerInstance": 1}
ONLINE_PROBE = {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "successThreshold": 1, "failureThreshold": 30}


def online_deployment_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the service's defaults for scale settings, request settings and probes filled in."""
    props = dict(body.get("properties") or {})
    props.setdefault("endpointComputeType", "Managed")
    props.setdefault("properties", {})
    props.setdefault("appInsightsEnabled", False)
    props["scaleSettings"] = dict(props.get("scaleSettings") or {"scaleType": "Default"})
    props["requestSettings"] = {**ONLINE_REQUEST_SETTINGS, **(props.get("requestSettings") or {})}
    for probe in ("livenessProbe", "readinessProbe"):
        props[probe] = {**ONLINE_PROBE, **(props.get(probe) or {})}
    if str(props["endpointComputeType"]).lower() == "managed":
        props.setdefault("egressPublicNetworkAccess", "Enabled")
    return {**body, "properties": props}


def _ids(sub: str, rg: str, ws: str, *parts: str) -> str:
    return workspace_id(sub, rg, ws) + "".join(f"/{p}" for p in parts)


# ----------------------------------------------------------------- batch endpoints
BATCH = WS_PATH + "/batchEndpoints"


@router.get(BATCH)
async def list_batch_endpoints(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    emu = emulator_of(request)
    return list_resources(emu, request, collection_key=emu.workspace(sub, rg, ws) + "/batchendpoints")


@router.put(BATCH + "/{endpointName}")
async def put_batch_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    old = emu.store.get(_ids(sub, rg, ws, "batchEndpoints", endpointName))
    meta = {} if old else {"keys": {"primaryKey": new_key(), "secondaryKey": new_key()}}
    defaults = {"authMode": "AADToken", "defaults": {"deploymentName": None}, "properties": {}}
    return put_resource(
        emu, request, ws=(sub, rg, ws), arm_id=_ids(sub, rg, ws, "batchEndpoints", endpointName),
        name=endpointName, arm_type="batchEndpoints", kind="batchEndpoint", body=body, lro=True,
        defaults=defaults, meta=meta,
    )


@router.get(BATCH + "/{endpointName}")
async def get_batch_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName)
    return get_resource(emu, request, key=key, label="batch endpoint", name=endpointName)


@router.patch(BATCH + "/{endpointName}")
async def patch_batch_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName)
    return patch_resource(emu, request, key=key, label="batch endpoint", name=endpointName, body=body)


@router.delete(BATCH + "/{endpointName}")
async def delete_batch_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    return delete_resource(emu, request, key=_ids(sub, rg, ws, "batchEndpoints", endpointName))


@router.post(BATCH + "/{endpointName}/listkeys")
async def list_batch_keys(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    record = current(emu, _ids(sub, rg, ws, "batchEndpoints", endpointName), "batch endpoint", endpointName)
    return JSONResponse(record["meta"].get("keys") or {"primaryKey": None, "secondaryKey": None})


# ----------------------------------------------------------------- batch deployments
BATCH_DEP = BATCH + "/{endpointName}/deployments"


def _parent(emu: Emulator, key: str, label: str, name: str) -> dict[str, Any]:
    record = settle(emu, key)
    if record is None or record["meta"].get("pending") == "delete":
        raise not_found(label, name)
    return record


@router.get(BATCH_DEP)
async def list_batch_deployments(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName)
    _parent(emu, key, "batch endpoint", endpointName)
    return list_resources(emu, request, collection_key=key + "/deployments")


@router.put(BATCH_DEP + "/{deploymentName}")
async def put_batch_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    endpoint_key = _ids(sub, rg, ws, "batchEndpoints", endpointName)
    with emu.store.lock:
        _parent(emu, endpoint_key, "batch endpoint", endpointName)
        response = put_resource(
            emu, request, ws=(sub, rg, ws), arm_id=f"{endpoint_key}/deployments/{deploymentName}",
            name=deploymentName, arm_type="batchEndpoints/deployments", kind="batchDeployment", body=body,
            lro=True, defaults=BATCH_DEPLOYMENT_DEFAULTS,
        )
        endpoint = emu.store.get(endpoint_key)
        if endpoint is not None:
            defaults = endpoint["resource"]["properties"].setdefault("defaults", {}) or {}
            if not defaults.get("deploymentName"):
                # The service makes the first deployment of a batch endpoint its default.
                defaults["deploymentName"] = deploymentName
                endpoint["resource"]["properties"]["defaults"] = defaults
                emu.store.put(endpoint_key, endpoint)
    return response


@router.get(BATCH_DEP + "/{deploymentName}")
async def get_batch_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName, "deployments", deploymentName)
    return get_resource(emu, request, key=key, label="batch deployment", name=deploymentName)


@router.patch(BATCH_DEP + "/{deploymentName}")
async def patch_batch_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName, "deployments", deploymentName)
    return patch_resource(emu, request, key=key, label="batch deployment", name=deploymentName, body=body)


@router.delete(BATCH_DEP + "/{deploymentName}")
async def delete_batch_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "batchEndpoints", endpointName, "deployments", deploymentName)
    return delete_resource(emu, request, key=key)


# ----------------------------------------------------------------- online endpoints
ONLINE = WS_PATH + "/onlineEndpoints"


@router.get(ONLINE)
async def list_online_endpoints(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    emu = emulator_of(request)
    return list_resources(emu, request, collection_key=emu.workspace(sub, rg, ws) + "/onlineendpoints")


@router.put(ONLINE + "/{endpointName}")
async def put_online_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    arm_id = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    old = emu.store.get(arm_id)
    keys = (old or {}).get("meta", {}).get("keys") or {"primaryKey": new_key(), "secondaryKey": new_key()}
    initial = (body.get("properties") or {}).get("keys") or {}
    keys = {name: initial.get(name) or keys[name] for name in ("primaryKey", "secondaryKey")}
    defaults = {"authMode": "Key", "traffic": {}, "mirrorTraffic": {}, "publicNetworkAccess": "Enabled", "properties": {}}
    return put_resource(
        emu, request, ws=(sub, rg, ws), arm_id=arm_id, name=endpointName, arm_type="onlineEndpoints",
        kind="onlineEndpoint", body=body, lro=True, defaults=defaults, meta={"keys": keys},
    )


@router.get(ONLINE + "/{endpointName}")
async def get_online_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    return get_resource(emu, request, key=key, label="online endpoint", name=endpointName)


@router.patch(ONLINE + "/{endpointName}")
async def patch_online_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    return patch_resource(emu, request, key=key, label="online endpoint", name=endpointName, body=body)


@router.delete(ONLINE + "/{endpointName}")
async def delete_online_endpoint(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    return delete_resource(emu, request, key=_ids(sub, rg, ws, "onlineEndpoints", endpointName))


@router.post(ONLINE + "/{endpointName}/listKeys")
async def list_online_keys(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    record = current(emu, _ids(sub, rg, ws, "onlineEndpoints", endpointName), "online endpoint", endpointName)
    return JSONResponse(record["meta"]["keys"])


@router.post(ONLINE + "/{endpointName}/regenerateKeys")
async def regenerate_online_keys(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key_type = body.get("keyType")
    if key_type not in ("Primary", "Secondary"):
        raise ArmError(400, "UserError", "property 'keyType' must be 'Primary' or 'Secondary'.")
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    with emu.store.lock:
        record = current(emu, key, "online endpoint", endpointName)
        record["meta"]["keys"][key_type.lower() + "Key"] = body.get("keyValue") or new_key()
        emu.store.put(key, record)
    op = new_operation(emu, sub, resource_key=None, kind="action", ready_at=emu.now())
    return Response(status_code=202, headers=accepted_headers(request, sub, op))


@router.post(ONLINE + "/{endpointName}/token")
async def get_online_token(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    with emu.store.lock:
        record = current(emu, key, "online endpoint", endpointName)
        token = new_key()
        now = int(time.time())
        tokens = [t for t in record["meta"].get("tokens", []) if t["expiry"] > now][-20:]
        tokens.append({"token": token, "expiry": now + 3600})
        record["meta"]["tokens"] = tokens
        emu.store.put(key, record)
    return JSONResponse(
        {"accessToken": token, "tokenType": "Bearer", "expiryTimeUtc": now + 3600, "refreshAfterTimeUtc": now + 1800}
    )


# ----------------------------------------------------------------- online deployments
ONLINE_DEP = ONLINE + "/{endpointName}/deployments"


@router.get(ONLINE_DEP)
async def list_online_deployments(request: Request, sub: str, rg: str, ws: str, endpointName: str) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    _parent(emu, key, "online endpoint", endpointName)
    return list_resources(emu, request, collection_key=key + "/deployments")


@router.put(ONLINE_DEP + "/{deploymentName}")
async def put_online_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = online_deployment_defaults(await read_body(request))
    endpoint_key = _ids(sub, rg, ws, "onlineEndpoints", endpointName)
    with emu.store.lock:
        _parent(emu, endpoint_key, "online endpoint", endpointName)
        emu.online.stop_prefix(norm_key(f"{endpoint_key}/deployments/{deploymentName}"))
        return put_resource(
            emu, request, ws=(sub, rg, ws), arm_id=f"{endpoint_key}/deployments/{deploymentName}",
            name=deploymentName, arm_type="onlineEndpoints/deployments", kind="onlineDeployment", body=body,
            lro=True, defaults={"endpointComputeType": "Managed", "properties": {}},
        )


@router.get(ONLINE_DEP + "/{deploymentName}")
async def get_online_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName, "deployments", deploymentName)
    return get_resource(emu, request, key=key, label="online deployment", name=deploymentName)


@router.patch(ONLINE_DEP + "/{deploymentName}")
async def patch_online_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName, "deployments", deploymentName)
    return patch_resource(emu, request, key=key, label="online deployment", name=deploymentName, body=body)


@router.delete(ONLINE_DEP + "/{deploymentName}")
async def delete_online_deployment(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> Response:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    endpoint = emu.store.get(_ids(sub, rg, ws, "onlineEndpoints", endpointName))
    traffic = ((endpoint or {}).get("resource", {}).get("properties", {}) or {}).get("traffic") or {}
    if int(traffic.get(deploymentName, 0) or 0) > 0:
        raise ArmError(
            400, "UserError",
            f"Deployment '{deploymentName}' receives {traffic[deploymentName]}% of the endpoint's traffic; "
            "set its traffic to 0 before deleting it.",
        )
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName, "deployments", deploymentName)
    return delete_resource(emu, request, key=key)


@router.post(ONLINE_DEP + "/{deploymentName}/getLogs")
async def get_online_logs(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    body = await read_body(request)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName, "deployments", deploymentName)
    record = current(emu, key, "online deployment", deploymentName)
    tail = body.get("tail")
    container = body.get("containerType") or "InferenceServer"
    content = emu.online.logs(record, container, tail if isinstance(tail, int) else None)
    return JSONResponse({"content": content})


@router.get(ONLINE_DEP + "/{deploymentName}/skus")
async def list_online_skus(
    request: Request, sub: str, rg: str, ws: str, endpointName: str, deploymentName: str
) -> JSONResponse:
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    key = _ids(sub, rg, ws, "onlineEndpoints", endpointName, "deployments", deploymentName)
    current(emu, key, "online deployment", deploymentName)
    sku = {
        "resourceType": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "sku": {"name": "Default", "tier": "Standard"},
        "capacity": {"minimum": 1, "maximum": 10, "default": 1, "scaleType": "Manual"},
    }
    return JSONResponse({"value": [sku]})
