"""No second job behind a slow front end (issue 9 point 4).

A delaying proxy on 127.0.0.1 holds each invoke POST 2, 6 or 12 seconds
before passing it to the real emulator, while the client's read timeout is
3 s. The client must look for its job (by correlation id) for its read
timeout plus a margin before it sends again, and cancel (and report) a job
that a lost attempt starts later: whatever the delay, exactly one job
carrying the correlation id is live afterwards, and it is the one returned.
The emulator's jobs are no-ops that stay Running, so a duplicate would stay
live unless cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.client import (
    MLEndpointsClient,
    ReconcileSettings,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
    batch_invoke_body,
)
from airflow_provider_mlendpoints.client.converge import create_or_update_and_wait
from airflow_provider_mlendpoints.client.reconcile import CORRELATION_KEY
from tests.fixtures.emulator import EmulatorHandle, start_emulator

from .delaying_proxy import delaying_proxy

pytestmark = pytest.mark.slow

READ_TIMEOUT = 3
SETTINGS = ReconcileSettings(settle_delay=0.5, look_margin=2)
ENDED = {"Canceled", "Cancelled", "CancelRequested"}


def _config(emu: EmulatorHandle, data_plane_url: str | None = None) -> WorkspaceConfig:
    return WorkspaceConfig(
        emu.subscription,
        emu.resource_group,
        emu.workspace,
        management_url=emu.base_url,
        data_plane_url=data_plane_url,
        retry=RetrySettings(retry_total=2, backoff_factor=0.01, backoff_max=0.1, max_retry_after=0.2),
        polling_interval=0.05,
        max_polling_interval=0.2,
    )


@pytest.fixture(scope="module")
def slow_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorHandle, str]]:
    """An emulator whose jobs run (as no-ops) for ten minutes, with batch endpoint ``be-1``."""
    data: Path = tmp_path_factory.mktemp("slow-in")
    (data / "a.txt").write_text("x")
    with start_emulator(
        env={"MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS": "600"},
        provisioning_delay=0.05,
        log_dir=tmp_path_factory.mktemp("slow-emulator-log"),
    ) as emu:
        with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
            create_or_update_and_wait(c.batch_endpoints, "be-1", body={"location": "eastus", "properties": {}})
            create_or_update_and_wait(c.batch_deployments, "be-1", "d", body={"location": "eastus", "properties": {}})
        yield emu, str(data)


@pytest.mark.parametrize("delay", [2, 6, 12])
def test_one_live_job_behind_a_slow_front_end(slow_workspace, delay: int, caplog) -> None:
    emu, data = slow_workspace
    caplog.set_level(logging.WARNING, "airflow_provider_mlendpoints.client.reconcile")
    cid = f"slow-front-end-{delay}"
    port = int(emu.base_url.rsplit(":", 1)[1])
    with delaying_proxy(("127.0.0.1", port), delay) as proxy:
        client = MLEndpointsClient(_config(emu, proxy.url), StaticTokenCredential(emu.token), read_timeout=READ_TIMEOUT)
        with client:
            job = client.invoke_batch_endpoint(
                "be-1", batch_invoke_body({"in": data}), correlation_id=cid, reconcile_settings=SETTINGS
            )
    # The proxy has now relayed every request it held: every job any attempt could start exists.
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        ours = [j for j in c.jobs.list() if (j.properties.get("tags") or {}).get(CORRELATION_KEY) == cid]
    live = [j.name for j in ours if j.status not in ENDED]
    print(f"delay {delay} s: {proxy.relayed} POST(s) reached the service, {len(ours)} job(s), live: {live}")
    assert live == [job.name]
    cancelled = [j for j in ours if j.status in ENDED]
    assert len(cancelled) == proxy.relayed - 1  # every duplicate was cancelled...
    for duplicate in cancelled:  # ...and reported
        assert any(f"cancelled job {duplicate.name}, a duplicate of job {job.name}" in m for m in caplog.messages)
    if delay < READ_TIMEOUT:
        assert proxy.relayed == 1 and not caplog.messages  # answered in time: nothing to reconcile
    else:
        assert any(f"reattached to job {job.name}" in m for m in caplog.messages)


def test_the_async_client_cancels_the_late_duplicate_too(slow_workspace, caplog) -> None:
    import asyncio

    from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient, AsyncStaticTokenCredential

    emu, data = slow_workspace
    caplog.set_level(logging.WARNING, "airflow_provider_mlendpoints.client.reconcile")
    cid = "slow-front-end-async"
    port = int(emu.base_url.rsplit(":", 1)[1])

    async def invoke(proxy_url: str):
        client = AsyncMLEndpointsClient(
            _config(emu, proxy_url), AsyncStaticTokenCredential(emu.token), read_timeout=READ_TIMEOUT
        )
        async with client:
            return await client.invoke_batch_endpoint(
                "be-1", batch_invoke_body({"in": data}), correlation_id=cid, reconcile_settings=SETTINGS
            )

    with delaying_proxy(("127.0.0.1", port), 12) as proxy:
        job = asyncio.run(invoke(proxy.url))
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        ours = [j for j in c.jobs.list() if (j.properties.get("tags") or {}).get(CORRELATION_KEY) == cid]
    assert proxy.relayed == 2  # the read timeout struck twice: the second POST landed after the adoption
    assert [j.name for j in ours if j.status not in ENDED] == [job.name]
    assert any("cancelled job" in m and f"a duplicate of job {job.name}" in m for m in caplog.messages)
