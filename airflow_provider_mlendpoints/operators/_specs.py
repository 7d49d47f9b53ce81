"""What the batch and online flavours share beyond :mod:`._base`: loading a resource spec with the
operator's names and overrides, putting one deployment from its spec, the deploy-from-spec and delete
operators and the steps of a 2021-05 endpoint file with inline deployments (each flavour names its
kind). The JSON-safe summaries they return to XCom are in :mod:`._summaries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk.exceptions import AirflowFailException

from ..client.kinds import kind_of
from ..client.resource_bodies import up_to_date
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink
from ..specs import SpecError
from ..specs.model import Spec
from ._base import MLEndpointsBaseOperator, get_or_none, service_errors, workspace_location
from ._named import DeploymentOperatorBase, EndpointOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

S = TypeVar("S", bound=Spec)


# -- specs ----------------------------------------------------------------------------------------
def load_resource_spec(
    spec: Any,
    spec_class: type[S],
    *,
    name: str | None = None,
    endpoint_name: str | None = None,
    overrides: Mapping[str, Any] | str | None = None,
    base_dir: str | None = None,
) -> S:
    """:func:`~airflow_provider_mlendpoints.specs.configured.configured_spec` for an operator.

    Local paths must exist. Raises :class:`AirflowFailException` (no retry can fix a spec)
    carrying every problem of the spec, each naming the file and the field.
    """
    from ..specs.configured import configured_spec  # the YAML loader and jsonschema: at run time only

    try:
        return configured_spec(
            spec,
            spec_class,
            name=name,
            endpoint_name=endpoint_name,
            overrides=overrides,
            base_dir=base_dir,
            require_local_paths=True,
        )
    except SpecError as exc:
        raise AirflowFailException(f"invalid {spec_class.__name__} spec:\n{exc}") from exc


def with_inline_deployments_named(spec: Any) -> Any:
    """A 2021-05 endpoint spec whose inline deployments name the endpoint as it is now called
    (``endpoint_name=`` of the operator may rename it)."""
    if not spec.deployments:
        return spec
    return replace(spec, deployments=tuple(replace(d, endpoint_name=spec.name) for d in spec.deployments))


# -- deployments ----------------------------------------------------------------------------------
def put_deployment(op: MLEndpointsBaseOperator, kind: str, spec: Any, endpoint: Any, location: str | None) -> Any:
    """PUT one deployment of ``kind`` (``batch_deployment``/``online_deployment``) from its spec, its
    local model, code and environment registered first, unless it is up to date.

    Returns the existing resource when it already is what the spec asks for (nothing sent), else
    None (a PUT was sent; wait for its provisioning).
    """
    from ..client.asset_upload import AssetResolver
    from ..client.resource_bodies import up_to_date

    client = op.client
    flavour = str(kind_of(kind, spec.name).flavour)
    ep, name = str(spec.endpoint_name), spec.name
    existing = op.settle(kind, ep, name)
    location = location or endpoint.location or workspace_location(client)
    with service_errors(f"registering the assets of {flavour} deployment {ep}/{name}"):
        body = spec.to_rest(location, resolve=AssetResolver(client))
    if up_to_date(existing, body):
        op.log.info("%s deployment %s/%s is up to date; nothing to change", flavour.capitalize(), ep, name)
        return existing
    op.log.info("%s %s deployment %s/%s", "Updating" if existing else "Creating", flavour, ep, name)
    with service_errors(f"{flavour} deployment {ep}/{name}"):
        op.start_operation("PUT", kind, ep, name, body=body)
    return None


class SpecOperator(MLEndpointsBaseOperator):
    """The arguments every operator that applies an endpoint or deployment spec takes.

    :param spec: the YAML (path), a dict of it, or a spec object (the subclass says whether it may
        be None).
    :param endpoint_name: the endpoint's name (overrides the spec's).
    :param location: Azure region (the subclass says the default).
    :param base_dir: folder that relative paths of a dict spec resolve against.
    """

    def __init__(
        self,
        *,
        spec: str | Mapping[str, Any] | Spec | None = None,
        endpoint_name: str | None = None,
        location: str | None = None,
        base_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.endpoint_name = endpoint_name
        self.location = location
        self.base_dir = base_dir


class InlineDeploymentsEndpointOperator(SpecOperator):
    """An endpoint from its spec (or from its name alone), then for a 2021-05 file with inline
    ``deployments:`` the steps after the endpoint provisioned, in the order Azure needs: every
    deployment, each awaited, then the file's routing (an online endpoint's traffic split, a batch
    endpoint's default deployment), since routing may only name deployments that exist. A flavour
    names its ``spec_class``, ``endpoint_kind`` and ``deployment_kind`` and implements
    :meth:`endpoint_body` and :meth:`apply_routing`; :meth:`spec_without_file` says what a name
    alone gives. Its own arguments are ``description`` and ``tags`` (for an endpoint from its name
    alone); the spec's are :class:`SpecOperator`'s.
    """

    spec_class: ClassVar[type]
    endpoint_kind: ClassVar[str]
    deployment_kind: ClassVar[str]

    def __init__(self, *, description: str | None = None, tags: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.spec is None and not self.endpoint_name:
            raise ValueError("give spec (a YAML path or dict) or endpoint_name")
        self.description = description
        self.tags = tags

    def spec_without_file(self) -> dict[str, Any]:
        """The endpoint document when no spec is given: its name, description and tags."""
        doc: dict[str, Any] = {"name": self.endpoint_name}
        if self.description:
            doc["description"] = self.description
        if self.tags:
            doc["tags"] = dict(self.tags)
        return doc

    def load(self) -> Any:
        """The endpoint spec, its inline deployments naming it (:func:`with_inline_deployments_named`)."""
        if self.spec is None:
            return load_resource_spec(self.spec_without_file(), self.spec_class)
        spec: Any = load_resource_spec(self.spec, self.spec_class, name=self.endpoint_name, base_dir=self.base_dir)
        return with_inline_deployments_named(spec)

    def execute(self, context: Context) -> dict[str, Any]:
        """Step 0: once no other operation runs on the endpoint, its PUT body from the spec
        (:meth:`endpoint_body`), in the spec's location, else the existing endpoint's, else the
        workspace's; then :meth:`put_endpoint`."""
        spec = self.load()
        self.persist_links(context, str(kind_of(self.endpoint_kind).flavour), spec.name)
        existing = self.settle(self.endpoint_kind, spec.name)
        location = self.location or (existing.location if existing else None) or workspace_location(self.client)
        return self.put_endpoint(context, spec.name, self.endpoint_body(spec, existing, location), existing)

    def endpoint_body(self, spec: Any, existing: Any, location: str) -> dict[str, Any]:
        """The endpoint's PUT body: the spec's, keeping the existing endpoint's routing (``existing``
        is None when there is none) until :meth:`apply_routing` sets the file's."""
        raise NotImplementedError

    def put_endpoint(self, context: Context, name: str, body: dict[str, Any], existing: Any) -> dict[str, Any]:
        """Step 1: PUT the endpoint unless it already is ``body``, wait for it, then go on."""
        label = kind_of(self.endpoint_kind).describe(name)
        if up_to_date(existing, body):
            self.log.info("%s is up to date; nothing to change", label.capitalize())
            return self.endpoint_provisioned(context)
        self.log.info("%s %s", "Updating" if existing else "Creating", label)
        with service_errors(label):
            self.start_operation("PUT", self.endpoint_kind, name, body=body)
        self.wait_for_provisioning(self.endpoint_kind, name, method_name="endpoint_provisioned")
        return self.endpoint_provisioned(context)

    def apply_routing(self) -> dict[str, Any]:
        """The last step: route to the deployments; returns the endpoint's details."""
        raise NotImplementedError

    def endpoint_provisioned(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Step 2: PUT the inline deployments (if any)."""
        if event is not None:
            self.handle_provisioning_event(event)
        spec = self.load()
        if not spec.deployments:
            return self.apply_routing()
        endpoint = self.fetch(self.endpoint_kind, spec.name)
        if endpoint is None:
            raise AirflowFailException(f"{kind_of(self.endpoint_kind).flavour} endpoint {spec.name!r} does not exist")
        for deployment in spec.deployments:
            put_deployment(self, self.deployment_kind, deployment, endpoint, self.location)
        return self.deployments_provisioned(context)

    def deployments_provisioned(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Step 3: wait for every inline deployment (each checked first; deferred when deferrable)."""
        if event is not None:
            self.handle_provisioning_event(event)
        spec = self.load()
        for deployment in spec.deployments:
            self.wait_for_provisioning(
                self.deployment_kind, spec.name, deployment.name, method_name="deployments_provisioned"
            )
        return self.apply_routing()


# -- operators each flavour specialises ----------------------------------------------------------
class DeploymentSpecOperator(SpecOperator):
    """The arguments of a create-or-update deployment operator, and loading its spec.

    :param spec: the deployment YAML (path; any generation), a dict of it, or a spec object.
    :param endpoint_name: the endpoint (overrides the spec's ``endpoint_name``).
    :param deployment_name: the deployment's name (overrides the spec's ``name``).
    :param overrides: settings to change, YAML names.
    :param location: Azure region; default: the endpoint's.
    :param base_dir: folder that relative paths of a dict spec resolve against (default: cwd).

    ``spec``, ``endpoint_name``, ``location`` and ``base_dir`` are taken by :class:`SpecOperator`.
    """

    spec_class: ClassVar[type]
    template_fields = (
        "spec", "endpoint_name", "deployment_name", "overrides", "location", "base_dir", "ml_endpoints_conn_id",
    )  # fmt: skip
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())

    def __init__(
        self,
        *,
        spec: str | Mapping[str, Any] | Any,
        deployment_name: str | None = None,
        overrides: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(spec=spec, **kwargs)
        self.deployment_name = deployment_name
        self.overrides = overrides

    def load(self) -> Any:
        """The deployment spec with the operator's names and overrides applied; it must name its endpoint."""
        spec: Any = load_resource_spec(
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


class DeleteEndpointOperatorBase(EndpointOperatorBase):
    """Delete an endpoint of ``kind`` (and its deployments) and wait until it is gone; missing is success."""

    kind: ClassVar[str]

    def execute(self, context: Context) -> dict[str, Any]:
        return self.delete_resource(self.kind, self.endpoint_name)


class DeleteDeploymentOperatorBase(DeploymentOperatorBase):
    """Delete a deployment of ``kind`` and wait until it is gone; a missing one is success.

    Refuses (without retries) what the registry says makes the deletion unsafe (the batch
    endpoint's default deployment; an online deployment that still gets traffic).
    """

    kind: ClassVar[str]

    def execute(self, context: Context) -> dict[str, Any]:
        entry = kind_of(self.kind, self.deployment_name)
        endpoints = entry.parent_group(self.client)
        endpoint = get_or_none(lambda: endpoints.get(self.endpoint_name))
        if endpoint is None:
            self.log.info("%s endpoint %r does not exist: nothing to delete", entry.flavour, self.endpoint_name)
            return self.deleted_result(existed=False)
        if entry.deletion_blocker is not None and self.fetch(self.kind, self.endpoint_name, self.deployment_name):
            blocker = entry.deletion_blocker(endpoint, self.deployment_name)
            if blocker:
                raise AirflowFailException(blocker)
        return self.delete_resource(self.kind, self.endpoint_name, self.deployment_name)
