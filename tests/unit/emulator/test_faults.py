"""Fault injection (429, 500, dropped connections, latency) and request counters."""

from __future__ import annotations

import httpx


def test_throttle_and_error_rates_are_roughly_honored(emulator_clean):
    emu = emulator_clean
    emu.set_faults(throttle_rate=0.2, error_rate=0.1, retry_after=2, seed=11)
    emu.reset_counters()
    statuses = []
    with emu.client() as c:
        for _ in range(200):
            response = c.get(emu.arm_url("/batchEndpoints"))
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "2"
                assert response.json()["error"]["code"] == "TooManyRequests"
            if response.status_code == 500:
                assert response.json()["error"]["code"] == "InternalServerError"
    throttled, failed = statuses.count(429), statuses.count(500)
    assert 20 <= throttled <= 65, throttled
    assert 5 <= failed <= 40, failed
    assert statuses.count(200) == 200 - throttled - failed
    counters = emu.requests()  # admin routes are neither faulted nor counted
    route = "GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}/batchEndpoints"
    assert counters["by_route"][route] == 200
    assert counters["total"] == 200
    assert counters["faults"]["429"] == throttled and counters["faults"]["500"] == failed


def test_dropped_connections(emulator_clean):
    emu = emulator_clean
    emu.set_faults(drop_rate=0.3, seed=5)
    emu.reset_counters()
    dropped = 0
    for _ in range(60):
        try:
            response = httpx.get(emu.arm_url("/computes"), headers=emu.headers, timeout=10)
            assert response.status_code == 200
        except httpx.TransportError:
            dropped += 1
    assert 5 <= dropped <= 35, dropped
    assert emu.requests()["faults"]["drop"] == dropped
    emu.clear_faults()
    assert httpx.get(emu.arm_url("/computes"), headers=emu.headers).status_code == 200


def test_latency_match_and_admin_routes_are_exempt(emulator_clean):
    emu = emulator_clean
    emu.set_faults(throttle_rate=1.0, match="/onlineEndpoints")
    with emu.client() as c:
        assert c.get(emu.arm_url("/onlineEndpoints")).status_code == 429
        assert c.get(emu.arm_url("/batchEndpoints")).status_code == 200
    assert httpx.get(emu.url("/_emulator/health")).status_code == 200  # never faulted

    emu.set_faults(throttle_rate=1.0)
    # data-plane routes are faulted too
    scoring = emu.url(f"/batch/{emu.subscription}/{emu.resource_group}/{emu.workspace}/none/jobs")
    assert httpx.post(scoring, json={}, headers=emu.headers).status_code == 429

    emu.set_faults(latency_ms=20)
    emu.reset_counters()
    with emu.client() as c:
        for _ in range(5):
            assert c.get(emu.arm_url("/jobs")).status_code == 200
    assert emu.requests()["faults"]["latency"] == 5


def test_fault_settings_are_validated(emulator_clean):
    bad = httpx.post(emulator_clean.url("/_emulator/faults"), json={"throttle_rate": 2}, headers=emulator_clean.headers)
    assert bad.status_code == 400
    unknown = httpx.post(emulator_clean.url("/_emulator/faults"), json={"nonsense": 1}, headers=emulator_clean.headers)
    assert unknown.status_code == 400
