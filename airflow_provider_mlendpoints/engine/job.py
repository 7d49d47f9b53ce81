"""What one self-hosted batch scoring job is: a deployment, an input, an output.

A :class:`ScoringJob` is cheap to rebuild from the same arguments in every
Airflow task (plan, score, collect), so nothing but shard references needs to
travel through XCom. Pure Python: no airflow imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..specs.model import BatchDeploymentSpec

ExistingOutput = Literal["error", "resume", "overwrite"]
#: What run() gets: Azure's rule (``auto``), always file paths, or always DataFrames of rows.
InputType = Literal["auto", "file", "tabular"]
#: The scoring children's Python: the worker's, or a virtualenv built from the deployment.
Environment = Literal["worker", "build"]

#: Seconds a scoring process's init() may take before the process is replaced (a retry).
DEFAULT_INIT_TIMEOUT = 600.0


@dataclass(frozen=True)
class OutputFormat:
    """How append_row writes the merged output.

    The default reproduces Azure ML: no header, space-separated DataFrame rows,
    one ``str()`` line per list element.
    """

    header: bool = False
    separator: str = " "
    format: Literal["csv", "parquet"] = "csv"


@dataclass(frozen=True)
class ScoringJob:
    """One batch scoring job.

    ``input_uri`` and ``output_uri`` are local paths, ``file://`` URLs, or Azure
    Blob locations (``abfs://container@account.dfs.core.windows.net/path``,
    ``wasbs://container@account.blob.core.windows.net/path``,
    ``https://account.blob.core.windows.net/container/path``).
    ``storage_options`` carries how to reach blob storage (for example
    ``{"connection_string": ...}`` or ``{"account_url": ..., "credential": ...}``);
    it is never logged or written anywhere.

    ``input_type`` follows Azure by default (``auto``): run() gets a list of file paths and
    ``mini_batch_size`` / ``error_threshold`` count files, whatever the files are; only a
    folder holding an ``MLTable`` file (or ``input_type="tabular"``) gives DataFrames of rows.
    ``recursive=False`` (Azure's behaviour) scores the folder's top-level files only; nested
    folders are left out and named in the log and the plan.

    Registered assets (``model: azureml:NAME@latest``, an ``azureml:`` code asset, an
    ``azureml:NAME:VERSION`` data asset as ``input_uri``) are resolved by
    :mod:`.registered`: ``model_path`` (a local copy, or ``models:/NAME/VERSION`` with mlflow),
    else ``workspace`` (a callable returning the project's sync ``MLEndpointsClient``; files
    cached under ``asset_cache``).

    Scoring children run the worker's interpreter (``environment="worker"``), an interpreter
    the user built (``python``), or a virtualenv built from the deployment's conda file or the
    MLflow model's requirements (``environment="build"``, cached under ``env_cache``; see
    :mod:`.environment_build`).
    ``rescore_failed`` (default True): a resumed run, a retried or cleared shard task scores the
    mini-batches that failed in an earlier run again (succeeded ones are kept); False keeps the
    failures as they are (``--keep-failed``).
    ``init_timeout`` (default :data:`DEFAULT_INIT_TIMEOUT`, 10 minutes): seconds the scoring
    script's init() may take in a scoring process; past it the process is stopped and replaced,
    which counts against ``retry_settings.max_retries`` like an init() that raised. A line is
    logged every 30 s while init() runs.
    ``owner``: the run that plans, scores and collects this job in several processes (in Airflow
    "<dag id>/<run id>/<task group>"); its output lease lasts from the plan to the collect, so
    another run on the same output is refused meanwhile (see :mod:`.lease`). None for one-process
    runs (``run_local``), whose lease lasts for the call.
    """

    deployment: BatchDeploymentSpec
    input_uri: str
    output_uri: str
    input_glob: str | None = None
    input_type: InputType = "auto"
    recursive: bool = False
    existing_output: ExistingOutput = "error"
    output_format: OutputFormat = field(default_factory=OutputFormat)
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)
    model_path: str | None = None
    workspace: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    asset_cache: str | None = None
    environment: Environment = "worker"
    python: str | None = None
    env_cache: str | None = None
    rescore_failed: bool = True
    init_timeout: float = DEFAULT_INIT_TIMEOUT
    owner: str | None = None

