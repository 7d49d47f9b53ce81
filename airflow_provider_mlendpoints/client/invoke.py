"""Batch-endpoint invocation (data plane) and online scoring.

Batch invoke: ``POST {endpoint.properties.scoringUri}`` with an AAD token for
``https://ml.azure.com/.default``; header ``azureml-model-deployment`` targets
a non-default deployment. The answer is the job (name, status, Studio link).

Idempotency and reconciliation
------------------------------
The API takes no client-chosen job name, so a replayed POST would start a
second job. The POST itself is therefore sent with the ``non_idempotent``
pipeline option: the retry policy replays it only after a 429 (the service
refused it), never after a transport error (the aiohttp transport reports a
connection the server closed after receiving the request like one that was
never made, so the error class cannot tell them apart). Any failure other
than a 429/408 or another 4xx is *ambiguous*: a 5xx, a read timeout or a
dropped connection may come after the service created the job.

With ``reconcile=True`` (the default) :meth:`InvokeOperations.invoke_batch_endpoint`
resolves an ambiguous failure instead of raising it:

1. Every attempt carries one client-generated correlation id (or the caller's
   ``correlation_id``), stamped into the body as
   ``properties.tags["mlendpoints.correlation_id"]`` and
   ``properties.properties["mlendpoints.correlation_id"]`` (the ``tags`` and
   ``properties`` of the service's ``BatchJob`` model, which the Azure SDK
   sends the same way).
2. After an ambiguous failure the client lists the workspace's jobs (ARM
   ``GET jobs``). A job carrying our correlation id is ours, whatever else
   the service recorded. A job carrying *another* correlation id is someone
   else's invocation and is never a candidate. Jobs carrying none are
   candidates when they are batch-invocation jobs of this
   endpoint (``properties.properties["azureml.endpointname"]``) and, when
   known, of this deployment (``azureml.deploymentname``), created
   (``systemData.createdAt``, else ``creationContext.createdAt``) no earlier
   than the first attempt's start minus ``clock_skew`` seconds (a job whose
   creation time is not reported stays a candidate), whose input
   URIs and (when the request names them) output URIs are exactly the
   request's (``azureml://`` URIs compared as datastore + path, so the
   service's long form matches the short one; trailing ``/`` ignored; a
   request whose inputs are not URIs, e.g. a 2021 DatasetVersion input, is
   not filtered on inputs). Jobs carrying our id win over unmarked ones.
3. Exactly one candidate: the job is adopted (logged at WARNING as a
   reattach) and returned. Several: :class:`DuplicateInvocationError` naming
   them; nothing is started. None: the list is repeated once after
   ``settle_delay`` seconds (a job being created may not be listed yet), and
   only then is the POST sent again, at most ``max_attempts`` POSTs in all;
   when they are used up, :class:`InvocationOutcomeUnknownError`.
4. If the job list itself cannot be read, :class:`InvocationOutcomeUnknownError`
   is raised: the client never POSTs again without having looked.

429 and 408 answers mean the service refused the request: it is sent again
after Retry-After (capped by ``RetrySettings.max_retry_after``) without
looking, within ``max_attempts``. Any other 4xx raises at once.

Limits (why this is safe, and where it is not airtight): the search relies
on the job being listed within ``settle_delay`` seconds of a lost answer
(listing is eventually consistent in the service); a job started by another
client in the same window on the same endpoint, deployment, inputs and
outputs that carries no correlation id is indistinguishable from ours, which
is why several candidates raise instead of picking one (and why, if ours was
never created, such a lone job would be adopted: no second job is started,
but the one returned is not ours); and if the service dropped the
invocation's ``tags``/``properties`` (the emulator keeps them; that the live
service copies them onto the job follows from its ``BatchJob`` model and was
not verified against Azure here), matching falls back to the other criteria
alone. The list is read in full (``nextLink``), up to
``max_listed`` jobs; a workspace with more raises
:class:`InvocationOutcomeUnknownError` rather than guess. ``reconcile=False``
restores the raw behaviour: the ambiguous error is raised and the caller
decides.

Online scoring: ``POST {scoringUri}`` with ``Authorization: Bearer <key or
token>``; scoring is side-effect free, so 429/5xx are retried within the
bounded retry settings and a persistent 429 surfaces as ThrottledError.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from azure.core.rest import HttpRequest

from ._steps import Call, Sleep, drive
from .datastore_blob import parse_datastore_uri
from .errors import ConflictError, MLEndpointsError, ServiceError, ThrottledError, ValidationError
from .pipeline import NON_IDEMPOTENT
from .resources import BatchEndpoint, Job, OnlineEndpoint

LOG = logging.getLogger("airflow_provider_mlendpoints.client.invoke")
#: Key of the correlation id in the invocation's ``tags`` and ``properties``.
CORRELATION_KEY = "mlendpoints.correlation_id"

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
            out["compute"] = {"instanceCount": self.instance_count, "isLocal": False}  # as the SDK sends it
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


class DuplicateInvocationError(ConflictError):
    """An invocation's answer was lost and several jobs could be the one it started.

    :ivar job_names: the candidate jobs; none was adopted and no other job was started.
    """

    def __init__(self, message: str, *, job_names: list[str], correlation_id: str) -> None:
        self.job_names = job_names
        self.correlation_id = correlation_id
        super().__init__(message, status=None, code="AmbiguousInvocation")


class InvocationOutcomeUnknownError(ServiceError):
    """An invocation's answer was lost and whether it started a job could not be settled.

    Look for a job carrying ``correlation_id`` (tag or property ``mlendpoints.correlation_id``)
    before invoking again. ``__cause__`` is the last failure.
    """

    def __init__(self, message: str, *, correlation_id: str, attempts: int) -> None:
        self.correlation_id = correlation_id
        self.attempts = attempts
        super().__init__(message, code="InvocationOutcomeUnknown")


@dataclass(frozen=True)
class ReconcileSettings:
    """Bounds of invoke reconciliation (see the module docstring).

    :param max_attempts: POSTs at most (the first included).
    :param settle_delay: seconds before the second look at the job list.
    :param clock_skew: seconds of tolerance between this machine's clock and the service's.
    :param max_listed: give up (outcome unknown) rather than read more jobs than this.
    """

    max_attempts: int = 3
    settle_delay: float = 3.0
    clock_skew: float = 120.0
    max_listed: int = 10000


def _norm_uri(uri: Any) -> str:
    text = str(uri or "").strip()
    if text.startswith("azureml://"):
        try:
            datastore, path = parse_datastore_uri(text)
        except ValidationError:
            return text.rstrip("/")
        return f"azureml-datastore:{datastore}/{path.strip('/')}"
    return text.rstrip("/")


def _ci(mapping: Any, name: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for key, value in mapping.items():
        if str(key).lower() == name.lower():
            return value
    return None


def _uris(entries: Any) -> set[str]:
    out = set()
    if isinstance(entries, Mapping):
        for spec in entries.values():
            uri = _ci(spec, "uri") if isinstance(spec, Mapping) else None
            if uri:
                out.add(_norm_uri(uri))
    return out


def request_uris(body: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(input URIs, output URIs) an invocation body names (normalized; outputs may be empty)."""
    props = _ci(body, "properties") or {}
    inputs = _uris(_ci(props, "InputData"))
    outputs = _uris(_ci(props, "OutputData"))
    if not inputs:
        dataset = _ci(props, "dataset") or {}
        path = _ci(dataset, "path") or _ci(dataset, "uri")
        if path:
            inputs = {_norm_uri(path)}
    return inputs, outputs


