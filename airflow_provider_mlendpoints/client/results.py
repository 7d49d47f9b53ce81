"""Download a batch job's output file or folder from its datastore (azure-storage-blob)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .asset_download import download_prefix
from .datastore_blob import datastore_location, datastore_name_from_id
from .errors import NotFoundError, ValidationError
from .resources import Job

if TYPE_CHECKING:
    from ._facade import MLEndpointsClient


def output_location(job: Job, output_name: str | None = None) -> tuple[str, str]:
    """(datastore reference or blob URL, path) of a job's output.

    Current jobs: ``outputs[name].uri`` (``azureml://...datastores/<ds>/paths/<p>`` or an https blob
    URL); the first output when ``output_name`` is None. 2021 jobs: ``outputDataset``
    {datastoreId, path} (+ ``outputFileName``).
    """
    outputs = job.outputs
    if outputs:
        if output_name is None:
            output_name = sorted(outputs)[0]
        if output_name not in outputs:
            raise NotFoundError(f"job {job.name!r} has no output {output_name!r}", status=404)
        spec = outputs[output_name] or {}
        uri = spec.get("uri") or spec.get("Uri")
        if not uri:
            raise ValidationError(f"output {output_name!r} of job {job.name!r} has no uri")
        return uri, ""
    dataset = job.output_dataset
    if dataset.get("datastoreId"):
        return "datastore:" + datastore_name_from_id(dataset["datastoreId"]), dataset.get("path") or ""
    raise NotFoundError(f"job {job.name!r} reports no output location", status=404)


def download_job_output(
    client: MLEndpointsClient, job: Job | str, local_dir: str | os.PathLike[str], output_name: str | None = None
) -> list[Path]:
    """Download a job's output (one file, or every file below the folder) into ``local_dir``.

    ``job`` is a :class:`Job` or a job name (fetched through ARM). Returns the local files written.
    Requires the sync :class:`~airflow_provider_mlendpoints.client.MLEndpointsClient`.
    """
    if isinstance(job, str):
        job = client.jobs.get(job)
    where, path = output_location(job, output_name)
    if where.startswith("datastore:"):
        store = client.datastores.get(where.removeprefix("datastore:"))
    else:
        store, path = datastore_location(client, where, "output location")
    target = Path(local_dir)
    target.mkdir(parents=True, exist_ok=True)
    try:
        return download_prefix(client, store, path, target)
    except NotFoundError:
        raise NotFoundError(
            f"nothing found at the output of job {job.name!r} ({path.strip('/') or '/'})", status=404
        ) from None
