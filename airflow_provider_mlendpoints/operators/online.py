"""Azure-mode operators for managed online endpoints: create, roll out blue/green, score, read logs, delete.

The documented workflow as tasks (scoring, logs and credentials live in
:mod:`.online_use` and are re-exported here): create an endpoint with a blue deployment,
check provisioning, read its logs, invoke it with a request file, create
green beside it with no traffic, shift traffic step by step (optionally
mirroring live traffic to green first), update one aspect of a deployment at
a time, delete blue, delete the endpoint.

Idempotency, retries, waiting, templating and errors work as described in
:mod:`airflow_provider_mlendpoints.operators.batch`. In addition:

- endpoint create-or-update never changes traffic by accident: a spec without
  ``traffic`` keeps the endpoint's current split. A 2021-05 file with inline
  ``deployments:`` and a ``traffic:`` split is applied in the order Azure
  needs: the endpoint (traffic unchanged), then every deployment, then the
  split (a full-body PUT), since traffic may only point at deployments that
  exist.
- :class:`SetOnlineTrafficOperator` is a full-body PUT of the endpoint that
  keeps every other property; the given split is the whole split.
- secrets: endpoint keys and tokens are registered with Airflow's secrets
  masker the moment the client receives them (so they print as ``***``) and
  are never returned to XCom. :class:`GetOnlineEndpointCredentialsOperator`
  hands them downstream only through an Airflow Variable whose name Airflow
  treats as sensitive; its XCom holds a reference (the Variable's name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from ..client.resource_bodies import put_body_from
from ..links import AzureMLEndpointLink
from ..specs import OnlineDeploymentSpec, OnlineEndpointSpec
from ._base import MLEndpointsBaseOperator, get_or_none, service_errors
from ._named import EndpointOperatorBase
from ._names import ONLINE_OPERATORS
from ._specs import (
    DeleteDeploymentOperatorBase,
    DeleteEndpointOperatorBase,
    DeploymentSpecOperator,
    InlineDeploymentsEndpointOperator,
    put_deployment,
)
from ._summaries import deployment_summary, endpoint_summary
from .online_use import (  # re-exported: the online operators are importable from here
    GetOnlineDeploymentLogsOperator as GetOnlineDeploymentLogsOperator,
)
from .online_use import (
    GetOnlineEndpointCredentialsOperator as GetOnlineEndpointCredentialsOperator,
)
from .online_use import (
    InvokeOnlineEndpointOperator as InvokeOnlineEndpointOperator,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def _percentages(value: Any, what: str, *, total: int | None, cap: int) -> dict[str, int]:
    """A rendered traffic dict (or its JSON) as ``{deployment: int}``, validated."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise AirflowFailException(f"{what} is not a dict nor JSON of one: {value!r}") from exc
    if not isinstance(value, Mapping):
        raise AirflowFailException(
            f"{what} must be a dict of deployment -> percent, not {type(value).__name__}"
        )
    out: dict[str, int] = {}
    for name, raw in value.items():
        try:
            percent = int(str(raw).strip()) if not isinstance(raw, int) else raw
        except ValueError as exc:
            raise AirflowFailException(f"{what}.{name}: expected a whole percentage, found {raw!r}") from exc
        if isinstance(raw, bool) or not 0 <= percent <= cap:
            raise AirflowFailException(f"{what}.{name}: expected a percentage 0-{cap}, found {raw!r}")
        out[str(name)] = percent
    summed = sum(out.values())
    if total is not None and out and summed not in (0, total):
        raise AirflowFailException(f"{what} percentages must sum to {total}, found {summed}: {out}")
    if total is None and summed > cap:
        raise AirflowFailException(f"{what} percentages must sum to at most {cap}, found {summed}: {out}")
    return out


def _nonzero(split: Mapping[str, Any] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (split or {}).items() if int(v or 0) > 0}


