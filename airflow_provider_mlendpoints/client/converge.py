"""Full-body PUT and DELETE of endpoints and deployments that ride out lost answers.

ARM PUT (create or update with the full body) and DELETE are idempotent, so the
pipeline retries them after a 5xx or a dropped connection. When the first
attempt did reach the service, the retry can meet that attempt's own operation
still running and get a 409 Conflict ("operation in progress"); a plain
``begin_create_or_update(...).result()`` then fails although nothing is wrong.

:func:`create_or_update_and_wait` and :func:`delete_and_wait` handle that: on a
409 (or a 5xx / no answer that outlasted the pipeline's retries) they wait
until the resource is no longer provisioning (the waiting procedure of
:mod:`.waiting`, ``until="idle"``: provisioningState terminal, or the resource
gone) and send the same request again, at most
``max_attempts`` times. Re-sending a full-body PUT after the earlier one
finished applies the same desired state again (an update, never a second
resource: the name is the identity); re-sending a DELETE of a resource that is
gone is a no-op. Use them only with full bodies (not PATCH) and only for
resources addressed by name.

They work with both clients: on :class:`~.MLEndpointsClient` they return the
result, on :class:`~.AsyncMLEndpointsClient` a coroutine.
"""

from __future__ import annotations

import logging
from typing import Any

from ._steps import Call, drive
from .errors import ConflictError, NotFoundError, ServiceError
from .kinds import kind_of
from .waiting import WaitSettings, WaitTarget, wait

LOG = logging.getLogger("airflow_provider_mlendpoints.client.converge")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ConflictError) and exc.status == 409:
        return True
    return isinstance(exc, ServiceError) and (exc.status is None or exc.status >= 500)


class _GroupClient:
    """The view of a client :func:`~.waiting.wait` needs: one group (under its kind's name) and the config."""

    def __init__(self, group: Any) -> None:
        self.config = group._config
        setattr(self, kind_of(group.kind, check_names=False).group, group)


def _wait_idle(group: Any, names: tuple[str, ...], timeout: float) -> Any:
    target = WaitTarget.resource(group.kind, names[0], names[1] if len(names) > 1 else None, until="idle")
    settings = WaitSettings(poll_interval=max(0.05, float(group._config.polling_interval)), timeout=timeout)
    yield from wait(_GroupClient(group), target, settings, log=LOG)


def _put(group: Any, names: tuple[str, ...], body: Any, max_attempts: int, timeout: float) -> Any:
    for attempt in range(1, max_attempts + 1):
        try:
            poller = yield Call(lambda: group.begin_create_or_update(*names, body))
            return (yield Call(poller.result))
        except Exception as exc:
            if attempt >= max_attempts or not _retryable(exc):
                raise
            LOG.warning(
                "PUT %s: %s; waiting for the resource to settle, then sending it again", "/".join(names), exc
            )
            yield from _wait_idle(group, names, timeout)
    return None  # unreachable


def _delete(group: Any, names: tuple[str, ...], max_attempts: int, timeout: float) -> Any:
    for attempt in range(1, max_attempts + 1):
        try:
            poller = yield Call(lambda: group.begin_delete(*names))
            yield Call(poller.result)
            return None
        except NotFoundError:
            return None
        except Exception as exc:
            if attempt >= max_attempts or not _retryable(exc):
                raise
            LOG.warning(
                "DELETE %s: %s; waiting for the resource to settle, then sending it again",
                "/".join(names),
                exc,
            )
            yield from _wait_idle(group, names, timeout)
    return None


def create_or_update_and_wait(
    group: Any, *names: str, body: Any, max_attempts: int = 4, settle_timeout: float = 600.0
) -> Any:
    """``group.begin_create_or_update(*names, body).result()``, re-sent after a lost answer.

    ``group``: ``client.batch_endpoints``, ``client.batch_deployments``,
    ``client.online_endpoints`` or ``client.online_deployments``; ``names``: the endpoint
    name (and deployment name). Returns the final resource view.
    """
    return drive(group._x, _put(group, tuple(names), body, max_attempts, settle_timeout))


def delete_and_wait(group: Any, *names: str, max_attempts: int = 4, settle_timeout: float = 600.0) -> Any:
    """``group.begin_delete(*names).result()``; a resource already gone counts as deleted."""
    return drive(group._x, _delete(group, tuple(names), max_attempts, settle_timeout))
