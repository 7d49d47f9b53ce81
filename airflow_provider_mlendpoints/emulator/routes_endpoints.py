"""Batch and online endpoints and their deployments (ARM management plane)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import ArmError
from .ids import new_key
from .lro import accepted_action
from .resource_routes import Collection, Item, add_routes
from .resources import read_body
from .store import norm_key

router = APIRouter()

BATCH_ENDPOINTS = Collection("batchEndpoints", "endpointName", "batchEndpoint", "batch endpoint")
BATCH_DEPLOYMENTS = Collection(
    "batchEndpoints/{endpointName}/deployments", "deploymentName", "batchDeployment", "batch deployment",
    parent=BATCH_ENDPOINTS,
)
ONLINE_ENDPOINTS = Collection("onlineEndpoints", "endpointName", "onlineEndpoint", "online endpoint")
ONLINE_DEPLOYMENTS = Collection(
    "onlineEndpoints/{endpointName}/deployments", "deploymentName", "onlineDeployment", "online deployment",
    parent=ONLINE_ENDPOINTS,
)

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


# ----------------------------------------------------------------- batch endpoints and deployments
def _put_batch_endpoint(item: Item, body: dict[str, Any]) -> Response:
    old = item.emu.store.get(item.key)
    meta = {} if old else {"keys": {"primaryKey": new_key(), "secondaryKey": new_key()}}
    defaults = {"authMode": "AADToken", "defaults": {"deploymentName": None}, "properties": {}}
    return item.put(body, lro=True, defaults=defaults, meta=meta)


def _put_batch_deployment(item: Item, body: dict[str, Any]) -> Response:
    """Called with the store locked and the endpoint live."""
    emu = item.emu
    response = item.put(body, lro=True, defaults=BATCH_DEPLOYMENT_DEFAULTS)
    endpoint_key = item.parent().key
    endpoint = emu.store.get(endpoint_key)
    if endpoint is not None:
        defaults = endpoint["resource"]["properties"].setdefault("defaults", {}) or {}
        if not defaults.get("deploymentName"):
            # The service makes the first deployment of a batch endpoint its default.
            defaults["deploymentName"] = item.name
            endpoint["resource"]["properties"]["defaults"] = defaults
            emu.store.put(endpoint_key, endpoint)
    return response


# ----------------------------------------------------------------- online endpoints and deployments
def _put_online_endpoint(item: Item, body: dict[str, Any]) -> Response:
    old = item.emu.store.get(item.key)
    keys = (old or {}).get("meta", {}).get("keys") or {"primaryKey": new_key(), "secondaryKey": new_key()}
    initial = (body.get("properties") or {}).get("keys") or {}
    keys = {name: initial.get(name) or keys[name] for name in ("primaryKey", "secondaryKey")}
    defaults = {"authMode": "Key", "traffic": {}, "mirrorTraffic": {}, "publicNetworkAccess": "Enabled", "properties": {}}
    return item.put(body, lro=True, defaults=defaults, meta={"keys": keys})


def _put_online_deployment(item: Item, body: dict[str, Any]) -> Response:
    """Called with the store locked and the endpoint live; a running deployment stops first."""
    item.emu.online.stop_prefix(norm_key(item.key))
    defaults = {"endpointComputeType": "Managed", "properties": {}}
    return item.put(online_deployment_defaults(body), lro=True, defaults=defaults)


def _refuse_deleting_live_deployment(item: Item) -> None:
    """A deployment that receives traffic cannot be deleted (ArmError 400)."""
    endpoint = item.emu.store.get(item.parent().key)
    traffic = ((endpoint or {}).get("resource", {}).get("properties", {}) or {}).get("traffic") or {}
    if int(traffic.get(item.name, 0) or 0) > 0:
        raise ArmError(
            400, "UserError",
            f"Deployment '{item.name}' receives {traffic[item.name]}% of the endpoint's traffic; "
            "set its traffic to 0 before deleting it.",
        )


async def _list_keys(request: Request, endpoints: Collection) -> JSONResponse:
    record = Item.of(request, endpoints).current()
    return JSONResponse(record["meta"].get("keys") or {"primaryKey": None, "secondaryKey": None})


async def list_batch_keys(request: Request) -> JSONResponse:
    """The keys of a batch endpoint."""
    return await _list_keys(request, BATCH_ENDPOINTS)


async def list_online_keys(request: Request) -> JSONResponse:
    """The keys of an online endpoint."""
    return await _list_keys(request, ONLINE_ENDPOINTS)


add_routes(router, BATCH_ENDPOINTS, put=_put_batch_endpoint)
router.add_api_route(BATCH_ENDPOINTS.item_route + "/listkeys", list_batch_keys, methods=["POST"])
add_routes(router, BATCH_DEPLOYMENTS, put=_put_batch_deployment)
add_routes(router, ONLINE_ENDPOINTS, put=_put_online_endpoint)
router.add_api_route(ONLINE_ENDPOINTS.item_route + "/listKeys", list_online_keys, methods=["POST"])


@router.post(ONLINE_ENDPOINTS.item_route + "/regenerateKeys")
async def regenerate_online_keys(request: Request) -> Response:
    item = Item.of(request, ONLINE_ENDPOINTS)
    body = await read_body(request)
    key_type = body.get("keyType")
    if key_type not in ("Primary", "Secondary"):
        raise ArmError(400, "UserError", "property 'keyType' must be 'Primary' or 'Secondary'.")
    with item.emu.store.lock:
        record = item.current()
        record["meta"]["keys"][key_type.lower() + "Key"] = body.get("keyValue") or new_key()
        item.emu.store.put(item.key, record)
    return accepted_action(request, item.ws[0])


@router.post(ONLINE_ENDPOINTS.item_route + "/token")
async def get_online_token(request: Request) -> JSONResponse:
    item = Item.of(request, ONLINE_ENDPOINTS)
    with item.emu.store.lock:
        record = item.current()
        token = new_key()
        now = int(time.time())
        tokens = [t for t in record["meta"].get("tokens", []) if t["expiry"] > now][-20:]
        tokens.append({"token": token, "expiry": now + 3600})
        record["meta"]["tokens"] = tokens
        item.emu.store.put(item.key, record)
    return JSONResponse(
        {"accessToken": token, "tokenType": "Bearer", "expiryTimeUtc": now + 3600, "refreshAfterTimeUtc": now + 1800}
    )


add_routes(router, ONLINE_DEPLOYMENTS, put=_put_online_deployment, before_delete=_refuse_deleting_live_deployment)


@router.post(ONLINE_DEPLOYMENTS.item_route + "/getLogs")
async def get_online_logs(request: Request) -> JSONResponse:
    item = Item.of(request, ONLINE_DEPLOYMENTS)
    body = await read_body(request)
    record = item.current()
    tail = body.get("tail")
    container = body.get("containerType") or "InferenceServer"
    content = item.emu.online.logs(record, container, tail if isinstance(tail, int) else None)
    return JSONResponse({"content": content})


@router.get(ONLINE_DEPLOYMENTS.item_route + "/skus")
async def list_online_skus(request: Request) -> JSONResponse:
    Item.of(request, ONLINE_DEPLOYMENTS).current()
    sku = {
        "resourceType": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "sku": {"name": "Default", "tier": "Standard"},
        "capacity": {"minimum": 1, "maximum": 10, "default": 1, "scaleType": "Manual"},
    }
    return JSONResponse({"value": [sku]})
