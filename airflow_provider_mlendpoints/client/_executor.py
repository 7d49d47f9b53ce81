"""Send requests through a pipeline, sync or async, with one shared operation code path.

Operation groups build :class:`azure.core.rest.HttpRequest` objects and call
an executor; the sync executor returns values, the async one returns
coroutines. That way each operation is written once and serves both clients.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar, cast, overload

from azure.core import AsyncPipelineClient, PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineResponse
from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse

from .config import WorkspaceConfig
from .errors import MLEndpointsError, ServiceError, error_from_azure, error_from_response
from .operation_status import OperationHandle
from .pipeline import AsyncCappedARMPolling, AsyncMLPoller, CappedARMPolling, MLPoller

T = TypeVar("T")

#: Turns a JSON body (``Any``: whatever the service sent) into a result.
Parse = Callable[[Any], T]
#: What an operation-group method returns: a value on the sync client, an awaitable of it on the
#: async one (``client.jobs.get`` is typed per client in :mod:`.protocols`).
MaybeAwaitable: TypeAlias = T | Awaitable[T]

#: What a ``begin_*`` method returns: a poller (sync), an awaitable of an async poller (async).
Poller: TypeAlias = MaybeAwaitable[MLPoller[T] | AsyncMLPoller[T]]

SyncPipeline: TypeAlias = PipelineClient[HttpRequest, HttpResponse]
AsyncPipeline: TypeAlias = AsyncPipelineClient[HttpRequest, AsyncHttpResponse]

_LRO_OK = (200, 201, 202, 204)


def _json_or_none(response: HttpResponse | AsyncHttpResponse) -> Any:
    try:
        text = response.text()
    except Exception:
        return None
    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ServiceError(
            f"the service answered {response.status_code} with a body that is not JSON"
        ) from None


def _parsed(parse: Parse[T] | None, body: Any) -> T | Any:
    return parse(body) if parse is not None else body


def _handle(response: HttpResponse | AsyncHttpResponse, parse: Parse[T] | None) -> OperationHandle[T]:
    headers = response.headers
    body = _json_or_none(response)
    given = headers.get("Retry-After")
    try:
        retry_after = float(given) if given else None
    except ValueError:
        retry_after = None
    return OperationHandle(
        polling_url=headers.get("Azure-AsyncOperation") or headers.get("Location"),
        resource=_parsed(parse, body) if body is not None else None,
        status_code=response.status_code,
        retry_after=retry_after,
    )


def _next_link(body: Any) -> str | None:
    return body.get("nextLink") if isinstance(body, dict) else None


def _items(body: Any) -> list[Any]:
    return list(body.get("value") or []) if isinstance(body, dict) else []


class SyncExecutor:
    """Runs requests on a sync PipelineClient."""

    is_async = False

    def __init__(self, client: SyncPipeline, config: WorkspaceConfig | None) -> None:
        self.client = client
        self.config = config

    def _send(self, request: HttpRequest, **options: Any) -> HttpResponse:
        try:
            response = self.client.send_request(request, **options)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    @overload
    def call(self, request: HttpRequest, parse: Parse[T], **options: Any) -> T: ...
    @overload
    def call(self, request: HttpRequest, parse: None = None, **options: Any) -> Any: ...
    def call(self, request: HttpRequest, parse: Parse[T] | None = None, **options: Any) -> T | Any:
        """Send ``request``, raise a typed error on >= 400, return ``parse(json body)`` (the JSON
        body itself without ``parse``)."""
        return _parsed(parse, _json_or_none(self._send(request, **options)))

    def raw(self, request: HttpRequest, **options: Any) -> HttpResponse:
        """Send ``request`` and return the (read) azure-core response; typed error on >= 400."""
        return self._send(request, **options)

    def start(self, request: HttpRequest, parse: Parse[T] | None = None) -> OperationHandle[T]:
        """Send the first request of a long-running operation and return at once, without a
        poller: an :class:`OperationHandle` with the status URL; typed error on >= 400."""
        return _handle(self._send(request), parse)

    def paged(self, request: HttpRequest, parse: Parse[T], limit: int | None = None) -> list[T]:
        """Every item of an ARM list, following ``nextLink``."""
        out: list[Any] = []
        while True:
            body = self.call(request)
            out.extend(_parsed(parse, item) for item in _items(body))
            link = _next_link(body)
            if not link or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request = HttpRequest("GET", link)

    def then(self, value: Any, fn: Callable[[Any], T]) -> T:
        """Apply ``fn`` to ``value``, the result of a group method (sync: a value, used directly)."""
        return fn(value)

    def begin(
        self, request: HttpRequest, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller[T]:
        """Start a long-running operation; return a poller (``.result()`` waits)."""
        try:
            # azure-core's types do not model _return_pipeline_response (a PipelineResponse).
            pipeline_response = cast(
                "PipelineResponse[HttpRequest, HttpResponse]",
                self.client.send_request(request, _return_pipeline_response=True),
            )
        except AzureError as exc:
            raise error_from_azure(exc) from None
        http = pipeline_response.http_response
        if http.status_code not in _LRO_OK:
            raise error_from_response(http)
        return MLPoller(self.client, pipeline_response, _deserializer(parse), self._polling(lro_options))

    def resume(
        self, continuation_token: str, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller[T]:
        """Rebuild a poller from ``poller.continuation_token()``."""
        # azure-core types from_continuation_token as returning the base class; it returns cls(...).
        return cast(
            MLPoller[T],
            MLPoller.from_continuation_token(
                self._polling(lro_options),
                continuation_token,
                client=self.client,
                deserialization_callback=_deserializer(parse),
            ),
        )

    def _polling(self, lro_options: dict[str, Any] | None) -> CappedARMPolling:
        cfg = self.config
        return CappedARMPolling(
            cfg.polling_interval if cfg else 10,
            max_delay=cfg.max_polling_interval if cfg else 60,
            lro_options=lro_options,
        )

    def close(self) -> None:
        self.client.close()


class AsyncExecutor:
    """Runs requests on an AsyncPipelineClient; every method returns a coroutine."""

    is_async = True

    def __init__(self, client: AsyncPipeline, config: WorkspaceConfig | None) -> None:
        self.client = client
        self.config = config

    async def _send(self, request: HttpRequest, **options: Any) -> AsyncHttpResponse:
        try:
            response = await self.client.send_request(request, **options)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    @overload
    async def call(self, request: HttpRequest, parse: Parse[T], **options: Any) -> T: ...
    @overload
    async def call(self, request: HttpRequest, parse: None = None, **options: Any) -> Any: ...
    async def call(self, request: HttpRequest, parse: Parse[T] | None = None, **options: Any) -> T | Any:
        return _parsed(parse, _json_or_none(await self._send(request, **options)))

    async def raw(self, request: HttpRequest, **options: Any) -> AsyncHttpResponse:
        return await self._send(request, **options)

    async def start(self, request: HttpRequest, parse: Parse[T] | None = None) -> OperationHandle[T]:
        return _handle(await self._send(request), parse)

    async def paged(self, request: HttpRequest, parse: Parse[T], limit: int | None = None) -> list[T]:
        out: list[Any] = []
        while True:
            body = await self.call(request)
            out.extend(_parsed(parse, item) for item in _items(body))
            link = _next_link(body)
            if not link or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request = HttpRequest("GET", link)

    async def then(self, value: Any, fn: Callable[[Any], MaybeAwaitable[T]]) -> T:
        """Await ``value`` (a group method's awaitable), apply ``fn``, await what it returns."""
        if inspect.isawaitable(value):
            value = await value
        result = fn(value)
        if inspect.isawaitable(result):
            return await result
        return result

    async def begin(
        self, request: HttpRequest, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> AsyncMLPoller[T]:
        try:
            # azure-core's types do not model _return_pipeline_response (a PipelineResponse).
            pipeline_response = cast(
                "PipelineResponse[HttpRequest, AsyncHttpResponse]",
                await self.client.send_request(request, _return_pipeline_response=True),
            )
        except AzureError as exc:
            raise error_from_azure(exc) from None
        http = pipeline_response.http_response
        if http.status_code not in _LRO_OK:
            raise error_from_response(http)
        return AsyncMLPoller(self.client, pipeline_response, _deserializer(parse), self._polling(lro_options))

    async def resume(
        self, continuation_token: str, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> AsyncMLPoller[T]:
        # azure-core types from_continuation_token as returning the base class; it returns cls(...).
        return cast(
            AsyncMLPoller[T],
            AsyncMLPoller.from_continuation_token(
                self._polling(lro_options),
                continuation_token,
                client=self.client,
                deserialization_callback=_deserializer(parse),
            ),
        )

    def _polling(self, lro_options: dict[str, Any] | None) -> AsyncCappedARMPolling:
        cfg = self.config
        return AsyncCappedARMPolling(
            cfg.polling_interval if cfg else 10,
            max_delay=cfg.max_polling_interval if cfg else 60,
            lro_options=lro_options,
        )

    async def close(self) -> None:
        await self.client.close()


def _deserializer(parse: Parse[T] | None) -> Callable[[Any], T | Any]:
    def deserialize(pipeline_response: Any) -> T | Any:
        response = pipeline_response.http_response
        if response.status_code >= 400:
            raise error_from_response(response)
        body = _json_or_none(response)
        if body is None:
            return None
        return _parsed(parse, body)

    return deserialize


Executor = SyncExecutor | AsyncExecutor

__all__ = ["AsyncExecutor", "Executor", "MLEndpointsError", "MaybeAwaitable", "Poller", "SyncExecutor"]
