"""Self-hosted batch scoring as an Airflow TaskGroup: mapped score (planning first) -> collect.

Runs an Azure ML batch deployment (scoring script + deployment YAML) on
Airflow's own workers::

    from airflow_provider_mlendpoints.self_hosted import self_hosted_batch_scoring

    with DAG("nightly_scoring", schedule="@daily", ...):
        scoring = self_hosted_batch_scoring(
            "score_digits",
            deployment="deployments/digits/deployment.yml",
            input_path="/data/inputs/{{ ds }}",
            output_path="/data/predictions/{{ ds }}",
            overrides={"mini_batch_size": "20"},
        )

How the deployment settings map onto Airflow:

- ``resources.instance_count`` -> ``max_active_tis_per_dagrun`` of the mapped
  score task: at most that many shard tasks run at once. Airflow fixes task
  concurrency when the DAG is parsed, so the value is read at parse time from
  the YAML (or the spec object) with the *non-templated* overrides applied.
  A templated ``instance_count`` override still changes how the plan cuts
  shards (at most the number of score tasks), but not the concurrency bound
  (planning logs a warning when they differ). When the deployment path itself is templated, nothing can be
  read at parse time and the bound is left to Airflow's pools and
  parallelism; pass ``max_active_tis_per_dagrun=N`` to set it explicitly
  (it then applies to the score task only).
- ``max_concurrency_per_instance`` -> scoring processes inside one shard task.
- Number of shards: one per running slot (``instance_count``), capped at
  ``max_shards`` (default 256) and at half of ``[core] max_map_length``. A score
  task that finishes its shard helps the others (see ``engine/claims.py``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow.sdk import TaskGroup, TriggerRule

from .assets import default_outlets, is_templated
from .operators.self_hosted import (
    CollectScoringOperator,
    PlanScoringOperator,
    ScoreShardOperator,
    load_deployment,
    normalize_output_format,
    shard_cap,
)
from .specs.configured import rendered_overrides
from .specs.model import BatchDeploymentSpec

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAlias

    from .engine.job import ExistingOutput

__all__ = ["self_hosted_batch_scoring"]


def _parse_time_instance_count(
    deployment: str | os.PathLike[str] | BatchDeploymentSpec,
    overrides: dict[str, Any] | None,
    dag_file: str | None,
) -> int | None:
    """``resources.instance_count`` as far as it is known without rendering templates."""
    if not isinstance(deployment, BatchDeploymentSpec) and is_templated(os.fspath(deployment)):
        return None
    static = {k: v for k, v in rendered_overrides(overrides).items() if not is_templated(v)}
    return load_deployment(deployment, static, dag_file).instance_count


def self_hosted_batch_scoring(
    group_id: str,
    deployment: str | os.PathLike[str] | BatchDeploymentSpec,
    input_path: str,
    output_path: str,
    overrides: dict[str, Any] | None = None,
    wasb_conn_id: str | None = None,
    *,
    existing_output: ExistingOutput = "resume",
    max_shards: int | None = None,
    outlets: list[Asset | AssetAlias] | None = None,
    **task_kwargs: Any,
) -> TaskGroup:
    """A TaskGroup that scores ``input_path`` with a batch deployment into ``output_path``.

    Tasks: ``<group_id>.score``, mapped over the shard numbers
    ``0 .. instance_count - 1`` (read from the deployment when the DAG is
    parsed, at most ``max_shards``): the first of a run's score tasks to start
    plans the job (lists the inputs, writes the manifest) while the others wait
    for its plan (``engine/plan_once.py``), then each scores its shard; and
    ``<group_id>.collect`` (error threshold, ordered merged output, report; its
    return value is the job summary). When the deployment path is templated,
    the shard count is unknown at parse time: a ``<group_id>.plan`` task then
    plans first and returns the shard references the score task is mapped over.

    :param group_id: the TaskGroup id.
    :param deployment: batch deployment YAML path (templated; a relative path
        is looked up beside the DAG file) or a ``BatchDeploymentSpec``.
    :param input_path: input folder, file or blob URL (templated).
    :param output_path: output folder or blob URL (templated); key it by
        ``{{ ds }}`` so runs of different dates do not collide.
    :param overrides: deployment settings to override, by YAML name, e.g.
        ``{"mini_batch_size": "{{ params.mini_batch_size }}",
        "retry_settings.timeout": 60}`` (templated; an entry that renders
        empty keeps the deployment's value).
    :param wasb_conn_id: Airflow Azure Blob Storage (wasb) connection for blob URLs.
    :param existing_output: what the planning of a run does when the output
        already holds a job: "resume" (default: keep finished mini-batches),
        "overwrite" or "error". A run plans once; its retried and cleared
        tasks resume, so they never duplicate rows.
    :param max_shards: upper bound of the number of mapped score tasks
        (default 256; never above half of ``[core] max_map_length``).
    :param outlets: Assets the collect task produces. By default the output's
        Asset (local paths as ``file://`` URIs, never with a SAS query), or for
        a templated output path the AssetAlias ``<dag_id>.<group_id>.output``
        that each successful run resolves to the rendered location.
    :param task_kwargs: given to all three tasks: the scoring arguments of
        :class:`~airflow_provider_mlendpoints.operators.self_hosted.ScoringJobOperator`
        (``input_glob``, ``input_type``, ``recursive``, ``output_format``, ``model_path``,
        ``ml_endpoints_conn_id``, ``asset_cache``, ``anonymous``, ``environment``, ``python``,
        ``env_cache``, ``rescore_failed``, ``init_timeout``: see there) and BaseOperator
        arguments (``retries``, ``pool``, ``queue``, ...); an unknown name fails when the DAG
        is parsed. ``max_active_tis_per_dagrun`` applies to the score task only and
        replaces the instance_count bound.
    """
    explicit_bound = task_kwargs.pop("max_active_tis_per_dagrun", None)
    common: dict[str, Any] = {
        "deployment": deployment,
        "input_path": input_path,
        "output_path": output_path,
        "overrides": dict(overrides) if overrides else None,
        "wasb_conn_id": wasb_conn_id,
        **task_kwargs,
    }
    if "output_format" in common:  # validated once, when the DAG is parsed
        common["output_format"] = normalize_output_format(common["output_format"])

    with TaskGroup(group_id=group_id, tooltip="Self-hosted Azure ML batch scoring") as group:
        dag_file = getattr(group.dag, "fileloc", None) if group.dag is not None else None
        tasks = _parse_time_instance_count(deployment, overrides, dag_file)
        bound = tasks if explicit_bound is None else explicit_bound
        planning: dict[str, Any] = {
            "existing_output": existing_output,
            "concurrency_bound": None if explicit_bound is not None else bound,
        }
        if tasks is not None:
            # The shard count is known now: the score tasks plan the job themselves (the first to
            # start plans, see engine/plan_once.py), one task instance and one hop fewer.
            count = min(tasks, shard_cap(max_shards))
            score = ScoreShardOperator.partial(
                task_id="score", max_active_tis_per_dagrun=bound, max_shards=count, **planning, **common
            ).expand(shard=list(range(count)))
        else:
            plan = PlanScoringOperator(task_id="plan", max_shards=max_shards, **planning, **common)
            score = ScoreShardOperator.partial(
                task_id="score",
                max_active_tis_per_dagrun=bound,
                **common,
            ).expand(shard=plan.output)

        if outlets is None:
            dag_id = group.dag.dag_id if group.dag is not None else "dag"
            outlets = default_outlets(str(output_path), dag_id, group.group_id or group_id)
        collect_kwargs = {
            # Also runs when score tasks were skipped (marked by hand): the collector then
            # fails naming the mini-batches without a result, instead of a silently skipped job.
            "trigger_rule": TriggerRule.NONE_FAILED,
            **common,
            "outlets": outlets,
        }
        collect = CollectScoringOperator(task_id="collect", **collect_kwargs)
        score >> collect
    return group
