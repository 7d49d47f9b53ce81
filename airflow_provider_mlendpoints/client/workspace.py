"""The workspace resource itself (``GET .../workspaces/{name}``)."""

from __future__ import annotations

from typing import Any

from ._base import OperationGroup
from .resources import Workspace


class WorkspaceOperations(OperationGroup):
    """The workspace the client is configured for."""

    def get(self) -> Any:
        """The :class:`~.resources.Workspace` (its ``location`` is the region new resources use)."""
        return self._x.call(self._request("GET"), Workspace.from_rest)

    def get_location(self) -> Any:
        """The workspace's Azure region (``""`` when the service does not say)."""
        return self._x.then(self.get(), lambda workspace: workspace.location or "")