def _put_traffic(
    op: MLEndpointsBaseOperator,
    endpoint_name: str,
    traffic: dict[str, int] | None,
    mirror: dict[str, int] | None,
    method: str,
) -> dict[str, Any]:
    """Full-body PUT of the endpoint with a new traffic (and/or mirror) split; wait; details."""
    client = op.client
    endpoint = op.settle("online_endpoint", endpoint_name)
    if endpoint is None:
        raise AirflowFailException(f"online endpoint {endpoint_name!r} does not exist")
    new_traffic = endpoint.traffic if traffic is None else traffic
    new_mirror = endpoint.mirror_traffic if mirror is None else mirror
    overlap = set(_nonzero(new_traffic)) & set(_nonzero(new_mirror))
    if overlap:
        raise AirflowFailException(
            f"a deployment cannot get live and mirrored traffic at once ({', '.join(sorted(overlap))}): "
            f"traffic {new_traffic}, mirror_traffic {new_mirror}; stop mirroring with mirror_traffic={{}}"
        )
    targets = set(_nonzero(new_traffic)) | set(_nonzero(new_mirror))
    if targets:
        known = {d.name for d in client.online_deployments.list(endpoint_name)}
        missing = sorted(targets - known)
        if missing:
            raise AirflowFailException(
                f"traffic of online endpoint {endpoint_name!r} names deployments that do not exist: "
                f"{', '.join(missing)} (existing: {', '.join(sorted(known)) or 'none'})"
            )
    if (
        _nonzero(new_traffic) == _nonzero(endpoint.traffic)
        and _nonzero(new_mirror) == _nonzero(endpoint.mirror_traffic)
        and endpoint.provisioning_state == "Succeeded"
    ):
        op.log.info("Traffic of %r already is %s (mirror %s)", endpoint_name, new_traffic, new_mirror or {})
        return endpoint_summary(endpoint.raw)
    body = put_body_from(endpoint.raw)
    props = body.setdefault("properties", {})
    props["traffic"] = dict(new_traffic)
    props["mirrorTraffic"] = dict(new_mirror)
    op.log.info(
        "Traffic of %r: %s -> %s; mirror %s -> %s",
        endpoint_name, endpoint.traffic, new_traffic, endpoint.mirror_traffic, new_mirror,
    )  # fmt: skip
    with service_errors(f"traffic of online endpoint {endpoint_name!r}"):
        op.start_operation("PUT", "online_endpoint", endpoint_name, body=body)
    details = op.wait_for_provisioning("online_endpoint", endpoint_name, method_name=method)
    return endpoint_summary(details)


