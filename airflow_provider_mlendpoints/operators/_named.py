"""Bases of the operators that act on one named endpoint, or on one named deployment of an
endpoint: they take the names (as keyword arguments, both required) and template them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._base import MLEndpointsBaseOperator


class EndpointOperatorBase(MLEndpointsBaseOperator):
    """An operator on the endpoint ``endpoint_name``.

    :param endpoint_name: the endpoint.
    """

    template_fields: Sequence[str] = ("endpoint_name", "ml_endpoints_conn_id")

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name


class DeploymentOperatorBase(EndpointOperatorBase):
    """An operator on the deployment ``deployment_name`` of the endpoint ``endpoint_name``.

    :param endpoint_name: / :param deployment_name: the deployment.
    """

    template_fields: Sequence[str] = ("endpoint_name", "deployment_name", "ml_endpoints_conn_id")

    def __init__(self, *, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deployment_name = deployment_name
