"""What batch and online endpoints (and their deployments) have in common: PUT, PATCH, GET, list, DELETE.

Each flavour names its ARM collection (``batchEndpoints`` or ``onlineEndpoints``) and
its resource classes, and adds its own operations (keys, tokens, logs, skus).
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from azure.core.rest import AsyncHttpResponse, HttpResponse

from ._base import LOCATION_LRO, PUT_LRO, NamedGroup, OperationGroup
from ._executor import MaybeAwaitable, Poller
from .faces import X, long_running, response, value
from .operation_status import OperationHandle
from .resources import Resource

R = TypeVar("R", bound=Resource)


class EndpointGroup(NamedGroup[X, R]):
    """``{collection}/{name}``: PUT, PATCH, GET, DELETE, list; with a poller or a handle."""

    kind: ClassVar[str]  # its entry in .kinds.KINDS

    @long_running
    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> Poller[R]:
        """PUT a full endpoint body (default deployment and traffic changes are full-body PUTs);
        returns a poller whose result is the endpoint."""
        return self._x.begin(self._request("PUT", self.collection, name, body=body), self.resource.from_rest, PUT_LRO)

    @long_running
    def begin_update(self, name: str, body: dict[str, Any]) -> Poller[R]:
        """PATCH tags and identity only; returns a poller of the endpoint."""
        return self._x.begin(self._request("PATCH", self.collection, name, body=body), self.resource.from_rest)

    @value
    def list(self, *, limit: int | None = None) -> MaybeAwaitable[list[R]]:
        """Every endpoint of this kind in the workspace."""
        return self._x.paged(self._request("GET", self.collection), self.resource.from_rest, limit)

    @long_running
    def begin_delete(self, name: str) -> Poller[None]:
        """DELETE (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("DELETE", self.collection, name), None, LOCATION_LRO)

    @value
    def start_create_or_update(self, name: str, body: dict[str, Any]) -> MaybeAwaitable[OperationHandle[R]]:
        """PUT a full body and return at once with an :class:`~.operation_status.OperationHandle`
        (status URL, resource as first answered); nothing polls. Wait by reading the resource's
        ``provisioning_state``, and ask ``client.operations.get_status(handle.polling_url)`` why it failed.
        """
        return self._x.start(self._request("PUT", self.collection, name, body=body), self.resource.from_rest)

    @value
    def start_delete(self, name: str) -> MaybeAwaitable[OperationHandle[None]]:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", self.collection, name))

    @long_running
    def resume(self, continuation_token: str, *, delete: bool = False) -> Poller[R | None]:
        """A poller for an operation started earlier (``poller.continuation_token()``)."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, self.resource.from_rest, PUT_LRO)


class DeploymentGroup(OperationGroup[X], Generic[X, R]):
    """``{collection}/{endpoint}/deployments/{name}``: PUT, PATCH, GET, DELETE, list; poller or handle."""

    kind: ClassVar[str]
    collection: ClassVar[str]
    resource: type[R]

    def _path(self, endpoint_name: str, *rest: str) -> tuple[str, ...]:
        return (self.collection, endpoint_name, "deployments", *rest)

    @long_running
    def begin_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Poller[R]:
        """PUT a full deployment body; returns a poller of the deployment."""
        req = self._request("PUT", *self._path(endpoint_name, name), body=body)
        return self._x.begin(req, self.resource.from_rest, PUT_LRO)

    @long_running
    def begin_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Poller[R]:
        """PATCH what the kind allows (tags, description; sku for online); returns a poller of the deployment."""
        req = self._request("PATCH", *self._path(endpoint_name, name), body=body)
        return self._x.begin(req, self.resource.from_rest)

    @value
    def get(self, endpoint_name: str, name: str) -> MaybeAwaitable[R]:
        """The deployment, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", *self._path(endpoint_name, name)), self.resource.from_rest)

    @response
    def get_response(self, endpoint_name: str, name: str) -> MaybeAwaitable[HttpResponse | AsyncHttpResponse]:
        """The raw answer of GET (for waiting: its Retry-After); parse it with :meth:`parse_answer`."""
        return self._x.raw(self._request("GET", *self._path(endpoint_name, name)))

    def parse_answer(self, body: Any) -> R:
        """The deployment of a GET answer's JSON."""
        return self.resource.from_rest(body)

    @value
    def list(self, endpoint_name: str, *, limit: int | None = None) -> MaybeAwaitable[list[R]]:
        """Every deployment of the endpoint."""
        return self._x.paged(self._request("GET", *self._path(endpoint_name)), self.resource.from_rest, limit)

    @long_running
    def begin_delete(self, endpoint_name: str, name: str) -> Poller[None]:
        """DELETE (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("DELETE", *self._path(endpoint_name, name)), None, LOCATION_LRO)

    @value
    def start_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> MaybeAwaitable[OperationHandle[R]]:
        """PUT a full body and return at once with an :class:`~.operation_status.OperationHandle`
        (status URL, resource as first answered); nothing polls. Wait by reading the resource's
        ``provisioning_state``, and ask ``client.operations.get_status(handle.polling_url)`` why it failed.
        """
        req = self._request("PUT", *self._path(endpoint_name, name), body=body)
        return self._x.start(req, self.resource.from_rest)

    @value
    def start_delete(self, endpoint_name: str, name: str) -> MaybeAwaitable[OperationHandle[None]]:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", *self._path(endpoint_name, name)))

    @long_running
    def resume(self, continuation_token: str, *, delete: bool = False) -> Poller[R | None]:
        """A poller for an operation started earlier."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, self.resource.from_rest, PUT_LRO)
