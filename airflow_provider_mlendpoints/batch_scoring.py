"""One switch between Azure and self-hosted batch scoring: :func:`batch_scoring`.

::

    from airflow_provider_mlendpoints import batch_scoring

    scoring = batch_scoring(
        "score",
        deployment="sample_deployment/deployment.yml",
        input_path="azureml://datastores/workspaceblobstore/paths/inputs/{{ ds }}/",
        output_path="azureml://datastores/workspaceblobstore/paths/predictions/{{ ds }}",
        mode="azure",  # or "self_hosted"
        endpoint_name="digits-batch",
    )

Both modes produce the same layout: the merged result is ``{output_path}/<output_file_name>``
(``predictions.csv`` unless the deployment or ``overrides["output_file_name"]`` says otherwise),
in Azure's format (one line per result, space-separated for DataFrames, no header). Self-hosted
mode adds its manifest and report below ``{output_path}/_mlendpoints/``.

Paths in the two modes:

- ``mode="azure"``: ``input_path`` is an ``azureml://datastores/<ds>/paths/<p>`` folder or file,
  an https URL, a data asset ``azureml:<name>:<version>`` or a local path (uploaded to the default
  datastore first); ``output_path`` is an ``azureml://datastores/<ds>/paths/<p>`` folder, or an
  ``https://<account>.blob.core.windows.net/<container>/<p>`` URL of a container some workspace
  datastore points at (translated to that datastore's path). The job writes the merged file into
  that folder.
- ``mode="self_hosted"``: ``input_path`` and ``output_path`` are local paths, ``file://`` URIs or
  blob URLs (``wasb_conn_id`` then names an Azure Blob Storage / wasb connection). Datastore URIs are an Azure concept and are refused with a clear message.

So a DAG whose paths are https blob URLs (or whose paths come from Params) moves between the two
modes by changing ``mode`` alone.

Settings: ``overrides`` uses the deployment YAML's names. In Azure mode the invoke call can
override ``mini_batch_size``, ``resources.instance_count`` (or ``instance_count``),
``retry_settings.max_retries`` / ``retry_settings.timeout``, ``error_threshold``,
``logging_level`` and ``output_file_name``; anything else (e.g. ``environment_variables``) belongs
in the deployment and is refused at parse time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAlias, TaskGroup

    from .specs.model import BatchDeploymentSpec

Mode = Literal["azure", "self_hosted"]

#: YAML override names -> the invoke call's override names (Azure mode).
AZURE_OVERRIDE_NAMES = {
    "mini_batch_size": "mini_batch_size",
    "resources.instance_count": "instance_count",
    "instance_count": "instance_count",
    "retry_settings.max_retries": "max_retries",
    "max_retries": "max_retries",
    "retry_settings.timeout": "timeout",
    "timeout": "timeout",
    "error_threshold": "error_threshold",
    "logging_level": "logging_level",
    "output_file_name": "output_file_name",
}


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def azure_overrides(overrides: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    """(invoke overrides, output_file_name) from YAML-named overrides; unknown names raise."""
    out: dict[str, Any] = {}
    file_name = None
    for key, value in (overrides or {}).items():
        name = AZURE_OVERRIDE_NAMES.get(key)
        if name is None:
            raise ValueError(
                f"override {key!r} cannot be set per invocation in Azure mode (allowed: "
                f"{', '.join(sorted(AZURE_OVERRIDE_NAMES))}); change the deployment instead"
            )
        if name == "output_file_name":
            file_name = value
        else:
            out[name] = value
    return out, file_name


def _deployment_target(
    deployment: str | os.PathLike[str] | BatchDeploymentSpec | None, dag_file: str | None
) -> tuple[str | None, str | None]:
    """(deployment name, endpoint name from the YAML) of ``deployment`` in Azure mode.

    A YAML path (or spec) names its deployment and endpoint; a plain string is a deployment name;
    None targets the endpoint's default deployment.
    """
    if deployment is None:
        return None, None
    from .specs.model import BatchDeploymentSpec

    if isinstance(deployment, BatchDeploymentSpec):
        return deployment.name, getattr(deployment, "endpoint_name", None)
    text = os.fspath(deployment)
    if _templated(text) or not text.lower().endswith((".yml", ".yaml")):
        return text, None
    from .operators.self_hosted import load_deployment

    spec = load_deployment(text, None, dag_file)
    return spec.name, getattr(spec, "endpoint_name", None)


def batch_scoring(
    group_id: str,
    *,
    deployment: str | os.PathLike[str] | BatchDeploymentSpec | None = None,
    input_path: str,
    output_path: str,
    mode: Mode = "azure",
    endpoint_name: str | None = None,
    ml_endpoints_conn_id: str | None = None,
    overrides: dict[str, Any] | None = None,
    wasb_conn_id: str | None = None,
    deferrable: bool | None = None,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    outlets: list[Asset | AssetAlias] | None = None,
    **task_kwargs: Any,
) -> TaskGroup:
    """A TaskGroup that scores ``input_path`` into ``output_path`` on Azure or on Airflow's workers.

    :param group_id: the TaskGroup id.
    :param deployment: the batch deployment YAML (both modes), or in Azure mode a deployment name
        (None: the endpoint's default deployment). A YAML's ``name`` selects that deployment on the
        endpoint and its ``endpoint_name`` is the default endpoint.
    :param input_path: what to score (templated; see the module docstring for each mode).
    :param output_path: output folder (templated); key it by ``{{ ds }}`` so runs do not collide.
    :param mode: ``"azure"`` (invoke the batch endpoint and wait, deferrable) or ``"self_hosted"``
        (mapped score tasks, the first of which plans, -> collect on Airflow workers).
    :param endpoint_name: the batch endpoint (Azure mode; default: the YAML's ``endpoint_name``).
    :param ml_endpoints_conn_id: the ``azure_ml_endpoints`` connection (Azure mode; default
        ``azure_ml_endpoints_default``).
    :param overrides: deployment settings by YAML name (templated; empty values keep the deployment's).
    :param wasb_conn_id: Azure Blob Storage (wasb) connection for blob URLs (self-hosted mode).
    :param deferrable: Azure mode: wait in the triggerer (default ``[operators] default_deferrable``).
    :param poll_interval: Azure mode: seconds between job status checks.
    :param timeout: Azure mode: seconds to wait for the job before failing.
    :param outlets: Assets the final task produces; by default the output's Asset, or for a
        templated output the AssetAlias ``<dag_id>.<group_id>.output`` (same in both modes).
    :param task_kwargs: further BaseOperator arguments (``retries``, ``pool``, ...).

    Azure mode has one task, ``<group_id>.invoke`` (returns ``{"job_name", "status",
    "output_location", "output_file", "studio_url"}``); self-hosted mode has ``score`` (mapped;
    the first to start plans the job; a ``plan`` task before it when the deployment path is
    templated) and ``collect`` (returns the job summary).
    """
    if mode == "self_hosted":
        return _self_hosted(
            group_id, deployment, input_path, output_path, overrides, wasb_conn_id, outlets, task_kwargs
        )
    if mode != "azure":
        raise ValueError(f"mode must be 'azure' or 'self_hosted', not {mode!r}")
    return _azure(
        group_id,
        deployment,
        input_path,
        output_path,
        endpoint_name,
        ml_endpoints_conn_id,
        overrides,
        deferrable,
        poll_interval,
        timeout,
        outlets,
        task_kwargs,
    )


def _self_hosted(
    group_id: str,
    deployment: Any,
    input_path: str,
    output_path: str,
    overrides: dict[str, Any] | None,
    wasb_conn_id: str | None,
    outlets: Any,
    task_kwargs: dict[str, Any],
) -> TaskGroup:
    from .self_hosted import self_hosted_batch_scoring

    if deployment is None:
        raise ValueError("self_hosted mode needs deployment= (the batch deployment YAML)")
    for name, value in (("input_path", input_path), ("output_path", output_path)):
        if isinstance(value, str) and value.startswith("azureml:"):
            raise ValueError(
                f"{name} {value!r} is an Azure ML datastore/asset reference, which only Azure mode "
                "understands; in self_hosted mode use a local path, file:// URI or blob URL "
                "(https://<account>.blob.core.windows.net/<container>/<path>)"
            )
    return self_hosted_batch_scoring(
        group_id,
        deployment,
        input_path,
        output_path,
        overrides=overrides,
        wasb_conn_id=wasb_conn_id,
        outlets=outlets,
        **task_kwargs,
    )


def _azure(
    group_id: str,
    deployment: Any,
    input_path: str,
    output_path: str,
    endpoint_name: str | None,
    ml_endpoints_conn_id: str | None,
    overrides: dict[str, Any] | None,
    deferrable: bool | None,
    poll_interval: float,
    timeout: float | None,
    outlets: Any,
    task_kwargs: dict[str, Any],
) -> TaskGroup:
    from airflow.sdk import TaskGroup

    from .assets import default_outlets
    from .operators.batch_invoke import InvokeBatchEndpointOperator

    invoke_overrides, file_name = azure_overrides(overrides)
    op_kwargs: dict[str, Any] = dict(task_kwargs)
    if ml_endpoints_conn_id:
        op_kwargs["ml_endpoints_conn_id"] = ml_endpoints_conn_id
    if deferrable is not None:
        op_kwargs["deferrable"] = deferrable
    with TaskGroup(group_id=group_id, tooltip="Azure ML batch endpoint scoring") as group:
        dag_file = getattr(group.dag, "fileloc", None) if group.dag is not None else None
        deployment_name, yaml_endpoint = _deployment_target(deployment, dag_file)
        endpoint = endpoint_name or yaml_endpoint
        if not endpoint:
            raise ValueError("azure mode needs endpoint_name= (or a deployment YAML naming endpoint_name)")
        if outlets is None:
            dag_id = group.dag.dag_id if group.dag is not None else "dag"
            outlets = default_outlets(str(output_path), dag_id, group.group_id or group_id)
        InvokeBatchEndpointOperator(
            task_id="invoke",
            endpoint_name=endpoint,
            deployment_name=deployment_name,
            input=input_path,
            output_path=output_path,
            output_file_name=file_name,
            overrides=invoke_overrides or None,
            wait_for_completion=True,
            poll_interval=poll_interval,
            timeout=timeout,
            outlets=outlets,
            **op_kwargs,
        )
    return group
