"""Trigger that waits for an endpoint or deployment to finish provisioning."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ._common import (
    MAX_TRANSIENT_ERRORS,
    check_resource_kind,
    fetch_resource,
    is_transient,
    provisioning_event,
    provisioning_payload,
    resource_label,
    retry_after_of,
)


class ProvisioningStateTrigger(BaseTrigger):
    """Poll a batch/online endpoint or deployment until its provisioningState is terminal.

    Yields exactly one :class:`TriggerEvent`: ``{"status": "success"|"failed"|"canceled"|"timeout"|
    "error", "resource", "endpoint_name", "deployment_name", "provisioning_state", "message",
    "studio_url", "details"}`` (``details``: the resource's JSON on success, else the last one seen).

    :param conn_id: the ``azure_ml_endpoints`` connection.
    :param resource: ``batch_endpoint``, ``batch_deployment``, ``online_endpoint`` or ``online_deployment``.
    :param endpoint_name: the endpoint.
    :param deployment_name: the deployment (for the ``*_deployment`` kinds).
    :param poll_interval: seconds between polls (a server Retry-After on throttling wins if longer).
    :param timeout: seconds until a ``timeout`` event; None waits forever.
    """

    def __init__(
        self,
        conn_id: str,
        resource: str,
        endpoint_name: str,
        deployment_name: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        check_resource_kind(resource, deployment_name)
        self.conn_id = conn_id
        self.resource = resource
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout) if timeout is not None else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "resource": self.resource,
                "endpoint_name": self.endpoint_name,
                "deployment_name": self.deployment_name,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    def _hook(self) -> Any:
        from ..hooks.ml_endpoints import AsyncMLEndpointsHook

        return AsyncMLEndpointsHook(self.conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None
        config = None
        label = resource_label(self.resource, self.endpoint_name, self.deployment_name)
        last_state: str | None = None
        errors = 0
        try:
            client = await hook.get_async_conn()
            config = client.config
            while True:
                delay = self.poll_interval
                try:
                    obj = await fetch_resource(
                        client, self.resource, self.endpoint_name, self.deployment_name
                    )
                except Exception as exc:
                    if not is_transient(exc) or errors >= MAX_TRANSIENT_ERRORS:
                        raise
                    errors += 1
                    delay = max(delay, retry_after_of(exc) or 0.0)
                    self.log.warning("Polling %s failed (%s); retrying in %.1f s", label, exc, delay)
                else:
                    errors = 0
                    event = provisioning_event(
                        config, self.resource, self.endpoint_name, self.deployment_name, obj
                    )
                    if event is not None:
                        yield TriggerEvent(event)
                        return
                    if obj.provisioning_state != last_state:
                        last_state = obj.provisioning_state
                        self.log.info("%s is %s", label, last_state)
                if deadline is not None and time.monotonic() + delay > deadline:
                    yield TriggerEvent(
                        provisioning_payload(
                            config,
                            self.resource,
                            self.endpoint_name,
                            self.deployment_name,
                            status="timeout",
                            state=last_state,
                            message=f"{label} still {last_state} after {self.timeout:g} s",
                        )
                    )
                    return
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            yield TriggerEvent(
                provisioning_payload(
                    config,
                    self.resource,
                    self.endpoint_name,
                    self.deployment_name,
                    status="error",
                    state=last_state,
                    message=f"polling {label} failed: {exc}",
                )
            )
        finally:
            await hook.aclose()
