"""Azure-mode operators for batch endpoints: the documented Azure ML batch workflow as Airflow tasks.

Create a compute cluster, create an endpoint, create a deployment (registering
its local model, code and environment) and make it the default (or all of that from one
2021-05 endpoint file with inline ``deployments:`` and ``traffic:``), read both,
download a job's results, flip the default, delete the old deployment and the
endpoint. Invoking the endpoint is :class:`InvokeBatchEndpointOperator`
(``operators/batch_invoke.py``) and creating a compute cluster is
:class:`CreateAmlComputeOperator` (``operators/compute.py``), both re-exported here.
The machinery shared with the online operators lives in ``_base.py``
(:class:`MLEndpointsBaseOperator`: connection, waiting, operations, links) and ``_specs.py``
(spec loading, the deploy and delete bases, XCom summaries).

Every operator is idempotent and safe to retry:

- create-or-update is a PUT of the full body. When the resource already has
  exactly what the spec asks for (and provisioned successfully), no PUT is
  sent; when a previous try's operation is still running, the task waits for
  it before sending its own (the service answers 409 Conflict otherwise).
- endpoint PUTs keep what the spec does not mention: re-applying an endpoint
  YAML without ``defaults`` keeps the current default deployment.
- deletes treat a missing resource as already deleted.

Waiting: provisioning, deletions (the service's 404 is the success; a Failed
deletion fails with the service's reason) and compute clusters are awaited with
the one waiting procedure (``client/waiting.py``): in the worker, or deferred to
the triggerer when ``deferrable``.

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
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from ..client.errors import NotFoundError
from ..client.kinds import studio_job_url
from ..client.resource_bodies import put_body_from
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink, AzureMLJobLink
from ..specs import BatchDeploymentSpec, BatchEndpointSpec
from ._base import MLEndpointsBaseOperator, get_or_none, service_errors
from ._named import DeploymentOperatorBase, EndpointOperatorBase
from ._names import BATCH_OPERATORS
from ._specs import (
    DeleteDeploymentOperatorBase,
    DeleteEndpointOperatorBase,
    DeploymentSpecOperator,
    InlineDeploymentsEndpointOperator,
    put_deployment,
)
from ._summaries import deployment_summary, endpoint_summary
from .batch_invoke import InvokeBatchEndpointOperator as InvokeBatchEndpointOperator  # re-exported
from .compute import CreateAmlComputeOperator as CreateAmlComputeOperator  # re-exported

if TYPE_CHECKING:
    from airflow.sdk import Context


# ------------------------------------------------------------------------------------------------
# Batch endpoints
# ------------------------------------------------------------------------------------------------
class CreateOrUpdateBatchEndpointOperator(InlineDeploymentsEndpointOperator):
    """Create or update a batch endpoint (any YAML generation) and wait until it is provisioned.

    For a 2021-05 file with inline ``deployments:``: creates/updates the endpoint (its default
    deployment unchanged), then each deployment (local model/code/environment registered), each
    awaited, then makes the file's default the endpoint's default deployment: the deployment
    ``traffic`` gives 100 (or ``defaults.deployment_name``, or the only inline deployment).

    :param spec: the endpoint YAML (path), a dict of it, or a ``BatchEndpointSpec``; None to
        create an endpoint from ``endpoint_name`` alone.
    :param endpoint_name: the endpoint's name (overrides the spec's ``name``).
    :param description: description when no spec is given.
    :param tags: tags when no spec is given.
    :param location: Azure region; default: the existing endpoint's, else the workspace's.
    :param base_dir: folder that relative paths of a dict spec resolve against.

    Returns the endpoint's details (JSON-safe, no keys): ``name``, ``scoring_uri``,
    ``default_deployment``, ``provisioning_state``, ``properties``...
    """

    template_fields = (
        "spec", "endpoint_name", "description", "tags", "location", "base_dir", "ml_endpoints_conn_id",
    )  # fmt: skip
    operator_extra_links = (AzureMLEndpointLink(),)
    spec_class = BatchEndpointSpec
    endpoint_kind = "batch_endpoint"
    deployment_kind = "batch_deployment"

    def endpoint_body(self, spec: Any, existing: Any, location: str) -> dict[str, Any]:
        body = spec.to_rest(location)
        props = body["properties"]
        if spec.deployments or not spec.default_deployment:
            # keep the current default: inline deployments become the default last, once they exist
            props.pop("defaults", None)
            if existing is not None and existing.default_deployment:
                props["defaults"] = {"deploymentName": existing.default_deployment}
        return body

    def apply_routing(self) -> dict[str, Any]:
        """Last step: a 2021-05 file's default deployment, when it names one."""
        from ..specs.batch import inline_default

        spec = self.load()
        default = inline_default(spec) if spec.deployments else None
        if default is None:
            if spec.deployments:
                self.log.info("%s names no default deployment (no traffic); the endpoint's default is kept",
                              spec.source or spec.name)
            return endpoint_summary(self.client.batch_endpoints.get(spec.name).raw)
        return set_batch_default(self, spec.name, default)

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the default deployment's PUT provisioned."""
        return endpoint_summary(self.handle_provisioning_event(event))


