"""OpenLineage datasets for batch scoring inputs and outputs (when the openlineage provider is installed).

Naming follows the OpenLineage dataset naming spec for Azure storage:

- blob storage: namespace ``wasbs://<container>@<account>.blob.core.windows.net``, name = the path;
- ADLS Gen2 (``abfss://`` / ``*.dfs.core.windows.net``): namespace ``abfss://<container>@<account>.dfs.core.windows.net``;
- ``azureml://datastores/<ds>/paths/<p>``: the datastore is looked up (account and container) and
  named as the storage above; when it cannot be, namespace ``azureml://datastores/<ds>``;
- a registered data asset ``azureml:<name>:<version>`` (or its ARM id form): namespace
  ``azureml://<workspace ARM id>``, name ``data/<name>/versions/<version>``;
- a local path: namespace ``file``, name the absolute path;
- the self-hosted engine's forms (:func:`storage_dataset_name`): ``abfs://`` and ``wasb://`` with
  the account in the host are named as ``abfss://`` / ``wasbs://``; ``az://<container>/<path>``
  and ``abfs://<container>/<path>`` take the account from the connection's storage options.

Nothing here imports OpenLineage at module level; :func:`operator_lineage` returns None when the
provider is not installed.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

_DATASTORE = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/(?:providers/Microsoft\.MachineLearningServices/)?"
    r"workspaces/[^/]+/)?datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$"
)
_ASSET_SHORT = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@/]+)|@(?P<label>[^:@/]+))$")
_ASSET_ID = re.compile(
    r"^(?:azureml:)?(?P<ws>/subscriptions/.+?/workspaces/[^/]+)/data/(?P<name>[^/]+)/versions/(?P<v>[^/]+)$"
)


def _blob_name(account: str, container: str, path: str, kind: str = "blob") -> tuple[str, str]:
    scheme = "abfss" if kind == "dfs" else "wasbs"
    return f"{scheme}://{container}@{account}.{kind}.core.windows.net", path.strip("/") or "/"


def dataset_name(uri: str, client: Any = None) -> tuple[str, str]:
    """(namespace, name) of a storage location or data asset reference."""
    uri = uri.split("?", 1)[0]  # never a SAS token
    match = _DATASTORE.match(uri)
    if match:
        return _datastore_dataset(match["ds"], unquote(match["path"]), client)
    return _asset_dataset(uri, client) or _location_dataset(uri)


def _datastore_dataset(ds: str, path: str, client: Any) -> tuple[str, str]:
    """A datastore path named as its storage (looked up with ``client``), else ``azureml://datastores/<ds>``."""
    if client is not None:
        try:
            store = client.datastores.get(ds)
            if store.account_name and store.container_name:
                kind = "dfs" if (store.datastore_type or "").lower() == "azuredatalakegen2" else "blob"
                return _blob_name(store.account_name, store.container_name, path, kind)
        except Exception:  # lineage must never fail the task
            pass
    return f"azureml://datastores/{ds}", path.strip("/") or "/"


def _asset_dataset(uri: str, client: Any) -> tuple[str, str] | None:
    """A registered data asset (ARM id or ``azureml:<name>:<version>``), or None when ``uri`` is not one."""
    match = _ASSET_ID.match(uri)
    if match:
        return f"azureml://{match['ws'].lstrip('/')}", f"data/{match['name']}/versions/{match['v']}"
    match = _ASSET_SHORT.match(uri)
    if match:
        ws = client.config.workspace_id.lstrip("/") if client is not None else "workspace"
        return f"azureml://{ws}", f"data/{match['name']}/versions/{match['version'] or match['label']}"
    return None


def _location_dataset(uri: str) -> tuple[str, str]:
    """A URL or local path."""
    parsed = urlparse(uri)
    if parsed.scheme in ("https", "http") and parsed.hostname:
        return _http_dataset(parsed)
    if parsed.scheme in ("abfss", "wasbs", "abfs", "wasb") and parsed.netloc:
        return f"{parsed.scheme}://{parsed.netloc}", parsed.path.strip("/") or "/"
    if parsed.scheme == "file":
        return "file", unquote(parsed.path)
    if not parsed.scheme or len(parsed.scheme) == 1:  # local path (or a Windows drive)
        return "file", os.path.abspath(os.path.expanduser(uri))
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path or "/"


