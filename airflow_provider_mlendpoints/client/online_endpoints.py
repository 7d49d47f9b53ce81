"""Online endpoints and online deployments (ARM ``onlineEndpoints``)."""

from __future__ import annotations

from typing import Any, Literal

from ._base import LOCATION_LRO
from ._endpoint_groups import DeploymentGroup, EndpointGroup
from ._executor import MaybeAwaitable, Poller
from .faces import X, long_running, value
from .resources import (
    DeploymentLogs,
    EndpointKeys,
    EndpointToken,
    OnlineDeployment,
    OnlineEndpoint,
    SkuSetting,
)

_E = "onlineEndpoints"


class OnlineEndpointsOperations(EndpointGroup[X, OnlineEndpoint]):
    """``onlineEndpoints/{name}``: PUT, PATCH, GET, DELETE, list, listKeys, regenerateKeys, token.

    Traffic changes are full-body PUTs.
    """

    kind = "online_endpoint"
    collection = _E
    resource = OnlineEndpoint

    @value
    def list_keys(self, name: str) -> MaybeAwaitable[EndpointKeys]:
        """POST ``listKeys``: :class:`EndpointKeys` (register them with a secrets masker)."""
        return self._x.call(
            self._request("POST", _E, name, "listKeys"), self._revealing(EndpointKeys.from_rest)
        )

    @long_running
    def begin_regenerate_keys(
        self, name: str, key_type: Literal["Primary", "Secondary"] = "Primary", key_value: str | None = None
    ) -> Poller[None]:
        """POST ``regenerateKeys`` (LRO via Location); result None."""
        body: dict[str, Any] = {"keyType": key_type}
        if key_value is not None:
            body["keyValue"] = key_value
        return self._x.begin(self._request("POST", _E, name, "regenerateKeys", body=body), None, LOCATION_LRO)

    @value
    def get_token(self, name: str) -> MaybeAwaitable[EndpointToken]:
        """POST ``token``: an :class:`EndpointToken` for AMLToken endpoints."""
        return self._x.call(
            self._request("POST", _E, name, "token"), self._revealing(EndpointToken.from_rest)
        )


class OnlineDeploymentsOperations(DeploymentGroup[X, OnlineDeployment]):
    """``onlineEndpoints/{e}/deployments/{d}``: PUT, PATCH (tags, sku), GET, DELETE, list, getLogs, skus."""

    kind = "online_deployment"
    collection = _E
    resource = OnlineDeployment

    @value
    def get_logs(
        self,
        endpoint_name: str,
        name: str,
        container_type: Literal["InferenceServer", "StorageInitializer"] = "InferenceServer",
        tail: int | None = None,
    ) -> MaybeAwaitable[DeploymentLogs]:
        """POST ``getLogs``: the container's log text as :class:`DeploymentLogs`."""
        body: dict[str, Any] = {"containerType": container_type}
        if tail is not None:
            body["tail"] = tail
        req = self._request("POST", _E, endpoint_name, "deployments", name, "getLogs", body=body)
        return self._x.call(req, DeploymentLogs.from_rest)

    @value
    def list_skus(self, endpoint_name: str, name: str, *, count: int | None = None) -> MaybeAwaitable[list[SkuSetting]]:
        """GET ``skus``: the scale settings the deployment may use."""
        req = self._request("GET", _E, endpoint_name, "deployments", name, "skus", params={"count": count})
        return self._x.paged(req, SkuSetting.from_rest)