class SetBatchDefaultDeploymentOperator(DeploymentOperatorBase):
    """Make ``deployment_name`` the default deployment of a batch endpoint.

    A full-body PUT of the endpoint with ``defaults.deploymentName`` (the documented way; PATCH
    cannot change it), every other property kept. Nothing is sent when it already is the default.
    Returns the endpoint's details.
    """

    operator_extra_links = (AzureMLEndpointLink(),)

    def execute(self, context: Context) -> dict[str, Any]:
        self.persist_links(context, "batch", self.endpoint_name)
        return set_batch_default(self, self.endpoint_name, self.deployment_name)

    def provisioned(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the provisioning trigger."""
        return endpoint_summary(self.handle_provisioning_event(event))


def set_batch_default(
    op: MLEndpointsBaseOperator,
    endpoint_name: str,
    deployment_name: str,
    method: str = "provisioned",
) -> dict[str, Any]:
    """Full-body PUT of the endpoint's ``defaults.deploymentName``; wait; the endpoint's details."""
    client = op.client
    label = f"batch deployment {endpoint_name}/{deployment_name}"
    deployment = get_or_none(lambda: client.batch_deployments.get(endpoint_name, deployment_name))
    if deployment is None:
        raise AirflowFailException(f"{label} does not exist; create it before making it the default")
    endpoint = op.settle("batch_endpoint", endpoint_name)
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
    details = op.wait_for_provisioning("batch_endpoint", endpoint_name, method_name=method)
    return endpoint_summary(details)


# ------------------------------------------------------------------------------------------------
# Batch deployments
# ------------------------------------------------------------------------------------------------
class CreateOrUpdateBatchDeploymentOperator(DeploymentSpecOperator):
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

    spec_class = BatchDeploymentSpec

    def __init__(self, *, set_default: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_default = set_default

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self.load()
        ep, name = spec.endpoint_name, spec.name
        self.endpoint_name, self.deployment_name = ep, name
        self.persist_links(context, "batch", ep, name)
        endpoint = get_or_none(lambda: self.client.batch_endpoints.get(ep))
        if endpoint is None:
            raise AirflowFailException(f"batch endpoint {ep!r} does not exist; create it first")
        existing = put_deployment(self, "batch_deployment", spec, endpoint, self.location)
        if existing is not None:
            return self.deployment_provisioned(context, details=existing.raw)
        details = self.wait_for_provisioning("batch_deployment", ep, name, method_name="deployment_provisioned")
        return self.deployment_provisioned(context, details=details)

    def deployment_provisioned(
        self, context: Context, event: dict[str, Any] | None = None, *, details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """After the deployment provisioned (directly or after the trigger): set the default if asked."""
        if event is not None:
            details = self.handle_provisioning_event(event)
        if self.set_default:
            ep, name = self._names()
            set_batch_default(self, ep, name, method="default_set")
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
class GetBatchEndpointOperator(EndpointOperatorBase):
    """Push a batch endpoint's details to XCom (JSON-safe, no keys): ``scoring_uri``,
    ``default_deployment``, ``provisioning_state``, ``properties``..."""

    operator_extra_links = (AzureMLEndpointLink(),)

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


class GetBatchDeploymentOperator(DeploymentOperatorBase):
    """Push a batch deployment's details to XCom (JSON-safe; sensitive environment variables hidden)."""

    operator_extra_links = (AzureMLEndpointLink(), AzureMLDeploymentLink())

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


class DownloadBatchJobResultsOperator(MLEndpointsBaseOperator):
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

    template_fields = ("job_name", "local_path", "output_name", "ml_endpoints_conn_id")
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
            self.wait_for_job(self.job_name, method_name="job_finished")
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
class DeleteBatchDeploymentOperator(DeleteDeploymentOperatorBase):
    """Delete a batch deployment and wait until it is gone; a missing deployment is success.

    Refuses (without retries) to delete the endpoint's default deployment: make another one the
    default first (:class:`SetBatchDefaultDeploymentOperator`).
    Returns ``{"endpoint_name", "deployment_name", "deleted": True, "existed": bool}``.
    """

    kind = "batch_deployment"


class DeleteBatchEndpointOperator(DeleteEndpointOperatorBase):
    """Delete a batch endpoint (and its deployments) and wait until it is gone (the 404; deferred in
    ``wait_for="deleted"`` mode when deferrable); missing is success."""

    kind = "batch_endpoint"


__all__ = list(BATCH_OPERATORS)
