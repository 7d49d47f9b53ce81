"""Batch-endpoint invocation (data plane) and online scoring.

Batch invoke: ``POST {endpoint.properties.scoringUri}`` with an AAD token for
``https://ml.azure.com/.default``; header ``azureml-model-deployment`` targets
a non-default deployment. The answer is the job (name, status, Studio link).

Idempotency: the API takes no client-chosen job name, so a replayed POST
would start a second job. The invoke POST is therefore sent with the
``non_idempotent`` pipeline option: it is retried only after a 429 (the
service refused it) or an error raised before the request was sent
(connection refused, DNS); any other failure (5xx, read timeout, connection
reset after sending) surfaces at once as a typed error, and the caller should
look for the job (``jobs.list``) before invoking again.

Online scoring: ``POST {scoringUri}`` with ``Authorization: Bearer <key or
token>``; scoring is side-effect free, so 429/5xx are retried within the
bounded retry settings and a persistent 429 surfaces as ThrottledError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from azure.core.rest import HttpRequest

from .errors import ValidationError
from .pipeline import NON_IDEMPOTENT
from .resources import BatchEndpoint, Job, OnlineEndpoint

DEPLOYMENT_HEADER = "azureml-model-deployment"
InputType = Literal["uri_folder", "uri_file"]

_TYPE_NAMES = {
    "uri_folder": "UriFolder",
    "uri_file": "UriFile",
    "urifolder": "UriFolder",
    "urifile": "UriFile",
}


def iso_seconds(seconds: int | float | str) -> str:
    """30 -> ``"PT30S"``; an ISO 8601 string is passed through."""
    if isinstance(seconds, str):
        return seconds
    return f"PT{int(seconds)}S"


@dataclass(frozen=True)
class InvokeOverrides:
    """Per-invocation overrides of the deployment's settings (None: keep the deployment's)."""

    mini_batch_size: int | None = None
    instance_count: int | None = None
    max_retries: int | None = None
    timeout: int | str | None = None  # seconds, or ISO 8601
    error_threshold: int | None = None
    output_file_name: str | None = None
    logging_level: str | None = None

    def to_rest(self) -> dict[str, Any]:
        """The override fields of the invoke body's ``properties`` (batch-job REST names)."""
        out: dict[str, Any] = {}
        if self.mini_batch_size is not None:
            out["miniBatchSize"] = self.mini_batch_size
        if self.instance_count is not None:
            out["compute"] = {"instanceCount": self.instance_count}
        retry: dict[str, Any] = {}
        if self.max_retries is not None:
            retry["maxRetries"] = self.max_retries
        if self.timeout is not None:
            retry["timeout"] = iso_seconds(self.timeout)
        if retry:
            out["retrySettings"] = retry
        if self.error_threshold is not None:
            out["errorThreshold"] = self.error_threshold
        if self.output_file_name is not None:
            out["outputFileName"] = self.output_file_name
        if self.logging_level is not None:
            out["loggingLevel"] = self.logging_level.capitalize()
        return out


def _io_type(kind: str) -> str:
    try:
        return _TYPE_NAMES[kind.lower()]
    except KeyError:
        raise ValidationError(f"input/output type must be uri_folder or uri_file, not {kind!r}") from None


def _guess_type(uri: str) -> str:
    return "UriFolder" if uri.endswith("/") or "." not in uri.rsplit("/", 1)[-1] else "UriFile"


def batch_invoke_body(
    inputs: Mapping[str, str | Mapping[str, str]],
    outputs: Mapping[str, str | Mapping[str, str]] | None = None,
    overrides: InvokeOverrides | None = None,
) -> dict[str, Any]:
    """The current invoke body.

    ``inputs``/``outputs``: name -> URI, or name -> ``{"uri": ..., "type": "uri_folder"|"uri_file"}``.
    Produces ``{"properties": {"InputData": {name: {"JobInputType", "Uri"}}, "OutputData": {name:
    {"JobOutputType", "Uri"}}, ...overrides}}``.
    """
    if not inputs:
        raise ValidationError("a batch invocation needs at least one input")

    def entries(items: Mapping[str, Any], type_key: str) -> dict[str, Any]:
        out = {}
        for name, value in items.items():
            uri = value if isinstance(value, str) else value["uri"]
            kind = (
                _guess_type(uri)
                if isinstance(value, str) or not value.get("type")
                else _io_type(value["type"])
            )
            out[name] = {type_key: kind, "Uri": uri}
        return out

    props: dict[str, Any] = {"InputData": entries(inputs, "JobInputType")}
    if outputs:
        props["OutputData"] = entries(outputs, "JobOutputType")
    props.update((overrides or InvokeOverrides()).to_rest())
    return {"properties": props}


