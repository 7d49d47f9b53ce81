"""Datastores: list, get, POST listSecrets."""

from __future__ import annotations

from ._base import OperationGroup
from ._executor import MaybeAwaitable
from .faces import X, value
from .resources import Datastore, DatastoreSecrets


class DatastoresOperations(OperationGroup[X]):
    """``datastores`` and ``datastores/{name}``."""

    @value
    def list(self, *, is_default: bool | None = None, limit: int | None = None) -> MaybeAwaitable[list[Datastore]]:
        """Datastores of the workspace; ``is_default=True`` asks for the default one only."""
        params = {"isDefault": str(is_default).lower() if is_default is not None else None}
        return self._x.paged(self._request("GET", "datastores", params=params), Datastore.from_rest, limit)

    @value
    def get(self, name: str) -> MaybeAwaitable[Datastore]:
        """The :class:`Datastore`, or :class:`~.errors.NotFoundError`."""
        return self._x.call(self._request("GET", "datastores", name), Datastore.from_rest)

    @value
    def list_secrets(self, name: str) -> MaybeAwaitable[DatastoreSecrets]:
        """POST ``listSecrets``: :class:`DatastoreSecrets` (never logged, never in reprs)."""
        return self._x.call(
            self._request("POST", "datastores", name, "listSecrets"),
            self._revealing(DatastoreSecrets.from_rest),
        )

    @value
    def get_default(self) -> MaybeAwaitable[Datastore]:
        """The workspace's default datastore (``isDefault``)."""

        def pick(stores: list[Datastore]) -> Datastore:
            for store in stores:
                if store.is_default:
                    return store
            for store in stores:
                if store.name == "workspaceblobstore":
                    return store
            from .errors import NotFoundError

            raise NotFoundError("the workspace has no default datastore", status=404)

        return self._x.then(self.list(), pick)