def with_correlation_id(body: Mapping[str, Any], correlation_id: str) -> dict[str, Any]:
    """A copy of ``body`` whose ``properties.tags`` and ``properties.properties`` carry the id."""
    out = copy.deepcopy(dict(body))
    props = out.setdefault("properties", {})
    for field in ("tags", "properties"):
        bag = props.get(field)
        bag = dict(bag) if isinstance(bag, Mapping) else {}
        bag[CORRELATION_KEY] = correlation_id
        props[field] = bag
    return out


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if "." in value:  # the service may write 7 fractional digits
        head, _, tail = value.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits):]
        value = f"{head}.{digits[:6]}{rest}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def job_created_at(job: Job) -> float | None:
    """POSIX time the job was created (``systemData.createdAt`` or ``creationContext.createdAt``)."""
    created = _parse_time((job.raw.get("systemData") or {}).get("createdAt"))
    if created is None:
        created = _parse_time((job.properties.get("creationContext") or {}).get("createdAt"))
    return created


def _correlation_of(job: Job) -> str | None:
    for field in ("tags", "properties"):
        value = _ci(job.properties.get(field), CORRELATION_KEY)
        if value:
            return str(value)
    return None


def matching_jobs(
    jobs: Iterable[Job],
    *,
    endpoint_name: str,
    deployment_name: str | None,
    since: float,
    inputs: set[str],
    outputs: set[str],
    correlation_id: str,
) -> list[Job]:
    """The jobs an invocation may have started (see the module docstring, step 2).

    Jobs carrying ``correlation_id`` are returned alone when there are any; otherwise the
    candidates carrying no correlation id at all that pass the endpoint, deployment, time and
    URI filters.
    """
    ours: list[Job] = []
    unmarked: list[Job] = []
    for job in jobs:
        marker = _correlation_of(job)
        if marker is not None:
            if marker == correlation_id:
                ours.append(job)  # the id is unique: ours however the service rewrote the rest
            continue  # another invocation's
        props = job.properties.get("properties") or {}
        endpoint = _ci(props, "azureml.endpointname")
        if not endpoint or str(endpoint).lower() != endpoint_name.lower():
            continue
        deployment = _ci(props, "azureml.deploymentname")
        if deployment_name and deployment and str(deployment).lower() != deployment_name.lower():
            continue
        created = job_created_at(job)
        if created is not None and created < since:
            continue
        if inputs and _uris(job.inputs) != inputs:
            continue
        if outputs and _uris(job.outputs) != outputs:
            continue
        unmarked.append(job)
    return ours or unmarked


