"""Data plane: batch endpoint invocation and online scoring.

- ``POST /batch/{sub}/{rg}/{ws}/{endpoint}/jobs`` starts a batch job (current
  ``InputData``/``OutputData`` body or the 2021 ``dataset``/``outputDataset``
  body with overrides; ``properties.tags`` and ``properties.properties`` of the
  body are kept on the job); ``GET .../jobs/{name}`` reads it. Same bearer token as ARM.
- ``POST /online/{sub}/{rg}/{ws}/{endpoint}/score`` scores with an endpoint
  key, an endpoint token or the emulator's token; ``azureml-model-deployment``
  picks a deployment, otherwise the traffic split does (and ``mirrorTraffic``
  copies that request to the mirrored deployment, whose answer is discarded).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from . import assets
from .arm_errors import ArmError, not_found
from .context import emulator_of
from .ids import new_id, studio_url, workspace_id
from .resources import read_body, render
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

router = APIRouter()
BATCH = "/batch/{sub}/{rg}/{ws}/{endpoint}"
ONLINE = "/online/{sub}/{rg}/{ws}/{endpoint}"


def _get(d: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``d`` (the service is case-insensitive here)."""
    lower = {k.lower(): v for k, v in d.items()}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _succeeded(emu: Emulator, key: str, label: str, name: str) -> dict[str, Any]:
    from .provisioning import settle

    record = settle(emu, key)
    if record is None:
        raise not_found(label, name)
    state = record["resource"]["properties"].get("provisioningState")
    if state != "Succeeded":
        raise ArmError(409, "UserError", f"The {label} '{name}' is {state}, not Succeeded.")
    return record


