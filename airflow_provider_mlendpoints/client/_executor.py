"""Send requests through a pipeline, sync or async, with one shared operation code path.

Operation groups build :class:`azure.core.rest.HttpRequest` objects and call
an executor; the sync executor returns values, the async one returns
coroutines. That way each operation is written once and serves both clients.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest

from .config import WorkspaceConfig
from .errors import MLEndpointsError, ServiceError, error_from_azure, error_from_response
from .operation_status import OperationHandle
from .pipeline import AsyncCappedARMPolling, AsyncMLPoller, CappedARMPolling, MLPoller

Parse = Callable[[Any], Any]

_LRO_OK = (200, 201, 202, 204)


def _json_or_none(response: Any) -> Any:
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


def _parsed(parse: Parse | None, body: Any) -> Any:
    return parse(body) if parse is not None else body


def _handle(response: Any, parse: Parse | None) -> OperationHandle:
    headers = response.headers
    body = _json_or_none(response)
    try:
        retry_after = float(headers.get("Retry-After")) if headers.get("Retry-After") else None
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

    def __init__(self, client: Any, config: WorkspaceConfig | None) -> None:
        self.client = client
        self.config = config

    def _send(self, request: HttpRequest, **options: Any) -> Any:
        try:
            response = self.client.send_request(request, **options)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def call(self, request: HttpRequest, parse: Parse | None = None, **options: Any) -> Any:
        """Send ``request``, raise a typed error on >= 400, return ``parse(json body)``."""
        return _parsed(parse, _json_or_none(self._send(request, **options)))

    def raw(self, request: HttpRequest, **options: Any) -> Any:
        """Send ``request`` and return the (read) azure-core response; typed error on >= 400."""
        return self._send(request, **options)

    def start(self, request: HttpRequest, parse: Parse | None = None) -> OperationHandle:
        """Send the first request of a long-running operation and return at once, without a
        poller: an :class:`OperationHandle` with the status URL; typed error on >= 400."""
        return _handle(self._send(request), parse)

    def paged(self, request: HttpRequest, parse: Parse | None = None, limit: int | None = None) -> list[Any]:
        """Every item of an ARM list, following ``nextLink``."""
        out: list[Any] = []
        while True:
            body = self.call(request)
            out.extend(_parsed(parse, item) for item in _items(body))
            link = _next_link(body)
            if not link or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request = HttpRequest("GET", link)

    def then(self, value: Any, fn: Callable[[Any], Any]) -> Any:
        """Apply ``fn`` to a result (sync: directly)."""
        return fn(value)

    def begin(
        self, request: HttpRequest, parse: Parse | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller:
        """Start a long-running operation; return a poller (``.result()`` waits)."""
        try:
            pipeline_response = self.client.send_request(request, _return_pipeline_response=True)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        http = pipeline_response.http_response
        if http.status_code not in _LRO_OK:
            raise error_from_response(http)
        return MLPoller(self.client, pipeline_response, _deserializer(parse), self._polling(lro_options))

    def resume(
        self, continuation_token: str, parse: Parse | None, lro_options: dict[str, Any] | None = None
    ) -> MLPoller:
        """Rebuild a poller from ``poller.continuation_token()``."""
        return MLPoller.from_continuation_token(
            self._polling(lro_options),
            continuation_token,
            client=self.client,
            deserialization_callback=_deserializer(parse),
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

    def __init__(self, client: Any, config: WorkspaceConfig | None) -> None:
        self.client = client
        self.config = config

    async def _send(self, request: HttpRequest, **options: Any) -> Any:
        try:
            response = await self.client.send_request(request, **options)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def call(self, request: HttpRequest, parse: Parse | None = None, **options: Any) -> Any:
        return _parsed(parse, _json_or_none(await self._send(request, **options)))

    async def raw(self, request: HttpRequest, **options: Any) -> Any:
        return await self._send(request, **options)

    async def start(self, request: HttpRequest, parse: Parse | None = None) -> OperationHandle:
        return _handle(await self._send(request), parse)

    async def paged(
        self, request: HttpRequest, parse: Parse | None = None, limit: int | None = None
    ) -> list[Any]:
        out: list[Any] = []
        while True:
            body = await self.call(request)
            out.extend(_parsed(parse, item) for item in _items(body))
            link = _next_link(body)
            if not link or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request = HttpRequest("GET", link)

    async def then(self, value: Awaitable[Any] | Any, fn: Callable[[Any], Any]) -> Any:
        if inspect.isawaitable(value):
            value = await value
        result = fn(value)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def begin(
        self, request: HttpRequest, parse: Parse | None, lro_options: dict[str, Any] | None = None
    ) -> AsyncMLPoller:
        try:
            pipeline_response = await self.client.send_request(request, _return_pipeline_response=True)
        except AzureError as exc:
            raise error_from_azure(exc) from None
        http = pipeline_response.http_response
        if http.status_code not in _LRO_OK:
            raise error_from_response(http)
        return AsyncMLPoller(self.client, pipeline_response, _deserializer(parse), self._polling(lro_options))

    async def resume(
        self, continuation_token: str, parse: Parse | None, lro_options: dict[str, Any] | None = None
    ) -> AsyncMLPoller:
        return AsyncMLPoller.from_continuation_token(
            self._polling(lro_options),
            continuation_token,
            client=self.client,
            deserialization_callback=_deserializer(parse),
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


def _deserializer(parse: Parse | None) -> Callable[[Any], Any]:
    def deserialize(pipeline_response: Any) -> Any:
        response = pipeline_response.http_response
        if response.status_code >= 400:
            raise error_from_response(response)
        body = _json_or_none(response)
        if body is None:
            return None
        return _parsed(parse, body)

    return deserialize


Executor = SyncExecutor | AsyncExecutor

__all__ = ["AsyncExecutor", "Executor", "MLEndpointsError", "SyncExecutor"]
