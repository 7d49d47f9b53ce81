"""The one place that builds the sync and async azure-core pipelines.

Policies (same order, sync and async): request id, headers, user agent,
proxy, content decoding, retry (bounded, honors a capped Retry-After;
replays a non-idempotent POST only after a 429, never after a transport error),
http-allowed-for-loopback, bearer token (optional), one INFO line per request when the
config sets ``verbose_http`` (no headers, bodies or query strings; see .http_logging).

Also: :class:`MLPoller` / :class:`AsyncMLPoller` (LRO pollers that raise the
client's typed errors and expose the polling URL and continuation token) and
:class:`CappedARMPolling` / :class:`AsyncCappedARMPolling` (ARM polling whose
server-sent delay is capped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from azure.core import AsyncPipelineClient, PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncRetryPolicy,
    BearerTokenCredentialPolicy,
    ContentDecodePolicy,
    HeadersPolicy,
    ProxyPolicy,
    RequestIdPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.polling import AsyncLROPoller, LROPoller
from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling

from .config import RetrySettings, WorkspaceConfig
from .errors import MLEndpointsError, ServiceError, error_from_azure, error_from_parts
from .http_logging import HTTP_LOGGER, OneLineHttpLoggingPolicy, quiet_azure_http_logging

T_co = TypeVar("T_co", covariant=True)

USER_AGENT = "airflow-provider-mlendpoints"
__all__ = ["HTTP_LOGGER"]  # re-exported: the client's per-request lines (see .http_logging)

#: Per-request option: this request must not be replayed once it may have reached the server.
NON_IDEMPOTENT = "non_idempotent"


class _BoundedRetryMixin:
    """Retry behaviour shared by the sync and async retry policies."""

    _max_retry_after: float

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        non_idempotent = bool(options.pop(NON_IDEMPOTENT, False))
        # super() of a mixin: the retry policy it is mixed into (mypy cannot see it).
        settings: dict[str, Any] = super().configure_retries(options)  # type: ignore[misc]
        settings[NON_IDEMPOTENT] = non_idempotent
        return settings

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)  # type: ignore[misc]
        if value is None:
            return None
        return max(0.0, min(float(value), self._max_retry_after))

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        if settings.get(NON_IDEMPOTENT):
            # 429 means the service refused the request: nothing was started.
            return bool(settings["total"]) and response.http_response.status_code == 429
        retry: bool = super().is_retry(settings, response)  # type: ignore[misc]
        return retry

    def _is_method_retryable(self, settings: dict[str, Any], request: Any, response: Any = None) -> bool:
        if settings.get(NON_IDEMPOTENT):
            # Only reached for exceptions (response is None). No transport error is replayed: the
            # aiohttp transport reports a connection the server closed after receiving the request
            # (ServerDisconnectedError) as a ServiceRequestError, the same class as "never sent",
            # so the class cannot tell whether the service got it. The caller settles it
            # (invoke reconciliation looks for the job first).
            return False
        retryable: bool = super()._is_method_retryable(settings, request, response)  # type: ignore[misc]
        return retryable

    def increment(
        self, settings: dict[str, Any], response: Any = None, error: Exception | None = None
    ) -> bool:
        if settings.get(NON_IDEMPOTENT) and error is not None:
            return False  # the request may have been received: replaying it could start a second job
        again: bool = super().increment(settings, response=response, error=error)  # type: ignore[misc]
        return again


class BoundedRetryPolicy(_BoundedRetryMixin, RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core RetryPolicy with a capped Retry-After and safe handling of non-idempotent POSTs."""

    def __init__(self, *, max_retry_after: float = 120.0, **kwargs: Any) -> None:
        self._max_retry_after = max_retry_after
        super().__init__(**kwargs)


class AsyncBoundedRetryPolicy(_BoundedRetryMixin, AsyncRetryPolicy[HttpRequest, AsyncHttpResponse]):
    """Async flavor of :class:`BoundedRetryPolicy`."""

    def __init__(self, *, max_retry_after: float = 120.0, **kwargs: Any) -> None:
        self._max_retry_after = max_retry_after
        super().__init__(**kwargs)


class _HttpForLoopbackPolicy(SansIOHTTPPolicy[HttpRequest, HttpResponse | AsyncHttpResponse]):
    """Let the bearer-token policy send tokens over http where the config allows (loopback by default)."""

    def __init__(self, config: WorkspaceConfig | None) -> None:
        self._config = config

    def on_request(self, request: Any) -> None:
        url = request.http_request.url
        if (
            url.lower().startswith("http://")
            and self._config is not None
            and self._config.insecure_allowed(url)
        ):
            request.context.options["enforce_https"] = False


def _retry_kwargs(retry: RetrySettings) -> dict[str, Any]:
    """The retry policy's settings: one budget for all retries and for each cause alike."""
    return {
        **{f"retry_{cause}": retry.retry_total for cause in ("total", "status", "connect", "read")},
        "retry_backoff_factor": retry.backoff_factor,
        "retry_backoff_max": retry.backoff_max,
        "max_retry_after": retry.max_retry_after,
    }


