"""Invoke an Azure ML batch endpoint: start a scoring job, wait for it, return where the output is.

Retry safety (Airflow 3.3's task state store, the ``ResumableJobMixin`` pattern): the submitted
job's name is stored under ``mlendpoints_batch_job`` before waiting starts. A later try of the same
task instance reads it back and GETs the job: still running -> it waits on that job again (no
second invocation); Completed -> it returns that job's result; Failed/Canceled/gone -> it invokes
anew. ``on_kill`` (and the trigger's ``on_kill`` while deferred) cancels the job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import ResumableJobMixin
from airflow.sdk.exceptions import AirflowFailException

from ..assets import default_outlets, record_output_events
from ..client.kinds import job_studio_url, studio_endpoint_url
from ..client.resources import JOB_TERMINAL_STATES
from ..links import AzureMLEndpointLink, AzureMLJobLink
from ..masking import MasksLocationCredentials
from ._base import MLEndpointsBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from ..client.invoke_bodies import InvokeOverrides

#: Names accepted in ``overrides`` (the invoke call's per-job settings).
OVERRIDE_NAMES = (
    "mini_batch_size",
    "instance_count",
    "max_retries",
    "timeout",
    "error_threshold",
    "logging_level",
    "output_file_name",
)
_INT_OVERRIDES = ("mini_batch_size", "instance_count", "max_retries", "error_threshold")
_DATA_ASSET = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@/]+)|@(?P<label>[^:@/]+))$")
_ACTIVE = "active"


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def build_overrides(overrides: dict[str, Any] | None, output_file_name: str | None = None) -> InvokeOverrides:
    """Rendered ``overrides`` (+ ``output_file_name``) as :class:`InvokeOverrides`.

    Entries that render empty keep the deployment's value; numbers rendered as strings (Params,
    Jinja) are converted. An unknown name is an error (a typo would otherwise be ignored).
    """
    values = {k: v for k, v in (overrides or {}).items() if not _is_blank(v)}
    unknown = sorted(set(values) - set(OVERRIDE_NAMES))
    if unknown:
        raise ValueError(f"unknown batch invoke override(s) {unknown}; allowed: {', '.join(OVERRIDE_NAMES)}")
    for name in _INT_OVERRIDES:
        if name in values:
            try:
                values[name] = int(values[name])
            except (TypeError, ValueError):
                raise ValueError(f"override {name} must be an integer, not {values[name]!r}") from None
    if "timeout" in values and isinstance(values["timeout"], str) and values["timeout"].strip().isdigit():
        values["timeout"] = int(values["timeout"])
    if not _is_blank(output_file_name):
        values["output_file_name"] = output_file_name
    from ..client.invoke_bodies import InvokeOverrides

    return InvokeOverrides(**values)


def infer_input_type(uri: str) -> str:
    """``uri_folder`` for a trailing slash or a last segment without a dot, else ``uri_file``."""
    last = uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if not uri.endswith("/") else ""
    return "uri_file" if last and "." in last else "uri_folder"


def output_uri(output_path: str, output_file_name: str | None) -> str:
    """The output file's location: ``{output_path}/{output_file_name}``."""
    return f"{output_path.rstrip('/')}/{output_file_name or 'predictions.csv'}"


