"""Send requests through a pipeline, sync or async, with one shared operation code path.

Operation groups build :class:`azure.core.rest.HttpRequest` objects and call
an executor; the sync executor returns values, the async one returns
coroutines. That way each operation is written once and serves both clients.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeAlias, TypeVar, overload

from azure.core import AsyncPipelineClient, PipelineClient
from azure.core.exceptions import AzureError
from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse

from ._steps import Call, Procedure, run_async, run_sync
from .config import WorkspaceConfig
from .errors import MLEndpointsError, ServiceError, error_from_azure, error_from_response
from .operation_status import OperationHandle
from .pipeline import (
    ASYNC_PIPELINE,
    SYNC_PIPELINE,
    AsyncCappedARMPolling,
    AsyncMLPoller,
    CappedARMPolling,
    MLPoller,
    PipelineFlavour,
    build_pipeline_client,
)

T = TypeVar("T")

#: Turns a JSON body (``Any``: whatever the service sent) into a result.
Parse = Callable[[Any], T]
#: What an operation-group method returns: a value on the sync client, an awaitable of it on the
#: async one (``client.jobs.get`` is typed per client by :mod:`.faces`).
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


class _Executor:
    """What both executors do, written once as :mod:`._steps` procedures (each request is a
    :class:`~._steps.Call` step); the subclasses drive them in their flavour.

    Class attributes of a flavour: its azure-core pipeline classes, its poller and polling method.
    """

    is_async: bool
    pipeline: PipelineFlavour
    poller: Any
    polling: Callable[..., Any]

    def __init__(self, client: Any, config: WorkspaceConfig | None) -> None:
        self.client = client
        self.config = config

    @classmethod
    def connect(
        cls, config: WorkspaceConfig, credential: Any | None, scope: str | None, **transport_kwargs: Any
    ) -> Self:
        """An executor on a new pipeline of this flavour (see :func:`~.pipeline.build_pipeline_client`)."""
        return cls(build_pipeline_client(cls.pipeline, config, credential, scope, **transport_kwargs), config)

    def _sent(self, request: HttpRequest, **options: Any) -> Procedure[Any]:
        """Send ``request``: the pipeline's answer; azure-core errors become typed ones."""
        try:
            return (yield Call(lambda: self.client.send_request(request, **options)))
        except AzureError as exc:
            raise error_from_azure(exc) from None

    def _send(self, request: HttpRequest, **options: Any) -> Procedure[Any]:
        """Send ``request``: the (read) response; typed error on >= 400."""
        response = yield from self._sent(request, **options)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _call(self, request: HttpRequest, parse: Parse[T] | None, **options: Any) -> Procedure[T | Any]:
        response = yield from self._send(request, **options)
        return _parsed(parse, _json_or_none(response))

    def _start(self, request: HttpRequest, parse: Parse[T] | None) -> Procedure[OperationHandle[T]]:
        return _handle((yield from self._send(request)), parse)

    def _paged(self, request: HttpRequest, parse: Parse[T], limit: int | None) -> Procedure[list[T]]:
        out: list[T] = []
        while True:
            body = yield from self._call(request, None)
            out.extend(parse(item) for item in _items(body))
            link = _next_link(body)
            if not link or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request = HttpRequest("GET", link)

    def _begin(
        self, request: HttpRequest, parse: Parse[T] | None, lro_options: dict[str, Any] | None
    ) -> Procedure[Any]:
        # azure-core's types do not model _return_pipeline_response (a PipelineResponse).
        pipeline_response = yield from self._sent(request, _return_pipeline_response=True)
        http = pipeline_response.http_response
        if http.status_code not in _LRO_OK:
            raise error_from_response(http)
        return self.poller(self.client, pipeline_response, _deserializer(parse), self._polling(lro_options))

    def _resumed(self, continuation_token: str, parse: Parse[T] | None, lro_options: dict[str, Any] | None) -> Any:
        # azure-core types from_continuation_token as returning the base class; it returns cls(...).
        return self.poller.from_continuation_token(
            self._polling(lro_options),
            continuation_token,
            client=self.client,
            deserialization_callback=_deserializer(parse),
        )

    def _polling(self, lro_options: dict[str, Any] | None) -> Any:
        cfg = self.config
        return self.polling(
            cfg.polling_interval if cfg else 10,
            max_delay=cfg.max_polling_interval if cfg else 60,
            lro_options=lro_options,
        )