def parse_invocation(body: dict[str, Any], job_name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(input {type, uri}, output {uri, name} or {}, overrides) of a batch invocation body."""
    props = _get(body, "properties") or {}
    if _get(props, "InputData"):
        input_, output = _current_body_data(props)
    else:
        input_, output = _v2021_body_data(props, job_name)
    if not output:
        output = {"name": "score", "uri": f"azureml://datastores/workspaceblobstore/paths/azureml/{job_name}/score/"}
    return input_, output, _invocation_overrides(props)


def _current_body_data(props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(input, output or {}) of a body with ``InputData`` / ``OutputData`` (API 2022-05 and later)."""
    inputs = _get(props, "InputData")
    if not isinstance(inputs, dict) or len(inputs) != 1:
        raise ArmError(400, "UserError", "property 'properties.InputData' must hold exactly one input.")
    name, spec = next(iter(inputs.items()))
    uri = _get(spec, "Uri")
    if not uri:
        raise ArmError(400, "UserError", f"property 'properties.InputData.{name}.Uri' is required.")
    input_ = {"name": name, "type": _get(spec, "JobInputType") or "UriFolder", "uri": uri}
    outputs = _get(props, "OutputData") or {}
    if not outputs:
        return input_, {}
    out_name, out_spec = next(iter(outputs.items()))
    out_uri = _get(out_spec, "Uri")
    return input_, ({"name": out_name, "uri": out_uri} if out_uri else {})


def _v2021_body_data(props: dict[str, Any], job_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(input, output or {}) of a 2021-style body (``dataset``, ``outputDataset``)."""
    dataset = _get(props, "dataset")
    if not dataset:
        raise ArmError(400, "UserError", "property 'properties.InputData' (or the 2021 'properties.dataset') is required.")
    input_ = {"name": "input_data", "type": "UriFolder", "uri": _v2021_input_uri(dataset)}
    out = _get(props, "outputDataset") or {}
    if not out:
        return input_, {}
    ds = str(_get(out, "datastoreId") or "workspaceblobstore").rstrip("/").rsplit("/", 1)[-1]
    path = str(_get(out, "path") or f"azureml/{job_name}/score").lstrip("/")
    return input_, {"name": "score", "uri": f"azureml://datastores/{ds}/paths/{path}"}


def _v2021_input_uri(dataset: dict[str, Any]) -> Any:
    """The input of a 2021 ``dataset``: a data URL, or a registered data asset (resolved at job creation)."""
    input_kind = str(_get(dataset, "dataInputType") or "DataUrl").lower()
    if input_kind == "datasetversion":
        ds_name, ds_version = _get(dataset, "datasetName"), _get(dataset, "datasetVersion")
        if not ds_name:
            raise ArmError(400, "UserError", "property 'properties.dataset.datasetName' is required.")
        return f"azureml:{ds_name}:{ds_version}" if ds_version else f"azureml:{ds_name}@latest"
    if input_kind == "dataurl":
        uri = _get(dataset, "path") or _get(dataset, "Uri")
        if not uri:
            raise ArmError(400, "UserError", "property 'properties.dataset.path' is required.")
        return uri
    raise ArmError(400, "UserError", "property 'properties.dataset.dataInputType' must be DataUrl or DatasetVersion.")


def _invocation_overrides(props: dict[str, Any]) -> dict[str, Any]:
    """The deployment settings a body overrides (they sit beside the input and output in both bodies)."""
    overrides: dict[str, Any] = {}
    for name in ("miniBatchSize", "errorThreshold", "outputFileName", "retrySettings", "loggingLevel"):
        if _get(props, name) is not None:
            overrides[name] = _get(props, name)
    compute = _get(props, "compute") or {}
    if isinstance(compute, dict) and _get(compute, "instanceCount"):
        overrides["instanceCount"] = _get(compute, "instanceCount")
    return overrides


def _job_body(emu: Emulator, request: Request, record: dict[str, Any]) -> dict[str, Any]:
    body = render(emu, request, record)
    sub, rg, ws = record["meta"]["ws"]
    body["properties"]["interactionEndpoints"] = {"Studio": {"endpoint": studio_url(sub, rg, ws, body["name"])}}
    return body


#: (label, the field holding its files) of the asset versions a batch deployment names.
_VERSION_FILES = {"codes": ("code", "codeUri"), "models": ("model", "modelUri")}


def _asset_version(emu: Emulator, ws_key: str, collection: str, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(location of its files, properties) of the code or model version ``ref``; LookupError when it does not exist."""
    label, files = _VERSION_FILES[collection]
    record = assets.find_ref(emu, ws_key, collection, ref)
    if record is None:
        raise LookupError(f"{label} version '{ref}' not found")
    props = record["resource"]["properties"]
    return assets.any_location(emu, ws_key, props.get(files) or ""), props


@router.post(BATCH + "/jobs")
async def invoke_batch(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> JSONResponse:
    """Start a batch scoring job on the default (or the header's) deployment."""
    emu = emulator_of(request)
    ws_key = emu.workspace(sub, rg, ws)
    body = await read_body(request)
    ep_key = norm_key(workspace_id(sub, rg, ws) + f"/batchEndpoints/{endpoint}")
    ep = _succeeded(emu, ep_key, "batch endpoint", endpoint)
    dep_name = request.headers.get("azureml-model-deployment") or (
        (ep["resource"]["properties"].get("defaults") or {}).get("deploymentName")
    )
    if not dep_name:
        raise ArmError(400, "UserError", f"The batch endpoint '{endpoint}' has no default deployment; name one with the azureml-model-deployment header.")
    dep = _succeeded(emu, f"{ep_key}/deployments/{dep_name}", "batch deployment", dep_name)
    job_name = "batchjob-" + new_id()
    input_, output, overrides = parse_invocation(body, job_name)
    dep_props = dep["resource"]["properties"]
    try:
        code = model = None
        model_type = None
        code_id = (dep_props.get("codeConfiguration") or {}).get("codeId")
        if code_id:
            code, _ = _asset_version(emu, ws_key, "codes", code_id)
        model_id = (dep_props.get("model") or {}).get("assetId")
        if model_id:
            model, model_props = _asset_version(emu, ws_key, "models", model_id)
            model_type = model_props.get("modelType")
        data = assets.resolve_data_input(emu, ws_key, input_["uri"])  # a registered data asset: its dataUri
        if data is not None and data[1] == "uri_file":
            input_["type"] = "UriFile"
        in_loc = assets.any_location(emu, ws_key, data[0] if data is not None else input_["uri"])
        out_loc = assets.any_location(emu, ws_key, output["uri"])
    except LookupError as exc:
        raise ArmError(400, "UserError", str(exc).strip("'\"")) from exc
    spec = {
        "job_name": job_name,
        "deployment": {"name": dep_name, "endpoint_name": endpoint, "properties": dep_props},
        "code": code,
        "model": model,
        "model_type": {"mlflow_model": "mlflow_model", "triton_model": "triton_model"}.get(str(model_type).lower(), "custom_model"),
        "input": {"uri": in_loc["uri"], "storage_options": in_loc["storage_options"], "type": input_["type"]},
        "output": {"uri": out_loc["uri"], "storage_options": out_loc["storage_options"]},
        "overrides": overrides,
        "workers": emu.config.job_workers,
    }
    job_input_type = "uri_file" if str(input_["type"]).lower() == "urifile" else "uri_folder"
    body_props = _get(body, "properties") or {}
    user_tags = _get(body_props, "tags")
    user_props = _get(body_props, "properties")
    record = await asyncio.to_thread(
        emu.jobs.create,
        (sub, rg, ws),
        job_name,
        endpoint=ep,
        deployment=dep,
        inputs={input_["name"]: {"jobInputType": job_input_type, "uri": input_["uri"]}},
        outputs={output["name"]: {"jobOutputType": "uri_folder", "uri": output["uri"], "mode": "ReadWriteMount"}},
        spec=spec,
        tags=user_tags if isinstance(user_tags, dict) else None,
        properties=user_props if isinstance(user_props, dict) else None,
    )
    return JSONResponse(_job_body(emu, request, record))


@router.get(BATCH + "/jobs/{name}")
async def get_batch_job(request: Request, sub: str, rg: str, ws: str, endpoint: str, name: str) -> JSONResponse:
    """The job, as ARM ``jobs/{name}`` shows it (plus interactionEndpoints)."""
    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    return JSONResponse(_job_body(emu, request, emu.jobs.current((sub, rg, ws), name)))


def _online_authorized(emu: Emulator, record: dict[str, Any], header: str) -> bool:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    meta = record["meta"]
    if token == emu.config.token or token in (meta.get("keys") or {}).values():
        return True
    now = int(time.time())
    return any(t["token"] == token and t["expiry"] > now for t in meta.get("tokens", []))


@router.post(ONLINE + "/score")
async def score_online(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
    """Run the chosen deployment's ``run(body)`` and answer its JSON result."""
    from .online_scoring import ScoringError

    emu = emulator_of(request)
    emu.workspace(sub, rg, ws)
    ep_key = norm_key(workspace_id(sub, rg, ws) + f"/onlineEndpoints/{endpoint}")
    ep = emu.store.get(ep_key)
    if ep is None:
        raise not_found("online endpoint", endpoint)
    if not _online_authorized(emu, ep, request.headers.get("authorization", "")):
        return ArmError(401, "Unauthorized", "A valid endpoint key or token is required.", headers={"WWW-Authenticate": "Bearer"}).response()
    ep = _succeeded(emu, ep_key, "online endpoint", endpoint)
    props = ep["resource"]["properties"]
    pinned = request.headers.get("azureml-model-deployment")
    dep_name = pinned or emu.online.choose(props.get("traffic") or {})
    if not dep_name:
        raise ArmError(404, "NoDeployment", f"The online endpoint '{endpoint}' routes no traffic to any deployment.")
    dep = _succeeded(emu, f"{ep_key}/deployments/{dep_name}", "online deployment", dep_name)
    raw = (await request.body()).decode("utf-8", errors="replace")
    if not pinned:  # like Azure, only requests routed by the split are mirrored
        from .provisioning import settle

        for shadow in emu.online.mirror_targets(props.get("mirrorTraffic") or {}, dep_name):
            shadow_record = settle(emu, f"{ep_key}/deployments/{shadow}")
            if shadow_record and shadow_record["resource"]["properties"].get("provisioningState") == "Succeeded":
                emu.online.mirror(shadow_record, raw)
    try:
        result = await asyncio.to_thread(emu.online.score, dep, raw)
    except ScoringError as exc:
        headers = {"azureml-model-deployment": dep_name}
        code = {408: "RequestTimeout", 429: "TooManyRequests", 424: "ModelError"}.get(exc.status, "ScoringError")
        if exc.model_status is not None:
            headers["ms-azureml-model-error-statuscode"] = str(exc.model_status)
            headers["ms-azureml-model-error-reason"] = "model_error"
        if exc.status == 429:
            headers["Retry-After"] = "1"
        return ArmError(exc.status, code, str(exc), headers=headers).response()
    return JSONResponse(result, headers={"azureml-model-deployment": dep_name})


@router.get(BATCH + "/swagger.json")
@router.get(ONLINE + "/swagger.json")
async def swagger(request: Request) -> JSONResponse:
    """A minimal swagger document (the emulator does not infer schemas)."""
    return JSONResponse({"swagger": "2.0", "info": {"title": "scoring (emulator)", "version": "1.0"}, "paths": {}})