class InvokeBatchEndpointOperator(MasksLocationCredentials, ResumableJobMixin, MLEndpointsBaseOperator):
    """Start a batch scoring job on a batch endpoint and (by default) wait for it.

    Returns to XCom ``{"job_name", "status", "output_location", "output_file", "studio_url"}``:
    ``output_location`` is the job's output folder (``azureml://datastores/<ds>/paths/<p>``),
    ``output_file`` the merged result in it (``<output_location>/<output_file_name>``).

    :param endpoint_name: the batch endpoint.
    :param input: what to score: ``azureml://datastores/<ds>/paths/<p>`` (folder or file), an
        ``https://`` URL, a registered data asset ``azureml:<name>:<version>`` (or
        ``azureml:<name>@latest``), or a local file/folder, uploaded to the workspace's default
        datastore first (content-addressed: a retry does not upload again).
    :param input_type: ``uri_folder`` or ``uri_file``; inferred when None (data assets: uri_folder).
    :param input_name: name of the job input (``input_data``).
    :param output_path: output folder ``azureml://datastores/<ds>/paths/<p>``; None lets the service
        choose (``azureml/<job>/<output_name>/`` on the default datastore).
    :param output_file_name: merged output file name (default: the deployment's, predictions.csv).
    :param output_name: name of the job output (``score``).
    :param overrides: per-job settings: ``mini_batch_size``, ``instance_count``, ``max_retries``,
        ``timeout`` (seconds or ISO 8601), ``error_threshold``, ``logging_level``; empty values keep
        the deployment's.
    :param deployment_name: target a deployment other than the endpoint's default.
    :param wait_for_completion: wait until the job is terminal (default); False returns once it
        is submitted.
    :param deferrable: wait in the triggerer (:class:`BatchJobTrigger`); checks the status first.
    :param durable: remember the job in the task state store so retries reattach (default True).
    :param cancel_on_kill: cancel the job when the task is killed, also while deferred (default True).
    :param conn_id, poll_interval, timeout: see :class:`MLEndpointsBaseOperator`.

    Outlets: by default the output folder's Asset (``Asset("azureml://datastores/<ds>/paths/<p>")``),
    or for a templated ``output_path`` the AssetAlias ``<dag_id>.<task_id>.output``, which each
    successful run resolves to the rendered location; pass ``outlets=`` to choose. On success the
    asset event carries the job name and status as its extra.
    """

    template_fields: Sequence[str] = (
        "endpoint_name",
        "input",
        "input_type",
        "output_path",
        "output_file_name",
        "overrides",
        "deployment_name",
        "ml_endpoints_conn_id",
    )
    template_fields_renderers = {"overrides": "json"}
    operator_extra_links = (AzureMLJobLink(), AzureMLEndpointLink())
    ui_color = "#e6f0ff"
    external_id_key = "mlendpoints_batch_job"
    masked_locations = ("input", "output_path")

    def __init__(
        self,
        *,
        endpoint_name: str,
        input: str,  # noqa: A002 - the invoke call's own name
        input_type: str | None = None,
        input_name: str = "input_data",
        output_path: str | None = None,
        output_file_name: str | None = None,
        output_name: str = "score",
        overrides: dict[str, Any] | None = None,
        deployment_name: str | None = None,
        wait_for_completion: bool = True,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        explicit_outlets = "outlets" in kwargs
        super().__init__(**kwargs)
        if not explicit_outlets and output_path:
            dag_id = self.dag.dag_id if self.has_dag() else "dag"
            self.outlets = default_outlets(str(output_path), dag_id, self.task_id)
        self.endpoint_name = endpoint_name
        self.input = input
        self.input_type = input_type
        self.input_name = input_name
        self.output_path = output_path
        self.output_file_name = output_file_name
        self.output_name = output_name
        self.overrides = dict(overrides) if overrides else None
        self.deployment_name = deployment_name
        self.wait_for_completion = wait_for_completion
        self.cancel_on_kill = cancel_on_kill
        self._job_name: str | None = None
        self._job: Any = None
        self._resolved_input: str | None = None

    # -- execute ----------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        try:
            build_overrides(self.overrides, self.output_file_name)  # fail fast on a bad override
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        AzureMLEndpointLink.persist(
            context, studio_endpoint_url(self.client.config, "batch", self.endpoint_name)
        )
        return self.execute_resumable(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: the job's result, or the failure with the Studio link."""
        job_event = self.handle_job_event(event)
        self._job_name = job_event.job_name
        return self._finish(context, job_event.job_name)

    # -- ResumableJobMixin ------------------------------------------------------------------------
    def submit_job(self, context: Context) -> str:
        uri, kind = self.resolve_input()
        body = self.invoke_body(uri, kind)
        where = f"deployment {self.deployment_name!r}" if self.deployment_name else "its default deployment"
        self.log.info("Invoking batch endpoint %s (%s) on %s", self.endpoint_name, where, uri)
        ti = context.get("ti") if hasattr(context, "get") else None
        # One correlation id per try: if the POST's answer is lost, the client finds this job
        # (instead of starting another) by the id stamped into the job's tags/properties.
        correlation_id = f"airflow-ti-{ti.id}" if ti is not None and getattr(ti, "id", None) else None
        job = self.client.invoke_batch_endpoint(
            self.endpoint_name,
            body,
            deployment_name=self.deployment_name or None,
            correlation_id=correlation_id,
        )
        self._job, self._job_name = job, job.name
        self.log.info("Started batch job %s (%s); Studio: %s", job.name, job.status, self._studio(job))
        AzureMLJobLink.persist(context, self._studio(job))
        return job.name

    def get_job_status(self, external_id: Any, context: Context) -> str:
        from ..client.errors import NotFoundError

        try:
            job = self.client.jobs.get(str(external_id))
        except NotFoundError:
            self.log.warning("Stored batch job %s no longer exists; invoking anew", external_id)
            return "NotFound"
        self._job, self._job_name = job, job.name or str(external_id)
        if job.status not in JOB_TERMINAL_STATES:
            AzureMLJobLink.persist(context, self._studio(job))
        return str(job.status)

    def is_job_active(self, status: str) -> bool:
        return status not in JOB_TERMINAL_STATES and status != "NotFound"

    def is_job_succeeded(self, status: str) -> bool:
        return status == "Completed"

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        job_name = str(external_id)
        self._job_name = job_name
        if not self.wait_for_completion:
            return self._finish(context, job_name, wait=False)
        self.wait_for_job(job_name, method_name="execute_complete")
        return self._finish(context, job_name)

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        return self._finish(context, str(external_id))

    # -- kill -------------------------------------------------------------------------------------
    def on_kill(self) -> None:
        """Cancel the job this task instance started or reattached to (unless ``cancel_on_kill=False``)."""
        if not self._job_name or not self.cancel_on_kill:
            return
        try:
            self.client.jobs.begin_cancel(self._job_name)
            self.log.info("Requested cancellation of batch job %s", self._job_name)
        except Exception as exc:
            self.log.warning("Could not cancel batch job %s: %s", self._job_name, exc)

    # -- lineage ----------------------------------------------------------------------------------
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage input/output datasets of the job (None without the openlineage provider)."""
        from ..lineage import operator_lineage

        job = self._job
        inputs = [
            spec.get("uri") or spec.get("Uri")
            for spec in (job.inputs.values() if job is not None else ())
            if isinstance(spec, dict)
        ]
        if not any(inputs):
            inputs = [self._resolved_input or str(self.input)]
        output = self._output_folder(job) if job is not None else self.output_path
        return operator_lineage(
            [u for u in inputs if u], [output] if output else [], client=self.client, job_name=self._job_name
        )

    # -- pieces -----------------------------------------------------------------------------------
    def resolve_input(self) -> tuple[str, str]:
        """(URI, uri_folder|uri_file) of :attr:`input`; a local path is uploaded first."""
        if self._resolved_input is not None:
            return self._resolved_input, self._input_kind  # type: ignore[has-type]
        value = str(self.input).strip()
        kind = self.input_type
        match = _DATA_ASSET.match(value)
        if match:
            uri = self.data_asset_uri(match["name"], match["version"], match["label"])
            kind = kind or "uri_folder"
        elif value.startswith(("azureml://", "https://", "http://", "abfss://", "wasbs://")):
            uri = value
            kind = kind or infer_input_type(value)
        else:
            local = value.removeprefix("file://")
            if not os.path.exists(local):
                raise AirflowFailException(
                    f"input {value!r} is neither a datastore/https URI, a data asset nor an existing local path"
                )
            from ..client.asset_upload import AssetUploader

            self.log.info("Uploading local input %s to the default datastore", local)
            uri = AssetUploader(self.client).upload(local).uri
            kind = kind or ("uri_folder" if os.path.isdir(local) else "uri_file")
            if kind == "uri_folder" and not uri.endswith("/"):
                uri += "/"
        self._resolved_input, self._input_kind = uri, kind
        return uri, kind

    def data_asset_uri(self, name: str, version: str | None, label: str | None) -> str:
        """The bare ARM id ``<workspace ARM id>/data/<name>/versions/<v>``, as the SDK sends it;
        ``@latest`` is resolved to the newest version of the workspace first."""
        if not version:
            if (label or "latest") != "latest":
                raise AirflowFailException(
                    f"input 'azureml:{name}@{label}': data assets can be named by version or @latest only"
                )
            version = self.client.data_versions.get_latest(name).version
        return self.client.data_versions.version_id(name, str(version))

    def invoke_body(self, uri: str, kind: str) -> dict[str, Any]:
        """The current invoke body: one input, the output folder (if given), the overrides."""
        outputs = None
        if self.output_path:
            target = self.datastore_output(self.output_path)
            outputs = {self.output_name: {"uri": target.rstrip("/") + "/", "type": "uri_folder"}}
        from ..client.invoke_bodies import batch_invoke_body

        return batch_invoke_body(
            {self.input_name: {"uri": uri, "type": kind}},
            outputs,
            build_overrides(self.overrides, self.output_file_name),
        )

    def datastore_output(self, path: str) -> str:
        """``path`` as a datastore URI: an https blob URL of a datastore's container is translated."""
        if not path.startswith(("https://", "http://")):
            return path
        from ..client.datastore_blob import blob_url_to_datastore

        store, rel = blob_url_to_datastore(self.client, path.split("?", 1)[0])
        return f"azureml://datastores/{store.name}/paths/{rel}"

    def _studio(self, job: Any) -> str:
        return job_studio_url(self.client.config, job)

    def _finish(self, context: Context, job_name: str, *, wait: bool = True) -> dict[str, Any]:
        """The XCom result; on a finished job also the asset event of the output location."""
        job = self._job if self._job is not None and self._job.name == job_name else None
        if job is None or (wait and not job.is_terminal):
            job = self.client.jobs.get(job_name)
        self._job = job
        AzureMLJobLink.persist(context, self._studio(job))
        folder = self._output_folder(job)
        file_name = self.output_file_name or job.output_file_name or "predictions.csv"
        result = {
            "job_name": job_name,
            "status": job.status,
            "output_location": folder,
            "output_file": output_uri(folder, file_name) if folder else None,
            "studio_url": self._studio(job),
        }
        if job.status == "Completed":
            extra = {"job_name": job_name, "status": job.status}
            record_output_events(context, self.outlets or (), folder, extra)
        return result

    def _output_folder(self, job: Any) -> str | None:
        if self.output_path:
            return self.output_path.rstrip("/")
        spec = job.outputs.get(self.output_name) or next(iter(job.outputs.values()), None)
        uri = (spec or {}).get("uri") or (spec or {}).get("Uri")
        return uri.rstrip("/") if uri else None
