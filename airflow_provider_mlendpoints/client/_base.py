"""Shared base of the operation groups: request building against the workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse

from ._executor import MaybeAwaitable
from .config import WorkspaceConfig
from .faces import Flavoured, X, response, value
from .payloads import SecretBearing
from .resources import Resource

#: ARM LRO semantics per mfe.json: PUT finishes on the original URI, DELETE/POST via Location.
PUT_LRO = {"final-state-via": "original-uri"}
LOCATION_LRO = {"final-state-via": "location"}

S = TypeVar("S", bound=SecretBearing)
R = TypeVar("R", bound=Resource)


class OperationGroup(Flavoured[X]):
    """Base of every operation group: holds the executor and the workspace config.

    On :class:`~airflow_provider_mlendpoints.client.MLEndpointsClient` methods return
    values; on the async client the same methods return awaitables.
    """

    def __init__(
        self,
        executor: X,
        config: WorkspaceConfig,
        on_secret: Callable[[str], Any] | None = None,
    ) -> None:
        self._x: X = executor
        self._config = config
        self._on_secret = on_secret

    def _revealing(self, parse: Callable[[Any], S]) -> Callable[[Any], S]:
        """Wrap ``parse`` so every secret in the parsed result is passed to ``on_secret`` first."""

        def wrapped(body: Any) -> S:
            obj = parse(body)
            if self._on_secret is not None:
                for value in obj.secret_values():
                    self._on_secret(value)
            return obj

        return wrapped

    def _request(
        self, method: str, *segments: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> HttpRequest:
        query = {"api-version": self._config.api_version}
        query.update({k: v for k, v in (params or {}).items() if v is not None})
        kwargs: dict[str, Any] = {"params": query}
        if body is not None:
            kwargs["json"] = body
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = {}
        return HttpRequest(method, self._config.arm_url(*segments), **kwargs)


class NamedGroup(OperationGroup[X], Generic[X, R]):
    """A collection of named resources, ``{collection}/{name}``: GET, parsed or raw."""

    collection: ClassVar[str]
    resource: type[R]  # the resource view class (a ClassVar of each group)

    @value
    def get(self, name: str) -> MaybeAwaitable[R]:
        """The resource, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", self.collection, name), self.resource.from_rest)

    @response
    def get_response(self, name: str) -> MaybeAwaitable[HttpResponse | AsyncHttpResponse]:
        """The raw answer of GET (for waiting: its Retry-After); parse it with :meth:`parse_answer`."""
        return self._x.raw(self._request("GET", self.collection, name))

    def parse_answer(self, body: Any) -> R:
        """The resource of a GET answer's JSON."""
        return self.resource.from_rest(body)
