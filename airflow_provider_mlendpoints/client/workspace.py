"""The workspace resource itself (``GET .../workspaces/{name}``)."""

from __future__ import annotations

from ._base import OperationGroup
from ._executor import MaybeAwaitable
from .faces import X, value
from .resources import Workspace


class WorkspaceOperations(OperationGroup[X]):
    """The workspace the client is configured for."""

    @value
    def get(self) -> MaybeAwaitable[Workspace]:
        """The :class:`~.resources.Workspace` (its ``location`` is the region new resources use)."""
        return self._x.call(self._request("GET"), Workspace.from_rest)

    @value
    def get_location(self) -> MaybeAwaitable[str]:
        """The workspace's Azure region (``""`` when the service does not say)."""
        return self._x.then(self.get(), lambda workspace: workspace.location or "")
