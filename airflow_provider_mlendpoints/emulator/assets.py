"""Resolving asset references (model, code, environment versions; computes; datastores).

References come as ARM ids (``/subscriptions/.../codes/c/versions/1``),
``azureml:name:version``, ``azureml:name@latest`` or registry URIs
(``azureml://registries/...``, accepted for environments only: curated
environments live in registries the emulator does not serve).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .ids import parse_workspace_id, workspace_id
from .store import norm_key

if TYPE_CHECKING:
    from .context import Emulator

_SHORT = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@/]+)|@(?P<label>[^:@/]+))?$")
_DATASTORE_URI = re.compile(r"^azureml://(?:subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+/)?datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)


def _latest(emu: Emulator, container_key: str) -> dict[str, Any] | None:
    versions = [rec for _, rec in emu.store.children(container_key + "/versions")]
    if not versions:
        return None

    def order(rec: dict[str, Any]) -> tuple[int, Any]:
        name = rec["resource"]["name"]
        return (1, int(name)) if name.isdigit() else (0, name)

    return max(versions, key=order)


def find_ref(emu: Emulator, ws_key: str, collection: str, ref: str) -> dict[str, Any] | None:
    """The asset version record ``ref`` names in ``collection`` (models/codes/environments), or None."""
    ref = (ref or "").strip()
    parsed = parse_workspace_id(ref)
    if parsed is not None:
        sub, rg, ws, rest = parsed
        if not rest.lower().startswith(f"/{collection}/"):
            return None
        return emu.store.get(workspace_id(sub, rg, ws) + rest)
    short = _SHORT.match(ref)
    if short:
        container = f"{ws_key}/{collection}/{short['name']}"
        if short["version"]:
            return emu.store.get(f"{container}/versions/{short['version']}")
        return _latest(emu, container)
    return None


def check_ref(emu: Emulator, ws_key: str, collection: str, ref: str) -> str | None:
    """None when ``ref`` resolves, else a message naming it."""
    if collection == "environments" and ref.startswith("azureml://registries/"):
        return None
    if find_ref(emu, ws_key, collection, ref) is not None:
        return None
    kind = {"models": "model", "codes": "code", "environments": "environment", "data": "data"}[collection]
    return f"The {kind} version '{ref}' could not be found in the workspace."


def data_asset_ref(uri: str) -> str | None:
    """The data asset reference an input URI names (``azureml:name:version``, ``azureml:name@latest``,
    ``azureml:/subscriptions/.../data/name/versions/v`` or the bare ARM id), or None for a storage URI."""
    uri = (uri or "").strip()
    if uri.lower().startswith("azureml://"):
        return None  # a datastore URI
    ref = uri[len("azureml:") :] if uri.lower().startswith("azureml:") else uri
    parsed = parse_workspace_id(ref)
    if parsed is not None:
        return ref if parsed[3].lower().startswith("/data/") else None
    return uri if _SHORT.match(uri) else None


_ASSET_ID = re.compile(
    r"^azureml://(?:locations/(?P<loc>[^/]+)|subscriptions/[^/]+/resourcegroups/[^/]+)"
    r"/workspaces/(?P<ws>[^/]+)/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)


def _asset_id_ref(emu: Emulator, ws_key: str, uri: str) -> str | None:
    """``azureml:name:version`` of a data asset id ``azureml://locations/<loc>/workspaces/<workspace id or
    name>/data/<name>/versions/<v>`` (or the ``subscriptions/.../resourcegroups/...`` form) of this
    workspace; None when ``uri`` has neither form. LookupError when it names another workspace."""
    match = _ASSET_ID.match(uri.strip())
    if match is None:
        return None
    record = emu.store.get(ws_key) or {"resource": {"name": "", "properties": {}}}
    ws = record["resource"]
    own = {str(ws.get("name", "")).lower(), str(ws.get("properties", {}).get("workspaceId", "")).lower()}
    if match["ws"].lower() not in own:
        raise LookupError(f"The data asset id '{uri}' names another workspace ('{match['ws']}').")
    return f"azureml:{match['name']}:{match['version']}"


def resolve_data_input(emu: Emulator, ws_key: str, uri: str) -> tuple[str, str] | None:
    """(dataUri, dataType) of the registered data asset ``uri`` names; None when ``uri`` is no data asset
    reference. LookupError naming it when the workspace has no such data asset version, or when an
    ``azureml://`` URI is neither a datastore path nor a data asset id."""
    ref = _asset_id_ref(emu, ws_key, uri) or data_asset_ref(uri)
    if ref is None:
        if uri.strip().lower().startswith("azureml://") and not _DATASTORE_URI.match(uri.strip()):
            raise LookupError(
                f"The input '{uri}' cannot be resolved: an azureml:// input is a datastore path "
                "(azureml://datastores/<datastore>/paths/<path>) or a data asset id "
                "(azureml://locations/<location>/workspaces/<workspace id>/data/<name>/versions/<version>)."
            )
        return None
    record = find_ref(emu, ws_key, "data", ref)
    if record is None:
        raise LookupError(f"The data asset '{uri}' could not be found in the workspace.")
    props = record["resource"]["properties"]
    return str(props["dataUri"]), str(props.get("dataType") or "uri_folder")


def check_compute(emu: Emulator, ws_key: str, compute: str) -> str | None:
    """None when the compute (ARM id, ``azureml:name`` or name) exists, else a message."""
    parsed = parse_workspace_id(compute)
    if parsed is not None:
        sub, rg, ws, rest = parsed
        record = emu.store.get(workspace_id(sub, rg, ws) + rest)
    else:
        name = compute.removeprefix("azureml:")
        record = emu.store.get(f"{ws_key}/computes/{name}")
    if record is None:
        return f"The compute '{compute}' could not be found in the workspace."
    return None


