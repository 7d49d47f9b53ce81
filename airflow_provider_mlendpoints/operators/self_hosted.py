"""Operators of self-hosted batch scoring: plan, score one shard (planning first), collect.

The three operators share one set of arguments (deployment, input, output,
overrides, connection, ...). Each task renders them and rebuilds the same
:class:`~airflow_provider_mlendpoints.engine.job.ScoringJob` from them, so
nothing but the planner's shard references travels through XCom; the manifest
and the finished mini-batches live in the output location.

Usually these are wired by
:func:`airflow_provider_mlendpoints.self_hosted.self_hosted_batch_scoring`,
which adds the dynamic task mapping and the concurrency bound.

Existing output and retries:

- planning follows the user's ``existing_output`` ("error", "resume",
  "overwrite"). Score tasks mapped over shard numbers plan once per run: a
  later try finds the plan its run made (``plan.json`` names the run) and uses
  it. When a later try of the *same* plan task finds the output it planned
  itself (remembered in the task state store), "error" becomes "resume", so a
  retried plan does not fail on its own manifest;
- score and collect tasks always resume: a retried or cleared shard skips its
  already-written mini-batches, and collect rebuilds the merged output from
  the per-mini-batch parts, so rows are never duplicated.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from ..assets import record_output_events
from ..engine.job import DEFAULT_INIT_TIMEOUT, OutputFormat, ScoringJob
from ..engine.redact import location, redact
from ..masking import MasksLocationCredentials
from ..specs.model import BatchDeploymentSpec

if TYPE_CHECKING:
    from airflow.sdk import Context

    from ..engine.job import Environment, ExistingOutput, InputType
    from ..engine.plan import ShardRef

#: Upper bound of shards per job, whatever ``[core] max_map_length`` allows.
DEFAULT_MAX_SHARDS = 256
_EXISTING_OUTPUT = ("error", "resume", "overwrite")
_PLANNED_OUTPUT_KEY = "mlendpoints_planned_output"
_MAX_XCOM_VALUE_CHARS = 2_000


def normalize_output_format(value: OutputFormat | dict[str, Any] | str | None) -> dict[str, Any] | None:
    """``output_format`` as a JSON-able dict (``None``: Azure's format), validated early."""
    if value is None:
        return None
    if isinstance(value, OutputFormat):
        return asdict(value)
    if isinstance(value, str):
        value = {"format": value}
    if not isinstance(value, dict):
        raise TypeError(f"output_format must be an OutputFormat, a dict or 'csv'/'parquet', not {value!r}")
    return asdict(OutputFormat(**value))


def resolve_deployment_path(path: str | os.PathLike[str], dag_file: str | None) -> str:
    """An absolute deployment YAML path; a relative one is looked up beside the DAG file first."""
    candidate = Path(os.path.expanduser(os.fspath(path)))
    if candidate.is_absolute():
        return str(candidate)
    if dag_file:
        beside_dag = Path(dag_file).resolve().parent / candidate
        if beside_dag.exists():
            return str(beside_dag)
    return str(candidate.resolve())


def load_deployment(
    deployment: str | os.PathLike[str] | BatchDeploymentSpec,
    overrides: Mapping[str, Any] | str | None,
    dag_file: str | None = None,
) -> BatchDeploymentSpec:
    """The deployment spec (a relative path looked up beside the DAG file) with ``overrides`` applied.

    A SpecError names the file and the field.
    """
    from ..specs.configured import configured_spec

    if not isinstance(deployment, BatchDeploymentSpec):
        deployment = resolve_deployment_path(deployment, dag_file)
    return configured_spec(deployment, BatchDeploymentSpec, overrides=overrides)


def _small(value: Any) -> Any:
    """``value`` made JSON-able and small enough for XCom.

    A dict too large as a whole keeps its leading entries that fit (the
    engine's summary starts with status, counts and threshold); anything else
    too large becomes a note. The full summary is in the report.
    """
    try:
        value = json.loads(redact(json.dumps(value, default=str)))
    except (TypeError, ValueError):
        return redact(value)[:_MAX_XCOM_VALUE_CHARS]
    if len(json.dumps(value)) <= _MAX_XCOM_VALUE_CHARS:
        return value
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if len(json.dumps({**kept, key: item})) <= _MAX_XCOM_VALUE_CHARS:
                kept[key] = item
        return kept
    return "<too large for XCom; see the report in the output folder>"


def _failure_message(exc: Exception, job: ScoringJob) -> str:
    """One clear line for the task log and the UI: which deployment failed, why, and where to look."""
    where = job.deployment.source or job.deployment.name
    return redact(f"{exc} [deployment {where}, output {location(job.output_uri)}]")


def _fail_on_input_error(func):
    """Fail without retries on errors a retry cannot fix.

    The engine's InputError (missing input, bad setting, existing output) and
    the spec loader's SpecError (invalid YAML or override; it names the file
    and the field). Not OutputBusyError (another run holds the output's lease
    now) nor storage errors: retries are for those.
    """

    @functools.wraps(func)
    def wrapper(self: ScoringJobOperator, context: Context) -> Any:
        from ..engine import InputError, OutputBusyError
        from ..specs import SpecError

        try:
            return func(self, context)
        except OutputBusyError:
            raise  # another run holds the output now: a retry may find it free
        except (InputError, SpecError) as exc:
            raise AirflowFailException(redact(f"{type(exc).__name__}: {exc}")) from exc

    return wrapper


class ScoringJobOperator(MasksLocationCredentials, BaseOperator):
    """The base of the plan, score and collect operators: the arguments they share.

    :func:`~airflow_provider_mlendpoints.self_hosted.self_hosted_batch_scoring`
    passes these to all three tasks.

    :param deployment: a batch deployment YAML path (templated; a relative path
        is looked up beside the DAG file first) or a ``BatchDeploymentSpec``.
    :param input_path: input folder, file or blob URL (templated).
    :param output_path: output folder or blob URL (templated); key it by
        ``{{ ds }}`` so backfills do not collide.
    :param overrides: deployment settings to override, e.g.
        ``{"mini_batch_size": "{{ params.mini_batch_size }}"}`` (templated;
        an entry that renders empty keeps the deployment's value).
    :param wasb_conn_id: an Airflow Azure Blob Storage (wasb) connection for blob
        URLs (templated); ``None`` for local paths.
    :param input_glob: only score input files matching this pattern (templated).
    :param input_type: "auto" (Azure's rule: run() gets file paths; a folder holding an
        MLTable file gives DataFrames), "file" or "tabular".
    :param recursive: also score the files of nested folders (Azure does not explore them;
        the relative path is kept in the keys run() and the report see).
    :param output_format: ``OutputFormat``, a dict of its fields, or "csv" /
        "parquet"; ``None`` writes Azure's format (no header, space-separated).
    :param model_path: a local copy of the deployment's registered model, or an MLflow
        registry URI ``models:/NAME/VERSION`` (templated); replaces ``model:``.
    :param ml_endpoints_conn_id: an Azure ML connection (a workspace or the emulator) to
        download registered models, code and data assets from, cached once per version.
    :param asset_cache: the folder downloaded assets are cached in (default
        ``$MLENDPOINTS_CACHE_DIR`` or ``~/.cache/mlendpoints/assets``).
    :param anonymous: read a public blob input without credentials (the output then is a
        local folder or a blob URL with its own SAS).
    :param environment: "worker" (the worker's Python) or "build" (a virtualenv built once per
        machine from the deployment's conda file or the MLflow model's requirements).
    :param python: an interpreter to run the scoring processes with (templated), as
        ExternalPythonOperator's ``python``.
    :param env_cache: where built environments are kept (default ``$MLENDPOINTS_ENV_CACHE``
        or ``~/.cache/mlendpoints/envs``).
    :param rescore_failed: score tasks that run again (a cleared or retried task, a resumed run)
        score the mini-batches that failed earlier again (default); False keeps the failures.
    :param init_timeout: seconds the scoring script's init() may take in a scoring process
        (default 600); past it the process is replaced, counted against ``max_retries``.
    """

    template_fields: Sequence[str] = (
        "deployment",
        "input_path",
        "output_path",
        "overrides",
        "wasb_conn_id",
        "input_glob",
        "model_path",
        "python",
    )
    template_fields_renderers = {"overrides": "json"}
    ui_color = "#d9ecff"
    masked_locations = ("input_path", "output_path")

    def __init__(
        self,
        *,
        deployment: str | os.PathLike[str] | BatchDeploymentSpec,
        input_path: str,
        output_path: str,
        overrides: dict[str, Any] | None = None,
        wasb_conn_id: str | None = None,
        input_glob: str | None = None,
        input_type: InputType = "auto",
        recursive: bool = False,
        output_format: OutputFormat | dict[str, Any] | str | None = None,
        model_path: str | None = None,
        ml_endpoints_conn_id: str | None = None,
        asset_cache: str | None = None,
        anonymous: bool = False,
        environment: Environment = "worker",
        python: str | None = None,
        env_cache: str | None = None,
        rescore_failed: bool = True,
        init_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rescore_failed = bool(rescore_failed)
        self.init_timeout = init_timeout
        self.deployment = os.fspath(deployment) if isinstance(deployment, os.PathLike) else deployment
        self.input_path = input_path
        self.output_path = output_path
        self.overrides = dict(overrides) if overrides else {}
        self.wasb_conn_id = wasb_conn_id
        self.input_glob = input_glob
        if input_type not in ("auto", "file", "tabular"):
            raise ValueError(f"input_type must be 'auto', 'file' or 'tabular', not {input_type!r}")
        self.input_type = input_type
        self.recursive = bool(recursive)
        self.model_path = model_path
        self.ml_endpoints_conn_id = ml_endpoints_conn_id
        self.asset_cache = asset_cache
        self.anonymous = bool(anonymous)
        if environment not in ("worker", "build"):
            raise ValueError(f"environment must be 'worker' or 'build', not {environment!r}")
        self.environment = environment
        self.python = python
        self.env_cache = env_cache
        self.output_format = normalize_output_format(output_format)

    def _dag_file(self) -> str | None:
        try:
            return self.dag.fileloc
        except Exception:  # an operator outside a DAG (direct use in tests)
            return None

    def run_owner(self, context: Context) -> str:
        """Who runs the job: ``<dag id>/<run id>/<task group>``, the same in its plan, score and collect tasks."""
        run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id") or "?"
        group = self.task_id.rsplit(".", 1)[0] if "." in self.task_id else ""
        return f"{self.dag_id}/{run_id}/{group}"

    def build_job(self, existing_output: ExistingOutput, owner: str | None = None) -> ScoringJob:
        """The scoring job described by the rendered arguments (``owner``: see :meth:`run_owner`)."""
        spec = load_deployment(self.deployment, self.overrides, self._dag_file())
        storage_options: dict[str, Any] = {}
        if self.anonymous:
            from ..engine.storage import anonymous_storage_options

            storage_options = anonymous_storage_options(str(self.output_path))
        elif self.wasb_conn_id:
            from ..hooks.storage_options import storage_options_from_connection

            storage_options = storage_options_from_connection(self.wasb_conn_id)
        return ScoringJob(
            deployment=spec,
            input_uri=str(self.input_path),
            output_uri=str(self.output_path),
            input_glob=self.input_glob or None,
            input_type=self.input_type,
            recursive=self.recursive,
            model_path=self.model_path or None,
            workspace=_workspace_factory(self.ml_endpoints_conn_id) if self.ml_endpoints_conn_id else None,
            asset_cache=self.asset_cache,
            environment=self.environment,
            python=self.python or None,
            env_cache=self.env_cache,
            existing_output=existing_output,
            output_format=OutputFormat(**self.output_format) if self.output_format else OutputFormat(),
            storage_options=storage_options,
            rescore_failed=self.rescore_failed,
            init_timeout=DEFAULT_INIT_TIMEOUT if self.init_timeout is None else float(self.init_timeout),
            owner=owner,
        )

    def _log_line(self, line: str) -> None:
        self.log.info("%s", redact(line))


def _workspace_factory(conn_id: str) -> Any:
    """A callable returning a fresh sync client of the Azure ML connection (registered assets)."""

    def connect() -> Any:
        from ..hooks.ml_endpoints import MLEndpointsHook

        return MLEndpointsHook(ml_endpoints_conn_id=conn_id).get_conn()

    return connect


class PlanningOperator(ScoringJobOperator):
    """The base of the tasks that plan the job: the plan task, and score tasks mapped over shard numbers.

    :param existing_output: what to do when the output already holds a job:
        "error", "resume" (keep finished mini-batches) or "overwrite".
    :param max_shards: upper bound of the number of shards (default 256, and
        never more than half of ``[core] max_map_length``).
    :param concurrency_bound: the ``max_active_tis_per_dagrun`` given to the
        score task at parse time; planning warns when the rendered
        ``instance_count`` differs from it.
    """

    def __init__(
        self,
        *,
        existing_output: ExistingOutput = "resume",
        max_shards: int | None = None,
        concurrency_bound: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if existing_output not in _EXISTING_OUTPUT:
            raise ValueError(f"existing_output must be one of {_EXISTING_OUTPUT}, not {existing_output!r}")
        if max_shards is not None and max_shards < 1:
            raise ValueError(f"max_shards must be at least 1, not {max_shards}")
        self.existing_output = existing_output
        self.max_shards = max_shards
        self.concurrency_bound = concurrency_bound

    def _existing_output_for_this_try(self, context: Context) -> ExistingOutput:
        if self.existing_output != "error":
            return self.existing_output
        store = context.get("task_state_store")
        if store is None:
            return "error"
        try:
            planned = store.get(_PLANNED_OUTPUT_KEY)
        except Exception:  # a store that cannot answer must not hide the user's choice
            return "error"
        if planned == location(str(self.output_path)):
            self.log.info(
                "This task planned %s in an earlier try; resuming it instead of failing on its own output",
                location(str(self.output_path)),
            )
            return "resume"
        return "error"

    def _remember_planned_output(self, context: Context) -> None:
        store = context.get("task_state_store")
        if store is None:
            return
        try:
            store.set(_PLANNED_OUTPUT_KEY, location(str(self.output_path)))  # never a SAS token
        except Exception as exc:
            self.log.warning("Could not record the planned output in the task state store: %s", exc)

    def plan(self, context: Context, *, shared: bool = False) -> list[ShardRef]:
        """Plan the job and return its shard references.

        ``shared``: the run's score tasks share one plan (:func:`~..engine.plan_once.plan_once`):
        the first of them to start plans, the others wait for it, and a task of a run
        that has planned already uses that plan.
        """
        from ..engine.plan import describe_plan, output_storage, plan_job, read_plan
        from ..engine.plan_once import plan_once

        job = self.build_job(self._existing_output_for_this_try(context), self.run_owner(context))
        spec = job.deployment
        if self.concurrency_bound is not None and spec.instance_count != self.concurrency_bound:
            self.log.warning(
                "resources.instance_count renders to %d, but the score task was bounded to %d concurrent "
                "shard tasks when the DAG was parsed (max_active_tis_per_dagrun). Task concurrency is fixed "
                "at parse time: set instance_count in the deployment YAML or as a non-templated override.",
                spec.instance_count,
                self.concurrency_bound,
            )
        cap = shard_cap(self.max_shards)
        self.log.info(
            "Planning %s -> %s (deployment %s, mini_batch_size=%s, instance_count=%d, "
            "max_concurrency_per_instance=%d, existing output: %s, at most %d shards)%s",
            location(job.input_uri),
            location(job.output_uri),
            spec.name,
            spec.mini_batch_size,
            spec.instance_count,
            spec.max_concurrency_per_instance,
            job.existing_output,
            cap,
            ", unless another task of this run plans it or has" if shared else "",
        )
        if shared:
            shards, planned_here = plan_once(job, max_shards=cap, log=self._log_line)
        else:
            shards, planned_here = plan_job(job, max_shards=cap), True
        if not planned_here:
            self.log.info("Using the plan this run made earlier or in another task: %d shard(s), plan %s",
                          len(shards), shards[0].get("plan") if shards else "?")
            return shards
        self._remember_planned_output(context)
        self.log.info("Planned %d shard(s); the manifest is in %s/_mlendpoints/", len(shards), location(job.output_uri))
        for line in describe_plan(read_plan(output_storage(job)) or {}, len(shards)):
            self.log.info("%s", redact(line))
        return shards


def shard_cap(max_shards: int | None) -> int:
    """How many shards a job may have: ``max_shards`` (default 256), under half of ``[core] max_map_length``."""
    from airflow.sdk.configuration import conf

    max_map_length = conf.getint("core", "max_map_length", fallback=1024)
    return max(1, min(max_shards or DEFAULT_MAX_SHARDS, max(1, max_map_length // 2)))


class PlanScoringOperator(PlanningOperator):
    """List the inputs, cut them into mini-batches and shards; return the shard references.

    Writes the manifest to ``{output}/_mlendpoints/``. The returned list (one
    small dict per shard) is what the score task is mapped over; the number of
    shards stays under ``[core] max_map_length``. The TaskGroup uses a plan task
    only when the number of shards is unknown at parse time (a templated
    deployment path); otherwise its score tasks plan (see :class:`ScoreShardOperator`).
    """

    @_fail_on_input_error
    def execute(self, context: Context) -> list[ShardRef]:
        return self.plan(context)


class ScoreShardOperator(PlanningOperator):
    """Score one shard: ``init()`` once per scoring process, ``run(mini_batch)`` per mini-batch.

    Mapped over shard numbers known at parse time
    (``ScoreShardOperator.partial(...).expand(shard=[0, 1, ...])``): the first score
    task of a run to start plans the job (``existing_output``, ``max_shards`` as
    :class:`PlanScoringOperator`) while the others wait for its plan, then each scores
    its shard; a task whose number the plan has no shard for (fewer mini-batches than
    tasks) has nothing to do. Or mapped over a plan task's shard references
    (``.expand(shard=plan.output)``).

    Always resumes: mini-batches already written by an earlier try are skipped. Once
    its own shard is done the task helps the other shards from their end, and
    it returns only when its own shard is complete (see ``engine/claims.py``).
    Returns the shard's counts (small) to XCom.

    :param shard: a shard number, or one shard reference produced by :class:`PlanScoringOperator`.
    """

    def __init__(self, *, shard: dict[str, Any] | int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shard = shard

    @_fail_on_input_error
    def execute(self, context: Context) -> dict[str, Any]:
        from ..engine import score_shard
        from ..engine.shard import scoring_processes_started

        job = self.build_job("resume", self.run_owner(context))
        if isinstance(self.shard, dict):
            return _counts(score_shard(job, self.shard, log=self._log_line))
        number = int(self.shard)
        # The scoring processes run init() while the job is planned (or its plan awaited).
        with scoring_processes_started(job, log=self._log_line) as warm:
            shards = self.plan(context, shared=True)
            if number >= len(shards):
                self.log.info("Nothing to score: the plan has %d shard(s) and this task has number %d "
                              "(fewer mini-batches than score tasks)", len(shards), number)
                return {"shard": number, "mini_batches": 0}
            return _counts(score_shard(job, dict(shards[number]), log=self._log_line, warm=warm))


def _counts(result: Any) -> dict[str, Any]:
    """A shard's result without its non-scalar entries (small, for XCom)."""
    if not isinstance(result, dict):
        return {}
    return {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool)) or v is None}


class CollectScoringOperator(ScoringJobOperator):
    """Enforce the error threshold, merge the parts in input order and write the report.

    Always resumes (it only reads the parts written by the score tasks, and
    rewrites the merged output from them, so a re-run never duplicates rows).
    Fails the task, without retries, when the job fails (failed items above
    ``error_threshold``, or no successful item with append_row); the message
    gives the counts and where the report is. Returns the summary (small) to
    XCom.
    """

    @_fail_on_input_error
    def execute(self, context: Context) -> Any:
        from ..engine import JobFailed, collect_job

        job = self.build_job("resume", self.run_owner(context))
        try:
            summary = collect_job(job, log=self._log_line)
        except JobFailed as exc:
            raise AirflowFailException(_failure_message(exc, job)) from exc
        self._record_asset_events(context, summary)
        if isinstance(summary, dict) and summary.get("output_file"):
            self._output_file = str(summary["output_file"])
        return _small(summary)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage datasets: the rendered input location and the merged output file (the output
        folder when the deployment writes no merged file). None without the openlineage provider."""
        from ..lineage import self_hosted_lineage

        return self_hosted_lineage(self, getattr(self, "_output_file", None))

    def _record_asset_events(self, context: Context, summary: Any) -> None:
        """Attach the counts to the output's asset event; resolve an AssetAlias to the rendered output."""
        extra: dict[str, Any] = {}
        if isinstance(summary, dict):
            extra = {key: summary[key] for key in ("status", "output_rows", "items") if key in summary}
        record_output_events(context, self.outlets, self.output_path, extra)
