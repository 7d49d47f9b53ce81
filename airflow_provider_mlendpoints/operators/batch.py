"""Azure-mode operators for batch endpoints: the documented Azure ML batch workflow as Airflow tasks.

Create a compute cluster, create an endpoint, create a deployment (registering
its local model, code and environment) and make it the default, read both,
download a job's results, flip the default, delete the old deployment and the
endpoint. Invoking the endpoint is :class:`InvokeBatchEndpointOperator`
(``operators/batch_invoke.py``), re-exported here.

Every operator is idempotent and safe to retry:

- create-or-update is a PUT of the full body. When the resource already has
  exactly what the spec asks for (and provisioned successfully), no PUT is
  sent; when a previous try's operation is still running, the task waits for
  it before sending its own (the service answers 409 Conflict otherwise).
- endpoint PUTs keep what the spec does not mention: re-applying an endpoint
  YAML without ``defaults`` keeps the current default deployment.
- deletes treat a missing resource as already deleted.

Waiting: provisioning is awaited with
:meth:`~airflow_provider_mlendpoints.operators._base.MLEndpointsBaseOperator.wait_for_provisioning`
(deferred to the triggerer when ``deferrable``), deletions with the same
trigger (a resource that disappeared is done). Compute clusters are polled in
the worker (``computes`` have no trigger; creation takes seconds to minutes).

Templating: names, spec paths and dicts, overrides and paths are templated.
``template_ext`` is empty on purpose: a ``.yml`` path is passed to the spec
loader as a path, never read and rendered as a Jinja template, because Azure
ML YAML may itself contain ``{{ }}``/``${{ }}`` placeholders. Template the
*path* (``"specs/{{ params.model }}.yml"``) or pass a dict whose values are
templated instead.

Errors: an invalid spec fails the task at once (no retries) with every
problem as ``file: field.path: message``; a request the service rejects
(400/422) fails at once with the service's code and message; throttling,
conflicts and 5xx are left to Airflow's retries.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..client.errors import NotFoundError
from ..client.errors import ValidationError as RequestRejected
from ..client.resources import ENDPOINT_TERMINAL_STATES
from ..links import (
    AzureMLDeploymentLink,
    AzureMLEndpointLink,
    AzureMLJobLink,
    studio_deployment_url,
    studio_endpoint_url,
    studio_job_url,
)
from ..specs import BatchDeploymentSpec, BatchEndpointSpec, SpecError, apply_overrides, load_spec
from ..triggers._common import fetch_resource, resource_label
from ._base import MLEndpointsBaseOperator, poll_until
from .batch_invoke import InvokeBatchEndpointOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Properties the service computes; never sent back in a full-body PUT.
READ_ONLY_PROPERTIES = frozenset({"provisioningState", "scoringUri", "swaggerUri", "keys"})
READ_ONLY_TOP = frozenset({"id", "name", "type", "systemData"})


# ------------------------------------------------------------------------------------------------
# Shared helpers (also used by operators/online.py)
# ------------------------------------------------------------------------------------------------
def load_resource_spec(
    spec: Any,
    spec_class: type,
    *,
    name: str | None = None,
    endpoint_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    base_dir: str | None = None,
) -> Any:
    """A spec of ``spec_class`` from a YAML path, a dict or a spec object, with name/endpoint/overrides.

    Raises :class:`AirflowFailException` (no retries) carrying every problem of the spec, each
    naming the file and the field.
    """
    try:
        if isinstance(spec, spec_class):
            loaded = spec
        elif isinstance(spec, str | os.PathLike | Mapping):
            if isinstance(spec, str) and not spec.strip():
                raise AirflowFailException(f"{spec_class.__name__}: the spec path is empty")
            loaded = load_spec(spec, kind=spec_class, base_dir=base_dir, require_local_paths=True)
        else:
            raise AirflowFailException(
                f"spec must be a YAML path, a dict or a {spec_class.__name__}, not {type(spec).__name__}"
            )
        if name:
            loaded = replace(loaded, name=name)
        if endpoint_name and hasattr(loaded, "endpoint_name"):
            loaded = replace(loaded, endpoint_name=endpoint_name)
        cleaned = clean_overrides(overrides)
        if cleaned:
            loaded = apply_overrides(loaded, cleaned)
    except SpecError as exc:
        raise AirflowFailException(f"invalid {spec_class.__name__} spec:\n{exc}") from exc
    return loaded


def clean_overrides(overrides: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Rendered overrides (a dict, or its JSON) without entries that rendered empty."""
    if not overrides:
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError as exc:
            raise AirflowFailException(f"overrides is not a dict nor JSON of one: {overrides!r}") from exc
    if not isinstance(overrides, Mapping):
        raise AirflowFailException(
            f"overrides must be a dict of setting -> value, not {type(overrides).__name__}"
        )
    return {
        str(k): v
        for k, v in overrides.items()
        if v is not None and not (isinstance(v, str) and not v.strip())
    }


