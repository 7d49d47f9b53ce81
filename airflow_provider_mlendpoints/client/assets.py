"""Code, model, environment and data versions: PUT, GET, list (``{kind}/{name}/versions/{v}``)."""

from __future__ import annotations

from typing import Any, Literal

from ._base import OperationGroup
from ._executor import MaybeAwaitable
from .config import WorkspaceConfig
from .errors import NotFoundError
from .faces import X, value
from .resources import AssetVersion

AssetKind = Literal["codes", "models", "environments", "data"]


def _version_key(v: AssetVersion) -> tuple[int, int | str]:
    name = v.version or ""
    return (1, int(name)) if name.isdigit() else (0, name)


def latest_of(versions: list[AssetVersion]) -> AssetVersion | None:
    """The highest version: numeric versions compare as numbers and beat non-numeric ones."""
    return max(versions, key=_version_key) if versions else None


class AssetVersionsOperations(OperationGroup[X]):
    """Versions of one asset kind (``codes``, ``models``, ``environments`` or ``data``)."""

    kind: AssetKind = "codes"

    def __init__(self, executor: X, config: WorkspaceConfig, kind: AssetKind) -> None:
        OperationGroup.__init__(self, executor, config)
        self.kind = kind

    @value
    def create_or_update(self, name: str, version: str, body: dict[str, Any]) -> MaybeAwaitable[AssetVersion]:
        """PUT a version body (``{"properties": {...}}``); returns the :class:`AssetVersion`."""
        return self._x.call(
            self._request("PUT", self.kind, name, "versions", version, body=body), AssetVersion.from_rest
        )

    @value
    def get(self, name: str, version: str) -> MaybeAwaitable[AssetVersion]:
        """The version, or :class:`~.errors.NotFoundError`."""
        return self._x.call(
            self._request("GET", self.kind, name, "versions", version), AssetVersion.from_rest
        )

    @value
    def list(
        self,
        name: str,
        *,
        order_by: str | None = None,
        top: int | None = None,
        params: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> MaybeAwaitable[list[AssetVersion]]:
        """Versions of ``name``; ``params`` adds query filters the API knows (e.g. ``tags``, ``hash``)."""
        query = {"$orderBy": order_by, "$top": top, **(params or {})}
        return self._x.paged(
            self._request("GET", self.kind, name, "versions", params=query), AssetVersion.from_rest, limit
        )

    @value
    def get_latest(self, name: str) -> MaybeAwaitable[AssetVersion]:
        """The latest version of ``name`` (``azureml:name@latest``)."""

        def pick(versions: list[AssetVersion]) -> AssetVersion:
            latest = latest_of(versions)
            if latest is None:
                raise NotFoundError(f"{self.kind.removesuffix('s')} {name!r} has no versions", status=404)
            return latest

        return self._x.then(self.list(name), pick)

    def version_id(self, name: str, version: str) -> str:
        """The ARM id of a version (no request)."""
        return f"{self._config.workspace_id}/{self.kind}/{name}/versions/{version}"
