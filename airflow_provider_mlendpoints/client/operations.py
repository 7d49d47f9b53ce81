"""Reading a long-running operation's status URL (``Azure-AsyncOperation`` or ``Location``)."""

from __future__ import annotations

import json
from typing import Any

from azure.core.rest import HttpRequest

from ._base import OperationGroup
from ._executor import MaybeAwaitable
from ._steps import Call, Procedure, drive
from .errors import ConflictError, ValidationError
from .faces import X, value
from .operation_status import OperationStatus


class OperationsOperations(OperationGroup[X]):
    """Status of operations started with ``start_create_or_update`` / ``start_delete``."""

    @value
    def get_status(self, polling_url: str) -> MaybeAwaitable[OperationStatus]:
        """One reading of ``polling_url`` (an :attr:`OperationHandle.polling_url`) as an
        :class:`~.operation_status.OperationStatus`.

        An ``Azure-AsyncOperation`` URL answers ``{"status", "error"}``. A ``Location`` URL
        answers 202 while the operation runs, the result once it succeeded, and the operation's
        error (400/409/422) once it failed; that error is read as a ``Failed`` status. Any other
        error (e.g. :class:`~.errors.NotFoundError` once the service forgot the operation) raises.
        """
        return drive(self._x, self._read_status(polling_url))

    def _read_status(self, polling_url: str) -> Procedure[OperationStatus]:
        try:
            response = yield Call(lambda: self._x.raw(HttpRequest("GET", polling_url)))
        except (ValidationError, ConflictError) as exc:
            return OperationStatus("Failed", exc.code, exc.message)
        return OperationStatus.from_rest(response.status_code, _json_body(response))


def _json_body(response: Any) -> Any:
    try:
        text = response.text()
        return json.loads(text) if text and text.strip() else None
    except ValueError:
        return None