# ------------------------------------------------------------------------------------------------
# Endpoints and deployments
# ------------------------------------------------------------------------------------------------
class CreateOrUpdateOnlineEndpointOperator(InlineDeploymentsEndpointOperator):
    """Create or update an online endpoint (any YAML generation) and wait until it is provisioned.

    For a 2021-05 file with inline ``deployments:``: creates/updates the endpoint (traffic
    unchanged), then each deployment (local model/code/environment registered), then applies the
    file's ``traffic`` (and ``mirror_traffic``) split. A spec without traffic keeps the current split.

    :param spec: the endpoint YAML (path), a dict of it, or an ``OnlineEndpointSpec``; None to
        create an endpoint from ``endpoint_name`` (and ``auth_mode``) alone.
    :param endpoint_name: the endpoint's name (overrides the spec's ``name``).
    :param auth_mode: ``key``, ``aml_token`` or ``aad_token`` when no spec is given.
    :param description: / :param tags: when no spec is given.
    :param location: Azure region; default: the existing endpoint's, else the workspace's.
    :param base_dir: folder that relative paths of a dict spec resolve against.

    Returns the endpoint's details (JSON-safe, no keys): ``scoring_uri``, ``traffic``,
    ``mirror_traffic``, ``provisioning_state``, ``properties``...
    """

    template_fields = (
        "spec",
        "endpoint_name",
        "auth_mode",
        "description",
        "tags",
        "location",
        "base_dir",
        "ml_endpoints_conn_id",
    )
    operator_extra_links = (AzureMLEndpointLink(),)
    spec_class = OnlineEndpointSpec
    endpoint_kind = "online_endpoint"
    deployment_kind = "online_deployment"

    def __init__(self, *, auth_mode: str = "key", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth_mode = auth_mode

    def spec_without_file(self) -> dict[str, Any]:
        return {**super().spec_without_file(), "auth_mode": self.auth_mode}

    def endpoint_body(self, spec: Any, existing: Any, location: str) -> dict[str, Any]:
        from ..client.asset_upload import AssetResolver

        # the resolver turns a Kubernetes compute into its ARM id
        body = spec.to_rest(location, resolve=AssetResolver(self.client))
        props = body["properties"]
        # Traffic is applied last (deployments must exist first); until then keep the current split.
        props["traffic"] = dict(existing.traffic) if existing else {}
        props["mirrorTraffic"] = dict(existing.mirror_traffic) if existing else {}
        return body

    def apply_routing(self) -> dict[str, Any]:
        """Last step: the spec's traffic and mirror split, when it has one."""
        spec = self.load()
        if not spec.traffic and not spec.mirror_traffic:
            return endpoint_summary(self.client.online_endpoints.get(spec.name).raw)
        traffic = dict(spec.traffic) if spec.traffic else None
        mirror = dict(spec.mirror_traffic) if spec.mirror_traffic else None
        return _put_traffic(self, spec.name, traffic, mirror, "provisioned")

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the traffic PUT provisioned."""
        return endpoint_summary(self.handle_provisioning_event(event))


class CreateOrUpdateOnlineDeploymentOperator(DeploymentSpecOperator):
    """Create or update an online deployment and wait until it is provisioned.

    A new deployment gets no traffic (shift it with :class:`SetOnlineTrafficOperator`); updating
    one keeps the endpoint's split. Update one aspect at a time with ``overrides`` on the same
    YAML: ``{"instance_count": 2}``, ``{"environment_variables.LOG_LEVEL": "debug"}``.

    :param spec: the deployment YAML (path; any generation), a dict of it, or an ``OnlineDeploymentSpec``.
    :param endpoint_name: the endpoint (overrides the spec's ``endpoint_name``).
    :param deployment_name: the deployment's name (overrides the spec's ``name``).
    :param overrides: settings to change, YAML names (``instance_count``, ``instance_type``,
        ``environment_variables.NAME``, ``tags.NAME``, ``description``, ``app_insights_enabled``).
    :param location: Azure region; default: the endpoint's.
    :param base_dir: folder that relative paths of a dict spec resolve against.

    Returns the deployment's details (JSON-safe; sensitive environment variables hidden).
    """

    spec_class = OnlineDeploymentSpec

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self.load()
        ep, name = spec.endpoint_name, spec.name
        self.persist_links(context, "online", ep, name)
        endpoint = get_or_none(lambda: self.client.online_endpoints.get(ep))
        if endpoint is None:
            raise AirflowFailException(f"online endpoint {ep!r} does not exist; create it first")
        put_deployment(self, "online_deployment", spec, endpoint, self.location)
        details = self.wait_for_provisioning("online_deployment", ep, name, method_name="provisioned")
        return deployment_summary(details)

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the provisioning trigger."""
        return deployment_summary(self.handle_provisioning_event(event))


class SetOnlineTrafficOperator(EndpointOperatorBase):
    """Set an online endpoint's traffic split (and/or mirror traffic): a full-body PUT.

    :param endpoint_name: the endpoint.
    :param traffic: the whole live split, e.g. ``{"blue": 90, "green": 10}``; percentages sum to
        100 (or all 0); deployments left out get 0. None keeps the current split. A JSON string
        (e.g. a rendered template) is accepted.
    :param mirror_traffic: percent of live traffic *copied* to a deployment (its answers are
        discarded), e.g. ``{"green": 10}``; at most 50 in total; ``{}`` stops mirroring; None keeps it.

    Every named deployment must exist. Nothing is sent when the split already is the target.
    Returns the endpoint's details (``traffic``, ``mirror_traffic``...).
    """

    template_fields = ("endpoint_name", "traffic", "mirror_traffic", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(
        self,
        *,
        traffic: dict[str, int] | str | None = None,
        mirror_traffic: dict[str, int] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if traffic is None and mirror_traffic is None:
            raise ValueError("give traffic, mirror_traffic or both")
        if isinstance(traffic, Mapping) and not any("{" in str(v) for v in traffic.values()):
            _percentages(traffic, "traffic", total=100, cap=100)  # fail at parse time when literal
        self.traffic = traffic
        self.mirror_traffic = mirror_traffic

    def execute(self, context: Context) -> dict[str, Any]:
        self.persist_links(context, "online", self.endpoint_name)
        traffic = None if self.traffic is None else _percentages(self.traffic, "traffic", total=100, cap=100)
        mirror = (
            None
            if self.mirror_traffic is None
            else _percentages(self.mirror_traffic, "mirror_traffic", total=None, cap=50)
        )
        return _put_traffic(self, self.endpoint_name, traffic, mirror, "provisioned")

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the provisioning trigger."""
        return endpoint_summary(self.handle_provisioning_event(event))


# ------------------------------------------------------------------------------------------------
# Deleting
# ------------------------------------------------------------------------------------------------
class DeleteOnlineDeploymentOperator(DeleteDeploymentOperatorBase):
    """Delete an online deployment and wait until it is gone; a missing deployment is success.

    Refuses (without retries) while the deployment still gets live or mirrored traffic: shift its
    traffic away first (:class:`SetOnlineTrafficOperator`).
    """

    kind = "online_deployment"


class DeleteOnlineEndpointOperator(DeleteEndpointOperatorBase):
    """Delete an online endpoint (and its deployments) and wait until it is gone; missing is success."""

    kind = "online_endpoint"


__all__ = list(ONLINE_OPERATORS)
