"""Fixtures for client and hook tests: a real HTTP server on 127.0.0.1 and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.client import (
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    MLEndpointsClient,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
)
from tests.fixtures.fake_arm import FakeServer
from tests.fixtures.paths import SHARED_REFERENCE

TOKEN = "test-token-abc123"
REST_REF = SHARED_REFERENCE / "azureml-rest-2024-04-01"
WS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def make_config(url: str, **kwargs) -> WorkspaceConfig:
    kwargs.setdefault(
        "retry", RetrySettings(retry_total=3, backoff_factor=0.01, backoff_max=0.05, max_retry_after=1)
    )
    kwargs.setdefault("polling_interval", 0.01)
    kwargs.setdefault("max_polling_interval", 0.05)
    return WorkspaceConfig("sub", "rg", "ws", management_url=url, **kwargs)


@pytest.fixture
def client(fake: FakeServer) -> Iterator[MLEndpointsClient]:
    with MLEndpointsClient(make_config(fake.url), StaticTokenCredential(TOKEN)) as c:
        yield c


@pytest.fixture
def aclient_factory(fake: FakeServer):
    def make(**kwargs) -> AsyncMLEndpointsClient:
        return AsyncMLEndpointsClient(make_config(fake.url, **kwargs), AsyncStaticTokenCredential(TOKEN))

    return make


@pytest.fixture
def rest_ref() -> Path:
    if not (REST_REF / "mfe.json").is_file():
        pytest.skip("shared/reference/azureml-rest-2024-04-01 is not present")
    return REST_REF