def batch_invoke_body_2021(
    *,
    input_uri: str | None = None,
    dataset_name: str | None = None,
    dataset_version: str | None = None,
    output_datastore_id: str | None = None,
    output_path: str | None = None,
    overrides: InvokeOverrides | None = None,
) -> dict[str, Any]:
    """The 2021 invoke body: ``dataset`` (DataUrl or DatasetVersion), ``outputDataset``, ``outputFileName``."""
    if input_uri:
        dataset: dict[str, Any] = {"dataInputType": "DataUrl", "path": input_uri}
    elif dataset_name:
        dataset = {"dataInputType": "DatasetVersion", "datasetName": dataset_name}
        if dataset_version:
            dataset["datasetVersion"] = dataset_version
    else:
        raise ValidationError("a 2021 batch invocation needs input_uri or dataset_name")
    props: dict[str, Any] = {"dataset": dataset}
    if output_datastore_id or output_path:
        props["outputDataset"] = {
            k: v for k, v in (("datastoreId", output_datastore_id), ("path", output_path)) if v
        }
    props.update((overrides or InvokeOverrides()).to_rest())
    return {"properties": props}


def _decode(response: Any) -> Any:
    text = response.text()
    ctype = (response.headers.get("content-type") or "").lower()
    if "json" in ctype or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class InvokeOperations:
    """Batch invoke and online scoring; built by the client facades."""

    def __init__(
        self,
        arm: Any,
        data_plane: Any,
        scoring: Any,
        config: Any,
        data_plane_credential: Any,
        batch_endpoints: Any,
        online_endpoints: Any,
    ) -> None:
        self._batch_endpoints = batch_endpoints
        self._online_endpoints = online_endpoints
        self._arm = arm
        self._dp = data_plane
        self._score = scoring
        self._config = config
        self._credential = data_plane_credential

    # -- batch ----------------------------------------------------------------------------------------
    def invoke_batch_endpoint(
        self,
        endpoint_name: str,
        body: dict[str, Any],
        *,
        deployment_name: str | None = None,
        scoring_uri: str | None = None,
    ) -> Any:
        """Start a batch job; returns the :class:`Job` (name, status, ``studio_url``).

        ``body`` comes from :func:`batch_invoke_body` or :func:`batch_invoke_body_2021`. The POST is
        never replayed once it may have reached the service (see the module docstring).
        """

        def post(uri: str) -> Any:
            headers = {"Content-Type": "application/json"}
            if deployment_name:
                headers[DEPLOYMENT_HEADER] = deployment_name
            req = HttpRequest("POST", self._config.rebase_data_plane(uri), json=body, headers=headers)
            return self._dp.call(req, Job.from_rest, **{NON_IDEMPOTENT: True})

        if scoring_uri:
            return post(scoring_uri)
        endpoint = self._batch_endpoints.get(endpoint_name)
        return self._arm.then(endpoint, lambda ep: post(self._require_uri(ep)))

    def get_batch_job(self, scoring_uri: str, job_name: str) -> Any:
        """``GET {scoringUri}/{name}``: the batch job as the data plane sees it."""
        url = self._config.rebase_data_plane(scoring_uri.rstrip("/") + "/" + job_name)
        return self._dp.call(HttpRequest("GET", url), Job.from_rest)

    # -- online ---------------------------------------------------------------------------------------
    def score_online(
        self,
        endpoint_name: str,
        payload: Any,
        *,
        deployment_name: str | None = None,
        key: str | None = None,
        token: str | None = None,
        scoring_uri: str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """POST ``payload`` to the online endpoint; returns parsed JSON (or text).

        Auth: ``key`` or ``token`` if given; otherwise by the endpoint's ``authMode``: Key ->
        ``listKeys``, AMLToken -> ``token``, AADToken -> the client's credential for ml.azure.com.
        """
        ops = self._online_endpoints

        def post(uri: str, secret: str) -> Any:
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": content_type}
            if deployment_name:
                headers[DEPLOYMENT_HEADER] = deployment_name
            data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
            req = HttpRequest("POST", self._config.rebase_data_plane(uri), content=data, headers=headers)
            return self._score.then(self._score.raw(req), _decode)

        def with_endpoint(ep: OnlineEndpoint) -> Any:
            uri = scoring_uri or self._require_uri(ep)
            if key or token:
                return post(uri, key or token)  # type: ignore[arg-type]
            mode = (ep.auth_mode or "Key").lower()
            if mode == "key":
                return self._arm.then(
                    ops.list_keys(ep.name or endpoint_name), lambda k: post(uri, k.primary_key)
                )
            if mode == "amltoken":
                return self._arm.then(
                    ops.get_token(ep.name or endpoint_name), lambda t: post(uri, t.access_token)
                )
            got = self._credential.get_token(self._config.data_plane_scope)
            return self._arm.then(got, lambda t: post(uri, t.token))

        if scoring_uri and (key or token):
            return post(scoring_uri, key or token)  # type: ignore[arg-type]
        return self._arm.then(ops.get(endpoint_name), with_endpoint)

    @staticmethod
    def _require_uri(ep: BatchEndpoint | OnlineEndpoint) -> str:
        if not ep.scoring_uri:
            raise ValidationError(
                f"endpoint {ep.name!r} has no scoringUri yet (provisioningState {ep.provisioning_state})"
            )
        return ep.scoring_uri
