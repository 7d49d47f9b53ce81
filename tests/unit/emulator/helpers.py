"""Small helpers for talking to the emulator in tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

TERMINAL_STATES = {"Succeeded", "Failed", "Canceled"}
TERMINAL_JOB = {"Completed", "Failed", "Canceled"}


def wait_async(client: httpx.Client, url: str, timeout: float = 30) -> dict[str, Any]:
    """Poll an Azure-AsyncOperation URL until its status is terminal."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["status"] in TERMINAL_STATES or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def wait_location(client: httpx.Client, url: str, timeout: float = 30) -> httpx.Response:
    """Poll a Location URL until it stops answering 202."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def put_and_wait(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT, follow the async operation, return the final resource."""
    response = client.put(url, json=body)
    assert response.status_code in (200, 201), response.text
    wait_async(client, response.headers["Azure-AsyncOperation"])
    return client.get(url).json()


def wait_job(client: httpx.Client, url: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a job URL until its status is terminal."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["properties"]["status"] in TERMINAL_JOB or time.monotonic() > deadline:
            return body
        time.sleep(0.2)
