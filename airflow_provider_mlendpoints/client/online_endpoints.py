"""Online endpoints and online deployments (ARM ``onlineEndpoints``)."""

from __future__ import annotations

from typing import Any, Literal

from ._base import LOCATION_LRO, PUT_LRO, OperationGroup
from .resources import (
    DeploymentLogs,
    EndpointKeys,
    EndpointToken,
    OnlineDeployment,
    OnlineEndpoint,
    SkuSetting,
)

_E = "onlineEndpoints"


class OnlineEndpointsOperations(OperationGroup):
    """``onlineEndpoints/{name}``: PUT, PATCH, GET, DELETE, list, listKeys, regenerateKeys, token."""

    def begin_create_or_update(self, name: str, body: dict[str, Any]) -> Any:
        """PUT a full body (traffic changes are full-body PUTs); poller of :class:`OnlineEndpoint`."""
        return self._x.begin(self._request("PUT", _E, name, body=body), OnlineEndpoint.from_rest, PUT_LRO)

    def begin_update(self, name: str, body: dict[str, Any]) -> Any:
        """PATCH tags and identity only; poller of :class:`OnlineEndpoint`."""
        return self._x.begin(self._request("PATCH", _E, name, body=body), OnlineEndpoint.from_rest)

    def get(self, name: str) -> Any:
        """The endpoint, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", _E, name), OnlineEndpoint.from_rest)

    def list(self, *, limit: int | None = None) -> Any:
        """Every online endpoint of the workspace."""
        return self._x.paged(self._request("GET", _E), OnlineEndpoint.from_rest, limit)

    def begin_delete(self, name: str) -> Any:
        """DELETE (202 + Location); the poller's result is None."""
        return self._x.begin(self._request("DELETE", _E, name), None, LOCATION_LRO)

    def start_create_or_update(self, name: str, body: dict[str, Any]) -> Any:
        """PUT a full body and return at once with an :class:`~.operation_status.OperationHandle`
        (status URL, resource as first answered); nothing polls. Wait by reading the resource's
        ``provisioning_state``, and ask ``client.operations.get_status(handle.polling_url)`` why it failed.
        """
        return self._x.start(self._request("PUT", _E, name, body=body), OnlineEndpoint.from_rest)

    def start_delete(self, name: str) -> Any:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", _E, name))

    def list_keys(self, name: str) -> Any:
        """POST ``listKeys``: :class:`EndpointKeys` (register them with a secrets masker)."""
        return self._x.call(
            self._request("POST", _E, name, "listKeys"), self._revealing(EndpointKeys.from_rest)
        )

    def begin_regenerate_keys(
        self, name: str, key_type: Literal["Primary", "Secondary"] = "Primary", key_value: str | None = None
    ) -> Any:
        """POST ``regenerateKeys`` (LRO via Location); result None."""
        body: dict[str, Any] = {"keyType": key_type}
        if key_value is not None:
            body["keyValue"] = key_value
        return self._x.begin(self._request("POST", _E, name, "regenerateKeys", body=body), None, LOCATION_LRO)

    def get_token(self, name: str) -> Any:
        """POST ``token``: an :class:`EndpointToken` for AMLToken endpoints."""
        return self._x.call(
            self._request("POST", _E, name, "token"), self._revealing(EndpointToken.from_rest)
        )

    def resume(self, continuation_token: str, *, delete: bool = False) -> Any:
        """A poller for an operation started earlier."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, OnlineEndpoint.from_rest, PUT_LRO)


class OnlineDeploymentsOperations(OperationGroup):
    """``onlineEndpoints/{e}/deployments/{d}``: PUT, PATCH, GET, DELETE, list, getLogs, skus."""

    def begin_create_or_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Any:
        """PUT a full deployment body; poller of :class:`OnlineDeployment`."""
        req = self._request("PUT", _E, endpoint_name, "deployments", name, body=body)
        return self._x.begin(req, OnlineDeployment.from_rest, PUT_LRO)

    def begin_update(self, endpoint_name: str, name: str, body: dict[str, Any]) -> Any:
        """PATCH tags and sku (scale); poller of :class:`OnlineDeployment`."""
        req = self._request("PATCH", _E, endpoint_name, "deployments", name, body=body)
        return self._x.begin(req, OnlineDeployment.from_rest)

    def get(self, endpoint_name: str, name: str) -> Any:
        """The deployment, or :class:`~.errors.NotFoundError`."""
        return self._x.call(
            self._request("GET", _E, endpoint_name, "deployments", name), OnlineDeployment.from_rest
        )

    def list(self, endpoint_name: str, *, limit: int | None = None) -> Any:
        """Every deployment of the endpoint."""
        return self._x.paged(
            self._request("GET", _E, endpoint_name, "deployments"), OnlineDeployment.from_rest, limit
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
            self._request("PUT", _E, endpoint_name, "deployments", name, body=body),
            OnlineDeployment.from_rest,
        )

    def start_delete(self, endpoint_name: str, name: str) -> Any:
        """DELETE and return at once with an :class:`~.operation_status.OperationHandle`; nothing
        polls. A missing resource answers 204 (no ``polling_url``) or :class:`~.errors.NotFoundError`."""
        return self._x.start(self._request("DELETE", _E, endpoint_name, "deployments", name))

    def get_logs(
        self,
        endpoint_name: str,
        name: str,
        container_type: Literal["InferenceServer", "StorageInitializer"] = "InferenceServer",
        tail: int | None = None,
    ) -> Any:
        """POST ``getLogs``: the container's log text as :class:`DeploymentLogs`."""
        body: dict[str, Any] = {"containerType": container_type}
        if tail is not None:
            body["tail"] = tail
        req = self._request("POST", _E, endpoint_name, "deployments", name, "getLogs", body=body)
        return self._x.call(req, DeploymentLogs.from_rest)

    def list_skus(self, endpoint_name: str, name: str, *, count: int | None = None) -> Any:
        """GET ``skus``: the scale settings the deployment may use."""
        req = self._request("GET", _E, endpoint_name, "deployments", name, "skus", params={"count": count})
        return self._x.paged(req, SkuSetting.from_rest)

    def resume(self, continuation_token: str, *, delete: bool = False) -> Any:
        """A poller for an operation started earlier."""
        if delete:
            return self._x.resume(continuation_token, None, LOCATION_LRO)
        return self._x.resume(continuation_token, OnlineDeployment.from_rest, PUT_LRO)