def put_body_from(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A full PUT body from a GET answer: read-only fields dropped, everything else kept."""
    body = {k: copy.deepcopy(v) for k, v in raw.items() if k not in READ_ONLY_TOP}
    props = body.get("properties")
    if isinstance(props, dict):
        body["properties"] = {k: v for k, v in props.items() if k not in READ_ONLY_PROPERTIES}
    return body


def _contains(have: Any, want: Any) -> bool:
    """Whether ``have`` already holds ``want`` (dicts compared key by key, recursively)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return False
        return all(_contains(have.get(k), v) for k, v in want.items())
    if isinstance(want, str) and isinstance(have, str):
        return want == have or (want.startswith("/subscriptions/") and want.lower() == have.lower())
    return want == have


def up_to_date(existing: Any, body: Mapping[str, Any]) -> bool:
    """Whether ``existing`` provisioned successfully with every property, tag and sku of ``body``."""
    if existing is None or existing.provisioning_state != "Succeeded":
        return False
    raw = existing.raw
    if not _contains(raw.get("properties") or {}, body.get("properties") or {}):
        return False
    if (body.get("tags") or {}) != (raw.get("tags") or {}):
        return False
    return not (body.get("sku") and not _contains(raw.get("sku") or {}, body["sku"]))


def _hide(name: str) -> bool:
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    return bool(should_hide_value_for_key(name))


def safe_details(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON-safe copy of a resource for XCom: no keys, sensitive environment variables hidden."""
    if not raw:
        return {}
    out = json.loads(json.dumps(raw, default=str))
    props = out.get("properties")
    if isinstance(props, dict):
        props.pop("keys", None)
        env = props.get("environmentVariables")
        if isinstance(env, dict):
            props["environmentVariables"] = {k: ("***" if _hide(k) else v) for k, v in env.items()}
        out["provisioning_state"] = props.get("provisioningState")
    return out


def workspace_location(client: Any) -> str:
    """The workspace's Azure region (``GET`` of the workspace resource)."""
    ops = client.batch_endpoints
    body = ops._x.call(ops._request("GET"))  # the workspace itself: no segment below it
    return (body or {}).get("location") or ""


@contextlib.contextmanager
def service_errors(what: str) -> Iterator[None]:
    """Requests the service rejected (400/422) fail the task without retries, naming ``what``."""
    try:
        yield
    except RequestRejected as exc:
        raise AirflowFailException(f"{what}: the service rejected the request: {exc}") from exc


def _get_or_none(fetch: Any) -> Any:
    try:
        return fetch()
    except NotFoundError:
        return None


_SEGMENTS = {
    "batch_endpoint": ("batch_endpoints", "batchEndpoints"),
    "batch_deployment": ("batch_deployments", "batchEndpoints"),
    "online_endpoint": ("online_endpoints", "onlineEndpoints"),
    "online_deployment": ("online_deployments", "onlineEndpoints"),
    "compute": ("computes", "computes"),
}


def start_operation(
    client: Any,
    method: str,
    resource: str,
    name: str,
    deployment_name: str | None = None,
    body: dict[str, Any] | None = None,
) -> str | None:
    """Send a PUT or DELETE and return at once with the operation's status URL (if the service gave one).

    The client's ``begin_*`` pollers would poll in a background thread that outlives the task
    (and a deferred task waits in the triggerer anyway), so the request goes out as one call and
    the caller waits by reading the resource's state.
    """
    group_name, collection = _SEGMENTS[resource]
    group = getattr(client, group_name)
    segments = [collection, name] + (["deployments", deployment_name] if deployment_name else [])
    params = {"underlyingResourceAction": "Delete"} if resource == "compute" and method == "DELETE" else None
    response = group._x.raw(group._request(method, *segments, body=body, params=params))
    headers = response.headers
    return headers.get("Azure-AsyncOperation") or headers.get("Location")


def operation_error(client: Any, url: str) -> str | None:
    """``code: message`` of a finished long-running operation that failed (None if it did not say)."""
    from azure.core.rest import HttpRequest

    try:
        body = client.batch_endpoints._x.call(HttpRequest("GET", url))
    except Exception:  # the operation record may be gone; the state alone still fails the task
        return None
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    return ": ".join(str(p) for p in (error.get("code"), error.get("message")) if p) or None


def _task_state_store() -> Any:
    with contextlib.suppress(Exception):
        from airflow.sdk import get_current_context

        return get_current_context().get("task_state_store")
    return None


_OPERATION_KEY = "mlendpoints_operation:"
#: Seconds a resource may keep showing its old state right after a DELETE was accepted.
DELETE_GRACE_SECONDS = 30.0


class ResourceOperator(MLEndpointsBaseOperator):
    """Common machinery of the endpoint/deployment operators (settle, wait for deletion, links)."""

    ui_color = "#cce6ff"

    # -- operations -------------------------------------------------------------------------------
    def start_operation(
        self,
        method: str,
        resource: str,
        name: str,
        deployment_name: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> str | None:
        """Send the PUT/DELETE; remember its status URL (also across a deferral, in the task
        state store) so a failed provisioning can report the service's reason."""
        url = start_operation(self.client, method, resource, name, deployment_name, body)
        if url:
            key = _OPERATION_KEY + resource_label(resource, name, deployment_name)
            self.__dict__.setdefault("_operation_urls", {})[key] = url
            store = _task_state_store()
            if store is not None:
                with contextlib.suppress(Exception):
                    store.set(key, url)
        return url

    def failure_reason(
        self, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> str | None:
        """The service's ``code: message`` for the last operation this task started on the resource."""
        key = _OPERATION_KEY + resource_label(resource, endpoint_name, deployment_name)
        url = self.__dict__.get("_operation_urls", {}).get(key)
        if url is None:
            store = _task_state_store()
            with contextlib.suppress(Exception):
                url = store.get(key) if store is not None else None
        return operation_error(self.client, url) if url else None

    def handle_provisioning_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """As the base, with the service's reason added to a failure."""
        if event.get("status") != "success" and event.get("resource") and event.get("endpoint_name"):
            reason = self.failure_reason(
                event["resource"], event["endpoint_name"], event.get("deployment_name")
            )
            if reason and reason not in str(event.get("message")):
                event = {**event, "message": f"{event.get('message')}: {reason}"}
        return super().handle_provisioning_event(event)

    def resume_execute(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after waiting for another operation on the resource: run :meth:`execute` again."""
        return self.execute(context)

    def settle(
        self, context: Context, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> Any:
        """Wait while another operation (a previous try's PUT or DELETE) runs on the resource.

        Returns the resource as it is now (None when it does not exist). Deferrable: defers and
        resumes in :meth:`resume_execute`, which starts :meth:`execute` over.
        """
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)
        current = _get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))
        if current is None or current.provisioning_state in ENDPOINT_TERMINAL_STATES:
            return current
        self.log.info("%s is %s; waiting for that operation first", label, current.provisioning_state)
        if self.deferrable:
            self._defer_on(resource, endpoint_name, deployment_name, "resume_execute")

        def fetch() -> Any:
            return _get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

        def to_event(obj: Any) -> dict[str, Any] | None:
            if obj is None or obj.provisioning_state in ENDPOINT_TERMINAL_STATES:
                return {"status": "success"}
            return None

        event = poll_until(
            fetch,
            to_event,
            lambda obj: {"status": "timeout", "message": f"{label} still busy after {self.timeout} s"},
            lambda exc, obj: {"status": "error", "message": f"polling {label} failed: {exc}"},
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            log=self.log,
        )
        if event["status"] != "success":
            raise AirflowException(event["message"])
        return _get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

    def _defer_on(self, resource: str, endpoint_name: str, deployment_name: str | None, method: str) -> None:
        from ..triggers.provisioning import ProvisioningStateTrigger

        self.defer(
            trigger=ProvisioningStateTrigger(
                conn_id=self.conn_id,
                resource=resource,
                endpoint_name=endpoint_name,
                deployment_name=deployment_name,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
            ),
            method_name=method,
        )

    # -- deletion ---------------------------------------------------------------------------------
    def delete_and_wait(
        self, context: Context, resource: str, endpoint_name: str, deployment_name: str | None = None
    ) -> dict[str, Any]:
        """DELETE (a missing resource counts as deleted) and wait until it is gone."""
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)
        current = _get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))
        if current is None:
            self.log.info("%s does not exist: nothing to delete", label)
            return self.deleted_result(existed=False)
        if current.provisioning_state != "Deleting":
            if current.provisioning_state not in ENDPOINT_TERMINAL_STATES:
                self.settle(context, resource, endpoint_name, deployment_name)
            with service_errors(f"deleting {label}"), contextlib.suppress(NotFoundError):
                self.start_operation("DELETE", resource, endpoint_name, deployment_name)
            self.log.info("Deleting %s", label)
        return self._wait_gone(resource, endpoint_name, deployment_name)

    def _wait_gone(self, resource: str, endpoint_name: str, deployment_name: str | None) -> dict[str, Any]:
        client = self.client
        label = resource_label(resource, endpoint_name, deployment_name)

        def fetch() -> Any:
            return _get_or_none(lambda: fetch_resource(client, resource, endpoint_name, deployment_name))

        current = fetch()
        # Right after the DELETE the service may still show the old state for a moment; a
        # Failed/Canceled state counts as the deletion's outcome only once Deleting was seen.
        grace = time.monotonic() + DELETE_GRACE_SECONDS
        while current is not None and current.provisioning_state != "Deleting" and time.monotonic() < grace:
            time.sleep(min(self.poll_interval, 1.0))
            current = fetch()
        if current is None:
            return self.deleted_result(existed=True)
        seen = {"deleting": current.provisioning_state == "Deleting"}
        if self.deferrable and seen["deleting"]:
            self._defer_on(resource, endpoint_name, deployment_name, "deletion_complete")

        def to_event(obj: Any) -> dict[str, Any] | None:
            if obj is None:
                return {"status": "success"}
            seen["deleting"] = seen["deleting"] or obj.provisioning_state == "Deleting"
            if obj.provisioning_state in ("Failed", "Canceled") and seen["deleting"]:
                reason = self.failure_reason(resource, endpoint_name, deployment_name)
                message = f"deleting {label} ended {obj.provisioning_state}" + (
                    f": {reason}" if reason else ""
                )
                return {"status": "failed", "message": message}
            return None

        event = poll_until(
            fetch,
            to_event,
            lambda obj: {"status": "timeout", "message": f"{label} not deleted after {self.timeout} s"},
            lambda exc, obj: {"status": "error", "message": f"polling {label} failed: {exc}"},
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            describe=lambda obj: f"{label} is {obj.provisioning_state}" if obj is not None else None,
            log=self.log,
        )
        if event["status"] != "success":
            raise AirflowException(event["message"])
        self.log.info("%s deleted", label)
        return self.deleted_result(existed=True)

    def deletion_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the provisioning trigger fired during a deletion."""
        event = event or {}
        resource = event.get("resource") or self._resource_kind
        endpoint_name = event.get("endpoint_name") or self.endpoint_name
        deployment_name = event.get("deployment_name") or getattr(self, "deployment_name", None)
        current = _get_or_none(lambda: fetch_resource(self.client, resource, endpoint_name, deployment_name))
        if current is None:
            self.log.info("%s deleted", resource_label(resource, endpoint_name, deployment_name))
            return self.deleted_result(existed=True)
        if event.get("status") in ("failed", "canceled", "timeout"):
            self.handle_provisioning_event(
                {**event, "message": f"deleting: {event.get('message')}"}
            )  # raises
        return self._wait_gone(resource, endpoint_name, deployment_name)

    _resource_kind = "batch_endpoint"

    def deleted_result(self, *, existed: bool) -> dict[str, Any]:
        return {
            "endpoint_name": self.endpoint_name,
            "deployment_name": getattr(self, "deployment_name", None),
            "deleted": True,
            "existed": existed,
        }

    # -- links ------------------------------------------------------------------------------------
    def persist_links(
        self, context: Context, kind: str, endpoint_name: str, deployment_name: str | None = None
    ) -> None:
        """Store the Studio links of the endpoint (and deployment) for the task's extra links."""
        config = self.client.config
        with contextlib.suppress(Exception):
            AzureMLEndpointLink.persist(context, studio_endpoint_url(config, kind, endpoint_name))
            if deployment_name:
                AzureMLDeploymentLink.persist(
                    context, studio_deployment_url(config, kind, endpoint_name, deployment_name)
                )


# ------------------------------------------------------------------------------------------------
# Batch endpoints
# ------------------------------------------------------------------------------------------------
def endpoint_summary(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe endpoint details plus handy top-level fields."""
    out = safe_details(raw)
    props = out.get("properties") or {}
    out["scoring_uri"] = props.get("scoringUri")
    if "defaults" in props or (out.get("type") or "").endswith("batchEndpoints"):
        out["default_deployment"] = (props.get("defaults") or {}).get("deploymentName")
    if "traffic" in props:
        out["traffic"] = props.get("traffic") or {}
        out["mirror_traffic"] = props.get("mirrorTraffic") or {}
    return out


class CreateOrUpdateBatchEndpointOperator(ResourceOperator):
    """Create or update a batch endpoint and wait until it is provisioned.

    :param spec: the endpoint YAML (path), a dict of it, or a ``BatchEndpointSpec``; None to
        create an endpoint from ``endpoint_name`` alone.
    :param endpoint_name: the endpoint's name (overrides the spec's ``name``).
    :param description: description when no spec is given.
    :param tags: tags when no spec is given.
    :param location: Azure region; default: the existing endpoint's, else the workspace's.

    Returns the endpoint's details (JSON-safe, no keys): ``name``, ``scoring_uri``,
    ``default_deployment``, ``provisioning_state``, ``properties``...
    """

    template_fields = ("spec", "endpoint_name", "description", "tags", "location", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(
        self,
        *,
        spec: str | Mapping[str, Any] | BatchEndpointSpec | None = None,
        endpoint_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        location: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if spec is None and not endpoint_name:
            raise ValueError("give spec (a YAML path or dict) or endpoint_name")
        self.spec = spec
        self.endpoint_name = endpoint_name
        self.description = description
        self.tags = tags
        self.location = location

    def load(self) -> BatchEndpointSpec:
        if self.spec is None:
            return BatchEndpointSpec(
                name=self.endpoint_name, description=self.description or None, tags=dict(self.tags or {})
            )
        return load_resource_spec(self.spec, BatchEndpointSpec, name=self.endpoint_name)

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self.load()
        name = spec.name
        self.endpoint_name = name
        self.persist_links(context, "batch", name)
        existing = self.settle(context, "batch_endpoint", name)
        client = self.client
        location = self.location or (existing.location if existing else None) or workspace_location(client)
        body = spec.to_rest(location)
        if existing is not None and not spec.default_deployment and existing.default_deployment:
            body["properties"]["defaults"] = {"deploymentName": existing.default_deployment}
        if up_to_date(existing, body):
            self.log.info("Batch endpoint %r is up to date; nothing to change", name)
            return endpoint_summary(existing.raw)
        self.log.info("%s batch endpoint %r", "Updating" if existing else "Creating", name)
        with service_errors(f"batch endpoint {name!r}"):
            self.start_operation("PUT", "batch_endpoint", name, body=body)
        details = self.wait_for_provisioning(
            context, resource="batch_endpoint", endpoint_name=name, method_name="provisioned"
        )
        return endpoint_summary(details)

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the provisioning trigger."""
        return endpoint_summary(self.handle_provisioning_event(event))


class SetBatchDefaultDeploymentOperator(ResourceOperator):
    """Make ``deployment_name`` the default deployment of a batch endpoint.

    A full-body PUT of the endpoint with ``defaults.deploymentName`` (the documented way; PATCH
    cannot change it), every other property kept. Nothing is sent when it already is the default.
    Returns the endpoint's details.
    """

    template_fields = ("endpoint_name", "deployment_name", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def execute(self, context: Context) -> dict[str, Any]:
        self.persist_links(context, "batch", self.endpoint_name)
        return set_batch_default(self, context, self.endpoint_name, self.deployment_name)

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the provisioning trigger."""
        return endpoint_summary(self.handle_provisioning_event(event))


def set_batch_default(
    op: ResourceOperator,
    context: Context,
    endpoint_name: str,
    deployment_name: str,
    method: str = "provisioned",
) -> dict[str, Any]:
    """Full-body PUT of the endpoint's ``defaults.deploymentName``; wait; the endpoint's details."""
    client = op.client
    label = f"batch deployment {endpoint_name}/{deployment_name}"
    deployment = _get_or_none(lambda: client.batch_deployments.get(endpoint_name, deployment_name))
    if deployment is None:
        raise AirflowFailException(f"{label} does not exist; create it before making it the default")
    endpoint = op.settle(context, "batch_endpoint", endpoint_name)
    if endpoint is None:
        raise AirflowFailException(f"batch endpoint {endpoint_name!r} does not exist")
    if endpoint.default_deployment == deployment_name and endpoint.provisioning_state == "Succeeded":
        op.log.info("%r already is the default deployment of %r", deployment_name, endpoint_name)
        return endpoint_summary(endpoint.raw)
    body = put_body_from(endpoint.raw)
    body.setdefault("properties", {})["defaults"] = {"deploymentName": deployment_name}
    op.log.info(
        "Default deployment of %r: %r -> %r", endpoint_name, endpoint.default_deployment, deployment_name
    )
    with service_errors(f"setting the default deployment of {endpoint_name!r}"):
        op.start_operation("PUT", "batch_endpoint", endpoint_name, body=body)
    details = op.wait_for_provisioning(
        context, resource="batch_endpoint", endpoint_name=endpoint_name, method_name=method
    )
    return endpoint_summary(details)


# ------------------------------------------------------------------------------------------------
# Batch deployments
# ------------------------------------------------------------------------------------------------
def deployment_summary(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe deployment details plus handy top-level fields."""
    out = safe_details(raw)
    parts = (out.get("id") or "").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() in ("batchendpoints", "onlineendpoints"):
            out["endpoint_name"] = parts[i + 1]
    return out


class CreateOrUpdateBatchDeploymentOperator(ResourceOperator):
    """Create or update a batch deployment from its YAML and wait until it is provisioned.

    Local model, code and environment parts are uploaded to the workspace's default datastore
    and registered (once per content: a rerun finds them by hash and registers nothing new).

    :param spec: the deployment YAML (path; any generation), a dict of it, or a ``BatchDeploymentSpec``.
    :param endpoint_name: the endpoint (overrides the spec's ``endpoint_name``).
    :param deployment_name: the deployment's name (overrides the spec's ``name``), e.g. to deploy
        a new model beside the old one from the same file.
    :param overrides: settings to change, YAML names (``{"mini_batch_size": 20,
        "resources.instance_count": 2, "environment_variables.LOG": "debug"}``).
    :param set_default: afterwards make it the endpoint's default deployment (full-body PUT).
    :param location: Azure region; default: the endpoint's.
    :param base_dir: folder that relative paths of a dict spec resolve against (default: cwd).

    Returns the deployment's details (JSON-safe; sensitive environment variables hidden).
    """

    template_fields = (
        "spec",
        "endpoint_name",
        "deployment_name",
        "overrides",
        "location",
        "base_dir",
        "conn_id",
    )
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())

    def __init__(
        self,
        *,
        spec: str | Mapping[str, Any] | BatchDeploymentSpec,
        endpoint_name: str | None = None,
        deployment_name: str | None = None,
        overrides: dict[str, Any] | None = None,
        set_default: bool = False,
        location: str | None = None,
        base_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.overrides = overrides
        self.set_default = set_default
        self.location = location
        self.base_dir = base_dir

    def load(self) -> BatchDeploymentSpec:
        spec = load_resource_spec(
            self.spec,
            BatchDeploymentSpec,
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

    def execute(self, context: Context) -> dict[str, Any]:
        from ..client.asset_upload import AssetResolver

        spec = self.load()
        ep, name = spec.endpoint_name, spec.name
        self.endpoint_name, self.deployment_name = ep, name
        self.persist_links(context, "batch", ep, name)
        client = self.client
        endpoint = _get_or_none(lambda: client.batch_endpoints.get(ep))
        if endpoint is None:
            raise AirflowFailException(f"batch endpoint {ep!r} does not exist; create it first")
        existing = self.settle(context, "batch_deployment", ep, name)
        location = self.location or endpoint.location or workspace_location(client)
        with service_errors(f"registering the assets of batch deployment {ep}/{name}"):
            body = spec.to_rest(location, resolve=AssetResolver(client))
        if up_to_date(existing, body):
            self.log.info("Batch deployment %s/%s is up to date; nothing to change", ep, name)
            return self.deployment_provisioned(context, details=existing.raw)
        self.log.info("%s batch deployment %s/%s", "Updating" if existing else "Creating", ep, name)
        with service_errors(f"batch deployment {ep}/{name}"):
            self.start_operation("PUT", "batch_deployment", ep, name, body=body)
        details = self.wait_for_provisioning(
            context,
            resource="batch_deployment",
            endpoint_name=ep,
            deployment_name=name,
            method_name="deployment_provisioned",
        )
        return self.deployment_provisioned(context, details=details)

    def deployment_provisioned(
        self, context: Context, event: dict[str, Any] | None = None, *, details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """After the deployment provisioned (directly or after the trigger): set the default if asked."""
        if event is not None:
            details = self.handle_provisioning_event(event)
        if self.set_default:
            ep, name = self._names()
            set_batch_default(self, context, ep, name, method="default_set")
        return deployment_summary(details)

    def default_set(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the endpoint provisioned its new default deployment."""
        self.handle_provisioning_event(event)
        ep, name = self._names()
        return deployment_summary(self.client.batch_deployments.get(ep, name).raw)

    def _names(self) -> tuple[str, str]:
        if self.endpoint_name and self.deployment_name:
            return self.endpoint_name, self.deployment_name
        spec = self.load()  # after a deferral the operator is rebuilt from the DAG
        return spec.endpoint_name, spec.name


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
class GetBatchEndpointOperator(ResourceOperator):
    """Push a batch endpoint's details to XCom (JSON-safe, no keys): ``scoring_uri``,
    ``default_deployment``, ``provisioning_state``, ``properties``..."""

    template_fields = ("endpoint_name", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name

    def execute(self, context: Context) -> dict[str, Any]:
        self.persist_links(context, "batch", self.endpoint_name)
        try:
            endpoint = self.client.batch_endpoints.get(self.endpoint_name)
        except NotFoundError as exc:
            raise AirflowFailException(f"batch endpoint {self.endpoint_name!r} does not exist") from exc
        self.log.info(
            "Batch endpoint %r: %s, default deployment %r, scoring URI %s",
            endpoint.name, endpoint.provisioning_state, endpoint.default_deployment, endpoint.scoring_uri,
        )  # fmt: skip
        return endpoint_summary(endpoint.raw)


class GetBatchDeploymentOperator(ResourceOperator):
    """Push a batch deployment's details to XCom (JSON-safe; sensitive environment variables hidden)."""

    template_fields = ("endpoint_name", "deployment_name", "conn_id")
    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def execute(self, context: Context) -> dict[str, Any]:
        self.persist_links(context, "batch", self.endpoint_name, self.deployment_name)
        try:
            dep = self.client.batch_deployments.get(self.endpoint_name, self.deployment_name)
        except NotFoundError as exc:
            raise AirflowFailException(
                f"batch deployment {self.endpoint_name}/{self.deployment_name} does not exist"
            ) from exc
        self.log.info(
            "Batch deployment %s/%s: %s, model %s, compute %s",
            self.endpoint_name, self.deployment_name, dep.provisioning_state,
            (dep.model or {}).get("assetId") if isinstance(dep.model, dict) else dep.model, dep.compute,
        )  # fmt: skip
        return deployment_summary(dep.raw)


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
def _looks_like_file(path: str) -> bool:
    return not path.endswith(("/", os.sep)) and not os.path.isdir(path) and bool(Path(path).suffix)


class DownloadBatchJobResultsOperator(ResourceOperator):
    """Download a batch job's output to a local folder (or one file) and return the local paths.

    :param job_name: the batch job (e.g. ``"{{ ti.xcom_pull('invoke')['job_name'] }}"``).
    :param local_path: a folder (every output file is written below it), or a file path with a
        suffix (``.../predictions.csv``): then only the job's output file is written there (the
        single file, or the one named like the deployment's ``output_file_name``).
    :param output_name: the job output to read (default: the first one).
    :param wait_for_completion: wait for the job first (deferred when ``deferrable``); a failed
        job fails the task.

    Returns the written files' paths (sorted); re-running overwrites them (idempotent).
    """

    template_fields = ("job_name", "local_path", "output_name", "conn_id")
    operator_extra_links = (AzureMLJobLink(),)

    def __init__(
        self,
        *,
        job_name: str,
        local_path: str,
        output_name: str | None = None,
        wait_for_completion: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.local_path = local_path
        self.output_name = output_name
        self.wait_for_completion = wait_for_completion

    def execute(self, context: Context) -> list[str]:
        if not self.job_name:
            raise AirflowFailException("job_name rendered empty")
        with contextlib.suppress(Exception):
            AzureMLJobLink.persist(context, studio_job_url(self.client.config, self.job_name))
        if self.wait_for_completion:
            self.wait_for_job(context, self.job_name, method_name="job_finished")
        return self.download()

    def job_finished(self, context: Context, event: dict[str, Any]) -> list[str]:
        """Resume after the job trigger."""
        self.handle_job_event(event)
        return self.download()

    def download(self) -> list[str]:
        from ..client.results import download_job_output

        client = self.client
        try:
            job = client.jobs.get(self.job_name)
        except NotFoundError as exc:
            raise AirflowFailException(f"batch job {self.job_name!r} does not exist") from exc
        target = str(self.local_path)
        if not _looks_like_file(target):
            files = download_job_output(client, job, target, self.output_name)
            paths = sorted(str(p) for p in files)
            self.log.info("Downloaded %d file(s) of job %s to %s", len(paths), self.job_name, target)
            return paths
        parent = Path(target).parent
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=parent, prefix=".mlendpoints-download-") as tmp:
            files = download_job_output(client, job, tmp, self.output_name)
            chosen = self._pick(files, job)
            os.replace(chosen, target)
        self.log.info("Downloaded %s of job %s to %s", chosen.name, self.job_name, target)
        return [target]

    @staticmethod
    def _pick(files: list[Path], job: Any) -> Path:
        if len(files) == 1:
            return files[0]
        wanted = job.output_file_name or "predictions.csv"
        top = [f for f in files if f.name == wanted]
        if top:
            return min(top, key=lambda f: len(f.parts))
        names = ", ".join(sorted(f.name for f in files)[:10])
        raise AirflowFailException(
            f"job {job.name!r} wrote several files ({names}); download to a folder or name the output"
        )


# ------------------------------------------------------------------------------------------------
# Deleting
# ------------------------------------------------------------------------------------------------
class DeleteBatchDeploymentOperator(ResourceOperator):
    """Delete a batch deployment and wait until it is gone; a missing deployment is success.

    Refuses (without retries) to delete the endpoint's default deployment: make another one the
    default first (:class:`SetBatchDefaultDeploymentOperator`).
    Returns ``{"endpoint_name", "deployment_name", "deleted": True, "existed": bool}``.
    """

    template_fields = ("endpoint_name", "deployment_name", "conn_id")
    _resource_kind = "batch_deployment"

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def execute(self, context: Context) -> dict[str, Any]:
        endpoint = _get_or_none(lambda: self.client.batch_endpoints.get(self.endpoint_name))
        if endpoint is None:
            self.log.info("Batch endpoint %r does not exist: nothing to delete", self.endpoint_name)
            return self.deleted_result(existed=False)
        if endpoint.default_deployment == self.deployment_name and _get_or_none(
            lambda: self.client.batch_deployments.get(self.endpoint_name, self.deployment_name)
        ):
            raise AirflowFailException(
                f"{self.deployment_name!r} is the default deployment of batch endpoint "
                f"{self.endpoint_name!r}; make another deployment the default first "
                "(SetBatchDefaultDeploymentOperator), or delete the whole endpoint"
            )
        return self.delete_and_wait(context, "batch_deployment", self.endpoint_name, self.deployment_name)


class DeleteBatchEndpointOperator(ResourceOperator):
    """Delete a batch endpoint (and its deployments) and wait until it is gone; missing is success."""

    template_fields = ("endpoint_name", "conn_id")
    _resource_kind = "batch_endpoint"

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.delete_and_wait(context, "batch_endpoint", self.endpoint_name)


# ------------------------------------------------------------------------------------------------
# Compute
# ------------------------------------------------------------------------------------------------
def _iso_seconds(value: int | float | str) -> str:
    if isinstance(value, str) and value.strip().upper().startswith("P"):
        return value.strip().upper()
    return f"PT{int(float(value))}S"


class CreateAmlComputeOperator(ResourceOperator):
    """Create or update an AmlCompute cluster and wait until it is provisioned.

    :param compute_name: the cluster's name (what deployments reference as ``azureml:<name>``).
    :param vm_size: VM size, e.g. ``STANDARD_DS3_V2``.
    :param min_nodes: nodes kept when idle (0 scales to zero).
    :param max_nodes: upper bound of nodes.
    :param idle_time_before_scale_down: seconds (or ISO 8601) before idle nodes are released.
    :param vm_priority: ``Dedicated`` or ``LowPriority``.
    :param location: Azure region; default: the workspace's.

    Nothing is sent when the cluster already has these settings. Waits in the worker (cluster
    creation has no trigger; it takes seconds when ``min_nodes`` is 0). Returns the cluster's
    ``name``, ``id``, ``vm_size``, ``scale_settings`` and ``provisioning_state``.
    """

    template_fields = (
        "compute_name",
        "vm_size",
        "min_nodes",
        "max_nodes",
        "idle_time_before_scale_down",
        "location",
        "conn_id",
    )

    def __init__(
        self,
        *,
        compute_name: str,
        vm_size: str = "STANDARD_DS3_V2",
        min_nodes: int | str = 0,
        max_nodes: int | str = 1,
        idle_time_before_scale_down: int | str = 120,
        vm_priority: str = "Dedicated",
        description: str | None = None,
        location: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if vm_priority not in ("Dedicated", "LowPriority"):
            raise ValueError(f"vm_priority must be Dedicated or LowPriority, not {vm_priority!r}")
        self.compute_name = compute_name
        self.vm_size = vm_size
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.idle_time_before_scale_down = idle_time_before_scale_down
        self.vm_priority = vm_priority
        self.description = description
        self.location = location

    def execute(self, context: Context) -> dict[str, Any]:
        from ..client.computes import aml_compute_body

        try:
            min_nodes, max_nodes = int(self.min_nodes), int(self.max_nodes)
        except (TypeError, ValueError) as exc:
            raise AirflowFailException(f"min_nodes/max_nodes must be integers: {exc}") from exc
        if min_nodes < 0 or max_nodes < max(min_nodes, 1):
            raise AirflowFailException(
                f"need 0 <= min_nodes <= max_nodes and max_nodes >= 1, got {min_nodes}, {max_nodes}"
            )
        client = self.client
        name = self.compute_name
        existing = _get_or_none(lambda: client.computes.get(name))
        if existing is not None and existing.provisioning_state not in ENDPOINT_TERMINAL_STATES:
            existing = self._wait(name)
        location = self.location or (existing.location if existing else None) or workspace_location(client)
        body = aml_compute_body(
            location=location,
            vm_size=self.vm_size,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            idle_time_before_scale_down=_iso_seconds(self.idle_time_before_scale_down),
            vm_priority=self.vm_priority,  # type: ignore[arg-type]
            description=self.description,
        )
        if (
            existing is not None
            and existing.provisioning_state == "Succeeded"
            and _contains(existing.properties, body["properties"])
        ):
            self.log.info("Compute %r is up to date; nothing to change", name)
            return self._summary(existing)
        if existing is not None and existing.vm_size and existing.vm_size.lower() != self.vm_size.lower():
            raise AirflowFailException(
                f"compute {name!r} exists with vm_size {existing.vm_size}; a cluster's VM size cannot change "
                "(delete it or choose another name)"
            )
        self.log.info("%s AmlCompute %r (%s, %d-%d nodes)", "Updating" if existing else "Creating",
                      name, self.vm_size, min_nodes, max_nodes)  # fmt: skip
        with service_errors(f"compute {name!r}"):
            self.start_operation("PUT", "compute", name, body=body)
        compute = self._wait(name)
        if compute.provisioning_state != "Succeeded":
            reason = self.failure_reason("compute", name)
            raise AirflowException(
                f"compute {name!r} provisioning {compute.provisioning_state}"
                + (f": {reason}" if reason else "")
            )
        return self._summary(compute)

    def _wait(self, name: str) -> Any:
        client = self.client
        last: dict[str, Any] = {}

        def to_event(obj: Any) -> dict[str, Any] | None:
            last["obj"] = obj
            return {"status": "done"} if obj.provisioning_state in ENDPOINT_TERMINAL_STATES else None

        event = poll_until(
            lambda: client.computes.get(name),
            to_event,
            lambda obj: {"status": "timeout"},
            lambda exc, obj: {"status": "error", "message": str(exc)},
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            describe=lambda obj: f"compute {name} is {obj.provisioning_state}",
            log=self.log,
        )
        if event["status"] == "timeout":
            raise AirflowException(f"compute {name!r} not provisioned after {self.timeout} s")
        if event["status"] == "error":
            raise AirflowException(f"polling compute {name!r} failed: {event['message']}")
        return last["obj"]

    @staticmethod
    def _summary(compute: Any) -> dict[str, Any]:
        return {
            "name": compute.name,
            "id": compute.id,
            "compute_type": compute.compute_type,
            "vm_size": compute.vm_size,
            "scale_settings": json.loads(json.dumps(compute.scale_settings, default=str)),
            "provisioning_state": compute.provisioning_state,
        }


__all__ = [
    "CreateAmlComputeOperator",
    "InvokeBatchEndpointOperator",
    "CreateOrUpdateBatchDeploymentOperator",
    "CreateOrUpdateBatchEndpointOperator",
    "DeleteBatchDeploymentOperator",
    "DeleteBatchEndpointOperator",
    "DownloadBatchJobResultsOperator",
    "GetBatchDeploymentOperator",
    "GetBatchEndpointOperator",
    "SetBatchDefaultDeploymentOperator",
]
