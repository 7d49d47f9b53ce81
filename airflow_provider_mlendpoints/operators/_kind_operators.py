"""Operator bases the batch and online flavours share: deploy from a spec, delete a deployment or endpoint.

Each flavour says its resource kind (``batch_*`` or ``online_*``) and, for deployments,
its spec class and what makes a deployment unsafe to delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from ..links import AzureMLDeploymentLink, AzureMLEndpointLink
from ._resource_specs import load_resource_spec
from ._resources import ResourceOperator, get_or_none

if TYPE_CHECKING:
    from airflow.sdk import Context


class DeploymentSpecOperator(ResourceOperator):
    """The arguments of a create-or-update deployment operator, and loading its spec.

    :param spec: the deployment YAML (path; any generation), a dict of it, or a spec object.
    :param endpoint_name: the endpoint (overrides the spec's ``endpoint_name``).
    :param deployment_name: the deployment's name (overrides the spec's ``name``).
    :param overrides: settings to change, YAML names.
    :param location: Azure region; default: the endpoint's.
    :param base_dir: folder that relative paths of a dict spec resolve against (default: cwd).
    """

    spec_class: ClassVar[type]
    template_fields = ("spec", "endpoint_name", "deployment_name", "overrides", "location", "base_dir", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())

    def __init__(
        self,
        *,
        spec: str | Mapping[str, Any] | Any,
        endpoint_name: str | None = None,
        deployment_name: str | None = None,
        overrides: dict[str, Any] | None = None,
        location: str | None = None,
        base_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.overrides = overrides
        self.location = location
        self.base_dir = base_dir

    def load(self) -> Any:
        """The deployment spec with the operator's names and overrides applied; it must name its endpoint."""
        spec = load_resource_spec(
            self.spec,
            self.spec_class,
            name=self.deployment_name,
            endpoint_name=self.endpoint_name,
            overrides=self.overrides,
            base_dir=self.base_dir,
        )
        if not spec.endpoint_name:
            raise AirflowFailException(
                f"{spec.source or 'the deployment spec'}: endpoint_name: required (in the YAML or as endpoint_name=)"
            )
        return spec


class DeleteEndpointOperatorBase(ResourceOperator):
    """Delete an endpoint of ``_resource_kind`` (and its deployments) and wait until it is gone."""

    template_fields = ("endpoint_name", "conn_id")

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.delete_and_wait(context, self._resource_kind, self.endpoint_name)


class DeleteDeploymentOperatorBase(ResourceOperator):
    """Delete a deployment of ``_resource_kind`` and wait until it is gone; a missing one is success.

    A flavour refuses unsafe deletions in :meth:`check_deletable`.
    """

    template_fields = ("endpoint_name", "deployment_name", "conn_id")

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def check_deletable(self, endpoint: Any) -> None:
        """Raise AirflowFailException when the deployment must not be deleted now."""

    def execute(self, context: Context) -> dict[str, Any]:
        flavour = self._resource_kind.split("_", 1)[0]  # "batch" or "online"
        endpoints = getattr(self.client, f"{flavour}_endpoints")
        endpoint = get_or_none(lambda: endpoints.get(self.endpoint_name))
        if endpoint is None:
            self.log.info("%s endpoint %r does not exist: nothing to delete", flavour.capitalize(), self.endpoint_name)
            return self.deleted_result(existed=False)
        self.check_deletable(endpoint)
        return self.delete_and_wait(context, self._resource_kind, self.endpoint_name, self.deployment_name)
