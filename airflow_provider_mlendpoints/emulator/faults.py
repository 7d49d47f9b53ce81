"""Fault injection and request counters (a pure ASGI middleware).

Applies to ARM and data-plane routes, never to ``/_emulator/*``. Per request:
added latency, then at most one fault: a scripted one (``FaultSettings.script``)
if one is due, else one drawn from the rates. Before processing: a dropped
connection (the socket is aborted with no response), a 429 with Retry-After,
a 500. After processing (the route ran, its state change stands, its answer is
discarded): ``after_500`` (a 500 instead) or ``after_drop`` (the socket is
aborted instead). Counters record requests per ``METHOD route-template``, the
faults injected (in total and per route) and the statuses sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from .arm_errors import error_body
from .config import FaultSettings

if TYPE_CHECKING:
    from .context import Emulator

ADMIN_PREFIX = "/_emulator"
RAW_SEND = "mlendpoints.raw_send"


class Counters:
    """Thread-safe request and fault counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.faults_by_route: dict[str, Counter[str]] = {}
        self.statuses: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.requests.values()),
                "by_route": dict(self.requests),
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "faults_by_route": {route: dict(c) for route, c in self.faults_by_route.items()},
                "statuses": dict(self.statuses),
            }

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.faults_by_route.clear()
            self.statuses.clear()

    def count(self, route: str, fault: str | None = None, latency: bool = False) -> None:
        """One request on ``route``, with the fault injected (if any)."""
        with self._lock:
            self.requests[route] += 1
            if fault:
                self.faults[fault] += 1
                self.faults_by_route.setdefault(route, Counter())[fault] += 1
            if latency:
                self.faults["latency"] += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.statuses[str(code)] += 1


@dataclass
class _ScriptedFault:
    """One entry of ``FaultSettings.script``: ``fault`` for the next ``left`` requests matching it."""

    pattern: re.Pattern[str]
    method: str  # upper case; empty matches every method
    fault: str
    left: int

    def due(self, method: str, path: str) -> bool:
        return self.left > 0 and bool(self.pattern.search(path)) and self.method in ("", method.upper())


class FaultInjector:
    """Holds the current settings and a random generator (seedable)."""

    def __init__(self, settings: FaultSettings) -> None:
        self.lock = threading.Lock()
        self.set(settings)

    def set(self, settings: FaultSettings) -> None:
        with self.lock:
            self.settings = settings
            self._match = re.compile(settings.match) if settings.match else None
            self._random = random.Random(settings.seed)
            self._script = [
                _ScriptedFault(re.compile(e.get("match") or ""), (e.get("method") or "").upper(), str(e["fault"]),
                               int(e.get("times", 1)))
                for e in settings.script
            ]

    def _scripted(self, method: str, path: str) -> str | None:
        for entry in self._script:
            if entry.due(method, path):
                entry.left -= 1
                return entry.fault
        return None

    def decide(self, path: str, method: str = "GET") -> tuple[float, str | None]:
        """(latency seconds, fault name or None) for one request."""
        with self.lock:
            s = self.settings
            scripted = self._scripted(method, path)
            if scripted is not None:
                return 0.0, scripted
            if self._match is not None and not self._match.search(path):
                return 0.0, None
            latency = s.latency_ms / 1000.0 if s.latency_ms and self._random.random() < s.latency_rate else 0.0
            roll = self._random.random()
            for fault, rate in (
                ("drop", s.drop_rate),
                ("429", s.throttle_rate),
                ("500", s.error_rate),
                ("after_500", s.after_error_rate),
                ("after_drop", s.after_drop_rate),
            ):
                if roll < rate:
                    return latency, fault
                roll -= rate
            return latency, None


def route_template(app: Any, scope: Scope) -> str:
    """``METHOD /path/{template}`` of the route a request matches (or its raw path)."""
    method = scope.get("method", "")
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return f"{method} {getattr(route, 'path', scope['path'])}"
    return f"{method} {scope['path']} (unmatched)"


async def _send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(scope: Scope) -> None:
    """Abort the client's connection without answering."""
    raw = scope.get(RAW_SEND)
    transport = getattr(getattr(raw, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0.01)  # let the server notice the disconnect before we return
        return
    raise ConnectionAbortedError("fault injection: dropped connection")


class FaultMiddleware:
    """ASGI middleware counting requests and injecting faults."""

    def __init__(self, app: ASGIApp, emu: Emulator, routes_app: Any) -> None:
        self.app = app
        self.emu = emu
        self.routes_app = routes_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        route = route_template(self.routes_app, scope)
        latency, fault = self.emu.faults.decide(scope["path"], scope.get("method", "GET"))
        if latency:
            await asyncio.sleep(latency)
        self.emu.counters.count(route, fault, latency=bool(latency))
        if fault == "drop":
            await _drop(scope)
            return
        if fault in ("after_500", "after_drop"):
            await self._after(scope, receive, send, fault)
            return
        if fault == "429":
            retry = str(self.emu.faults.settings.retry_after)
            body = json.dumps(error_body("TooManyRequests", "Too many requests (fault injected by the emulator).")).encode()
            await _send_json(send, 429, body, [(b"retry-after", retry.encode())])
            self.emu.counters.status(429)
            return
        if fault == "500":
            body = json.dumps(error_body("InternalServerError", "Internal server error (fault injected by the emulator).")).encode()
            await _send_json(send, 500, body, [])
            self.emu.counters.status(500)
            return

        request_id = str(uuid.uuid4()).encode()

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.emu.counters.status(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (b"x-ms-request-id", request_id)]}
            await send(message)

        await self.app(scope, receive, counting_send)

    async def _after(self, scope: Scope, receive: Receive, send: Send, fault: str) -> None:
        """Run the route to completion (its effects stand), then lose its answer."""

        async def discard(message: Any) -> None:
            return None

        await self.app(scope, receive, discard)
        if fault == "after_drop":
            await _drop(scope)
            return
        body = json.dumps(
            error_body("InternalServerError", "Internal server error after processing (fault injected by the emulator).")
        ).encode()
        await _send_json(send, 500, body, [])
        self.emu.counters.status(500)
