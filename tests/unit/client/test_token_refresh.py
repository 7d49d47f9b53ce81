"""Bearer tokens that expire are refreshed by the pipeline (sync and async)."""

from __future__ import annotations

import asyncio
import time

from azure.core.credentials import AccessToken

from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient, MLEndpointsClient

from .conftest import WS, make_config


class ExpiringCredential:
    """Issues token-1, token-2, ... each valid for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.issued: list[tuple[str, tuple[str, ...]]] = []

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        token = f"token-{len(self.issued) + 1}"
        self.issued.append((token, scopes))
        return AccessToken(token, int(time.time() + self.ttl))


class AsyncExpiringCredential(ExpiringCredential):
    async def get_token(self, *scopes, **kwargs) -> AccessToken:  # type: ignore[override]
        return ExpiringCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:
        pass


def test_short_lived_tokens_are_refreshed(fake):
    # Tokens within azure-core's refresh window (5 min) are renewed before each request.
    fake.route("GET", f"{WS}/jobs/j1", (200, {}, {"name": "j1", "properties": {"status": "Running"}}))
    cred = ExpiringCredential(ttl=2)
    with MLEndpointsClient(make_config(fake.url), cred) as client:
        client.jobs.get("j1")
        client.jobs.get("j1")
    seen = [r.headers["Authorization"] for r in fake.calls("GET", f"{WS}/jobs/j1")]
    assert seen == ["Bearer token-1", "Bearer token-2"]
    assert cred.issued[0][1] == ("https://management.azure.com/.default",)


def test_long_lived_token_is_cached(fake):
    cred = ExpiringCredential(ttl=3600)
    with MLEndpointsClient(make_config(fake.url), cred) as client:
        client.jobs.get("j1")
        client.jobs.get("j1")
    assert len(cred.issued) == 1


def test_async_short_lived_tokens_are_refreshed_and_scope_of_data_plane(fake):
    fake.route("GET", f"{WS}/jobs/j1", (200, {}, {"name": "j1"}))
    fake.route(
        "GET",
        f"{WS}/batchEndpoints/e",
        (200, {}, {"name": "e", "properties": {"scoringUri": f"{fake.url}/s"}}),
    )
    fake.route("POST", "/s", (200, {}, {"name": "job", "properties": {"status": "NotStarted"}}))
    cred = AsyncExpiringCredential(ttl=2)

    async def run():
        async with AsyncMLEndpointsClient(make_config(fake.url), cred) as client:
            await client.jobs.get("j1")
            await client.jobs.get("j1")
            await client.invoke_batch_endpoint("e", {"properties": {}})

    asyncio.run(run())
    seen = [r.headers["Authorization"] for r in fake.calls("GET", f"{WS}/jobs/j1")]
    assert seen == ["Bearer token-1", "Bearer token-2"]
    scopes = {s for _t, s in cred.issued}
    assert ("https://ml.azure.com/.default",) in scopes
