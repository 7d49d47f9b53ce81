"""Registered assets of a deployment (``azureml:NAME:VERSION`` / ``azureml:NAME@latest``) as local files.

Self-hosted scoring runs local files. A deployment that names a registered model, code
asset or data asset (the job's input) has it resolved, in this order:

1. a local copy given by the user: ``ScoringJob.model_path`` (``mlendpoints score --model
   PATH``, ``model_path=`` on the TaskGroup); an MLflow registry URI there
   (``models:/NAME/VERSION``) is downloaded with mlflow (the ``mlflow`` extra);
2. an Azure ML workspace (a real one or the emulator) through ``ScoringJob.workspace``, a
   callable returning the project's sync client: the asset's files are downloaded once per
   version into a cache folder shared by every scoring process and later runs
   (``ScoringJob.asset_cache``, default ``$MLENDPOINTS_CACHE_DIR`` or
   ``~/.cache/mlendpoints/assets``); a version is immutable, so its folder is reused as is;
3. nothing else: the plan fails at once naming the reference and these ways.

A download lands in a private temporary folder and is renamed into place, so concurrent
processes never see a partial copy (the loser of a race discards its own).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import replace
from typing import Any

from .errors import InputError
from .job import ScoringJob

CACHE_ENV = "MLENDPOINTS_CACHE_DIR"
MLFLOW_SCHEMES = ("models:/", "runs:/")


def how_to_provide(what: str, ref: str, flag: str) -> str:
    """The error for an unresolvable reference: what it is and the three ways to provide it."""
    return (
        f"{what} {ref!r} is a registered asset and self-hosted scoring needs its files: give a local copy "
        f"({flag}), an Azure ML connection that can download it (mlendpoints score --workspace-config FILE, "
        "ml_endpoints_conn_id= on the TaskGroup), or, with the mlflow extra, an MLflow registry URI "
        f"({flag.split()[0]} models:/NAME/VERSION)"
    )


def default_cache() -> str:
    """The asset cache folder: ``$MLENDPOINTS_CACHE_DIR``, else ``~/.cache/mlendpoints/assets``."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "mlendpoints", "assets")


def resolve_registered(job: ScoringJob) -> ScoringJob:
    """The job with its registered model, code and data-asset input replaced by local files.

    Raises :class:`InputError` naming the reference when it cannot be resolved.
    """
    d = job.deployment
    model, code, input_uri = d.model, d.code, job.input_uri
    if job.model_path:
        model = replace(model, path=_local_model(job, job.model_path)) if model else None
        if model is None:
            from ..specs.model import ModelSpec

            model = ModelSpec(path=_local_model(job, job.model_path))
    elif model is not None and model.ref is not None and not model.path:
        model = replace(model, path=_download(job, "models", model.ref, "model", "--model PATH / model_path="))
    if code is not None and code.ref is not None and not code.path:
        code = replace(code, path=_download(job, "codes", code.ref, "code", "a local code folder in the YAML"))
    if input_uri.startswith("azureml:") and "://" not in input_uri:
        from ..specs.refs import parse_ref

        input_uri = _download(job, "data", parse_ref(input_uri), "input data asset", "--input PATH / input_path=")
    if model is d.model and code is d.code and input_uri == job.input_uri:
        return job
    return replace(job, deployment=replace(d, model=model, code=code), input_uri=input_uri, model_path=None)


def _local_model(job: ScoringJob, path: str) -> str:
    if path.startswith(MLFLOW_SCHEMES):
        return _mlflow_download(job, path)
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(full):
        raise InputError(f"model path {path!r}: no such file or folder")
    return full


def _cache_folder(job: ScoringJob, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return os.path.join(os.path.abspath(job.asset_cache or default_cache()), digest)


def _download(job: ScoringJob, kind: str, ref: Any, what: str, flag: str) -> str:
    """The cached local copy of a registered asset version (downloaded on first use)."""
    if job.workspace is None:
        raise InputError(f"{_where(job)}: " + how_to_provide(what, ref.raw, flag))
    from ..client.asset_download import URI_PROPERTIES, asset_version, download_location
    from ..client.errors import MLEndpointsError

    try:
        client = job.workspace()
        try:
            version = asset_version(client, kind, ref.name, ref.version)
            uri = version.properties.get(URI_PROPERTIES[kind]) or ""
            if not uri:
                raise InputError(f"{what} {ref.raw!r}: the workspace names no {URI_PROPERTIES[kind]} for it")
            identity = f"{client.config.workspace_id}/{kind}/{ref.name}/versions/{version.version}"
            folder = _cache_folder(job, identity)
            name = os.path.basename(uri.split("?", 1)[0].rstrip("/")) or ref.name
            local = os.path.join(folder, name)
            if not os.path.exists(local):
                _fetch_into(folder, name, lambda dest: download_location(client, uri, dest))
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()
    except MLEndpointsError as exc:
        raise InputError(f"{_where(job)}: {what} {ref.raw!r} cannot be downloaded from the workspace: {exc}") from exc
    return _single_file(local)


def _single_file(local: str) -> str:
    """A download of one file lands in a folder of that name: the file itself is the asset."""
    if os.path.isdir(local):
        entries = os.listdir(local)
        if len(entries) == 1 and entries[0] == os.path.basename(local) and os.path.isfile(
            os.path.join(local, entries[0])
        ):
            return os.path.join(local, entries[0])
    return local


def _fetch_into(folder: str, name: str, fetch: Any) -> None:
    """Run ``fetch(tmp)`` into a private folder, then rename it to ``folder/name`` (first one wins)."""
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".download-", dir=folder)
    try:
        fetch(os.path.join(tmp, name))
        try:
            os.rename(os.path.join(tmp, name), os.path.join(folder, name))
        except OSError:
            if not os.path.exists(os.path.join(folder, name)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _mlflow_download(job: ScoringJob, uri: str) -> str:
    try:
        import mlflow.artifacts
    except ImportError as exc:
        raise InputError(
            f"model {uri!r}: an MLflow registry URI needs mlflow: pip install 'airflow-provider-mlendpoints[mlflow]'"
        ) from exc
    folder = _cache_folder(job, f"mlflow:{os.environ.get('MLFLOW_TRACKING_URI', '')}:{uri}")
    name = uri.rstrip("/").split("/")[1] if uri.startswith("models:/") else "model"
    local = os.path.join(folder, name)
    if not os.path.exists(local) or uri.endswith(("/latest", "@latest")):
        if os.path.exists(local):
            shutil.rmtree(local)
        try:
            _fetch_into(folder, name, lambda dest: mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dest))
        except Exception as exc:  # noqa: BLE001 - mlflow raises many types; named with the URI
            raise InputError(f"model {uri!r}: cannot download it with mlflow: {exc}") from exc
    return local


def _where(job: ScoringJob) -> str:
    return job.deployment.source or f"deployment {job.deployment.name!r}"
