"""bench/client.py --quick runs end to end and ends with one JSON line of sane figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.azurite import find_azurite_binary
from tests.fixtures.paths import REPO_ROOT

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

REPO = REPO_ROOT
KEYS = {
    "lifecycle_requests",
    "lifecycle_requests_by_route",
    "lifecycle_retry_after_waits",
    "lifecycle_jobs_created",
    "faulty_lifecycle_requests",
    "faulty_lifecycle_retry_after_waits",
    "faulty_lifecycle_jobs_created",
    "faults_injected",
    "concurrent_waits",
    "waits_completed",
    "waits_peak_rss_mb",
    "waits_requests_per_s",
    "waits_seconds",
}


def test_bench_client_quick():
    if find_azurite_binary() is None:
        pytest.fail("Azurite is not installed: run `make azurite`", pytrace=False)
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "client.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(REPO),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) >= KEYS, KEYS - set(figures)
    assert figures["lifecycle_requests"] > 10
    assert sum(figures["lifecycle_requests_by_route"].values()) == figures["lifecycle_requests"]
    assert any(r.startswith("POST /batch/") for r in figures["lifecycle_requests_by_route"])
    assert figures["lifecycle_jobs_created"] == 1 and figures["faulty_lifecycle_jobs_created"] == 1
    assert figures["faults_injected"] > 0
    assert figures["faulty_lifecycle_requests"] > figures["lifecycle_requests"]
    assert figures["faulty_lifecycle_retry_after_waits"] > 0
    assert figures["concurrent_waits"] == figures["waits_completed"] == 20
    assert figures["waits_peak_rss_mb"] > 0 and figures["waits_requests_per_s"] > 0
    assert figures["waits_seconds"] > 0
    assert len(lines) > 1  # human-readable lines come first
