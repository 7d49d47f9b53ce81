"""The ``mlendpoints`` command line: validate specs, score locally, run the emulator.

Each subcommand lives in its own module and is imported only when used, so
``mlendpoints validate`` stays fast and never imports Airflow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlendpoints",
        description="Azure ML endpoint specs, self-hosted batch scoring and an offline workspace emulator.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="validate endpoint and deployment YAML files")
    validate.add_argument("files", nargs="+", metavar="FILE")

    score = sub.add_parser("score", help="run a batch deployment locally, without Airflow")
    score.add_argument("--deployment", required=True, metavar="FILE", help="batch deployment YAML")
    score.add_argument("--input", required=True, metavar="PATH", help="input folder, file or blob URL")
    score.add_argument("--output", required=True, metavar="PATH", help="output folder or blob URL")
    score.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a deployment setting, e.g. mini_batch_size=5 or retry_settings.timeout=60",
    )
    score.add_argument("--workers", type=int, default=None, metavar="N", help="scoring processes")
    score.add_argument("--glob", default=None, help="only score input files matching this pattern")
    score.add_argument(
        "--input-type",
        choices=["auto", "file", "tabular"],
        default="auto",
        help="auto (Azure's rule): run() gets file paths; a folder holding an MLTable file gives DataFrames",
    )
    score.add_argument(
        "--recursive", action="store_true", help="also score files in nested folders (Azure scores the top level)"
    )
    score.add_argument(
        "--model",
        default=None,
        metavar="PATH",
        help="a local copy of the deployment's registered model (or models:/NAME/VERSION with mlflow)",
    )
    score.add_argument(
        "--workspace-config",
        default=None,
        metavar="FILE",
        help="an Azure ML workspace config.json (subscription_id, resource_group, workspace_name[, "
        "management_url]) to download registered models, code and data assets from; token from $MLENDPOINTS_TOKEN "
        "or the Azure default credential",
    )
    score.add_argument(
        "--asset-cache", default=None, metavar="DIR", help="where downloaded registered assets are kept"
    )
    score.add_argument("--header", action="store_true", help="write a header row to the output")
    score.add_argument("--separator", default=None, help="column separator of the output (default: space)")
    score.add_argument(
        "--output-format", choices=["csv", "parquet"], default="csv", help="merged output format"
    )
    score.add_argument(
        "--storage-connection-string-env",
        default="AZURE_STORAGE_CONNECTION_STRING",
        metavar="VAR",
        help="environment variable holding the blob connection string (never pass secrets as arguments)",
    )
    score.add_argument(
        "--environment",
        choices=["worker", "build"],
        default="worker",
        help="worker: this Python environment; build: a virtualenv from the deployment's conda file "
        "(or the MLflow model's requirements), cached",
    )
    score.add_argument("--python", default=None, metavar="PATH", help="run the scoring processes with this Python")
    score.add_argument("--env-cache", default=None, metavar="DIR", help="where built environments are kept")
    score.add_argument(
        "--anonymous", action="store_true", help="read a public blob input without credentials"
    )
    existing = score.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="keep finished mini-batches, score the rest")
    existing.add_argument("--overwrite", action="store_true", help="discard an existing output and start over")
    score.add_argument(
        "--init-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long init() may run in a scoring process before it is replaced (default: 600)",
    )
    score.add_argument(
        "--keep-failed",
        action="store_true",
        help="with --resume: keep the mini-batches that failed in the earlier run (default: score them again)",
    )

    emulator = sub.add_parser("emulator", help="run the offline Azure ML workspace emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8910)
    emulator.add_argument("--token", default=None, help="bearer token the emulator accepts")
    emulator.add_argument("--state", default=None, metavar="DIR", help="keep resources and jobs in DIR")
    emulator.add_argument("--spec", default=None, metavar="FILE", help="validate bodies against this OpenAPI file")
    emulator.add_argument(
        "--provisioning-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long PUT/DELETE stay Creating/Updating/Deleting (default 1)",
    )
    emulator.add_argument(
        "--allow-local-paths",
        action="store_true",
        help="let jobs, code and models name paths on this machine (file:// or plain paths); "
        "off by default: any caller could read, write or run local files",
    )
    emulator.add_argument(
        "--faults",
        default=None,
        metavar="JSON",
        help='injected faults, e.g. \'{"throttle_rate": 0.2, "error_rate": 0.1, "drop_rate": 0.05, "latency_ms": 50}\'',
    )
    emulator.add_argument(
        "--ssl-certfile", default=None, metavar="PEM", help="serve HTTPS with this certificate (chain) file"
    )
    emulator.add_argument("--ssl-keyfile", default=None, metavar="PEM", help="private key of --ssl-certfile")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlendpoints`` console script."""
    args = _build_parser().parse_args(argv)
    if args.command == "validate":
        from .specs.validate_cli import run_validate

        return run_validate(args.files)
    if args.command == "score":
        from .engine.local_cli import run_score

        return run_score(args)
    if args.command == "emulator":
        from .emulator.server import run_emulator

        return run_emulator(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
