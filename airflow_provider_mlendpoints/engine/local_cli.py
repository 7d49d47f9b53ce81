"""``mlendpoints score``: run a batch deployment on this machine, without Airflow.

Exit codes: 0 the job completed; 1 the job failed (error threshold exceeded,
no successful item, unfinished mini-batches, init() failing) or stopped on a storage
error (no space, permission, lost connection: fix it and resume); 2 bad input (a
one-line error naming the file, field and what was expected).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from .errors import EngineError, InputError, JobFailed, StorageFailed
from .job import DEFAULT_INIT_TIMEOUT, ExistingOutput, OutputFormat, ScoringJob
from .redact import redact
from .storage import anonymous_storage_options, is_remote
from .storage.base import StorageError

if TYPE_CHECKING:
    from ..specs.model import BatchDeploymentSpec, Spec


def _err(message: str) -> int:
    """Print a bad-input error on one line (several problems joined by '; ') and return 2."""
    text = "; ".join(" ".join(line.split()) for line in redact(message).splitlines() if line.strip())
    print(f"mlendpoints score: error: {text}", file=sys.stderr)
    return 2


def _out(text: str) -> None:
    """Print to stdout; a closed pipe (``| head``) silences further output instead of failing the job."""
    try:  # one write per line: log lines of scoring processes arrive from other threads
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def build_job(args: argparse.Namespace) -> ScoringJob:
    """The ScoringJob described by the command line (raises SpecError/InputError on bad input)."""
    from ..specs import BatchEndpointSpec, apply_overrides, load_spec, parse_assignments
    from ..specs.batch import scoring_deployment

    loaded = load_spec(args.deployment, require_local_paths=True)
    if isinstance(loaded, BatchEndpointSpec):  # 2021-05: an endpoint file with inline deployments
        try:
            loaded = scoring_deployment(loaded, args.deployment)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    spec = _batch_deployment(loaded, args.deployment)
    overrides = parse_assignments(args.overrides or [])
    if overrides:
        spec = _batch_deployment(apply_overrides(spec, overrides), args.deployment)
    storage_options: dict[str, Any] = {}
    if getattr(args, "anonymous", False):
        try:
            storage_options = anonymous_storage_options(args.output)
        except StorageError as exc:  # a bad combination of arguments, not a storage failure
            raise InputError(str(exc)) from None
    elif is_remote(args.input) or is_remote(args.output):
        secret = os.environ.get(args.storage_connection_string_env or "")
        if secret:
            storage_options["connection_string"] = secret
    separator = args.separator if args.separator is not None else " "
    existing: ExistingOutput = "resume" if args.resume else "overwrite" if args.overwrite else "error"
    return ScoringJob(
        deployment=spec,
        input_uri=args.input,
        output_uri=args.output,
        input_glob=args.glob,
        input_type=args.input_type,
        recursive=bool(getattr(args, "recursive", False)),
        existing_output=existing,
        output_format=OutputFormat(header=bool(args.header), separator=separator, format=args.output_format),
        storage_options=storage_options,
        model_path=getattr(args, "model", None),
        workspace=workspace_client_factory(args.workspace_config) if getattr(args, "workspace_config", None) else None,
        asset_cache=getattr(args, "asset_cache", None),
        environment=getattr(args, "environment", "worker"),
        python=getattr(args, "python", None),
        env_cache=getattr(args, "env_cache", None),
        rescore_failed=not getattr(args, "keep_failed", False),
        init_timeout=DEFAULT_INIT_TIMEOUT if getattr(args, "init_timeout", None) is None else args.init_timeout,
    )


def _batch_deployment(spec: Spec, path: str) -> BatchDeploymentSpec:
    """``spec`` when it is a batch deployment; InputError naming the file otherwise."""
    from ..specs import BatchDeploymentSpec

    if not isinstance(spec, BatchDeploymentSpec):
        raise InputError(f"{path}: expected a batch deployment YAML, found a {type(spec).__name__}")
    return spec


TOKEN_ENV = "MLENDPOINTS_TOKEN"



def workspace_client_factory(config_file: str) -> Any:
    """A callable returning a sync client for the workspace an Azure ML ``config.json`` names.

    Besides Azure's keys (``subscription_id``, ``resource_group``, ``workspace_name``) the file may
    give ``management_url`` (the emulator) and ``storage_urls``. The token comes from
    ``$MLENDPOINTS_TOKEN`` when set, else from azure-identity's ``DefaultAzureCredential``.
    """
    from ..client import MLEndpointsClient, StaticTokenCredential, WorkspaceConfig

    try:
        with open(config_file, encoding="utf-8") as f:
            data = json.load(f)
        known = ("subscription_id", "resource_group", "workspace_name", "management_url", "storage_urls")
        config = WorkspaceConfig(**{k: data[k] for k in known if data.get(k)})
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            f"--workspace-config {config_file}: expected a JSON file with subscription_id, resource_group and "
            f"workspace_name: {exc}"
        ) from exc

    def connect() -> Any:
        token = os.environ.get(TOKEN_ENV)
        if token:
            credential: Any = StaticTokenCredential(token)
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return MLEndpointsClient(config, credential)

    return connect


def run_score(args: argparse.Namespace) -> int:
    """Run the ``score`` subcommand; return the exit code."""
    from ..specs import SpecError
    from .api import run_local

    builds = logging.getLogger("airflow_provider_mlendpoints.engine.environment_build")
    if not builds.handlers:  # environment builds say what they do, on stderr (stdout is the summary)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("mlendpoints score: %(message)s"))
        builds.addHandler(handler)
        builds.setLevel(logging.INFO)
    try:
        job = build_job(args)
        if args.workers is not None and args.workers < 1:
            raise InputError(f"--workers: expected a positive number of processes, got {args.workers}")
        summary = run_local(job, workers=args.workers, log=_out)
    except JobFailed as exc:
        _out(json.dumps(exc.summary, indent=2, default=str))
        print(f"mlendpoints score: {exc}", file=sys.stderr)
        return 1
    except StorageFailed as exc:
        print(f"mlendpoints score: {exc}", file=sys.stderr)
        return 1
    except (SpecError, InputError) as exc:
        return _err(str(exc))
    except StorageError as exc:
        print(f"mlendpoints score: storage error, the job stopped: {exc}; finished mini-batches are kept: "
              "fix the cause and run again with --resume", file=sys.stderr)
        return 1
    except EngineError as exc:
        print(f"mlendpoints score: job not completed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mlendpoints score: interrupted; finished mini-batches are kept (use --resume)", file=sys.stderr)
        return 130
    _out(json.dumps(summary, indent=2, default=str))
    return 0
