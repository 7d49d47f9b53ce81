"""Batch endpoints and batch deployments (ARM ``batchEndpoints``)."""

from __future__ import annotations

from typing import Any

from ._base import LOCATION_LRO, PUT_LRO, OperationGroup
from .resources import BatchDeployment, BatchEndpoint, EndpointKeys

_E = "batchEndpoints"


class BatchEndpointsOperations(OperationGroup):
    """``batchEndpoints/{name}``: PUT, PATCH, GET, DELETE, list, POST listkeys."""

    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> Any:
        """PUT a full endpoint body; returns a poller whose result is a :class:`BatchEndpoint`.

        Changing the default deployment is a full-body PUT.
        """
        return self._x.begin(self._request("PUT", _E, name, body=body), BatchEndpoint.from_rest, PUT_LRO)

    def begin_update(self, name: str, body: dict[str, Any]) -> Any:
        """PATCH tags and identity only; returns a poller of the :class:`BatchEndpoint`."""
        return self._x.begin(self._request("PATCH", _E, name, body=body), BatchEndpoint.from_rest)

    def get(self, name: str) -> Any:
        """The endpoint, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", _E, name), BatchEndpoint.from_rest)

    def list(self, *, limit: int | None = None) -> Any:
        """Every batch endpoint of the workspace."""
        return self._x.paged(self._request("GET", _E), BatchEndpoint.from_rest, limit)

    def begin_delete(self, name: str) -> Any:
        """DELETE (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("DELETE", _E, name), None, LOCATION_LRO)

    def start_create_or_update(self, name: str, body: dict[str, Any]) -> Any:
        """PUT a full body and return at once with an :class:`~.operation_status.OperationHandle`
        (status URL, resource as first answered); nothing polls. Wait by reading the resource's
        ``provisioning_state``, and ask ``client.operations.get_status(handle.polling_url)`` why it failed.
        """
        return self._x.start(self._request("PUT", _E, name, body=body), BatchEndpoint.from_rest)

    def start_delete(self, name: str) -> Any:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", _E, name))

    def list_keys(self, name: str) -> Any:
        """POST ``listkeys`` (lower-case k, as in mfe.json): :class:`EndpointKeys`."""
        return self._x.call(
            self._request("POST", _E, name, "listkeys"), self._revealing(EndpointKeys.from_rest)
        )

    def resume(self, continuation_token: str, *, delete: bool = False) -> Any:
        """A poller for an operation started earlier (``poller.continuation_token()``)."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, BatchEndpoint.from_rest, PUT_LRO)


class BatchDeploymentsOperations(OperationGroup):
    """``batchEndpoints/{e}/deployments/{d}``: PUT, PATCH, GET, DELETE, list."""

    def begin_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Any:
        """PUT a full deployment body; returns a poller of the :class:`BatchDeployment`."""
        req = self._request("PUT", _E, endpoint_name, "deployments", name, body=body)
        return self._x.begin(req, BatchDeployment.from_rest, PUT_LRO)

    def begin_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Any:
        """PATCH tags and description; returns a poller of the :class:`BatchDeployment`."""
        req = self._request("PATCH", _E, endpoint_name, "deployments", name, body=body)
        return self._x.begin(req, BatchDeployment.from_rest)

    def get(self, endpoint_name: str, name: str) -> Any:
        """The deployment, or :class:`~.errors.NotFoundError`."""
        return self._x.call(
            self._request("GET", _E, endpoint_name, "deployments", name), BatchDeployment.from_rest
        )

    def list(self, endpoint_name: str, *, limit: int | None = None) -> Any:
        """Every deployment of the endpoint."""
        return self._x.paged(
            self._request("GET", _E, endpoint_name, "deployments"), BatchDeployment.from_rest, limit
        )

    def begin_delete(self, endpoint_name: str, name: str) -> Any:
        """DELETE (202 + Location); the poller's result is None."""
        return self._x.begin(
            self._request("DELETE", _E, endpoint_name, "deployments", name), None, LOCATION_LRO
        )

    def start_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Any:
        """PUT a full body and return at once with an :class:`~.operation_status.OperationHandle`
        (status URL, resource as first answered); nothing polls. Wait by reading the resource's
        ``provisioning_state``, and ask ``client.operations.get_status(handle.polling_url)`` why it failed.
        """
        return self._x.start(
            self._request("PUT", _E, endpoint_name, "deployments", name, body=body), BatchDeployment.from_rest
        )

    def start_delete(self, endpoint_name: str, name: str) -> Any:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", _E, endpoint_name, "deployments", name))

    def resume(self, continuation_token: str, *, delete: bool = False) -> Any:
        """A poller for an operation started earlier."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, BatchDeployment.from_rest, PUT_LRO)