def _http_dataset(parsed: ParseResult) -> tuple[str, str]:
    """An http(s) URL: a blob or ADLS endpoint, an Azurite path-style URL, or any other URL as it is."""
    host = parsed.hostname or ""
    parts = [p for p in parsed.path.split("/") if p]
    for kind in ("blob", "dfs"):
        if f".{kind}." in host and parts:
            return _blob_name(host.split(".", 1)[0], parts[0], "/".join(parts[1:]), kind)
    if len(parts) >= 2 and parsed.port:  # Azurite path-style: /<account>/<container>/<path>
        return f"wasbs://{parts[1]}@{parts[0]}", "/".join(parts[2:]) or "/"
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path or "/"


def _account_of(storage_options: dict[str, Any] | None) -> str | None:
    """The storage account named by adlfs-style storage options (None when they do not say)."""
    opts = storage_options or {}
    if opts.get("account_name"):
        return str(opts["account_name"])
    conn = str(opts.get("connection_string") or "")
    match = re.search(r"(?:^|;)\s*AccountName=([^;]+)", conn, re.IGNORECASE)
    if match:
        return match.group(1).strip()
    url = str(opts.get("account_url") or "")
    host = urlparse(url).hostname or ""
    if ".blob." in host or ".dfs." in host:
        return host.split(".", 1)[0]
    parts = [p for p in urlparse(url).path.split("/") if p]
    return parts[0] if parts and urlparse(url).port else None  # Azurite: http://host:port/<account>


def storage_dataset_name(uri: str, storage_options: dict[str, Any] | None = None) -> tuple[str, str]:
    """(namespace, name) of a self-hosted scoring location (a local path or any blob URI form the
    engine reads), by the same naming as :func:`dataset_name`."""
    from .engine.redact import location

    uri = location(str(uri))
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("abfs", "abfss", "wasb", "wasbs", "az") and parsed.netloc:
        path = unquote(parsed.path)
        if "@" in parsed.netloc:
            container, _, host = parsed.netloc.partition("@")
            kind = "dfs" if ".dfs." in host else "blob"
            return _blob_name(host.split(".", 1)[0], container, path, kind)
        account = _account_of(storage_options)
        if account:
            return _blob_name(account, parsed.netloc, path, "dfs" if scheme.startswith("abfs") else "blob")
    return dataset_name(uri)


def operator_lineage(
    inputs: list[str], outputs: list[str], *, client: Any = None, job_name: str | None = None
) -> Any:
    """An ``OperatorLineage`` for the given input and output URIs (None without the provider)."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset
    except ImportError:
        return None
    run_facets: dict[str, Any] = {}
    if job_name:
        from openlineage.client.facet_v2 import external_query_run

        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=job_name, source="azureml"
        )
    return OperatorLineage(
        inputs=[Dataset(*dataset_name(uri, client)) for uri in inputs if uri],
        outputs=[Dataset(*dataset_name(uri, client)) for uri in outputs if uri],
        run_facets=run_facets,
    )


def self_hosted_lineage(op: Any, output_file: str | None = None) -> Any:
    """An ``OperatorLineage`` of a self-hosted scoring task (the collect task): input dataset = the
    rendered ``input_path``, output dataset = the rendered ``output_path`` joined with the
    deployment's ``output_file_name`` (the folder itself when the deployment writes no merged file,
    ``output_action: summary_only``). ``output_file``, the merged file the collect step reported, is
    used when the deployment cannot be read again. None without the openlineage provider; never
    raises.
    """
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset
    except ImportError:
        return None
    storage_options: dict[str, Any] = {}
    output = str(op.output_path)
    try:
        from .engine.layout import join_uri

        job = op.build_job("resume")
        storage_options = dict(job.storage_options or {})
        if job.deployment.output_action == "append_row":
            output = join_uri(output, job.deployment.output_file_name)
    except Exception:  # lineage must never fail the task
        if output_file:
            output = output_file
    return OperatorLineage(
        inputs=[Dataset(*storage_dataset_name(str(op.input_path), storage_options))],
        outputs=[Dataset(*storage_dataset_name(output, storage_options))],
    )