def _classify(exc: Exception) -> str:
    """``refused`` (nothing started: 429, 408), ``ambiguous`` (5xx, no answer) or ``fatal``."""
    if not isinstance(exc, MLEndpointsError):
        return "fatal"
    if isinstance(exc, ThrottledError) or exc.status in (408, 429):
        return "refused"
    if isinstance(exc, ServiceError) and (exc.status is None or exc.status >= 500):
        return "ambiguous"
    return "fatal"


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
        reconcile: bool = True,
        correlation_id: str | None = None,
        reconcile_settings: ReconcileSettings | None = None,
    ) -> Any:
        """Start a batch job; returns the :class:`Job` (name, status, ``studio_url``).

        ``body`` comes from :func:`batch_invoke_body` or :func:`batch_invoke_body_2021`; it is
        sent with a correlation id stamped into its ``tags``/``properties`` (``correlation_id``,
        or a new one). With ``reconcile`` (default) an ambiguous failure of the POST (5xx,
        connection dropped after sending, read timeout) is settled by looking for the job the
        POST may have started before anything is sent again; the returned job may then be the
        ARM view of that job. Raises :class:`DuplicateInvocationError` or
        :class:`InvocationOutcomeUnknownError` when that cannot be settled; never starts a
        second job knowingly. See the module docstring for the exact rules and their limits.
        """
        settings = reconcile_settings or ReconcileSettings()
        cid = correlation_id or uuid.uuid4().hex
        stamped = with_correlation_id(body, cid)

        def post(uri: str) -> Any:
            headers = {"Content-Type": "application/json"}
            if deployment_name:
                headers[DEPLOYMENT_HEADER] = deployment_name
            req = HttpRequest("POST", self._config.rebase_data_plane(uri), json=stamped, headers=headers)
            return self._dp.call(req, Job.from_rest, **{NON_IDEMPOTENT: True})

        def run(uri: str, default_deployment: str | None) -> Any:
            if not reconcile:
                return post(uri)
            return drive(
                self._dp,
                self._reconciled(
                    lambda: post(uri),
                    endpoint_name=endpoint_name,
                    deployment_name=deployment_name or default_deployment,
                    body=stamped,
                    correlation_id=cid,
                    settings=settings,
                ),
            )

        if scoring_uri:
            return run(scoring_uri, None)
        endpoint = self._batch_endpoints.get(endpoint_name)
        return self._arm.then(endpoint, lambda ep: run(self._require_uri(ep), ep.default_deployment))

    def _list_jobs(self, limit: int) -> Any:
        request = HttpRequest(
            "GET", self._config.arm_url("jobs"), params={"api-version": self._config.api_version}
        )
        return self._arm.paged(request, Job.from_rest, limit)

    def _reconciled(
        self,
        post: Any,
        *,
        endpoint_name: str,
        deployment_name: str | None,
        body: Mapping[str, Any],
        correlation_id: str,
        settings: ReconcileSettings,
    ) -> Any:
        """The reconciling invocation as a :mod:`._steps` procedure (sync and async)."""
        inputs, outputs = request_uris(body)
        first_start: float | None = None
        last: Exception | None = None
        last_kind = ""
        attempt = 0
        while attempt < settings.max_attempts:
            attempt += 1
            started = time.time()
            first_start = started if first_start is None else first_start
            try:
                return (yield Call(post))
            except Exception as exc:
                kind = _classify(exc)
                if kind == "fatal":
                    raise
                last, last_kind = exc, kind
                if kind == "refused":
                    if attempt < settings.max_attempts:
                        wait = getattr(exc, "retry_after", None)
                        if wait is None:
                            wait = min(self._config.retry.backoff_factor * 2**attempt, self._config.retry.backoff_max)
                        yield Sleep(min(float(wait), self._config.retry.max_retry_after))
                    continue
                LOG.warning(
                    "batch invocation of %s: no answer (%s); looking for the job it may have started "
                    "(correlation id %s)",
                    endpoint_name,
                    exc,
                    correlation_id,
                )
            since = first_start - settings.clock_skew
            for look in range(2):
                if look:
                    yield Sleep(settings.settle_delay)
                try:
                    jobs = yield Call(lambda: self._list_jobs(settings.max_listed + 1))
                except Exception as exc:
                    raise InvocationOutcomeUnknownError(
                        f"batch invocation of {endpoint_name!r}: the answer was lost and the job list "
                        f"could not be read ({exc}); look for a job with {CORRELATION_KEY}={correlation_id} "
                        "before invoking again",
                        correlation_id=correlation_id,
                        attempts=attempt,
                    ) from exc
                if len(jobs) > settings.max_listed:
                    raise InvocationOutcomeUnknownError(
                        f"batch invocation of {endpoint_name!r}: the answer was lost and the workspace lists "
                        f"more than {settings.max_listed} jobs; look for a job with "
                        f"{CORRELATION_KEY}={correlation_id} before invoking again",
                        correlation_id=correlation_id,
                        attempts=attempt,
                    ) from last
                found = matching_jobs(
                    jobs,
                    endpoint_name=endpoint_name,
                    deployment_name=deployment_name,
                    since=since,
                    inputs=inputs,
                    outputs=outputs,
                    correlation_id=correlation_id,
                )
                if len(found) == 1:
                    LOG.warning(
                        "batch invocation of %s: reattached to job %s, started by an attempt whose answer "
                        "was lost (correlation id %s)",
                        endpoint_name,
                        found[0].name,
                        correlation_id,
                    )
                    return found[0]
                if len(found) > 1:
                    names = sorted(str(j.name) for j in found)
                    raise DuplicateInvocationError(
                        f"batch invocation of {endpoint_name!r}: the answer was lost and {len(names)} jobs "
                        f"match it ({', '.join(names)}); none was adopted and no other job was started",
                        job_names=names,
                        correlation_id=correlation_id,
                    ) from last
            LOG.warning(
                "batch invocation of %s: no job found for correlation id %s; the attempt started nothing",
                endpoint_name,
                correlation_id,
            )
        if last_kind == "refused" and last is not None:
            raise last  # the service refused the last attempt: nothing was started by it
        raise InvocationOutcomeUnknownError(
            f"batch invocation of {endpoint_name!r} failed {attempt} time(s) (last: {last}); "
            f"no job with {CORRELATION_KEY}={correlation_id} was found after the last attempt",
            correlation_id=correlation_id,
            attempts=attempt,
        ) from last

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