class SyncExecutor(_Executor):
    """Runs requests on a sync PipelineClient."""

    is_async = False
    pipeline = SYNC_PIPELINE
    poller = MLPoller
    polling = CappedARMPolling
    client: SyncPipeline

    @overload
    def call(self, request: HttpRequest, parse: Parse[T], **options: Any) -> T: ...
    @overload
    def call(self, request: HttpRequest, parse: None = None, **options: Any) -> Any: ...
    def call(self, request: HttpRequest, parse: Parse[T] | None = None, **options: Any) -> T | Any:
        """Send ``request``, raise a typed error on >= 400, return ``parse(json body)`` (the JSON
        body itself without ``parse``)."""
        return run_sync(self._call(request, parse, **options))

    def raw(self, request: HttpRequest, **options: Any) -> HttpResponse:
        """Send ``request`` and return the (read) azure-core response; typed error on >= 400."""
        response: HttpResponse = run_sync(self._send(request, **options))
        return response

    def start(self, request: HttpRequest, parse: Parse[T] | None = None) -> OperationHandle[T]:
        """Send the first request of a long-running operation and return at once, without a
        poller: an :class:`OperationHandle` with the status URL; typed error on >= 400."""
        return run_sync(self._start(request, parse))

    def paged(self, request: HttpRequest, parse: Parse[T], limit: int | None = None) -> list[T]:
        """Every item of an ARM list, following ``nextLink``."""
        return run_sync(self._paged(request, parse, limit))

    def then(self, value: Any, fn: Callable[[Any], T]) -> T:
        """Apply ``fn`` to ``value``, the result of a group method (sync: a value, used directly)."""
        return fn(value)

    def begin(
        self, request: HttpRequest, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller[T]:
        """Start a long-running operation; return a poller (``.result()`` waits)."""
        poller: MLPoller[T] = run_sync(self._begin(request, parse, lro_options))
        return poller

    def resume(
        self, continuation_token: str, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller[T]:
        """Rebuild a poller from ``poller.continuation_token()``."""
        poller: MLPoller[T] = self._resumed(continuation_token, parse, lro_options)
        return poller

    def close(self) -> None:
        self.client.close()


class AsyncExecutor(_Executor):
    """Runs requests on an AsyncPipelineClient; every method returns a coroutine."""

    is_async = True
    pipeline = ASYNC_PIPELINE
    poller = AsyncMLPoller
    polling = AsyncCappedARMPolling
    client: AsyncPipeline

    @overload
    async def call(self, request: HttpRequest, parse: Parse[T], **options: Any) -> T: ...
    @overload
    async def call(self, request: HttpRequest, parse: None = None, **options: Any) -> Any: ...
    async def call(self, request: HttpRequest, parse: Parse[T] | None = None, **options: Any) -> T | Any:
        return await run_async(self._call(request, parse, **options))

    async def raw(self, request: HttpRequest, **options: Any) -> AsyncHttpResponse:
        response: AsyncHttpResponse = await run_async(self._send(request, **options))
        return response

    async def start(self, request: HttpRequest, parse: Parse[T] | None = None) -> OperationHandle[T]:
        return await run_async(self._start(request, parse))

    async def paged(self, request: HttpRequest, parse: Parse[T], limit: int | None = None) -> list[T]:
        return await run_async(self._paged(request, parse, limit))

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
        poller: AsyncMLPoller[T] = await run_async(self._begin(request, parse, lro_options))
        return poller

    async def resume(
        self, continuation_token: str, parse: Parse[T] | None, lro_options: dict[str, Any] | None = None
    ) -> AsyncMLPoller[T]:
        poller: AsyncMLPoller[T] = self._resumed(continuation_token, parse, lro_options)
        return poller

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
