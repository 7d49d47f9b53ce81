"""Batch-endpoint invocation (data plane) and online scoring: the operations.

Batch invoke: ``POST {endpoint.properties.scoringUri}`` with an AAD token for
``https://ml.azure.com/.default``; header ``azureml-model-deployment`` targets
a non-default deployment. The answer is the job (name, status, Studio link).
The body comes from :mod:`.invoke_bodies`; a lost answer is settled by
:mod:`.reconcile` (find the job by its correlation id, never replay blindly).

Online scoring: ``POST {scoringUri}`` with ``Authorization: Bearer <key or
token>``; scoring is side-effect free, so 429/5xx are retried within the
bounded retry settings and a persistent 429 surfaces as ThrottledError.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from azure.core.rest import HttpRequest

from ._executor import MaybeAwaitable, Poller
from ._steps import drive
from .batch_endpoints import BatchEndpointsOperations
from .config import WorkspaceConfig
from .errors import ValidationError
from .faces import Flavoured, X, value
from .jobs import JobsOperations
from .online_endpoints import OnlineEndpointsOperations
from .pipeline import NON_IDEMPOTENT
from .reconcile import DEFAULT_READ_TIMEOUT, ReconcileSettings, reconciled_invocation, with_correlation_id
from .resources import BatchEndpoint, Job, OnlineEndpoint

DEPLOYMENT_HEADER = "azureml-model-deployment"


def _decode(response: Any) -> Any:
    text = response.text()
    ctype = (response.headers.get("content-type") or "").lower()
    if "json" in ctype or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class InvokeOperations(Flavoured[X]):
    """Batch invoke and online scoring; built by the client facades."""

    def __init__(
        self,
        arm: X,
        data_plane: X,
        scoring: X,
        config: WorkspaceConfig,
        data_plane_credential: Any,  # a TokenCredential (sync or async, as the executors)
        batch_endpoints: BatchEndpointsOperations[X],
        online_endpoints: OnlineEndpointsOperations[X],
        jobs: JobsOperations[X] | None = None,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._jobs: JobsOperations[X] | None = jobs
        self._read_timeout = read_timeout
        self._batch_endpoints: BatchEndpointsOperations[X] = batch_endpoints
        self._online_endpoints: OnlineEndpointsOperations[X] = online_endpoints
        self._arm: X = arm
        self._dp: X = data_plane
        self._score: X = scoring
        self._config = config
        self._credential = data_plane_credential

    # -- batch ----------------------------------------------------------------------------------------
    @value
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
    ) -> MaybeAwaitable[Job]:
        """Start a batch job; returns the :class:`Job` (name, status, ``studio_url``).

        ``body`` comes from :func:`batch_invoke_body` or :func:`batch_invoke_body_2021`; it is
        sent with a correlation id stamped into its ``tags``/``properties`` (``correlation_id``,
        or a new one). With ``reconcile`` (default) an ambiguous failure of the POST (5xx,
        connection dropped after sending, read timeout) is settled by looking for the job the
        POST may have started before anything is sent again (for the client's read timeout plus
        ``reconcile_settings.look_margin``); the returned job may then be the ARM view of that
        job, and a duplicate carrying the same correlation id is cancelled and reported. Raises
        :class:`~.errors.DuplicateInvocationError` or :class:`~.errors.InvocationOutcomeUnknownError`
        when that cannot be settled; never starts a second job knowingly. See :mod:`.reconcile`
        for the exact rules and their limits.
        """
        settings = reconcile_settings or ReconcileSettings()
        cid = correlation_id or uuid.uuid4().hex
        stamped = with_correlation_id(body, cid)

        def post(uri: str) -> MaybeAwaitable[Job]:
            headers = {"Content-Type": "application/json"}
            if deployment_name:
                headers[DEPLOYMENT_HEADER] = deployment_name
            req = HttpRequest("POST", self._config.rebase_data_plane(uri), json=stamped, headers=headers)
            return self._dp.call(req, Job.from_rest, **{NON_IDEMPOTENT: True})

        def run(uri: str, default_deployment: str | None) -> MaybeAwaitable[Job]:
            if not reconcile:
                return post(uri)
            return drive(
                self._dp,
                reconciled_invocation(
                    lambda: post(uri),
                    list_jobs=self._list_jobs,
                    cancel=self._cancel_job,
                    endpoint_name=endpoint_name,
                    deployment_name=deployment_name or default_deployment,
                    body=stamped,
                    correlation_id=cid,
                    settings=settings,
                    retry=self._config.retry,
                    read_timeout=self._read_timeout,
                ),
            )

        if scoring_uri:
            return run(scoring_uri, None)
        endpoint = self._batch_endpoints.get(endpoint_name)
        return self._arm.then(endpoint, lambda ep: run(self._require_uri(ep), ep.default_deployment))

    def _list_jobs(self, limit: int) -> MaybeAwaitable[list[Job]]:
        request = HttpRequest(
            "GET", self._config.arm_url("jobs"), params={"api-version": self._config.api_version}
        )
        return self._arm.paged(request, Job.from_rest, limit)

    def _cancel_job(self, name: str) -> Poller[None]:
        if self._jobs is None:
            raise ValidationError("this InvokeOperations was built without a jobs group; cannot cancel")
        return self._jobs.begin_cancel(name)

    @value
    def get_batch_job(self, scoring_uri: str, job_name: str) -> MaybeAwaitable[Job]:
        """``GET {scoringUri}/{name}``: the batch job as the data plane sees it."""
        url = self._config.rebase_data_plane(scoring_uri.rstrip("/") + "/" + job_name)
        return self._dp.call(HttpRequest("GET", url), Job.from_rest)

    # -- online ---------------------------------------------------------------------------------------
    @value
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
    ) -> MaybeAwaitable[Any]:
        """POST ``payload`` to the online endpoint; returns parsed JSON (or text).

        Auth: ``key`` or ``token`` if given; otherwise by the endpoint's ``authMode``: Key ->
        ``listKeys``, AMLToken -> ``token``, AADToken -> the client's credential for ml.azure.com.
        """
        ops = self._online_endpoints
        given = key or token  # a secret the caller gave

        def post(uri: str, secret: str) -> Any:
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": content_type}
            if deployment_name:
                headers[DEPLOYMENT_HEADER] = deployment_name
            data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
            req = HttpRequest("POST", self._config.rebase_data_plane(uri), content=data, headers=headers)
            return self._score.then(self._score.raw(req), _decode)

        def with_endpoint(ep: OnlineEndpoint) -> Any:
            uri = scoring_uri or self._require_uri(ep)
            if given:
                return post(uri, given)
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

        if scoring_uri and given:
            return post(scoring_uri, given)
        return self._arm.then(ops.get(endpoint_name), with_endpoint)

    @staticmethod
    def _require_uri(ep: BatchEndpoint | OnlineEndpoint) -> str:
        if not ep.scoring_uri:
            raise ValidationError(
                f"endpoint {ep.name!r} has no scoringUri yet (provisioningState {ep.provisioning_state})"
            )
        return ep.scoring_uri
