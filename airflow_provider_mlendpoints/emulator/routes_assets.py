"""Workspace, asset containers and versions (codes, models, environments, data), datastores, computes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .arm_errors import ArmError, not_found
from .context import DEFAULT_DATASTORE, emulator_of, parse_connection_string
from .ids import TYPE_PREFIX, WS_PATH, new_id, system_data, utc_now_iso, workspace_id
from .pending_upload import pending_upload_answer
from .resource_routes import Collection, Item, add_routes
from .resources import delete_resource, get_resource, list_resources, put_resource, read_body, render

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter()
ASSET_COLLECTIONS = ("codes", "models", "environments", "data")
LABEL = {"codes": "code", "models": "model", "environments": "environment", "data": "data"}
DATA_TYPES = {"uri_file": "uri_file", "uri_folder": "uri_folder", "mltable": "mltable"}
VERSION_DEFAULTS: dict[str, Any] = {"isArchived": False, "isAnonymous": False, "properties": {}, "tags": {}}
#: What the service fills in per asset kind (a model version always has ``flavors`` and a type;
#: the azure-ai-ml SDK reads both).
VERSION_KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "models": {"flavors": {}, "modelType": "custom_model"},
    "environments": {"osType": "Linux", "autoRebuild": "Disabled"},
}


def _check_data_version(body: dict[str, Any]) -> dict[str, Any]:
    """A data version body (DataVersionBase) with ``dataType`` normalised; ArmError when unusable."""
    props = dict(body.get("properties") or {})
    kind = DATA_TYPES.get(str(props.get("dataType") or "").lower())
    if kind is None:
        raise ArmError(
            400, "UserError", "property 'properties.dataType' must be one of uri_file, uri_folder, mltable."
        )
    if not isinstance(props.get("dataUri"), str) or not props["dataUri"].strip():
        raise ArmError(400, "UserError", "property 'properties.dataUri' is required.")
    props["dataType"] = kind
    return {**body, "properties": props}


@router.get(WS_PATH)
async def get_workspace(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    """The workspace (created on first use)."""
    emu = emulator_of(request)
    record = emu.store.get(emu.workspace(sub, rg, ws))
    if record is None:  # an admin reset between creating it and reading it
        raise not_found("workspace", ws)
    return JSONResponse(render(emu, request, record))


# ----------------------------------------------------------------- asset containers and versions
def _container_record(emu: Emulator, sub: str, rg: str, ws: str, collection: str, name: str, body: dict[str, Any] | None) -> dict[str, Any]:
    arm_id = workspace_id(sub, rg, ws) + f"/{collection}/{name}"
    old = emu.store.get(arm_id)
    props = dict((body or {}).get("properties") or {}) if body is not None else dict((old or {}).get("resource", {}).get("properties", {}))
    keep = (old or {}).get("resource", {}).get("properties", {})
    for field in ("latestVersion", "nextVersion"):
        if field in keep:
            props[field] = keep[field]
    props.setdefault("isArchived", False)
    if collection != "data":  # DataContainer has no provisioningState
        props.setdefault("provisioningState", "Succeeded")
    resource = {
        "id": arm_id,
        "name": name,
        "type": f"{TYPE_PREFIX}/{collection}",
        "properties": props,
        "systemData": system_data((old or {}).get("resource", {}).get("systemData")),
    }
    meta = {"kind": "assetContainer", "ws": [sub, rg, ws]}
    return {"resource": resource, "meta": meta}


def _make_asset_routes(collection: str) -> None:
    """The routes of one asset collection (``codes``, ``models``, ``environments``, ``data``)."""
    _add_container_routes(collection)
    _add_version_routes(collection)


def _add_container_routes(collection: str) -> None:
    base = WS_PATH + f"/{collection}"
    label = LABEL[collection]

    async def list_containers(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
        emu = emulator_of(request)
        return list_resources(emu, request, collection_key=emu.workspace(sub, rg, ws) + f"/{collection}")

    async def put_container(request: Request, sub: str, rg: str, ws: str, name: str) -> JSONResponse:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        body = await read_body(request)
        with emu.store.lock:
            existed = emu.store.get(workspace_id(sub, rg, ws) + f"/{collection}/{name}") is not None
            record = _container_record(emu, sub, rg, ws, collection, name, body)
            emu.store.put(record["resource"]["id"], record)
        return JSONResponse(render(emu, request, record), status_code=200 if existed else 201)

    async def get_container(request: Request, sub: str, rg: str, ws: str, name: str) -> JSONResponse:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        key = workspace_id(sub, rg, ws) + f"/{collection}/{name}"
        return get_resource(emu, request, key=key, label=f"{label} container", name=name)

    async def delete_container(request: Request, sub: str, rg: str, ws: str, name: str) -> Response:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        return delete_resource(emu, request, key=workspace_id(sub, rg, ws) + f"/{collection}/{name}", lro=False)

    router.add_api_route(base, list_containers, methods=["GET"])
    router.add_api_route(base + "/{name}", put_container, methods=["PUT"])
    router.add_api_route(base + "/{name}", get_container, methods=["GET"])
    router.add_api_route(base + "/{name}", delete_container, methods=["DELETE"])


def _add_version_routes(collection: str) -> None:
    base = WS_PATH + f"/{collection}"
    label = LABEL[collection]

    async def list_versions(request: Request, sub: str, rg: str, ws: str, name: str) -> JSONResponse:
        emu = emulator_of(request)
        key = emu.workspace(sub, rg, ws) + f"/{collection}/{name}"
        return list_resources(emu, request, collection_key=key + "/versions")

    async def put_version(request: Request, sub: str, rg: str, ws: str, name: str, version: str) -> Response:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        body = await read_body(request)
        if collection == "data":
            body = _check_data_version(body)
        with emu.store.lock:
            container = _container_record(emu, sub, rg, ws, collection, name, None)
            props = container["resource"]["properties"]
            props["latestVersion"] = version
            props["nextVersion"] = str(int(version) + 1) if version.isdigit() else None
            if collection == "data":
                props.setdefault("dataType", body["properties"]["dataType"])
            emu.store.put(container["resource"]["id"], container)
            return put_resource(
                emu, request, ws=(sub, rg, ws), arm_id=container["resource"]["id"] + f"/versions/{version}",
                name=version, arm_type=f"{collection}/versions", kind=f"{label}Version", body=body, lro=False,
                tracked=False, defaults={**VERSION_DEFAULTS, **VERSION_KIND_DEFAULTS.get(collection, {})},
            )

    async def get_version(request: Request, sub: str, rg: str, ws: str, name: str, version: str) -> JSONResponse:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        key = workspace_id(sub, rg, ws) + f"/{collection}/{name}/versions/{version}"
        return get_resource(emu, request, key=key, label=f"{label} version", name=f"{name}:{version}")

    async def delete_version(request: Request, sub: str, rg: str, ws: str, name: str, version: str) -> Response:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        key = workspace_id(sub, rg, ws) + f"/{collection}/{name}/versions/{version}"
        return delete_resource(emu, request, key=key, lro=False)

    async def start_pending_upload(request: Request, sub: str, rg: str, ws: str, name: str, version: str) -> JSONResponse:
        emu = emulator_of(request)
        emu.workspace(sub, rg, ws)
        body = await read_body(request)
        upload_id = body.get("pendingUploadId") or new_id()
        from .assets import datastore_location

        uri = f"azureml://datastores/{DEFAULT_DATASTORE}/paths/LocalUpload/{upload_id}/{name}"
        location, _ = datastore_location(emu, emu.workspace(sub, rg, ws), uri) or (uri, {})
        if "://" not in location:
            location = "file://" + location
        return JSONResponse(pending_upload_answer(emu, sub, rg, str(upload_id), location))

    router.add_api_route(base + "/{name}/versions", list_versions, methods=["GET"])
    router.add_api_route(base + "/{name}/versions/{version}", put_version, methods=["PUT"])
    router.add_api_route(base + "/{name}/versions/{version}", get_version, methods=["GET"])
    router.add_api_route(base + "/{name}/versions/{version}", delete_version, methods=["DELETE"])
    if collection in ("codes", "models"):  # workspace data versions have none in 2024-04-01
        router.add_api_route(base + "/{name}/versions/{version}/startPendingUpload", start_pending_upload, methods=["POST"])


for _collection in ASSET_COLLECTIONS:
    _make_asset_routes(_collection)


# ----------------------------------------------------------------- datastores
DATASTORES = Collection("datastores", "name", "datastore", "datastore")


@router.get(DATASTORES.route)
async def list_datastores(request: Request, sub: str, rg: str, ws: str) -> JSONResponse:
    emu = emulator_of(request)
    listed = list_resources(emu, request, collection_key=emu.workspace(sub, rg, ws) + "/datastores")
    wanted = request.query_params.get("isDefault", "").lower()
    if wanted not in ("true", "false"):
        return listed
    # ?isDefault=true|false filters as the service does (Microsoft's REST walkthroughs read value[0]).
    value = json.loads(bytes(listed.body))["value"]
    keep = wanted == "true"
    return JSONResponse({"value": [d for d in value if bool(d["properties"].get("isDefault")) == keep]})


def _put_datastore(item: Item, body: dict[str, Any]) -> Response:
    emu = item.emu
    props = dict(body.get("properties") or {})
    creds = dict(props.get("credentials") or {})
    secrets = dict(creds.get("secrets") or {})
    if secrets:
        creds["secrets"] = {"secretsType": secrets.get("secretsType")}  # values stay in meta
    props["credentials"] = creds
    meta: dict[str, Any] = {"secrets": secrets, "local_root": None, "connection_string": None, "account_url": None}
    conn = emu.config.storage_connection_string
    if conn and props.get("datastoreType") == "AzureBlob":
        parts = parse_connection_string(conn)
        if props.get("accountName") == parts.get("AccountName"):
            meta.update(connection_string=conn, account_url=parts.get("BlobEndpoint"))
    elif not conn and props.get("datastoreType") == "AzureBlob" and props.get("accountName") == emu.config.storage_account:
        meta["local_root"] = "/".join((*item.ws, item.name))
    return item.put(
        {**body, "properties": props}, lro=False, tracked=False, meta=meta,
        defaults={"isDefault": False, "properties": {}, "tags": {}},
    )


add_routes(router, DATASTORES, put=_put_datastore, listing=False, patch=False, lro_delete=False)


@router.post(DATASTORES.item_route + "/listSecrets")
async def list_datastore_secrets(request: Request) -> JSONResponse:
    item = Item.of(request, DATASTORES)
    secrets = item.current()["meta"].get("secrets") or {}
    if not secrets.get("secretsType"):
        raise ArmError(400, "UserError", f"The datastore '{item.name}' has no secrets.")
    return JSONResponse(secrets)


# ----------------------------------------------------------------- computes
COMPUTES = Collection("computes", "computeName", "compute", "compute")


def _put_compute(item: Item, body: dict[str, Any]) -> Response:
    props = dict(body.get("properties") or {})
    if not props.get("computeType"):
        raise ArmError(400, "BadRequest", "The property 'properties.computeType' is required.")
    now = utc_now_iso()
    props.setdefault("createdOn", now)
    props["modifiedOn"] = now
    props.setdefault("isAttachedCompute", False)
    props.setdefault("disableLocalAuth", False)
    props.setdefault("computeLocation", body.get("location") or item.emu.config.location)
    return item.put({**body, "properties": props}, lro=True)


add_routes(router, COMPUTES, put=_put_compute)
