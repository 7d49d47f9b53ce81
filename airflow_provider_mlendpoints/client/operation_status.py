"""What a started long-running operation hands back, and what its status URL says.

:class:`OperationHandle` is the answer to the first request of a PUT or DELETE
sent without a poller (``start_create_or_update`` / ``start_delete`` of the
operation groups); :class:`OperationStatus` is one reading of the operation's
``Azure-AsyncOperation`` or ``Location`` URL (``client.operations.get_status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)

#: Operation states after which nothing changes any more.
OPERATION_TERMINAL_STATES = frozenset({"Succeeded", "Failed", "Canceled"})


@dataclass(frozen=True)
class OperationHandle(Generic[T_co]):
    """A long-running operation the service accepted; nothing polls it.

    :ivar polling_url: the ``Azure-AsyncOperation`` URL, else the ``Location`` URL, else None
        (the service finished at once or gave no URL). Pass it to ``client.operations.get_status``.
    :ivar resource: the parsed resource of the first answer (PUT), or None (DELETE, empty body).
    :ivar status_code: the HTTP status of the first answer (200, 201, 202 or 204).
    :ivar retry_after: the answer's Retry-After (seconds), the operation's own pace, if given.
    """

    polling_url: str | None
    resource: T_co | None
    status_code: int
    retry_after: float | None = None


@dataclass(frozen=True)
class OperationStatus:
    """One reading of a long-running operation's status URL.

    :ivar status: ``InProgress``, ``Succeeded``, ``Failed``, ``Canceled`` (or another state the
        service names).
    :ivar error_code: the service's error code when the operation failed, else None.
    :ivar error_message: the service's error message when the operation failed, else None.
    """

    status: str
    error_code: str | None = None
    error_message: str | None = None

    @property
    def done(self) -> bool:
        """Whether the operation reached a terminal state."""
        return self.status in OPERATION_TERMINAL_STATES

    @property
    def reason(self) -> str | None:
        """``code: message`` of a failure (either part may be missing), or None."""
        parts = [p for p in (self.error_code, self.error_message) if p]
        return ": ".join(parts) or None

    @classmethod
    def from_rest(cls, status_code: int, body: Any) -> OperationStatus:
        """Read an ``Azure-AsyncOperation`` body (``{"status", "error"}``) or a ``Location`` answer
        (202 while running; 200/201/204 with the result once it succeeded)."""
        if status_code == 202:
            return cls("InProgress")
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            return cls("Succeeded")
        error = body.get("error")
        if not isinstance(error, dict):
            error = {}
        return cls(body["status"], error.get("code"), error.get("message"))
