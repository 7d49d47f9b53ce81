"""Register local model folders/files, code folders and conda environments; resolve asset references.

Local content is uploaded once to the workspace's default datastore under
``LocalUpload/<sha256>/<name>`` and registered as a code/model/environment
version carrying the hash in ``properties.contentHash``. Registering the same
content again finds that version (by hash) and registers nothing new.

:class:`AssetResolver` is the ``resolve(asset_kind, part)`` hook of
``specs.rest`` bodies: local paths become ARM ids of registered versions,
``azureml:name:version`` and ``azureml:name@latest`` become ARM ids, registry
and ARM ids pass through unchanged. Sync only (it runs while building a body);
async callers run it in a thread.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .datastore_blob import container_client, datastore_uri
from .errors import ConflictError, NotFoundError, ValidationError
from .resources import AssetVersion, Datastore

if TYPE_CHECKING:
    from ..specs.model import AzureMLRef
    from ._executor import SyncExecutor
    from ._facade import MLEndpointsClient
    from .assets import AssetVersionsOperations

HASH_PROPERTY = "contentHash"
UPLOAD_PREFIX = "LocalUpload"
_CHUNK = 1024 * 1024


def _files(path: Path) -> list[tuple[str, Path]]:
    if path.is_file():
        return [(path.name, path)]
    if not path.is_dir():
        raise ValidationError(f"local asset path does not exist: {path}")
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git"))
        for name in sorted(files):
            full = Path(root) / name
            out.append((full.relative_to(path).as_posix(), full))
    return sorted(out)


def content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 over the relative names and bytes of every file below ``path`` (or of one file)."""
    digest = hashlib.sha256()
    for rel, full in _files(Path(path)):
        digest.update(rel.encode() + b"\0")
        with open(full, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


class Upload(NamedTuple):
    """Where uploaded content lives: its hash, ``azureml://`` datastore URI and blob URL."""

    digest: str
    uri: str
    url: str


def _id_of(ops: AssetVersionsOperations[SyncExecutor], name: str, found: AssetVersion) -> str:
    """The ARM id of a version the service listed (built from its name when the answer has no id)."""
    return found.id or ops.version_id(name, found.version or "")


class AssetUploader:
    """Uploads local content to the default datastore and registers versions (sync client)."""

    def __init__(self, client: MLEndpointsClient, datastore: Datastore | None = None) -> None:
        self.client = client
        self._datastore = datastore

    @property
    def datastore(self) -> Datastore:
        """The workspace's default datastore (looked up once)."""
        if self._datastore is None:
            self._datastore = self.client.datastores.get_default()
        return self._datastore

    def upload(self, path: str | os.PathLike[str], digest: str | None = None) -> Upload:
        """Upload a file or folder once (skipped when already there); returns where it is."""
        src = Path(path)
        digest = digest or content_hash(src)
        base = f"{UPLOAD_PREFIX}/{digest}/{src.name}"
        files = _files(src)
        with container_client(self.client, self.datastore) as container:
            marker = f"{base}/{files[0][0]}" if src.is_dir() else base
            if not container.get_blob_client(marker).exists():
                for rel, full in files:
                    key = f"{base}/{rel}" if src.is_dir() else base
                    with open(full, "rb") as fh:
                        container.upload_blob(key, fh, overwrite=True)
            url = f"{container.url.rstrip('/')}/{base}"
        return Upload(
            digest, datastore_uri(self.client.config, self.datastore.name or "workspaceblobstore", base), url
        )

    def _existing(self, ops: AssetVersionsOperations[SyncExecutor], name: str, digest: str) -> AssetVersion | None:
        try:
            versions = ops.list(name)
        except NotFoundError:
            return None
        for version in versions:
            if (version.properties.get("properties") or {}).get(HASH_PROPERTY) == digest:
                return version
        return None

    def _register(
        self, ops: AssetVersionsOperations[SyncExecutor], name: str, version: str | None, digest: str, properties: dict[str, Any]
    ) -> str:
        found = self._existing(ops, name, digest)
        if found is not None:
            return _id_of(ops, name, found)
        if version is None:
            latest = None
            try:
                from .assets import latest_of

                latest = latest_of(ops.list(name))
            except NotFoundError:
                pass
            version = str(int(latest.version) + 1) if latest and latest.version and latest.version.isdigit() else "1"
        else:
            try:
                ops.get(name, version)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"{ops.kind[:-1]} {name}:{version} exists with other content", status=409)
        body = {"properties": {**properties, "properties": {HASH_PROPERTY: digest}}}
        created = ops.create_or_update(name, version, body)
        return created.id or ops.version_id(name, version)

    def register_code(self, path: str | os.PathLike[str]) -> str:
        """Upload a code folder and register it (anonymous, named by hash); returns the version's ARM id."""
        up = self.upload(path)
        props = {"codeUri": up.url, "isAnonymous": True}
        return self._register(self.client.code_versions, f"code-{up.digest[:32]}", "1", up.digest, props)

    def register_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        version: str | None = None,
        model_type: str = "custom_model",
    ) -> str:
        """Upload a model file or folder and register it; returns the version's ARM id."""
        up = self.upload(path)
        digest, uri = up.digest, up.uri
        types = {"custom_model": "CustomModel", "mlflow_model": "MLFlowModel", "triton_model": "TritonModel"}
        props = {"modelUri": uri, "modelType": types.get(model_type, model_type), "isAnonymous": name is None}
        if name is None:
            name, version = f"model-{digest[:32]}", "1"
        return self._register(self.client.model_versions, name, version, digest, props)

    def register_environment(
        self,
        *,
        image: str,
        conda_file: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> str:
        """Register an image (+ conda file content, inline as the API expects); returns the ARM id."""
        conda = Path(conda_file).read_text() if conda_file else None
        digest = hashlib.sha256(f"{image}\0{conda or ''}".encode()).hexdigest()
        props: dict[str, Any] = {"image": image, "isAnonymous": name is None}
        if conda is not None:
            props["condaFile"] = conda
        if name is None:
            name, version = f"env-{digest[:32]}", "1"
        return self._register(self.client.environment_versions, name, version, digest, props)


class AssetResolver:
    """``resolve(asset_kind, part)`` for ``specs.rest`` bodies, backed by a sync client.

    Results are cached per resolver, so one body build uploads each asset at most once.
    """

    def __init__(self, client: MLEndpointsClient, uploader: AssetUploader | None = None) -> None:
        self.client = client
        self.uploader = uploader or AssetUploader(client)
        self._cache: dict[Any, str | None] = {}

    def __call__(self, asset_kind: str, part: Any) -> str | None:
        key = (asset_kind, repr(part))
        if key not in self._cache:
            self._cache[key] = self._resolve(asset_kind, part)
        return self._cache[key]

    def ref_id(self, kind: str, ref: AzureMLRef) -> str:
        """ARM id for an :class:`AzureMLRef` of ``kind`` (models, codes, environments, computes)."""
        raw = ref.raw
        if (
            raw.startswith("/subscriptions/")
            or raw.startswith("azureml://")
            or getattr(ref, "registry", None)
        ):
            return raw
        if kind == "computes":
            return f"{self.client.config.workspace_id}/computes/{ref.name}"
        ops: AssetVersionsOperations[SyncExecutor] = {
            "models": self.client.model_versions,
            "codes": self.client.code_versions,
            "environments": self.client.environment_versions,
        }[kind]
        if ref.version:
            return ops.version_id(ref.name, ref.version)
        return _id_of(ops, ref.name, ops.get_latest(ref.name))  # @latest, or a bare name

    @staticmethod
    def _named(ops: AssetVersionsOperations[SyncExecutor], name: str, version: str | None) -> str:
        if version:
            return ops.version_id(name, version)
        return _id_of(ops, name, ops.get_latest(name))

    def _resolve(self, asset_kind: str, part: Any) -> str | None:
        from airflow_provider_mlendpoints.specs.model import AzureMLRef, CodeSpec, EnvironmentSpec, ModelSpec

        if isinstance(part, AzureMLRef):
            return self.ref_id("computes" if asset_kind == "compute" else asset_kind + "s", part)
        if getattr(part, "ref", None) is not None:
            return self.ref_id(asset_kind + "s", part.ref)
        if isinstance(part, ModelSpec):
            if part.path:
                return self.uploader.register_model(part.path, part.name, part.version, part.type)
            if part.name:
                return self._named(self.client.model_versions, part.name, part.version)
        if isinstance(part, CodeSpec) and part.path:
            return self.uploader.register_code(part.path)
        if isinstance(part, EnvironmentSpec):
            if part.image:
                return self.uploader.register_environment(
                    image=part.image, conda_file=part.conda_file, name=part.name, version=part.version
                )
            if part.name:
                return self._named(self.client.environment_versions, part.name, part.version)
        return None
