"""A tiny real HTTP server for client tests (threaded http.server on 127.0.0.1).

Routes are scripted per test: ``server.route("GET", "/path/regex", handler)`` where
the handler gets the recorded request and returns ``(status, headers, body)``.
Unrouted requests answer 200 ``{}``. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


#: A handler status that closes the connection without any response.
DROP = -1

Handler = Callable[[Recorded], "tuple[int, dict[str, str], Any]"]


@dataclass
class FakeServer:
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def route(self, method: str, pattern: str, handler: Handler | tuple[int, dict[str, str], Any]) -> None:
        fn = handler if callable(handler) else (lambda _r, h=handler: h)
        self.routes.insert(0, (method.upper(), re.compile(pattern + "$"), fn))

    def sequence(self, method: str, pattern: str, answers: list[tuple[int, dict[str, str], Any]]) -> None:
        """Answer successive requests with ``answers`` (the last one repeats)."""
        state = {"i": 0}

        def handler(_r: Recorded) -> tuple[int, dict[str, str], Any]:
            i = min(state["i"], len(answers) - 1)
            state["i"] += 1
            return answers[i]

        self.route(method, pattern, handler)

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(pattern + "$")
        return [r for r in self.requests if r.method == method and rx.match(r.path)]

    def dispatch(self, rec: Recorded) -> tuple[int, dict[str, str], Any]:
        self.requests.append(rec)
        for method, rx, fn in self.routes:
            if method == rec.method and rx.match(rec.path):
                return fn(rec)
        return 200, {}, {}


def start(server_state: FakeServer) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parsed = urlparse(self.path)
            rec = Recorded(
                self.command, parsed.path, parse_qs(parsed.query), dict(self.headers.items()), body
            )
            status, headers, payload = server_state.dispatch(rec)
            if status == DROP:  # read the request, then hang up without answering
                self.close_connection = True
                return
            if payload is None:
                data = b""
            elif isinstance(payload, bytes):
                data = payload
            elif isinstance(payload, str):
                data = payload.encode()
            else:
                data = json.dumps(payload).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v.replace("{base}", server_state.url))
            if data and not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return httpd, thread