def _policies(config: WorkspaceConfig | None, auth: Any, retry: Any) -> list[Any]:
    quiet_azure_http_logging()
    return [
        RequestIdPolicy(),
        HeadersPolicy(),
        UserAgentPolicy(base_user_agent=USER_AGENT),
        ProxyPolicy(),
        ContentDecodePolicy(),
        retry,
        *([_HttpForLoopbackPolicy(config), auth] if auth is not None else []),
        OneLineHttpLoggingPolicy(verbose=bool(config is not None and config.verbose_http)),
    ]


def _scope_of(scope: str | None) -> str:
    """The token scope a credential is asked for; a credential without one is a programming error."""
    if not scope:
        raise ValueError("a credential needs a token scope (e.g. the config's management_scope)")
    return scope


@dataclass(frozen=True)
class PipelineFlavour:
    """The azure-core classes of one flavour of pipeline: the client, its bearer-token policy and
    its retry policy (:data:`SYNC_PIPELINE`, :data:`ASYNC_PIPELINE`)."""

    client: Callable[..., Any]
    auth: Callable[..., Any]
    retry: Callable[..., Any]


SYNC_PIPELINE = PipelineFlavour(PipelineClient, BearerTokenCredentialPolicy, BoundedRetryPolicy)
#: aiohttp transport; its credential must be an async credential.
ASYNC_PIPELINE = PipelineFlavour(AsyncPipelineClient, AsyncBearerTokenCredentialPolicy, AsyncBoundedRetryPolicy)


def build_pipeline_client(
    flavour: PipelineFlavour,
    config: WorkspaceConfig | None,
    credential: Any | None,
    scope: str | None,
    *,
    base_url: str = "",
    retry: RetrySettings | None = None,
    **transport_kwargs: Any,
) -> Any:
    """A PipelineClient of ``flavour`` (a ``PipelineClient`` or an ``AsyncPipelineClient``: the
    executor that takes it types it); ``credential`` None means no Authorization header is added."""
    retry = retry or (config.retry if config else RetrySettings())
    auth = flavour.auth(credential, _scope_of(scope)) if credential is not None else None
    return flavour.client(
        base_url=base_url,
        policies=_policies(config, auth, flavour.retry(**_retry_kwargs(retry))),
        **transport_kwargs,
    )


class _CappedDelayMixin:
    """Caps the delay the server asks for (Retry-After) at ``max_delay`` seconds."""

    def __init__(self, timeout: float = 10, *, max_delay: float = 60, **kwargs: Any) -> None:
        self._max_delay = max_delay
        # super() of a mixin: the ARM polling it is mixed into (mypy cannot see it).
        super().__init__(timeout, **kwargs)  # type: ignore[call-arg]

    def _extract_delay(self) -> float:
        # super() of a mixin: the ARM polling it is mixed into (mypy cannot see it).
        delay: float = super()._extract_delay()  # type: ignore[misc]
        return max(0.0, min(delay, self._max_delay))


class CappedARMPolling(_CappedDelayMixin, ARMPolling):
    """ARMPolling (Azure-AsyncOperation, Location, provisioningState) with a capped Retry-After."""


class AsyncCappedARMPolling(_CappedDelayMixin, AsyncARMPolling):
    """Async flavor of :class:`CappedARMPolling`."""


def _lro_error(poller: Any, exc: Exception) -> MLEndpointsError:
    """The typed error of a failed LRO: the operation's own error body when there is one."""
    method = poller.polling_method()
    last = getattr(method, "_pipeline_response", None)
    status = getattr(method, "_status", None)
    if last is not None and str(status).lower() in ("failed", "canceled", "cancelled"):
        resp = last.http_response
        try:
            body = resp.text()
        except Exception:
            body = None
        err = error_from_parts(None, resp.headers, body, default_message=f"long-running operation {status}")
        return ServiceError(
            err.message, code=err.code or f"Operation{status}", request_id=err.request_id, details=err.details
        )
    return error_from_azure(exc)


def polling_url_of(poller: Any) -> str | None:
    """The URL the poller polls (Azure-AsyncOperation, Location or the resource), if known."""
    method = poller.polling_method()
    operation = getattr(method, "_operation", None)
    try:
        return operation.get_polling_url() if operation is not None else None
    except Exception:
        return None


class MLPoller(LROPoller[T_co], Generic[T_co]):
    """LROPoller whose ``result()`` raises the client's typed errors.

    ``continuation_token()`` (JSON, base64) can be stored and handed to
    ``resume_*`` methods (e.g. by a trigger) to poll the same operation later.
    """

    @property
    def polling_url(self) -> str | None:
        """The URL being polled."""
        return polling_url_of(self)

    def result(self, timeout: float | None = None) -> T_co:
        """Wait for the operation and return the final resource view (or None)."""
        try:
            return super().result(timeout)
        except MLEndpointsError:
            raise
        except AzureError as exc:
            raise _lro_error(self, exc) from None


class AsyncMLPoller(AsyncLROPoller[T_co], Generic[T_co]):
    """AsyncLROPoller whose ``result()`` raises the client's typed errors."""

    @property
    def polling_url(self) -> str | None:
        """The URL being polled."""
        return polling_url_of(self)

    async def result(self) -> T_co:
        """Wait for the operation and return the final resource view (or None)."""
        try:
            return await super().result()
        except MLEndpointsError:
            raise
        except AzureError as exc:
            raise _lro_error(self, exc) from None