def datastore_location(emu: Emulator, ws_key: str, uri: str) -> tuple[str, dict[str, Any]] | None:
    """Map ``azureml://datastores/<ds>/paths/<p>`` to (storage URI, storage options); None if not such a URI.

    Local datastores map to a folder below the emulator's data root; blob
    datastores to ``https://<account>.blob.<endpoint>/<container>/<path>``
    with the connection string (or account key) as storage options.
    """
    loc = resolve_location(emu, ws_key, uri)
    if loc is None:
        return None
    return loc["uri"], loc["storage_options"]


def resolve_location(emu: Emulator, ws_key: str, uri: str) -> dict[str, Any] | None:
    """Structured location of a datastore URI: uri, storage_options, and local path or blob container/prefix."""
    match = _DATASTORE_URI.match(uri)
    if not match:
        return None
    ds_name, path = match["ds"], confined_path(uri, match["path"])
    record = emu.store.get(f"{ws_key}/datastores/{ds_name}")
    if record is None:
        raise LookupError(f"datastore '{ds_name}' not found")
    props = record["resource"]["properties"]
    meta = record["meta"]
    if meta.get("local_root"):
        root = (emu.config.data_root / "datastores" / meta["local_root"]).resolve()
        local = (root / path).resolve()
        if local != root and root not in local.parents:  # a symbolic link out of the datastore
            raise SandboxError(f"'{uri}' leads outside the datastore '{ds_name}'.")
        return {"uri": str(local), "storage_options": {}, "local": str(local), "blob": None}
    account, container = props.get("accountName"), props.get("containerName")
    options: dict[str, Any] = {}
    secrets = meta.get("secrets") or {}
    if meta.get("connection_string"):
        options["connection_string"] = meta["connection_string"]
    elif secrets.get("key"):
        options["account_url"] = f"https://{account}.blob.{props.get('endpoint') or 'core.windows.net'}"
        options["credential"] = secrets["key"]
    endpoint = props.get("endpoint") or "core.windows.net"
    # The real storage host (Azurite's path-style URL, say) rather than *.blob.core.windows.net, so
    # that job messages name where the data lives.
    from .context import parse_connection_string

    conn = meta.get("connection_string")
    blob_endpoint = parse_connection_string(conn).get("BlobEndpoint") if conn else None
    base = blob_endpoint.rstrip("/") if blob_endpoint else f"https://{account}.blob.{endpoint}"
    return {
        "uri": f"{base}/{container}/{path}",
        "storage_options": options,
        "local": None,
        "blob": {"container": container, "prefix": path},
    }


class SandboxError(LookupError):
    """A location the emulator refuses to touch: outside its datastore, or a local path without
    ``--allow-local-paths``."""


def confined_path(uri: str, path: str) -> str:
    """``path`` inside a datastore, normalized; SandboxError when it climbs out of the datastore's root."""
    from urllib.parse import unquote

    parts: list[str] = []
    for part in unquote(path).replace("\\", "/").split("/"):
        if part == "..":
            if not parts:
                raise SandboxError(f"'{uri}' leads outside the datastore: paths are relative to the datastore's root.")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) + ("/" if path.endswith("/") and parts else "")


def _local_allowed(emu: Emulator, uri: str) -> None:
    if not getattr(emu.config, "allow_local_paths", False):
        raise SandboxError(
            f"'{uri}' is a path on the emulator's machine; the emulator reads and writes local paths only when "
            "started with --allow-local-paths (use a datastore URI such as azureml://datastores/workspaceblobstore/paths/...)."
        )


def ws_key_of(sub: str, rg: str, ws: str) -> str:
    """The store key of a workspace."""
    return norm_key(workspace_id(sub, rg, ws))


def any_location(emu: Emulator, ws_key: str, uri: str) -> dict[str, Any]:
    """Structured location of any storage URI a job or asset may carry.

    Datastore URIs resolve through the datastore (confined to its root); ``file://``
    and plain paths are local (only with ``--allow-local-paths``, else SandboxError); ``https://<account>.blob...`` and Azurite's path-style
    ``http://host:port/<account>/<container>/...`` are blobs, reached with the
    emulator's storage connection string.
    """
    from urllib.parse import unquote, urlparse

    loc = resolve_location(emu, ws_key, uri)
    if loc is not None:
        return loc
    if uri.startswith("file://"):
        _local_allowed(emu, uri)
        path = unquote(urlparse(uri).path)
        return {"uri": path, "storage_options": {}, "local": path, "blob": None}
    if "://" not in uri:
        _local_allowed(emu, uri)
        return {"uri": uri, "storage_options": {}, "local": uri, "blob": None}
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        parts = [p for p in parsed.path.split("/") if p]
        conn = emu.config.storage_connection_string
        options = {"connection_string": conn} if conn else {}
        host = parsed.hostname or ""
        if ".blob." in host:
            container, prefix = (parts[0] if parts else ""), "/".join(parts[1:])
        else:  # path-style (Azurite): /<account>/<container>/<prefix>
            container, prefix = (parts[1] if len(parts) > 1 else ""), "/".join(parts[2:])
        if ".." in parts:
            raise SandboxError(f"'{uri}' climbs out of its container with '..'.")
        return {"uri": uri, "storage_options": options, "local": None, "blob": {"container": container, "prefix": prefix}}
    return {"uri": uri, "storage_options": {}, "local": None, "blob": None}
