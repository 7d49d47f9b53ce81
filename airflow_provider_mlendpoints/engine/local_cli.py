"""``mlendpoints score``: run a batch deployment on this machine, without Airflow.

Exit codes: 0 the job completed; 1 the job failed (error threshold exceeded,
no successful item, unfinished mini-batches, init() failing) or stopped on a storage
error (no space, permission, lost connection: fix it and resume); 2 bad input (a
one-line error naming the file, field and what was expected).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .errors import EngineError, InputError, JobFailed, StorageFailed
from .job import DEFAULT_INIT_TIMEOUT, OutputFormat, ScoringJob
from .storage import is_remote
from .storage.base import StorageError


def _err(message: str) -> int:
    """Print a bad-input error on one line (several problems joined by '; ') and return 2."""
    text = "; ".join(" ".join(line.split()) for line in str(message).splitlines() if line.strip())
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
    from ..specs import BatchDeploymentSpec, apply_overrides, load_spec, parse_assignments

    spec = load_spec(args.deployment, require_local_paths=True)
    if not isinstance(spec, BatchDeploymentSpec):
        raise InputError(
            f"{args.deployment}: expected a batch deployment YAML, found a {type(spec).__name__}"
        )
    overrides = parse_assignments(args.overrides or [])
    if overrides:
        spec = apply_overrides(spec, overrides)
    storage_options: dict[str, Any] = {}
    if is_remote(args.input) or is_remote(args.output):
        secret = os.environ.get(args.storage_connection_string_env or "")
        if secret:
            storage_options["connection_string"] = secret
    separator = args.separator if args.separator is not None else " "
    existing = "resume" if args.resume else "overwrite" if args.overwrite else "error"
    return ScoringJob(
        deployment=spec,
        input_uri=args.input,
        output_uri=args.output,
        input_glob=args.glob,
        input_type=args.input_type,
        existing_output=existing,
        output_format=OutputFormat(header=bool(args.header), separator=separator, format=args.output_format),
        storage_options=storage_options,
        rescore_failed=not args.keep_failed,
        init_timeout=DEFAULT_INIT_TIMEOUT if args.init_timeout is None else args.init_timeout,
    )


def run_score(args: argparse.Namespace) -> int:
    """Run the ``score`` subcommand; return the exit code."""
    from ..specs import SpecError
    from .api import run_local

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
